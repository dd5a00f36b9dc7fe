import ast
import subprocess
import sys
from pathlib import Path

import pytest

# tests/frameworks.py is a helper module imported by the framework tests.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def imported_after():
    """imported_after(code, modules): which of `modules` (sorted) a fresh interpreter has
    imported once it ran `code`; how a test shows that a module needs NumPy alone."""
    def run(code, modules):
        probe = f"{code}\nimport sys\nprint(sorted(m for m in {tuple(modules)!r} if m in sys.modules))"
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        assert out.returncode == 0, f"python -c {probe!r} failed:\n{out.stderr}"
        return ast.literal_eval(out.stdout.strip().splitlines()[-1])
    return run

import sys
from pathlib import Path

# tests/frameworks.py is a helper module imported by the framework tests.
sys.path.insert(0, str(Path(__file__).parent))

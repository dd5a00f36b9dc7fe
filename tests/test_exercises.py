"""The graded exercises, end to end with nbgrader's own commands.

- exercises/ is exactly what `nbgrader generate_assignment` makes from solutions/;
- the releases fail every test (`nbgrader validate --invert`), and a release runs top to
  bottom failing only at its stubs;
- every assignment has a partial submission defined (tests/submissions.py's PARTIAL).

That the solutions pass their tests, and that autograding gives the solution full marks,
the untouched release zero and the partial submission its exact score, with feedback and
`nbgrader export`, is checked once per assignment in tests/test_hostile_all.py, in the same
batch as the hostile submissions: each solution is run there, not once more here.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from submissions import PARTIAL, course_env

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
BIN = Path(sys.executable).parent

def nbgrader(*args, cwd):
    env = course_env()
    out = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course directory with the repository's configuration and solutions, releases generated."""
    path = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", path)
    shutil.copytree(ROOT / "solutions", path / "solutions")
    for a in ASSIGNMENTS:
        nbgrader("generate_assignment", a, cwd=path)
    return path


def notebooks(folder):
    return sorted(folder.glob("*.ipynb"))


def test_every_assignment_has_a_partial_submission_defined():
    assert len(ASSIGNMENTS) >= 1
    assert set(ASSIGNMENTS) == set(PARTIAL)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_up_to_date(course, assignment):
    generated = notebooks(course / "exercises" / assignment)
    committed = notebooks(ROOT / "exercises" / assignment)
    assert [p.name for p in committed] == [p.name for p in generated], "exercises/ lacks or has extra notebooks"
    for new, old in zip(generated, committed):
        assert json.loads(new.read_text()) == json.loads(old.read_text()), (
            f"exercises/{assignment}/{old.name} is stale: run `make exercises` and commit the result")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_are_stored_without_outputs(assignment):
    for path in notebooks(ROOT / "solutions" / assignment):
        nb = nbformat.read(path, as_version=4)
        dirty = [k for k, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, f"{path.name}: code cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_releases_fail_validation(course, assignment):
    for path in notebooks(course / "exercises" / assignment):
        # A hidden test's code is not released, so only its description runs, and passes.
        released = nbformat.read(path, as_version=4).cells
        hidden = sum(c.cell_type == "code" and c.source.startswith("# Hidden (") for c in released)
        said = nbgrader("validate", "--invert", str(path), cwd=course)
        assert (f"NOTEBOOK PASSED ON {hidden} CELL(S)!" if hidden else
                "Success! The notebook does not pass any tests.") in said, said


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_runs_top_to_bottom_failing_only_at_stubs(assignment):
    for path in notebooks(ROOT / "exercises" / assignment):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=180, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        for k, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    stub = out.ename == "NotImplementedError" or (out.ename == "GradingError" and (
                        "not implemented yet" in out.evalue or "not answered yet" in out.evalue))
                    assert stub, f"{path.name} cell {k}: {out.ename}: {out.evalue}"

"""The graded exercises, end to end with nbgrader's own commands.

- exercises/ is exactly what `nbgrader generate_assignment` makes from solutions/;
- the solutions pass their tests (`nbgrader validate`) and the releases fail every test
  (`nbgrader validate --invert`), and a release runs top to bottom failing only at its stubs;
- in a fresh course directory, autograding gives the solution full marks, the untouched
  release zero and a hand-made partial submission its exact partial score; feedback HTML
  is generated and `nbgrader export` writes those numbers to grades.csv.
"""
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from submissions import answered, course_env, solution_answers

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
BIN = Path(sys.executable).parent

# A partial submission per assignment: the solution cells (grade_id) that the student
# completed, and the score that must follow.
PARTIAL = {
    # The step forward (2) and step backward (3). The measurement of Part 4 is written too,
    # but it calls the student's rnn_forward, still a stub, so it earns nothing.
    "01_rnn": (["rnn_step_forward", "rnn_step_backward", "rnn_gradient_by_lag"], 5.0),
    "02_lstm_cell": (["sigmoid"], 3.0),
    # The step backward (3 for dx, dh_prev, dc_prev; 2 for the weights) and rel_error (2);
    # not the sequence backward nor the numerical gradient.
    "03_backprop": (["lstm_step_backward", "rel_error"], 7.0),
    # The model (3 for its layers, 1 for how it is compiled) and reading an LSTM's weights from
    # Keras (1); writing them is still a stub, so the round trip, the GRU and the training earn
    # nothing.
    "04_keras": (["build_model", "from_keras_lstm"], 5.0),
    # The LSTM module (3 for its outputs, 1 for its parameters); the adding model and its
    # training are still a stub.
    "05_pytorch": (["LSTM"], 4.0),
    # The windows (2) and both baselines (1 + 1); not the split and scaler, nor the forecaster.
    "06_forecasting": (["make_windows", "baselines"], 4.0),
    # The step forward (2) and backward (3 + 2, and the hidden 1); not the sequence, nor the
    # questions.
    "07_gru": (["gru_step_forward", "gru_step_backward"], 8.0),
    # The embedding (1 + 2), the loss over time (2), clipping (1) and Adam (2); the LSTM is
    # still a stub, so the model's loss, training and sampling earn nothing.
    # The model (2), the forget-gate bias (2) and the clipped step (2); train_model is still a
    # stub, so the seeded training and the experiment earn nothing.
    "08_rnn_vs_lstm": (["adding_model", "set_forget_bias", "train_step"], 6.0),
    "09_char_lm": (["embedding", "softmax_loss", "optimiser"], 8.0),
}


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
def test_solutions_pass_and_releases_fail_validation(course, assignment):
    for path in notebooks(course / "solutions" / assignment):
        assert "Success! Your notebook passes all the tests." in nbgrader("validate", str(path), cwd=course)
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


def fill(release, source, grade_ids=None):
    """A release notebook with the solution code of the given solution cells (all of
    them when grade_ids is None) pasted in."""
    answers = solution_answers(source)
    return answered(release, {g: code for g, code in answers.items() if grade_ids is None or g in grade_ids})


def test_autograde_feedback_and_export(course):
    students = {"alice": "solution", "bob": "release", "carol": "partial"}
    for student in students:
        nbgrader("db", "student", "add", student, cwd=course)
    expected = {}
    for a in ASSIGNMENTS:
        (source,) = notebooks(course / "solutions" / a)
        (release,) = notebooks(course / "exercises" / a)
        total = sum(c.metadata["nbgrader"].get("points", 0) for c in nbformat.read(source, as_version=4).cells
                    if c.metadata.get("nbgrader", {}).get("grade"))
        cells, partial_score = PARTIAL[a]
        versions = {"alice": fill(release, source),
                    "bob": nbformat.read(release, as_version=4),
                    "carol": fill(release, source, set(cells))}
        for student, nb in versions.items():
            folder = course / "submitted" / student / a
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / release.name)
        expected[a] = {"alice": total, "bob": 0.0, "carol": partial_score, "max": total}
        nbgrader("autograde", a, cwd=course)
        nbgrader("generate_feedback", a, cwd=course)
        for student in students:
            html = course / "feedback" / student / a / release.with_suffix(".html").name
            assert html.exists(), f"no feedback for {student}"
        assert "GradingError" in (course / "feedback" / "carol" / a / release.with_suffix(".html").name).read_text()
    nbgrader("export", cwd=course)
    with (course / "grades.csv").open() as f:
        rows = list(csv.DictReader(f))
    for a in ASSIGNMENTS:
        for student in students:
            (row,) = [r for r in rows if r["assignment"] == a and r["student_id"] == student]
            assert float(row["score"]) == expected[a][student], f"{a}, {student}: {row}"
            assert float(row["max_score"]) == expected[a]["max"]

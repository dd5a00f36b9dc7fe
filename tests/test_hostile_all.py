"""Grades an instructor can trust, on every assignment (grader/, lstm_ref.grading).

tests/test_hostile.py throws a whole corpus at exercise 02. This file checks the rules
that hold for every exercise, each graded in one batch with `python -m grader.parallel`
and again with plain `nbgrader autograde` and the course's configuration:

- an honest solution earns full marks, the untouched release nothing and a hand-made
  partial submission (tests/submissions.py's PARTIAL) its exact partial score, and
  `nbgrader export` writes those scores to grades.csv (parallel only: this is the one
  place where each solution is graded, for tests/test_exercises.py too);
- a notebook that implements nothing, whose every function displays a value before it
  fails, earns nothing (nbgrader alone would read the displayed value as credit);
- an honest solution whose functions print to stderr and warn earns full marks
  (nbgrader alone would give 0 to every test with stderr text; plain nbgrader grades it
  for the exercises that do not train, since it is the configuration, the same for all,
  that is under test, and training is the slow part);
- in the training exercises, the shortcut that scores without training an LSTM loses
  exactly the training tests' points (parallel only: the checks are under test, not the
  runner);
- the autograded notebooks and the feedback show no hidden test's code.
"""
import csv
import ast
import html
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader import hidden
from submissions import PARTIAL, SENTIMENT_RULE, answered, course_env, released_course, solution_answers, submit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


def defined(code):
    """The names of the functions and classes a solution cell defines at its top level."""
    return [n.name for n in ast.parse(code).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def forged(answers):
    """Every function and class replaced by one that shows a value, then fails."""
    body = ("(*args, **kwargs):\n    import sys\n    sys.displayhook('all checks passed: full marks')\n"
            "    raise NotImplementedError()\n")
    return {gid: "".join(f"def {name}{body}\n" for name in defined(code)) for gid, code in answers.items()}


def noisy(answers):
    """Every function wrapped so that it prints to stderr and warns, then does its work."""
    out = {}
    for gid, code in answers.items():
        wrappers = [
            f"\n_quiet_{name} = {name}\n\n\ndef {name}(*args, **kwargs):\n    import sys, warnings\n"
            f"    print('{name} says hello on stderr', file=sys.stderr)\n"
            f"    warnings.warn('a warning from {name}', UserWarning)\n    return _quiet_{name}(*args, **kwargs)\n"
            for name in defined(code) if not name[0].isupper()]      # classes stay classes
        out[gid] = code + "".join(wrappers)
    return out


# The shortcut of each training exercise: a score without an LSTM that training made.
SHORTCUTS = {
    "04_keras": ("train_sentiment_model", SENTIMENT_RULE + '''

def train_sentiment_model(x_train, y_train, x_val, y_val):
    """No training: the rule that made the labels, in a Keras model that holds an unused LSTM."""
    return rule_model(decoy=True), None
''', 2.0, "do not come from its LSTM"),
    "05_pytorch": ("adding_model", '''
class AddingModel(nn.Module):
    """No memory to learn: the sum of the marked values, computed; an LSTM beside it, unread."""
    def __init__(self, hidden_size):
        super().__init__()
        self.lstm = LSTM(2, hidden_size)

    def forward(self, x):
        return (x[..., 0] * x[..., 1]).sum(1, keepdim=True)


def train_adding_model():
    return AddingModel(4)
''', 4.0, "its skill does not come from its LSTM"),
    "06_forecasting": ("fit_forecaster", '''
def fit_forecaster(X_train, y_train, X_val, y_val):
    """No fitting, no LSTM: the seasonal naive forecast raised by the last year's rise."""
    return lambda X: X[:, -1] + X[:, -12] - X[:, -13]
''', 3.0, "Needed: an MAE below the best of these baselines"),
    "08_rnn_vs_lstm": ("run_experiment", '''
class Rule(nn.Module):
    """No memory to learn: the sum of the marked values, computed; the cell beside it, unread."""
    def __init__(self, cell):
        super().__init__()
        self.rnn = (nn.RNN if cell == "rnn" else nn.LSTM)(2, grading.MEMORY_H, batch_first=True)
        self.head = nn.Linear(grading.MEMORY_H, 1)

    def forward(self, x):
        return (x[..., 0] * x[..., 1]).sum(1, keepdim=True)


def run_experiment():
    x, y = (torch.from_numpy(a) for a in L.adding_problem(
        grading.MEMORY_VAL_SIZE, grading.MEMORY_T, seed=grading.MEMORY_VAL_SEED, dtype=np.float32))
    records = []
    for cell, forget_bias in grading.MEMORY_RUNS:
        for seed in grading.MEMORY_SEEDS:
            model = Rule(cell)
            with torch.no_grad():
                val_mse = ((model(x) - y) ** 2).mean().item()
            records.append({"cell": cell, "forget_bias": forget_bias, "seed": seed, "model": model,
                            "val_mse": val_mse})
    return records
''', 4.0, "are not the linear read-out of its"),
    "09_char_lm": ("train_char_lm", '''
def train_char_lm():
    """The reference's model and gradients, a few steps of them: not the student's LSTM."""
    params = charlm.init_char_lm(V, 16, 64, seed=0)
    inputs, targets = text.stream_windows(train_ids, 32, 64)
    for step in range(3):
        loss, grads, _ = charlm.char_lm_loss(params, inputs[step], targets[step])
        for k in params:
            params[k] -= 0.1 * grads[k]
    return params
''', 4.0, "calls lstm_ref.charlm.char_lm_loss"),
}


def submissions(release, source, assignment, parallel=True):
    """{student: (notebook, the score it deserves, a phrase its feedback must show)}: all
    kinds for grader.parallel; for plain nbgrader, those that test the configuration and
    do not train (see the module's docstring)."""
    nb = nbformat.read(source, as_version=4)
    total = sum(c.metadata["nbgrader"].get("points", 0) for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade"))
    answers = solution_answers(source)
    out = {"forges_output": (answered(release, forged(answers)), 0.0, "not implemented yet")}
    trains = assignment in SHORTCUTS
    if parallel or not trains:
        out["noisy_honest"] = (answered(release, noisy(answers)), total, "says hello on stderr")
    if parallel:
        out["honest"] = (answered(release, answers), total, "Passed" if trains else "grading.check_")
        out["untouched"] = (nbformat.read(release, as_version=4), 0.0, "not implemented yet")
        cells, score = PARTIAL[assignment]
        out["partial"] = (answered(release, {g: answers[g] for g in cells}), score, "GradingError")
    if parallel and trains:
        gid, code, lost, phrase = SHORTCUTS[assignment]
        out["shortcut"] = (answered(release, {**answers, gid: code}), total - lost, phrase)
    return out, total


def grade(path, assignment, students, name, command):
    """Submit each student's notebook as `name`, grade them all with command, make feedback."""
    for student, (nb, _, _) in students.items():
        submit(path, student, assignment, nb, name)
    out = subprocess.run([str(c) for c in command], cwd=path, env=course_env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run([str(BIN / "nbgrader"), "generate_feedback", assignment], cwd=path, env=course_env(),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def check(path, assignment, students, total, release):
    with Gradebook(f"sqlite:///{path / 'gradebook.db'}") as gb:
        for student, (_, score, _) in students.items():
            sub = gb.find_submission(assignment, student)
            assert (student, sub.score, sub.max_score) == (student, score, total)
    out = subprocess.run([str(BIN / "nbgrader"), "export"], cwd=path, env=course_env(),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    with (path / "grades.csv").open() as f:
        exported = {r["student_id"]: (float(r["score"]), float(r["max_score"])) for r in csv.DictReader(f)}
    assert exported == {student: (score, total) for student, (_, score, _) in students.items()}
    for student, (_, _, phrase) in students.items():
        graded = nbformat.read(path / "autograded" / student / assignment / release.name, as_version=4)
        page = (path / "feedback" / student / assignment / release.with_suffix(".html").name).read_text()
        assert phrase in html.unescape(re.sub(r"<[^>]+>", "", page)), (student, phrase)
        for cell in graded.cells:
            if cell.metadata.get("nbgrader", {}).get("grade") and "Hidden (" in cell.source:
                assert hidden.CONCEALED in cell.source and "grading.hidden(" not in cell.source, student
        assert "grading.hidden(" not in page and "HIDDEN TESTS" not in page, student


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grader_parallel_grades_every_assignment_by_its_checks_alone(tmp_path, assignment):
    release, source = released_course(tmp_path, assignment)
    students, total = submissions(release, source, assignment)
    grade(tmp_path, assignment, students, release.name,
          [sys.executable, "-m", "grader.parallel", assignment, "--workers", "2", "--no-progress"])
    check(tmp_path, assignment, students, total, release)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_plain_nbgrader_grades_every_assignment_by_its_checks_alone(tmp_path, assignment):
    release, source = released_course(tmp_path, assignment)
    students, total = submissions(release, source, assignment, parallel=False)
    grade(tmp_path, assignment, students, release.name, [BIN / "nbgrader", "autograde", assignment])
    check(tmp_path, assignment, students, total, release)

"""`python -m grader.similarity` flags copies, and only copies (grader/similarity.py).

A course folder with exercise 02 released receives eight submissions: the course's
solution copied verbatim; alice's own solution and bob's copy of it with every variable
renamed (and a <script> in a comment); an honest solution written differently from the
course's; two students who wrote nothing, and two who wrote the same single line. The
report must flag the copy of the solution (against solutions/) and alice and bob
(against each other), and neither the honest student, the empty notebooks nor the one
line; its HTML must show student code only escaped; and no file of the course but the
report may change.
"""
import csv
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import grader.similarity

from submissions import answered, course_env, solution_answers

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
A = "02_lstm_cell"

ALICE = {
    "sigmoid": '''def sigmoid(x):
    """Logistic function."""
    e = np.exp(-np.abs(x))
    r = 1.0 / (1.0 + e)
    return np.where(x < 0, 1.0 - r, r)
''',
    "lstm_step_forward": '''def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step."""
    hidden = h_prev.shape[1]
    pre = np.dot(x, Wx) + np.dot(h_prev, Wh) + b
    in_gate, forget_gate, candidate, out_gate = np.split(pre, 4, axis=1)
    in_gate = sigmoid(in_gate)
    forget_gate = sigmoid(forget_gate)
    candidate = np.tanh(candidate)
    out_gate = sigmoid(out_gate)
    new_c = forget_gate * c_prev + in_gate * candidate
    squashed = np.tanh(new_c)
    new_h = out_gate * squashed
    saved = (x, h_prev, c_prev, Wx, Wh, in_gate, forget_gate, candidate, out_gate, squashed)
    assert new_h.shape[1] == hidden
    return new_h, new_c, saved
''',
}

RENAMES = {"hidden": "nh", "pre": "z", "in_gate": "ig", "forget_gate": "fg",
           "candidate": "cand", "out_gate": "og", "new_c": "cn", "squashed": "tc",
           "new_h": "hn", "saved": "stash", "e": "t", "r": "s"}


def renamed(code):
    """code with every variable of RENAMES renamed (whole words), and a comment added."""
    out = re.sub(r"\b(" + "|".join(RENAMES) + r")\b", lambda m: RENAMES[m.group(1)], code)
    return out.replace('"""\n', '"""\n    # my own work <script>alert(1)</script>\n', 1)


HONEST = {
    "sigmoid": '''def sigmoid(x):
    """Logistic function, stable for all x."""
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (ex + 1.0)
    return out
''',
    "lstm_step_forward": '''def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step, gate by gate."""
    n = c_prev.shape[-1]

    def gate(k, squash):
        cols = slice(k * n, (k + 1) * n)
        return squash(x.dot(Wx[:, cols]) + h_prev.dot(Wh[:, cols]) + b[cols])

    ig, fg, gg, og = (gate(k, f) for k, f in enumerate((sigmoid, sigmoid, np.tanh, sigmoid)))
    cell = fg * c_prev
    cell += ig * gg
    tc = np.tanh(cell)
    return og * tc, cell, (x, h_prev, c_prev, Wx, Wh, ig, fg, gg, og, tc)
''',
}


# One line, the same in many notebooks: never flagged (--min-tokens).
TINY = {"sigmoid": 'def sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n'}


def files(folder):
    """{relative path: sha256} of every file under folder."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def similarity(course, *args):
    return subprocess.run([sys.executable, "-m", "grader.similarity", *args], cwd=course,
                          env=course_env(), capture_output=True, text=True)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course with exercise 02 released (by nbgrader, with its gradebook) and the six
    submissions; returns (folder, the command's output, files before, files after)."""
    course = tmp_path_factory.mktemp("similarity-course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / A, course / "solutions" / A)
    out = subprocess.run([str(BIN / "nbgrader"), "generate_assignment", A], cwd=course,
                         env=course_env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    release = course / "exercises" / A / "lstm_cell.ipynb"
    answers = {"verbatim": solution_answers(course / "solutions" / A / "lstm_cell.ipynb"),
               "alice": ALICE, "bob": {k: renamed(v) for k, v in ALICE.items()},
               "honest": HONEST, "empty": {}, "blank": {}, "tiny": TINY, "tiny2": TINY}
    for student, code in answers.items():
        (course / "submitted" / student / A).mkdir(parents=True)
        nbformat.write(answered(release, code), course / "submitted" / student / A / release.name)
    before = files(course)
    run = similarity(course, A)
    return course, run, before, files(course)


def report(course):
    with open(course / "reports" / "similarity" / A / "similarity.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def test_the_command_succeeds_and_says_what_it_flagged(course):
    _, run, _, _ = course
    assert run.returncode == 0, run.stdout + run.stderr
    assert "8 submissions of 02_lstm_cell compared, 3 flagged" in run.stdout, run.stdout


def test_the_copy_of_the_solution_is_flagged_against_the_reference(course):
    row = report(course[0])["verbatim"]
    assert row["flagged"] == "yes"
    assert float(row["reference_similarity"]) == 1.0
    assert row["closest_reference"] == f"solutions/{A}/lstm_cell.ipynb"
    assert int(row["tokens"]) >= 100


def test_a_renamed_copy_is_flagged_with_its_original(course):
    rows = report(course[0])
    for me, other in (("alice", "bob"), ("bob", "alice")):
        assert rows[me]["flagged"] == "yes" and rows[me]["closest_student"] == other
        assert float(rows[me]["student_similarity"]) >= 0.9, rows[me]
        assert float(rows[me]["reference_similarity"]) < 0.6, rows[me]


def test_an_honest_solution_and_empty_ones_are_not_flagged(course):
    rows = report(course[0])
    honest = rows["honest"]
    assert honest["flagged"] == "no", honest
    assert float(honest["student_similarity"]) < 0.6 and float(honest["reference_similarity"]) < 0.6
    for student in ("empty", "blank"):
        assert rows[student]["flagged"] == "no", rows[student]
        assert rows[student]["tokens"] == "0"            # the starter code is boilerplate
        assert float(rows[student]["student_similarity"]) == 0.0
    for student in ("tiny", "tiny2"):                    # identical, but one line
        assert rows[student]["flagged"] == "no", rows[student]
        assert float(rows[student]["student_similarity"]) == 1.0
        assert 0 < int(rows[student]["tokens"]) < grader.similarity.MIN_TOKENS


def test_the_report_is_ranked_most_similar_first(course):
    with open(course[0] / "reports" / "similarity" / A / "similarity.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    top = [max(float(r["student_similarity"]), float(r["reference_similarity"])) for r in rows]
    assert top == sorted(top, reverse=True)
    assert [r["flagged"] for r in rows[:3]] == ["yes"] * 3


def test_the_html_shows_student_code_only_escaped(course):
    page = (course[0] / "reports" / "similarity" / A / "similarity.html").read_text()
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page       # bob's comment, as text
    assert "<mark>" in page and "bob" in page and "alice" in page


def test_nothing_but_the_report_changes(course):
    _, _, before, after = course
    assert {k: v for k, v in after.items() if not k.startswith("reports/")} == before
    assert sorted(k for k in after if k.startswith("reports/")) == [
        f"reports/similarity/{A}/similarity.csv", f"reports/similarity/{A}/similarity.html"]


def error(*args):
    """The message the command exits with (a non-zero status) given args; in this process,
    so the three cases cost no start of Python each."""
    with pytest.raises(SystemExit) as exit:
        grader.similarity.main(list(args))
    assert isinstance(exit.value.code, str), exit.value.code     # printed; the status is 1
    return exit.value.code


def test_bad_input_gets_a_clear_error(course, tmp_path):
    folder = str(course[0])
    said = error("09_nothing", "--course", folder)
    assert "expected exercises/09_nothing/*.ipynb" in said and f"released: {A}" in said, said
    said = error(A, "--autograded", "--course", folder)
    assert f"no submissions of '{A}': expected autograded/<student>/{A}/" in said, said
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    assert "expected exercises/" in error(A, "--course", str(tmp_path))
    assert "no nbgrader_config.py" in error(A, "--course", str(tmp_path / "nowhere"))

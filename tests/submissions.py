"""Submissions made from an assignment's notebooks, as a student might hand them in: the
release with some of its solution cells answered. One definition for the end-to-end test
(tests/test_exercises.py), the hostile corpus (tests/hostile/cases.py), the parallel
grading test and its benchmark (benchmarks/parallel_grading.py); for the last two also a
whole course of such submissions, and what its gradebook holds once graded.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def course_env(**extra):
    """The environment to run nbgrader and grader.parallel in, from a course folder: this
    environment's bin/ first on PATH (nbgrader runs alembic from PATH), the repository on
    PYTHONPATH (for `python -m grader.parallel`), and the variables in extra."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=path,
                **extra)

SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\n", flags=re.M)


def solution_answers(source):
    """{grade_id: code} of the solution cells of a source notebook, markers removed."""
    return {c.metadata["nbgrader"]["grade_id"]: SOLUTION_MARKERS.sub("", c.source)
            for c in nbformat.read(source, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def answered(release, answers):
    """The release notebook with the solution cells named in answers ({grade_id: code})
    holding that code; every other cell as released."""
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers and cell.metadata["nbgrader"].get("solution"):
            cell.source = answers[gid]
    return nb


# A partial submission per assignment: the solution cells (grade_id) that the student
# completed, and the score that must follow (graded in tests/test_hostile_all.py).
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


# A stand-in for a trained sentiment model (exercise 04) that answers by the rule that made
# the labels: source code, run in a test (tests/test_grading.py) or pasted into a notebook
# as a student's shortcut (tests/test_hostile_all.py). It needs keras, np and grading.
SENTIMENT_RULE = '''
def rule_model(flip_example=False, order_blind=False, constant=None, decoy=False):
    """The labels' rule as a Keras model (with decoy, holding an LSTM layer with weights,
    which it never uses)."""
    words = np.array(grading.SENTIMENT_WORDS)
    positive = np.isin(words, grading.POSITIVE_WORDS)
    opinion = np.isin(words, grading.POSITIVE_WORDS + grading.NEGATIVE_WORDS)
    negator = words == "not"

    class Rule(keras.Model):
        def __init__(self):
            super().__init__()
            if decoy:
                self.lstm = keras.layers.LSTM(3)
                self.lstm.build((None, grading.SENTIMENT_LEN, 4))

        def predict(self, x, verbose=0):
            x = np.asarray(x)
            if constant is not None:
                return np.full((len(x), 1), constant, np.float32)
            word = x[np.arange(len(x)), np.argmax(opinion[x], axis=1)]
            p = positive[word] if order_blind else positive[word] != negator[x].any(axis=1)
            p = p.astype(np.float32)
            if flip_example:
                p[(x == grading.encode_reviews([grading.SENTIMENT_EXAMPLE])[0]).all(axis=1)] = 0.0
            return p[:, None]
    return Rule()
'''


# Four kinds of student of exercise 02 (lstm_cell), for grading many submissions at once.
KINDS = ["complete", "sigmoid only", "untouched", "wrong gate order"]


def lstm_cell_submission(release, solution, kind):
    """A submission of exercise 02 by a student of one of KINDS. "wrong gate order" takes
    the candidate g from the output gate's block (a[:, 3H:]): a typical slicing mistake."""
    answers = solution_answers(solution)
    wrong = answers["lstm_step_forward"].replace("a[:, 2 * H:3 * H]", "a[:, 3 * H:]", 1)
    assert wrong != answers["lstm_step_forward"], "the solution no longer slices a[:, 2 * H:3 * H]"
    chosen = {"complete": answers, "sigmoid only": {"sigmoid": answers["sigmoid"]}, "untouched": {},
              "wrong gate order": {**answers, "lstm_step_forward": wrong}}[kind]
    return answered(release, chosen)


def released_course(folder, assignment, config=""):
    """Make folder a course with one assignment released, as an instructor would: the
    course's nbgrader_config.py (with the lines config added), the assignment's source
    copied from solutions/ and `nbgrader generate_assignment` run on it. Returns the
    (release, source) notebooks."""
    folder = Path(folder)
    (folder / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text() + config)
    shutil.copytree(ROOT / "solutions" / assignment, folder / "solutions" / assignment)
    out = subprocess.run([str(BIN / "nbgrader"), "generate_assignment", assignment], cwd=folder,
                         env=course_env(), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{out.stdout}\n{out.stderr}")
    (release,) = (folder / "exercises" / assignment).glob("*.ipynb")
    (source,) = (folder / "solutions" / assignment).glob("*.ipynb")
    return release, source


def submit(folder, student, assignment, notebook, name):
    """Put a student's notebook where `nbgrader collect` would: submitted/<student>/<assignment>/name."""
    dest = Path(folder) / "submitted" / student / assignment
    dest.mkdir(parents=True)
    nbformat.write(notebook, dest / name)


def lstm_cell_course(folder, count, name="student{:03d}", config=""):
    """Fill folder with a course of exercise 02 (`released_course`) and count submissions,
    student k (named name.format(k)) of kind KINDS[k % 4]."""
    a = "02_lstm_cell"
    release, solution = released_course(folder, a, config)
    for k in range(count):
        submit(folder, name.format(k), a, lstm_cell_submission(release, solution, KINDS[k % len(KINDS)]),
               release.name)


def gradebook_contents(db_url):
    """Everything autograding wrote into the gradebook at db_url (for a course folder's
    own: f"sqlite:///{course}/gradebook.db"): {(student, cell): (auto_score, manual_score,
    needs_manual_grade)} for each test cell, {(student, cell, "comment"): (auto_comment,
    manual_comment)} for each comment."""
    out = {}
    with Gradebook(db_url) as gb:
        for student in gb.students:
            for sub in student.submissions:
                for nb in sub.notebooks:
                    for g in nb.grades:
                        out[(student.id, g.name)] = (g.auto_score, g.manual_score, g.needs_manual_grade)
                    for c in nb.comments:
                        out[(student.id, c.name, "comment")] = (c.auto_comment, c.manual_comment)
    return out

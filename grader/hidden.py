"""Hidden tests: inputs no one can know in advance, and code no student sees.

A hidden test is a test cell of its own (its points and a one-line description above the
hidden part are in the released notebook), whose checks sit between nbgrader's markers:

    # Hidden (1 point): your step chained over 20 steps, on inputs drawn when it is graded.
    ### BEGIN HIDDEN TESTS
    grading.hidden(grading.HIDDEN_SEED, grading.check_lstm_step_rollout, lstm_step_forward)
    ### END HIDDEN TESTS

The course is open (the solutions and `lstm_ref` are public), so the checks' inputs must
not be: before such a cell runs, the grader writes in place of `grading.HIDDEN_SEED` a
seed drawn from the course's secret, the assignment, the notebook, the cell and the
student (`seed_for`). No code that ran before the cell can know it, so no answer can be
prepared for it; a student graded twice gets the same inputs. Run by hand (the source
notebook, or a cell without the substitution), `grading.HIDDEN_SEED` is a fixed value.

After the cell ran, its hidden part is replaced by a line saying that it is hidden
(`conceal`), and an error's traceback, which would quote the cell's code, by the check's
message alone: the autograded notebook and the feedback show the description, the
score and what is wrong, never the hidden code.

The secret: `LSTM_COURSE_SECRET` in the grader's environment if set, else the file
`.course_secret` in the course folder, made (random, readable by its owner only) the
first time a hidden test is graded. Keep it out of the repository and out of students'
reach; grading kernels never see it (the sandbox passes no such variable and shows no
course folder). Changing it changes every hidden input.
"""
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from nbformat.notebooknode import NotebookNode

ENV = "LSTM_COURSE_SECRET"
SECRET_FILE = ".course_secret"
PLACEHOLDER = "grading.HIDDEN_SEED"
_REGION = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", flags=re.S)
CONCEALED = "# (the code of this hidden test is not shown: its description and result are)\n"


def is_hidden(cell):
    return cell.cell_type == "code" and bool(_REGION.search(cell.source))


def course_secret(root):
    """The course's secret (bytes): $LSTM_COURSE_SECRET, else root/.course_secret, made
    on first use with 32 random bytes, mode 0600."""
    if os.environ.get(ENV):
        return os.environ[ENV].encode()
    path = Path(root) / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path.read_bytes().strip()


def seed_for(secret, assignment, notebook, grade_id, student):
    """A seed in [0, 2**63) for one hidden cell of one student's notebook."""
    message = "\0".join([assignment, notebook, grade_id, student]).encode()
    return int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest()[:8], "big") >> 1


def with_seed(source, seed):
    """source with grading.HIDDEN_SEED written as the number seed, in its hidden part only."""
    return _REGION.sub(lambda m: m.group(0).replace(PLACEHOLDER, str(seed)), source)


def conceal(cell):
    """The cell with its hidden part replaced by a note, and every error output cut to the
    check's message (a traceback quotes the cell's code)."""
    cell.source = _REGION.sub(CONCEALED, cell.source)
    for k, out in enumerate(cell.get("outputs", [])):
        if out.get("output_type") == "error":
            cell.outputs[k] = NotebookNode(output_type="error", ename=out.get("ename", ""),
                                           evalue=out.get("evalue", ""),
                                           traceback=[f"\x1b[0;31m{out.get('ename', '')}\x1b[0m: "
                                                      f"{out.get('evalue', '')}"])
    return cell

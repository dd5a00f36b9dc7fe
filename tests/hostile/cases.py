"""Hostile submissions of exercise 02 (the LSTM cell), each with the grade it deserves.

Every case is built from the course's own release and solution notebooks when the test
runs (so the corpus follows the exercise when it changes): a function of `Materials`
returns the files of one student's submission folder. `score` is the total the
submission deserves out of the notebook's 8 points (sigmoid 3; lstm_step_forward 2, the same
on hidden inputs 1, the form of its answer 1, its hidden 20-step rollout 1) and `phrase` what
its feedback must say (or a tuple of phrases, one of which it must say).

    python tests/hostile/cases.py OUT_DIR     # write the corpus out, to look at it

The points of the parts, to read the scores: a correct sigmoid earns 3; a correct
lstm_step_forward earns 2 + 1 + 1 + 1, and it calls the student's sigmoid, so it needs one;
a wrong one that returns arrays of the right shapes still earns the 1 of their form.
"""
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/, also when run as a script
from submissions import answered, solution_answers  # noqa: E402

ASSIGNMENT = "02_lstm_cell"
NOTEBOOK = "lstm_cell.ipynb"
TOTAL = 8.0
HEAD = "def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):\n"
ZEROS = HEAD + "    return np.zeros_like(h_prev), np.zeros_like(c_prev), None\n"
NAIVE_SIGMOID = "def sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n"


@dataclass
class Symlink:
    """A symbolic link in a submission folder."""
    target: str


@dataclass
class Materials:
    release: Path          # the released notebook
    solution: Path         # the source notebook, with the solutions
    course: Path           # the course folder the test grades in

    def answers(self):
        """{grade_id: code} of the solution cells, without the solution markers."""
        return solution_answers(self.solution)

    def solved(self, **replace):
        """The release with every solution cell answered, the cells named in replace
        (grade_id=code) answered with that code instead."""
        return answered(self.release, {**self.answers(), **replace})


@dataclass
class Case:
    name: str
    what: str
    score: float
    phrase: object          # a phrase, or a tuple of phrases of which one must be there
    make: Callable[[Materials], dict]      # {relative path: notebook, bytes or Symlink}


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def index(nb, gid):
    return next(k for k, c in enumerate(nb.cells) if grade_id(c) == gid)


def one(nb):
    return {NOTEBOOK: nb}


def with_test_source(nb, gid, source):
    nb.cells[index(nb, gid)].source = source
    return nb


def without(nb, *gids):
    nb.cells = [c for c in nb.cells if grade_id(c) not in gids]
    return nb


def after(nb, gid, source):
    """nb with a plain code cell (the student's own) inserted after the cell gid."""
    nb.cells.insert(index(nb, gid) + 1, nbformat.v4.new_code_cell(source))
    return nb


def part2_first(nb):
    """Parts moved around: Part 2 (its text, solution and both tests) before Part 1."""
    start = index(nb, "lstm_step_forward") - 1              # the Part 2 heading
    part2 = nb.cells[start:]
    nb.cells = nb.cells[:index(nb, "sigmoid") - 1] + part2 + nb.cells[index(nb, "sigmoid") - 1:start]
    return nb


def swapped_tests(nb):
    i, j = index(nb, "test_lstm_step_forward"), index(nb, "test_lstm_step_rollout")
    nb.cells[i], nb.cells[j] = nb.cells[j], nb.cells[i]
    return nb


def duplicated_test(nb):
    """The sigmoid test twice, both copies emptied."""
    k = index(nb, "test_sigmoid")
    copy = nbformat.from_dict(json.loads(json.dumps(nb.cells[k])))
    if "id" in copy:
        copy["id"] = copy["id"] + "-copy"
    nb.cells.insert(k + 1, copy)
    nb.cells[k].source = nb.cells[k + 1].source = "pass  # tests are for other people"
    return nb


def forged_metadata(nb):
    """The sigmoid test claims 100 points, and a cell of the student's claims 50 more."""
    nb.cells[index(nb, "test_sigmoid")].metadata["nbgrader"]["points"] = 100
    bonus = nbformat.v4.new_code_cell("print('bonus points, please')")
    bonus.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                  "grade_id": "bonus", "points": 50, "schema_version": 3}
    bonus.outputs = [nbformat.v4.new_output("stream", name="stdout", text="all tests passed\n")]
    nb.cells.append(bonus)
    return nb


def snooping(course):
    """A cell that tries to read and write what a kernel must not reach."""
    targets = {"gradebook.db": course / "gradebook.db",
               "solutions": course / "solutions" / ASSIGNMENT / NOTEBOOK,
               "nbgrader_config.py": course / "nbgrader_config.py",
               "honest's submission": course / "submitted" / "honest" / ASSIGNMENT / NOTEBOOK,
               "relative gradebook.db": Path("../../../gradebook.db"),
               "course secret": course / ".course_secret"}
    return "\n".join([
        "import os",
        "for name, path in %r.items():" % {k: str(v) for k, v in targets.items()},
        "    try:",
        "        open(path, 'rb').read(100)",
        "        print(name + ': READ')",
        "    except OSError as err:",
        "        print(name + ': ' + type(err).__name__)",
        "for name, path in [('course folder', %r), ('gradebook', %r), ('lstm_ref', "
        "os.path.dirname(grading.__file__) + '/pwned.py'), ('parent folder', '../pwned.txt')]:"
        % (str(course / "pwned.txt"), str(course / "gradebook.db")),
        "    try:",
        "        open(path, 'a').write('pwned')",
        "        print('wrote ' + name)",
        "    except OSError as err:",
        "        print('cannot write ' + name + ': ' + type(err).__name__)",
        "open('my_notes.txt', 'w').write('a file of my own, in my own folder')",
        "open('/tmp/pwned-by-a-student', 'w').write('a file in /tmp')",
    ])


DELEGATE = "    from lstm_ref import cells\n"

CASES = [
    Case("infinite_loop", "lstm_step_forward never returns", 3, "longer than the time limit",
         lambda m: one(m.solved(lstm_step_forward=HEAD + "    while True:\n        pass\n"))),
    Case("uninterruptible_loop", "ignores the interrupt (SIGINT) and loops forever", 3,
         "did not respond to the interrupt",
         lambda m: one(m.solved(lstm_step_forward=(
             HEAD + "    import signal\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
             "    while True:\n        pass\n")))),
    # Whichever thread first meets the limit fails: the student's code (MemoryError) or one of
    # the kernel's own (the kernel stops). Both earn nothing for lstm_step_forward.
    Case("memory_bomb", "lstm_step_forward allocates until memory runs out", 3,
         ("MemoryError", "runs out of memory (the limit is"),
         lambda m: one(m.solved(lstm_step_forward=(
             HEAD + "    hog = []\n    while True:\n        hog.append(np.ones(2**20))\n")))),
    Case("kills_kernel", "lstm_step_forward calls os._exit", 3,
         "the kernel (the Python process running your notebook) stopped",
         lambda m: one(m.solved(lstm_step_forward=HEAD + "    import os\n    os._exit(1)\n"))),
    Case("sys_exit", "lstm_step_forward calls sys.exit", 3, "SystemExit",
         lambda m: one(m.solved(lstm_step_forward=HEAD + "    import sys\n    sys.exit('bye')\n"))),
    Case("gigantic_output", "prints 25 MB", TOTAL, "truncated this cell's output",
         lambda m: one(m.solved(sigmoid=m.answers()["sigmoid"] + "\nprint('spam ' * 5_000_000)\n"))),
    Case("edited_test", "a naive sigmoid, its test edited to print 'trust me'", 5,
         "sigmoid overflows",
         lambda m: one(with_test_source(m.solved(sigmoid=NAIVE_SIGMOID), "test_sigmoid",
                                        "print('trust me')"))),
    Case("deleted_test", "a wrong lstm_step_forward, its test deleted", 4,
         "was missing from the submission",
         lambda m: one(without(m.solved(lstm_step_forward=ZEROS), "test_lstm_step_forward"))),
    Case("duplicated_test", "a naive sigmoid, its test duplicated and both copies emptied", 5,
         "sigmoid overflows", lambda m: one(duplicated_test(m.solved(sigmoid=NAIVE_SIGMOID)))),
    Case("reordered_parts", "Part 2 moved before Part 1: its tests run before sigmoid exists",
         3, "NameError", lambda m: one(part2_first(m.solved()))),
    Case("reordered_tests", "the two tests of Part 2 swapped", TOTAL, "check_lstm_step_shapes",
         lambda m: one(swapped_tests(m.solved()))),
    Case("forged_metadata", "claims 100 points for a test and adds a graded cell of its own",
         4, "check_sigmoid", lambda m: one(forged_metadata(m.solved(lstm_step_forward=ZEROS)))),
    Case("invalid_json", "a file that is not JSON", 0, "could not read the file you submitted",
         lambda m: {NOTEBOOK: b'{"cells": [{"cell_type": "code", '}),
    Case("empty_file", "an empty file", 0, "could not read the file you submitted",
         lambda m: {NOTEBOOK: b""}),
    Case("not_a_notebook", "JSON, but not a notebook", 0, "could not read the file you submitted",
         lambda m: {NOTEBOOK: b'{"hello": "world"}'}),
    Case("wrong_name", "the solved notebook under another name", TOTAL,
         "it was graded as lstm_cell.ipynb",
         lambda m: {"LSTM cell (1).ipynb": m.solved()}),
    Case("missing_notebook", "a folder without the notebook", 0,
         "No notebook named lstm_cell.ipynb was submitted",
         lambda m: {"notes.txt": b"I will hand it in tomorrow"}),
    Case("syntax_error", "sigmoid's cell does not parse", 0, "SyntaxError",
         lambda m: one(m.solved(sigmoid="def sigmoid(x)\n    return x\n"))),
    Case("delegates", "lstm_step_forward calls the reference implementation", 3,
         "from the reference package",
         lambda m: one(m.solved(lstm_step_forward=(
             HEAD + DELEGATE +
             "    return cells.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)\n")))),
    Case("patches_checker", "a wrong lstm_step_forward, the checks replaced by no-ops", 3,
         "your notebook changed lstm_ref.grading.check_lstm_step_forward",
         lambda m: one(m.solved(lstm_step_forward=ZEROS + (
             "\ngrading.check_lstm_step_forward = lambda f: None\n"
             "grading.check_lstm_step_shapes = lambda f: None\n"
             "grading.check_lstm_step_rollout = lambda f: None\n")))),
    Case("patches_checker_during_test", "lstm_step_forward disables the comparison when called",
         3, "while this test ran",
         lambda m: one(m.solved(lstm_step_forward=(
             HEAD + "    import lstm_ref.grading.lstm_cell as checks\n"
             "    checks.check_array = lambda *args, **kwargs: None\n"
             "    return np.zeros_like(h_prev), np.zeros_like(c_prev), None\n")))),
    Case("patches_numpy_testing", "a correct notebook that replaces numpy.testing.assert_allclose",
         0, "numpy.testing.assert_allclose",
         lambda m: one(m.solved(sigmoid=m.answers()["sigmoid"] + (
             "\nimport numpy.testing\n"
             "numpy.testing.assert_allclose = lambda *args, **kwargs: None\n")))),
    Case("patches_numpy", "a wrong lstm_step_forward, np.allclose always True", 3,
         "numpy.allclose",
         lambda m: one(m.solved(lstm_step_forward=ZEROS + (
             "\nnp.allclose = lambda *args, **kwargs: True\n")))),
    Case("patches_builtins", "a wrong lstm_step_forward, builtins.abs replaced", 3,
         "builtins.abs",
         lambda m: one(m.solved(lstm_step_forward=ZEROS + (
             "\nimport builtins\nbuiltins.abs = lambda value: 0\n")))),
    Case("loosens_tolerance", "a wrong lstm_step_forward, the tolerances made huge", 3,
         "lstm_ref.tolerances.FLOAT64",
         lambda m: one(m.solved(lstm_step_forward=ZEROS + (
             "\nfrom lstm_ref import tolerances\n"
             "tolerances.FLOAT64['rtol'] = tolerances.FLOAT64['atol'] = 1e9\n")))),
    Case("nan_answer", "lstm_step_forward returns NaN", 4, "NaN or inf",
         lambda m: one(m.solved(lstm_step_forward=(
             HEAD + "    nan = np.full(h_prev.shape, np.nan)\n    return nan, nan, None\n")))),
    Case("wrong_shape", "lstm_step_forward returns (1, B, H) arrays", 3, "wrong shape",
         lambda m: one(m.solved(lstm_step_forward=(
             HEAD + "    return np.zeros((1,) + h_prev.shape), np.zeros((1,) + h_prev.shape), None\n")))),
    Case("wrong_dtype", "sigmoid always returns float64", 4, "keep the input's dtype",
         lambda m: one(m.solved(sigmoid=(
             "def sigmoid(x):\n    z = np.exp(-np.abs(x))\n"
             "    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(np.float64)\n")))),
    Case("snoops", "reads the gradebook, the solutions, the configuration and another "
         "submission, and writes into the course", TOTAL, "gradebook.db: FileNotFoundError",
         lambda m: one(after(m.solved(), "imports", snooping(m.course)))),
    Case("symlink_to_gradebook", "submits a symbolic link to the gradebook and reads it",
         TOTAL, "notes.txt: FileNotFoundError",
         lambda m: {NOTEBOOK: after(m.solved(), "imports", (
             "try:\n    open('notes.txt', 'rb').read()\n    print('notes.txt: READ')\n"
             "except OSError as err:\n    print('notes.txt: ' + type(err).__name__)\n")),
                    "notes.txt": Symlink(str(m.course / "gradebook.db"))}),
    Case("fork_bomb", "forks until refused (the test's limit: 64 processes)", TOTAL,
         "fork refused",
         lambda m: one(after(m.solved(), "imports", (
             "import os, time\nchildren = 0\nfor _ in range(300):\n    try:\n"
             "        pid = os.fork()\n    except OSError:\n"
             "        print(f'fork refused after {children} children')\n        break\n"
             "    if pid == 0:\n        time.sleep(3)\n        os._exit(0)\n    children += 1\n"
             "else:\n    print('300 forks allowed')\n")))),
    # The watch over calls into the reference (run_student) also sees through objects whose
    # __array__ computes later, threads, and a student switching the watch off.
    Case("delegates_lazily", "returns objects whose __array__ calls the reference later, "
         "when the check converts them", 3, "from the reference package",
         lambda m: one(m.solved(lstm_step_forward=(
             "class Later:\n    def __init__(self, args, k):\n        self.args, self.k = args, k\n"
             "    def __array__(self, dtype=None, copy=None):\n"
             "        from lstm_ref import cells\n"
             "        return cells.lstm_step_forward(*self.args)[self.k]\n\n" + HEAD +
             "    args = (x, h_prev, c_prev, Wx, Wh, b)\n"
             "    return Later(args, 0), Later(args, 1), None\n")))),
    Case("delegates_in_a_thread", "calls the reference in a thread of its own", 3, "from the reference package",
         lambda m: one(m.solved(lstm_step_forward=(
             HEAD + "    import threading\n" + DELEGATE + "    out = {}\n"
             "    t = threading.Thread(target=lambda: out.update(r=cells.lstm_step_forward(\n"
             "        x, h_prev, c_prev, Wx, Wh, b)))\n    t.start()\n    t.join()\n"
             "    return out['r']\n")))),
    Case("switches_the_watch_off", "calls sys.setprofile(None), then the reference", 3,
         "calls sys.setprofile",
         lambda m: one(m.solved(lstm_step_forward=(
             HEAD + "    import sys\n    sys.setprofile(None)\n" + DELEGATE +
             "    return cells.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)\n")))),
]

# Only the checks decide a score (grader/sandbox.py only_the_checks_decide): not what a
# cell displays, nor stderr, nor a hook of the student's that hides a failure.
FORGED = ("    import sys\n    sys.displayhook('all checks passed: full marks')\n"
          "    raise NotImplementedError()\n")
NOISY = ("\n_quiet_sigmoid = sigmoid\n\ndef sigmoid(x):\n    import sys, warnings\n"
         "    print('my sigmoid says hello on stderr', file=sys.stderr)\n"
         "    warnings.warn('a warning from my sigmoid', UserWarning)\n    return _quiet_sigmoid(x)\n")
HIDE = "\nget_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)\n"
REWRITE = ("\nimport ast\n\nclass NoTests(ast.NodeTransformer):\n"
           "    def visit_Module(self, node):\n"
           "        if 'grading.check' in ast.unparse(node):\n"
           "            return ast.Module(body=[ast.Pass()], type_ignores=[])\n        return node\n\n"
           "get_ipython().ast_transformers.append(NoTests())\n")
# Delegation, closed by making the reference unavailable while the student's code runs
# (lstm_ref/grading/core.py), not by catching the call: a worker thread started before the
# checks, code compiled under the package's own file name, a function rebuilt from the
# reference's code object.
WORKER = ("import queue, threading\nfrom lstm_ref import cells\n_jobs, _done = queue.Queue(), queue.Queue()\n\n"
          "def _worker():\n    while True:\n        args = _jobs.get()\n        try:\n"
          "            _done.put(cells.lstm_step_forward(*args))\n        except Exception as err:\n"
          "            _done.put(err)\n\nthreading.Thread(target=_worker, daemon=True).start()\n\n" + HEAD +
          "    _jobs.put((x, h_prev, c_prev, Wx, Wh, b))\n    out = _done.get()\n"
          "    if isinstance(out, Exception):\n        raise out\n    return out\n")
AS_THE_PACKAGE = ("import lstm_ref.cells\n_source = %r\n"
                  "exec(compile(_source, lstm_ref.cells.__file__, 'exec'), globals())\n"
                  % (HEAD + DELEGATE + "    return cells.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)\n"))
REBUILT = ("import types\nfrom lstm_ref import cells\n"
           "lstm_step_forward = types.FunctionType(cells.lstm_step_forward.__code__, vars(cells), "
           "'lstm_step_forward')\n")

CASES += [
    Case("forges_output", "implements nothing; its functions display a value before they fail",
         0, "not implemented yet",
         lambda m: one(m.solved(sigmoid="def sigmoid(x):\n" + FORGED, lstm_step_forward=HEAD + FORGED))),
    Case("noisy_honest", "the course's solution, whose sigmoid prints to stderr and warns", TOTAL,
         "a warning from my sigmoid", lambda m: one(m.solved(sigmoid=m.answers()["sigmoid"] + NOISY))),
    Case("hides_failures", "a wrong lstm_step_forward, exceptions swallowed by set_custom_exc", 3,
         "custom_exceptions", lambda m: one(m.solved(lstm_step_forward=ZEROS + HIDE))),
    Case("rewrites_tests", "a wrong lstm_step_forward, test cells rewritten by an AST transformer", 3,
         "ast_transformers", lambda m: one(m.solved(lstm_step_forward=ZEROS + REWRITE))),
    Case("delegates_to_a_started_thread", "lstm_step_forward hands the work to a thread started "
         "before the checks", 3, "from the reference package",
         lambda m: one(m.solved(lstm_step_forward=WORKER))),
    Case("compiled_as_the_package", "the delegating lstm_step_forward compiled under lstm_ref/cells.py's "
         "file name", 3, "from the reference package",
         lambda m: one(m.solved(lstm_step_forward=AS_THE_PACKAGE))),
    Case("rebuilt_reference", "lstm_step_forward rebuilt from the reference's code object", 3,
         "from the reference package", lambda m: one(m.solved(lstm_step_forward=REBUILT))),
]

# Answers prepared in advance for the public inputs: the hidden tests' inputs are drawn
# from the course's secret when the notebook is graded (grader/hidden.py), so they miss.
LOOKUP = ("from lstm_ref import cells, grading as _grading\n_table = {}\n\n"
          "def _key(args):\n    return b''.join(np.asarray(a).tobytes() + str(np.shape(a)).encode() for a in args)\n\n"
          "for _, _case in _grading.step_cases(4):\n"
          "    _args = tuple(_case[k] for k in _grading.LSTM_STEP_ARGS)\n"
          "    _table[_key(_args)] = cells.lstm_step_forward(*_args)\n\n" + HEAD +
          "    args = (x, h_prev, c_prev, Wx, Wh, b)\n"
          "    if _key(args) in _table:\n        return _table[_key(args)]\n"
          "    return np.zeros_like(h_prev), np.zeros_like(c_prev), None\n")

CASES += [
    Case("precomputed_answers", "lstm_step_forward looks up the reference's answers, computed in "
         "advance for the public inputs", 6, "on a random case (seed",
         lambda m: one(m.solved(lstm_step_forward=LOOKUP))),
]

# Scripts for whoever reads the feedback (grader/feedback.py cleans them out; the browser
# test tests/test_feedback_html.py opens this case's page): in a Markdown cell of the
# student's own, and in HTML and JavaScript outputs.
SCRIPT_MARKDOWN = ("My notes on the LSTM cell.\n\n"
                   "<script>document.title='PWNED'; window.pwned = 'markdown script'</script>\n\n"
                   "<img src=x onerror=\"document.title='PWNED'; window.pwned = 'markdown onerror'\">\n")
SCRIPT_OUTPUTS = ("from IPython.display import HTML, Javascript, display\n"
                  "display(HTML('<img src=x onerror=\"document.title=\\'PWNED\\'; "
                  "window.pwned = \\'html output\\'\">'))\n"
                  "display(Javascript(\"document.title='PWNED'; window.pwned = 'javascript output'\"))\n")


def with_markdown(nb, gid, source):
    """nb with a Markdown cell (the student's own) inserted after the cell gid."""
    nb.cells.insert(index(nb, gid) + 1, nbformat.v4.new_markdown_cell(source))
    return nb


CASES += [
    Case("injects_script", "the course's solution, with a <script> and an onerror= in a Markdown "
         "cell and in HTML and JavaScript outputs", TOTAL, "check_lstm_step_forward",
         lambda m: one(with_markdown(after(m.solved(), "imports", SCRIPT_OUTPUTS), "imports",
                                     SCRIPT_MARKDOWN))),
]

HONEST = Case("honest", "the course's solution", TOTAL, "check_lstm_step_forward",
              lambda m: one(m.solved()))


def write(case, materials, folder):
    """Write the case's submission into folder (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in case.make(materials).items():
        path = folder / name
        if isinstance(content, Symlink):
            path.symlink_to(content.target)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            nbformat.write(content, path)


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    out = Path(sys.argv[1])
    m = Materials(root / "exercises" / ASSIGNMENT / NOTEBOOK, root / "solutions" / ASSIGNMENT / NOTEBOOK,
                  out)
    for case in [HONEST, *CASES]:
        write(case, m, out / "submitted" / case.name / ASSIGNMENT)
        print(f"{case.name:28s} {case.score:4.0f}  {case.what}")

"""No submission can break autograding (grader/, nbgrader_config.py).

A course folder with exercise 02 receives the hostile corpus of tests/hostile/cases.py,
one student per case, plus an honest student, and grades them all in one batch with
`python -m grader.parallel`. Then:

- the batch grades every submission (none aborts it, none is left without a grade);
- every case earns exactly the score it deserves, and its feedback says why;
- the honest student, graded among them, keeps full marks;
- the gradebook, read back with nbgrader's API, is consistent: one submission per
  student, every test graded once, no cell of a student's own making counted;
- no file outside a student's own folder is created or changed: not the gradebook
  (except by the grader), the solutions, the configuration, another submission, the
  course package, nor the machine's /tmp; and no process is left running.

A second, smaller course is graded with plain `nbgrader autograde`: the configuration
alone (the sandbox, a dying kernel, duplicated cells, an unreadable file) protects an
instructor who does not use grader.parallel. A third is graded by a grader that is not
root, the sandbox's other path.

The test's configuration shortens the limits (10 s per cell, 1 GiB, 64 processes) so the
hostile cases cost little time.
"""
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from traitlets.config.loader import PyFileConfigLoader

from grader import hidden, integrity, parallel, sandbox
from hostile import cases
from submissions import course_env

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
A = cases.ASSIGNMENT
TEST_LIMITS = """
# tests/test_hostile.py: short limits, so that the hostile cases cost little time.
c.Execute.timeout = 10
c.SandboxedKernelManager.memory_limit = "1G"
c.SandboxedKernelManager.max_processes = 64
"""
HOST_TMP_FILE = Path("/tmp/pwned-by-a-student")     # what the snooping case writes in its /tmp


MARK = "GRADER_HOSTILE_TEST"          # in the environment of every process the batch starts


def run(args, cwd):
    return subprocess.run([str(a) for a in args], cwd=cwd, env=course_env(**{MARK: str(cwd)}),
                          capture_output=True, text=True)


def make_course(path, students):
    """A course folder with exercise 02 released and the given cases submitted."""
    (path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text() + TEST_LIMITS)
    shutil.copytree(ROOT / "solutions" / A, path / "solutions" / A)
    out = run([BIN / "nbgrader", "generate_assignment", A], path)
    assert out.returncode == 0, out.stdout + out.stderr
    materials = cases.Materials(path / "exercises" / A / cases.NOTEBOOK,
                                path / "solutions" / A / cases.NOTEBOOK, path)
    for case in students:
        cases.write(case, materials, path / "submitted" / case.name / A)


def files(folder):
    """{relative path: sha256} of every file under folder (links: their target)."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "link:" + os.readlink(path)
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def processes_started_for(course):
    """Processes (the grader's, the sandboxes' helpers) still running with our mark."""
    mark = f"{MARK}={course}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and mark in (proc / "environ").read_bytes().split(b"\0"):
                found.append(proc.name)
        except OSError:
            pass
    return found


def feedback_text(course, student):
    """What the student reads in their feedback page, tags removed."""
    page = (course / "feedback" / student / A / cases.NOTEBOOK.replace(".ipynb", ".html")).read_text()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


STUDENTS = [cases.HONEST, *cases.CASES]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    HOST_TMP_FILE.unlink(missing_ok=True)
    course = tmp_path_factory.mktemp("hostile-course")
    make_course(course, STUDENTS)
    before, package = files(course), files(ROOT / "lstm_ref")
    graded = run([sys.executable, "-m", "grader.parallel", A, "--workers", "2", "--no-progress"], course)
    after = files(course)
    feedback = run([BIN / "nbgrader", "generate_feedback", A], course)
    return {"course": course, "graded": graded, "before": before, "after": after,
            "package": package, "feedback": feedback}


def test_the_corpus_covers_enough_cases():
    names = [c.name for c in cases.CASES]
    assert len(names) >= 20 and len(set(names)) == len(names)
    assert all(0 <= c.score <= cases.TOTAL and c.phrase and c.what for c in cases.CASES)


def test_the_batch_grades_every_submission(batch):
    out = batch["graded"]
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"autograded {len(STUDENTS)} of {len(STUDENTS)} submissions" in out.stdout, out.stdout
    assert batch["feedback"].returncode == 0, batch["feedback"].stdout + batch["feedback"].stderr


@pytest.mark.parametrize("case", STUDENTS, ids=lambda c: c.name)
def test_every_case_earns_what_it_deserves(batch, case):
    with Gradebook(f"sqlite:///{batch['course'] / 'gradebook.db'}") as gb:
        submission = gb.find_submission(A, case.name)
        assert (submission.score, submission.max_score) == (case.score, cases.TOTAL), case.what


@pytest.mark.parametrize("case", STUDENTS, ids=lambda c: c.name)
def test_every_feedback_says_why(batch, case):
    text = feedback_text(batch["course"], case.name)
    phrases = case.phrase if isinstance(case.phrase, tuple) else (case.phrase,)
    assert any(p in text for p in phrases), f"{case.name} ({case.what}): no {case.phrase!r} in its feedback"


def test_the_honest_student_keeps_full_marks(batch):
    with Gradebook(f"sqlite:///{batch['course'] / 'gradebook.db'}") as gb:
        grades = gb.find_submission_notebook(cases.NOTEBOOK[:-6], A, "honest").grades
        assert [g.score for g in grades] == [g.max_score for g in grades]
        assert sum(g.score for g in grades) == cases.TOTAL


def test_the_gradebook_stays_consistent(batch):
    with Gradebook(f"sqlite:///{batch['course'] / 'gradebook.db'}") as gb:
        assert sorted(s.id for s in gb.students) == sorted(c.name for c in STUDENTS)
        assignment = gb.find_assignment(A)
        assert assignment.max_score == cases.TOTAL
        cells = sorted((c.name, c.max_score) for c in gb.find_notebook(cases.NOTEBOOK[:-6], A).grade_cells)
        assert cells == [("test_lstm_step_forward", 2.0), ("test_lstm_step_forward_hidden", 1.0),
                         ("test_lstm_step_rollout", 1.0), ("test_lstm_step_shapes", 1.0),
                         ("test_sigmoid", 3.0)]
        assert len(assignment.submissions) == len(STUDENTS)
        for student in STUDENTS:
            (notebook,) = gb.find_submission(A, student.name).notebooks
            grades = sorted((g.name, g.auto_score, g.needs_manual_grade) for g in notebook.grades)
            assert [g[0] for g in grades] == [c[0] for c in cells], student.name
            for (name, score, manual), (_, points) in zip(grades, cells):
                assert score in (0.0, points) and not manual, (student.name, name, score, manual)


def test_nothing_outside_a_students_folder_changes(batch):
    before, after = batch["before"], batch["after"]
    changed = {k for k in before if after.get(k) != before[k]}
    assert changed == {"gradebook.db"}, changed                  # written by the grader only
    created = set(after) - set(before)
    # The hidden tests' secret, made by the first grading, readable by its owner only.
    assert hidden.SECRET_FILE in created
    assert (batch["course"] / hidden.SECRET_FILE).stat().st_mode & 0o777 == 0o600
    created.discard(hidden.SECRET_FILE)
    strays = [k for k in created if not re.fullmatch(rf"autograded/[^/]+/{A}/[^/]+", k)]
    assert not strays, strays
    # What kernels wrote stayed in their private copies, even in their own folder.
    assert not [k for k in after if "pwned" in k or k.endswith("my_notes.txt")]
    # (The package is compared by its names only: other work may edit it meanwhile.)
    assert not [k for k in set(files(ROOT / "lstm_ref")) - set(batch["package"]) if "pwned" in k]
    assert not HOST_TMP_FILE.exists(), "a kernel wrote into the machine's /tmp"
    assert not processes_started_for(batch["course"]), "processes left running"


HIDDEN_CELLS = ("test_lstm_step_forward_hidden", "test_lstm_step_rollout")


@pytest.mark.parametrize("student", ["honest", "precomputed_answers", "forges_output"])
def test_hidden_tests_show_their_description_and_result_not_their_code(batch, student):
    nb = nbformat.read(batch["course"] / "autograded" / student / A / cases.NOTEBOOK, as_version=4)
    shown = {cases.grade_id(c): c for c in nb.cells if cases.grade_id(c) in HIDDEN_CELLS}
    assert sorted(shown) == sorted(HIDDEN_CELLS)
    for cell in shown.values():
        assert cell.source.startswith("# Hidden (1 point)") and hidden.CONCEALED in cell.source
        assert "grading.hidden(" not in cell.source and "HIDDEN TESTS" not in cell.source
        for out in cell.outputs:      # a traceback would quote the cell's code
            assert "grading.hidden(" not in str(out.get("traceback", "")), out
    page = (batch["course"] / "feedback" / student / A / cases.NOTEBOOK.replace(".ipynb", ".html")).read_text()
    assert "grading.hidden" not in page and "HIDDEN TESTS" not in page and "Hidden (1 point)" in page
    if student == "precomputed_answers":     # the public checks pass, the secret inputs do not
        rollout = shown["test_lstm_step_rollout"].outputs
        assert any(o.output_type == "error" for o in shown["test_lstm_step_forward_hidden"].outputs)
        assert any(o.output_type == "error" for o in rollout)


def test_hidden_seeds_come_from_the_secret():
    seeds = {hidden.seed_for(secret, A, "lstm_cell", "test_lstm_step_rollout", student)
             for secret in (b"one", b"two") for student in ("ann", "bob")}
    assert len(seeds) == 4 and all(0 <= s < 2**63 for s in seeds)
    assert hidden.seed_for(b"one", A, "lstm_cell", "t", "ann") == hidden.seed_for(b"one", A, "lstm_cell", "t", "ann")
    source = "# Hidden (1 point): what it checks.\n### BEGIN HIDDEN TESTS\nf(grading.HIDDEN_SEED)\n### END HIDDEN TESTS"
    assert hidden.with_seed(source, 42).endswith("f(42)\n### END HIDDEN TESTS")
    assert hidden.with_seed("f(grading.HIDDEN_SEED)", 42) == "f(grading.HIDDEN_SEED)"   # visible code: untouched


def test_the_sandbox_hides_the_course(batch):
    nb = nbformat.read(batch["course"] / "autograded" / "snoops" / A / cases.NOTEBOOK, as_version=4)
    said = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    for what in ("gradebook.db", "solutions", "nbgrader_config.py", "honest's submission",
                 "relative gradebook.db", "course secret"):
        assert f"{what}: FileNotFoundError" in said, said
    assert "READ" not in said and "wrote " not in said, said


PLAIN = ["kills_kernel", "duplicated_test", "empty_file", "patches_checker", "forges_output",
         "noisy_honest", "hides_failures", "delegates_to_a_started_thread"]


def test_plain_nbgrader_with_the_course_configuration(tmp_path):
    chosen = [cases.HONEST, *(c for c in cases.CASES if c.name in PLAIN)]
    make_course(tmp_path, chosen)
    out = run([BIN / "nbgrader", "autograde", A], tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        scores = {c.name: gb.find_submission(A, c.name).score for c in chosen}
    assert scores == {c.name: c.score for c in chosen}


NOT_ROOT = ["snoops", "kills_kernel", "fork_bomb", "wrong_name"]


def test_a_grader_that_is_not_root(tmp_path):
    """The sandbox's other path: a grader that is not root, for which bubblewrap makes the
    user namespace itself. Run as root (CI), the test grades in a user namespace where the
    grader is uid 1000: it then takes that path as any unprivileged grader would, while
    it can still read the Python environment (which here lives in root's home, closed to
    every real unprivileged user). Run as anyone else, it grades as that user."""
    chosen = [cases.HONEST, *(c for c in cases.CASES if c.name in NOT_ROOT)]
    make_course(tmp_path, chosen)
    before = files(tmp_path)
    prefix = ["unshare", "--user", "--map-user=1000", "--map-group=1000"] if os.geteuid() == 0 else []
    probe = ("import os; from grader import sandbox; km = sandbox.SandboxedKernelManager(); "
             "km._scratch = __import__('pathlib').Path('/nowhere'); "
             "print(os.geteuid(), '--unshare-user' in km.sandbox_command(['python'], {}, '/x/y'))")
    out = run([*prefix, sys.executable, "-c", probe], tmp_path)
    uid, own_namespace = out.stdout.split()
    assert uid != "0" and own_namespace == "True", out.stdout + out.stderr
    out = run([*prefix, sys.executable, "-m", "grader.parallel", A, "--workers", "2", "--no-progress"],
              tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        scores = {c.name: gb.find_submission(A, c.name).score for c in chosen}
    assert scores == {c.name: c.score for c in chosen}
    nb = nbformat.read(tmp_path / "autograded" / "snoops" / A / cases.NOTEBOOK, as_version=4)
    said = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "gradebook.db: FileNotFoundError" in said and "READ" not in said, said
    after = files(tmp_path)
    assert {k for k in before if after.get(k) != before[k]} == {"gradebook.db"}
    assert not [k for k in after if "pwned" in k or k.endswith("my_notes.txt")]


# ---------------------------------------------------------------- the pieces, without kernels

@pytest.mark.parametrize("text, size", [("4G", 4 * 2**30), ("512M", 512 * 2**20), ("1.5GiB", 3 * 2**29),
                                        (0, 0), ("1024", 1024)])
def test_sizes_are_read(text, size):
    assert sandbox.parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "-1", -5, "4X"])
def test_bad_sizes_are_refused_by_name(text):
    with pytest.raises(ValueError, match="memory_limit"):
        sandbox.parse_size(text, "memory_limit")


def test_the_guide_states_the_configured_limits():
    """The instructor guide's table of limits says what nbgrader_config.py sets."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    table = re.findall(r"^\| `c\.(\w+)\.(\w+)` \| ([^|]+?) \|", (ROOT / "instructors" / "guide.md").read_text(),
                       flags=re.M)
    assert len(table) == 6, table
    for section, trait, value in table:
        stated = sandbox.parse_size(value.removesuffix(" s"), f"{section}.{trait} in the guide")
        assert stated == sandbox.parse_size(config[section][trait]), (section, trait, value)


def test_the_sandbox_never_shows_the_course(tmp_path):
    km = sandbox.SandboxedKernelManager(read_only_paths=[str(tmp_path)])
    km._scratch = tmp_path / "scratch"
    (km._scratch / "work").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="would make .* visible"):
        km.sandbox_command(["python"], {}, inside_cwd=str(tmp_path / "autograded" / "ann" / A))


def test_the_sandbox_passes_on_only_harmless_variables(tmp_path):
    km = sandbox.SandboxedKernelManager()
    km._scratch = tmp_path
    cmd = km.sandbox_command([sys.executable, "-m", "ipykernel_launcher"],
                             {"OMP_NUM_THREADS": "1", "PGPASSWORD": "secret", "AWS_SECRET_ACCESS_KEY": "x"},
                             inside_cwd="/nowhere/autograded/ann/02")
    pairs = {cmd[k + 1]: cmd[k + 2] for k, a in enumerate(cmd) if a == "--setenv"}
    assert pairs["OMP_NUM_THREADS"] == "1" and "PGPASSWORD" not in pairs and not any("AWS" in p for p in pairs)
    assert "--clearenv" in cmd and "--unshare-net" in cmd and "/nowhere/autograded/ann/02" in cmd
    assert f"--as={4 * 2**30}" in cmd and f"--fsize={256 * 2**20}" in cmd and "--nproc=512" in cmd


def test_fingerprints_name_what_changed():
    before = {"numpy.abs": "i1", "lstm_ref.grading.check_sigmoid": "f2:3:4:5", "math.pi": "i6"}
    after = {**before, "numpy.abs": "i9", "numpy.new": "i7"}
    assert integrity.changes(before, after) == "numpy.abs"
    assert integrity.changes(before, dict(before)) == ""
    many = {f"m.f{k}": "i0" for k in range(8)}
    assert integrity.changes(many, {}) == "m.f0, m.f1, m.f2, m.f3, m.f4 and 3 more"


def test_staging_repairs_names_and_drops_links(tmp_path):
    release = tmp_path / "release"
    release.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]),
                   release / "lstm_cell.ipynb")
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), src / "Copy of lstm_cell.ipynb")
    (src / "data.txt").write_text("mine")
    (src / "gradebook.db").symlink_to(tmp_path / "elsewhere.db")
    notes = parallel.stage_submission(src, tmp_path / "one", ["lstm_cell"], release)
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["data.txt", "lstm_cell.ipynb"]
    assert notes == ["left out the symbolic link gradebook.db",
                     "graded Copy of lstm_cell.ipynb as lstm_cell.ipynb"]
    first = nbformat.read(tmp_path / "one" / "lstm_cell.ipynb", as_version=4).cells[0].source
    assert "you submitted this notebook as `Copy of lstm_cell.ipynb`" in first
    # Two candidates: no guessing; the expected notebook is the release, with a note.
    nbformat.write(nbformat.v4.new_notebook(), src / "other.ipynb")
    parallel.stage_submission(src, tmp_path / "two", ["lstm_cell"], release)
    nb = nbformat.read(tmp_path / "two" / "lstm_cell.ipynb", as_version=4)
    assert "No notebook named `lstm_cell.ipynb` was submitted" in nb.cells[0].source
    assert nb.cells[1].source == "x = 1"

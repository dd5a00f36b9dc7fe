"""`python -m grader.parallel` grades like `nbgrader autograde`, only faster.

- Two identical course folders with exercise 02 and eight submissions of four kinds are
  graded, one by plain `nbgrader autograde`, one by grader.parallel (2 workers): every
  score of every test cell and every comment is the same, and so is what `nbgrader
  export` writes. Graded again, nothing is regraded without --force; with it, the grades
  stay the same.
- A submission that outlasts --time-limit is stopped and reported, and changes nothing,
  while the others are graded.
- Bad arguments are refused with the argument's name.
"""
import csv
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from grader import parallel
from submissions import course_env, gradebook_contents, lstm_cell_course, lstm_cell_submission

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
A = "02_lstm_cell"


def sqlite(course):
    return f"sqlite:///{course / 'gradebook.db'}"


def run(args, cwd):
    out = subprocess.run([str(a) for a in args], cwd=cwd, env=course_env(), capture_output=True, text=True)
    assert out.returncode == 0, f"{args} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    base = tmp_path_factory.mktemp("parallel") / "base"
    base.mkdir()
    lstm_cell_course(base, 8, name="s{}")
    serial, fast = base.parent / "serial", base.parent / "parallel"
    shutil.copytree(base, serial)
    shutil.copytree(base, fast)
    run([BIN / "nbgrader", "autograde", A], serial)
    said = run([sys.executable, "-m", "grader.parallel", A, "--workers", "2", "--no-progress"], fast)
    return serial, fast, said


def test_parallel_grades_like_nbgrader(courses):
    serial, fast, said = courses
    assert "autograded 8 of 8 submissions" in said, said
    graded = gradebook_contents(sqlite(serial))
    assert graded and gradebook_contents(sqlite(fast)) == graded
    assert sorted({v[0] for k, v in graded.items() if len(k) == 2}) == [0.0, 1.0, 2.0, 3.0]
    for course in (serial, fast):
        run([BIN / "nbgrader", "export"], course)
    rows = [sorted((r["student_id"], r["score"])
                   for r in csv.DictReader((c / "grades.csv").read_text().splitlines()))
            for c in (serial, fast)]
    assert rows[0] == rows[1]
    assert [score for _, score in rows[0]] == ["8.0", "3.0", "0.0", "4.0"] * 2
    for k in range(8):
        assert (fast / "autograded" / f"s{k}" / A / "lstm_cell.ipynb").exists()


def test_graded_again_only_when_asked(courses):
    _, fast, _ = courses
    before = gradebook_contents(sqlite(fast))
    said = run([sys.executable, "-m", "grader.parallel", A, "--workers", "2", "--no-progress"], fast)
    assert "autograded 0 of 0 submissions" in said, said
    said = run([sys.executable, "-m", "grader.parallel", A, "--workers", "2", "--force",
                "--student", "s0", "--student", "s3", "--no-progress"], fast)
    assert "autograded 2 of 2 submissions" in said, said
    assert gradebook_contents(sqlite(fast)) == before


@pytest.fixture
def on_path(monkeypatch):
    """The environment's bin/ first on PATH: a new gradebook runs alembic from there."""
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")


def bare_course(path, students):
    """A course folder whose gradebook knows the assignment, with submissions."""
    (path / "nbgrader_config.py").write_text("c = get_config()\n")
    with Gradebook(sqlite(path)) as gb:
        gb.add_assignment(A)
        gb.add_notebook("lstm_cell", A)
    for s in students:
        (path / "submitted" / s / A).mkdir(parents=True)
        (path / "submitted" / s / A / "lstm_cell.ipynb").write_text("{}")


@pytest.mark.parametrize("kwargs, name", [({"workers": 0}, "workers"), ({"workers": 1.5}, "workers"),
                                          ({"time_limit": 0}, "time_limit")])
def test_bad_arguments_are_refused(tmp_path, kwargs, name, on_path):
    bare_course(tmp_path, ["ann"])
    with pytest.raises(ValueError, match=name):
        parallel.grade_batch(tmp_path, A, progress=False, **kwargs)


def test_a_submission_over_the_time_limit_fails_alone(courses, tmp_path):
    """A submission that outlasts --time-limit is stopped, worker and kernel; it is
    reported, nothing of it reaches the course, and the others are graded."""
    serial, _, _ = courses
    course = tmp_path / "course"
    shutil.copytree(serial, course, ignore=shutil.ignore_patterns("submitted", "autograded"))
    release = course / "exercises" / A / "lstm_cell.ipynb"
    looping = lstm_cell_submission(release, course / "solutions" / A / "lstm_cell.ipynb", "complete")
    looping.cells.insert(2, nbformat.v4.new_code_cell("while True:\n    pass"))
    for student, nb in (("ann", lstm_cell_submission(release, course / "solutions" / A / "lstm_cell.ipynb",
                                           "complete")), ("bob", looping)):
        (course / "submitted" / student / A).mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / A / "lstm_cell.ipynb")
    out = subprocess.run([sys.executable, "-m", "grader.parallel", A, "--workers", "2",
                          "--time-limit", "25", "--no-progress"], cwd=course, env=course_env(),
                         capture_output=True, text=True)
    said = out.stdout + out.stderr
    assert out.returncode == 1, said
    assert "FAILED bob: not graded after 25 s (--time-limit); stopped" in said, said
    assert "autograded 1 of 2 submissions" in said and "FAILED: bob" in said, said
    assert not (course / "autograded" / "bob").exists()
    with Gradebook(sqlite(course)) as gb:
        assert gb.find_submission(A, "ann").score == 8.0
        with pytest.raises(MissingEntry):
            gb.find_submission(A, "bob")
    kept = re.search(r"are in (\S+)", said).group(1)
    shutil.rmtree(kept)


# ---------------------------------------------------------------- a PostgreSQL gradebook

def pgserver_programs():
    """The folder of PostgreSQL's programs in the pgserver wheel (PostgreSQL 16, pinned
    in pyproject.toml). Only the programs are used: pgserver's Python API, run as root,
    adds a system user and opens up every folder above the environment."""
    spec = importlib.util.find_spec("pgserver")
    assert spec, "pgserver is not installed: `make venv` installs it (the course extra)"
    return Path(spec.origin).parent / "pginstall" / "bin"


def linked_programs(home):
    """PostgreSQL's programs, with the libraries and files they load, under home/: hard
    links, or copies across file systems. (As root, the server runs as nobody, who may
    not be allowed into the environment's folder: a checkout in root's home.)"""
    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    install = pgserver_programs().parent
    for part in ("bin", "lib/postgresql", "share/postgresql"):
        shutil.copytree(install / part, home / "pgserver" / "pginstall" / part,
                        symlinks=True, copy_function=link)
    # the programs find libpq at $ORIGIN/../../../pgserver.libs
    shutil.copytree(install.parent.parent / "pgserver.libs", home / "pgserver.libs",
                    copy_function=link)
    return home / "pgserver" / "pginstall" / "bin"


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server listening on a Unix socket only, that syncs nothing
    to disk; yields a function that makes a new database and returns its nbgrader
    db_url. (PostgreSQL refuses to run as root: as root, the server runs as nobody.)"""
    # Not under pytest's temporary folder: only root may enter that one.
    home = Path(tempfile.mkdtemp(prefix="grader-test-postgres-"))
    as_owner = {}
    if os.geteuid() == 0:
        import pwd
        owner = pwd.getpwnam("nobody")
        bin_ = linked_programs(home)
        os.chown(home, owner.pw_uid, owner.pw_gid)
        as_owner = dict(user=owner.pw_uid, group=owner.pw_gid, extra_groups=[])
    else:
        bin_ = pgserver_programs()

    def pg(program, *args):
        out = subprocess.run([bin_ / program, *args], capture_output=True, text=True,
                             cwd=home, **as_owner)
        assert out.returncode == 0, f"{program} {args}: {out.stdout}\n{out.stderr}"

    pg("initdb", "--no-sync", "-D", home / "data", "-A", "trust", "-U", "postgres")
    pg("pg_ctl", "-D", home / "data", "-l", home / "log", "-w", "start",
       "-o", f"-k {home} -c listen_addresses='' -c fsync=off -c synchronous_commit=off")

    def database(name):
        pg("createdb", "-h", home, "-U", "postgres", name)
        return f"postgresql+psycopg2://postgres@/{name}?host={home}"

    yield database
    pg("pg_ctl", "-D", home / "data", "-m", "immediate", "stop")
    shutil.rmtree(home)


def test_a_postgresql_gradebook(postgres, tmp_path):
    """Serial nbgrader and grader.parallel, each with its own PostgreSQL gradebook, give
    the same grades (the workers grade in SQLite copies and write back to PostgreSQL)."""
    courses = {}
    for way in ("serial", "parallel"):
        course = tmp_path / way
        course.mkdir()
        url = postgres(f"gradebook_{way}")
        lstm_cell_course(course, 4, name="s{}", config=f"\nc.CourseDirectory.db_url = {url!r}\n")
        courses[way] = (course, url)
    run([BIN / "nbgrader", "autograde", A], courses["serial"][0])
    said = run([sys.executable, "-m", "grader.parallel", A, "--workers", "2", "--no-progress"],
               courses["parallel"][0])
    assert "autograded 4 of 4 submissions" in said, said

    graded = gradebook_contents(courses["serial"][1])
    assert gradebook_contents(courses["parallel"][1]) == graded
    scores = [v[0] for k, v in graded.items() if len(k) == 2]       # the test cells' auto_score
    assert len(scores) == 4 * 5
    assert sum(scores) == 8 + 3 + 0 + 4

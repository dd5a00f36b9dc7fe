"""Autograde many submissions at once, with the same grades as `nbgrader autograde`.

    python -m grader.parallel ASSIGNMENT --workers 4

run from the course folder (the one with nbgrader_config.py). N worker processes each
set up a private copy of the course (the configuration, a copy of the gradebook, the
assignment's release and its non-notebook source files) and then grade one submission
after another, as they are handed out: a worker copies the submission into its private
course and runs nbgrader's own autograding on it, in process (nbgrader's NbGraderAPI,
which the formgrader uses too), so nbgrader starts once per worker, not once per
submission, and the workers are forked from a fork server that has imported it. This
process hands out the submissions and, as each is graded, gives its worker the next one
and copies the results into the real course, one student at a time: the autograded
folder, and the student's scores and comments into the real gradebook (through
nbgrader's Gradebook API). Only this process ever writes the real gradebook, so SQLite
is never written by two processes at once. The gradebook may also be PostgreSQL (any
database nbgrader's db_url accepts): the workers' copies are SQLite all the same. A
submission whose grading fails, or outlasts --time-limit, changes nothing in the course,
and the others carry on; a worker that outlasts the limit, or dies, is replaced.

What is graded is exactly what nbgrader would grade, after three repairs nbgrader does
not make, each announced to the student in a note at the top of their feedback:

- a notebook submitted under another name, when it is the only one missing and the only
  unknown one, is graded under the expected name;
- a notebook that is missing is graded as the release without answers (0 points);
- symbolic links in a submission are left out (nbgrader would copy the file they point
  to, which could be any file of the course).

Submissions already autograded are skipped unless --force is given or the submission's
timestamp.txt is newer, as with nbgrader. The command exits with status 1 if any
submission could not be graded; the others are graded regardless.
"""
import argparse
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

import nbformat
import sqlalchemy.exc
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader
from tqdm import tqdm

from . import hidden
from .sandbox import stand_in

CONFIG = "nbgrader_config.py"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS")
GRADE_FIELDS = ("auto_score", "manual_score", "extra_credit", "needs_manual_grade")
COMMENT_FIELDS = ("auto_comment", "manual_comment")


@dataclass
class Result:
    student: str
    ok: bool
    detail: str = ""          # why it failed; the notes of the repairs when it did not


def load_course(root, overrides=None):
    """(config, CourseDirectory) of the course at root, as nbgrader run there reads them;
    overrides: {trait of CourseDirectory: value} set on top."""
    root = Path(root).resolve()
    if not (root / CONFIG).exists():
        raise SystemExit(f"error: no {CONFIG} in {root}: run this from the course folder "
                         f"or pass --course")
    config = PyFileConfigLoader(CONFIG, path=str(root)).load_config()
    if "root" not in config.get("CourseDirectory", {}):
        config.CourseDirectory.root = str(root)
    for key, value in (overrides or {}).items():
        config.CourseDirectory[key] = value
    coursedir = CourseDirectory(config=config)
    if coursedir.directory_structure != os.path.join("{nbgrader_step}", "{student_id}",
                                                     "{assignment_id}"):
        raise SystemExit("error: grader.parallel supports only nbgrader's default "
                         "CourseDirectory.directory_structure")
    return config, coursedir


def snapshot_gradebook(db_url, path):
    """Copy the gradebook at db_url into a new SQLite file at path, consistently even while
    it is in use: SQLite by its backup API, any other database (PostgreSQL) table by table
    through nbgrader's own table definitions."""
    if db_url.startswith("sqlite:///"):
        src, dst = sqlite3.connect(db_url[len("sqlite:///"):]), sqlite3.connect(path)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return
    from nbgrader.api import Base
    source, copy = sqlalchemy.create_engine(db_url), sqlalchemy.create_engine(f"sqlite:///{path}")
    try:
        Base.metadata.create_all(copy)
        with source.connect() as src, copy.begin() as dst:
            for table in Base.metadata.sorted_tables:
                rows = [dict(row._mapping) for row in src.execute(table.select())]
                if rows:
                    dst.execute(table.insert(), rows)
            sql = sqlalchemy.text
            version = src.execute(sql("SELECT version_num FROM alembic_version")).scalar()
            dst.execute(sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            dst.execute(sql("INSERT INTO alembic_version VALUES (:v)"), {"v": version})
    finally:
        source.dispose()
        copy.dispose()


def submitted_students(coursedir, assignment):
    folder = Path(coursedir.root) / coursedir.submitted_directory
    return sorted(p.parent.name for p in folder.glob(f"*/{assignment}") if p.is_dir())


def needs_grading(coursedir, assignment, student, force):
    """nbgrader's rule: not autograded yet, --force, or a newer timestamp.txt."""
    dest = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    if force or not os.path.exists(dest):
        return True
    src = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    new, old = coursedir.get_existing_timestamp(src), coursedir.get_existing_timestamp(dest)
    return new is not None and old is not None and new > old


# ------------------------------------------------------------------ one submission

def stage_submission(source, dest, expected, release):
    """Copy the submission folder source to dest, repaired as the module says.

    expected: the notebook names (without .ipynb) the assignment has; release: the
    folder of the released notebooks. Returns the notes said to the student.
    """
    notes = []
    dest.mkdir(parents=True)
    for path in sorted(source.rglob("*")):
        target = dest / path.relative_to(source)
        if path.is_symlink():
            notes.append(f"left out the symbolic link {path.relative_to(source)}")
        elif path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    present = sorted(p.name for p in dest.glob("*.ipynb"))
    missing = [name for name in expected if f"{name}.ipynb" not in present]
    unknown = [name for name in present if name[:-len(".ipynb")] not in expected]
    if len(missing) == 1 and len(unknown) == 1:
        wanted = f"{missing[0]}.ipynb"
        (dest / unknown[0]).rename(dest / wanted)
        note = (f"**Note from the autograder:** you submitted this notebook as "
                f"`{unknown[0]}`; it was graded as `{wanted}`, the name the assignment asks for.")
        try:
            nb = nbformat.read(dest / wanted, as_version=4)
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(note))
            nbformat.write(nb, dest / wanted)
        except Exception:           # unreadable: the grading will say so
            pass
        notes.append(f"graded {unknown[0]} as {wanted}")
        missing = []
    for name in missing:
        wanted = f"{name}.ipynb"
        found = ", ".join(f"`{n}`" for n in present) or "no notebook"
        nbformat.write(stand_in(release / wanted, (
            f"**No notebook named `{wanted}` was submitted** (the submission held {found}). "
            f"It was graded as the assignment without answers, so it earns no points. Submit "
            f"the notebook under its original name, or ask your instructor.")), dest / wanted)
        notes.append(f"no {wanted}: graded the release")
    return notes


# ------------------------------------------------------------------ a worker

def worker(conn, course, assignment, expected, snapshot, work, env):
    """A worker process: set up a private course in work, then grade the students sent
    through conn, one at a time, answering (student, ok, detail, results) for each, where
    results is what merge() needs. None ends it."""
    os.environ.update(env)
    # The kernels' scratch folders too: a worker stopped by force leaves nothing elsewhere.
    (work / "tmp").mkdir()
    os.environ["TMPDIR"] = tempfile.tempdir = str(work / "tmp")
    with open(work.with_suffix(".log"), "ab") as log:     # nbgrader's log: not our terminal
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        _, coursedir = load_course(course)
        for step in (coursedir.release_directory, coursedir.source_directory):
            src = Path(course) / step / assignment
            if src.is_dir():
                # The source's notebooks hold the solutions: nbgrader grades from the
                # gradebook and copies only the other files, so the notebooks stay behind.
                ignore = (shutil.ignore_patterns("*.ipynb") if step == coursedir.source_directory
                          else None)
                shutil.copytree(src, work / step / assignment, symlinks=True, ignore=ignore)
        shutil.copy(Path(course) / CONFIG, work / CONFIG)
        shutil.copy(snapshot, work / "gradebook.db")
        db_url = f"sqlite:///{work / 'gradebook.db'}"
        config, private = load_course(work, {"root": str(work), "db_url": db_url})
        from nbgrader.apps import NbGraderAPI           # slow to import: in the worker only
        api = NbGraderAPI(coursedir=private, config=config)
    except Exception:
        conn.send(("", False, "the worker could not start:\n" + traceback.format_exc(), None))
        return
    conn.send(None)                                      # ready
    while True:
        student = conn.recv()
        if student is None:
            return
        try:
            notes = stage_submission(
                Path(coursedir.format_path(coursedir.submitted_directory, student, assignment)),
                Path(private.format_path(private.submitted_directory, student, assignment)),
                expected, work / private.release_directory / assignment)
            outcome = api.autograde(assignment, student, force=True, create=True)
            graded = Path(private.format_path(private.autograded_directory, student, assignment))
            if outcome["success"] and graded.is_dir():
                data = read_submission(db_url, assignment, student)
                conn.send((student, True, "; ".join(notes), data))
            else:
                lines = (outcome.get("log", "") + outcome.get("error", "")).strip().splitlines()
                conn.send((student, False, "nbgrader could not grade it:\n    " +
                           "\n    ".join(lines[-8:]), None))
        except Exception:
            conn.send((student, False, traceback.format_exc(limit=3), None))


def read_submission(db_url, assignment, student):
    """What the gradebook holds of one student's submission, as plain data."""
    with Gradebook(db_url) as gb:
        sub = gb.find_submission(assignment, student)
        s = sub.student
        return {"student": {"first_name": s.first_name, "last_name": s.last_name,
                            "email": s.email, "lms_user_id": s.lms_user_id},
                "timestamp": sub.timestamp,
                "notebooks": {nb.name: {
                    "flagged": nb.flagged, "late_submission_penalty": nb.late_submission_penalty,
                    "grades": {g.name: {f: getattr(g, f) for f in GRADE_FIELDS} for g in nb.grades},
                    "comments": {c.name: {f: getattr(c, f) for f in COMMENT_FIELDS}
                                 for c in nb.comments}} for nb in sub.notebooks}}


# ------------------------------------------------------------------ merging

def merge_gradebook(data, dst, assignment, student):
    """Write one student's submission (read_submission's data) into the real gradebook,
    dst (an open nbgrader Gradebook)."""
    with warnings.catch_warnings():
        # nbgrader's add_submission makes SQLAlchemy warn about its autoflush (it does so in
        # `nbgrader autograde` too); the rows are written all the same.
        warnings.simplefilter("ignore", sqlalchemy.exc.SAWarning)
        try:
            dst.find_student(student)
        except MissingEntry:
            dst.add_student(student, **data["student"])
        target = dst.update_or_create_submission(assignment, student)
        target.timestamp = data["timestamp"]
        for name, notebook in data["notebooks"].items():
            into = dst.find_submission_notebook(name, assignment, student)
            into.flagged = notebook["flagged"]
            into.late_submission_penalty = notebook["late_submission_penalty"]
            for rows, new in ((into.grades, notebook["grades"]), (into.comments, notebook["comments"])):
                for row in rows:
                    for field, value in new[row.name].items():
                        setattr(row, field, value)
        dst.db.commit()


def replace_folder(new, dest):
    """Put the folder new at dest, replacing what is there, with no moment without one."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = dest.with_name(f".{dest.name}.grader-new")
    old = dest.with_name(f".{dest.name}.grader-old")
    for leftover in (staged, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    shutil.copytree(new, staged, symlinks=True)
    if dest.exists():
        dest.rename(old)
    staged.rename(dest)
    if old.exists():
        shutil.rmtree(old)


def merge(coursedir, gradebook, assignment, student, data, work):
    """Copy what a worker produced for the student into the real course."""
    try:
        merge_gradebook(data, gradebook, assignment, student)
    except Exception:
        gradebook.db.rollback()         # nothing of this student; the next merges go on
        raise
    replace_folder(work / coursedir.autograded_directory / student / assignment,
                   coursedir.format_path(coursedir.autograded_directory, student, assignment))


# ------------------------------------------------------------------ the batch

class Worker:
    """A worker process, its private course folder, and the student it is grading."""

    def __init__(self, context, number, course, assignment, expected, snapshot, temp, env):
        self.work = temp / f"worker-{number:03d}"
        self.work.mkdir()
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker, daemon=True, args=(
            child, course, assignment, expected, snapshot, self.work, env))
        self.process.start()
        child.close()
        self.student, self.since, self.ready = None, None, False

    def give(self, student):
        self.student, self.since = student, time.monotonic()
        self.conn.send(student)

    def stop(self, kill=False):
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                pass
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def grade_batch(course, assignment, workers=None, students=None, force=False, time_limit=3600,
                keep=False, progress=True):
    """Autograde the submissions of assignment in the course folder with workers processes
    (None: default_workers()); returns the Results (one per submission graded, in the
    order they finished)."""
    if workers is None:
        workers = default_workers()
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers: expected an integer >= 1, got {workers!r}")
    if not isinstance(time_limit, (int, float)) or time_limit <= 0:
        raise ValueError(f"time_limit: expected a number of seconds > 0, got {time_limit!r}")
    # Workers are forked from a fork server: a clean process (none of this one's database
    # connections or threads) that imports nbgrader once, while this one gets ready, so
    # that each worker, and each replacement of a worker, starts without importing it.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["nbgrader.apps"])
    multiprocessing.forkserver.ensure_running()
    _, coursedir = load_course(course)
    course = Path(coursedir.root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            expected = sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
        except MissingEntry:
            raise SystemExit(f"error: no assignment {assignment!r} in the gradebook: run "
                             f"`nbgrader generate_assignment {assignment}` first") from None
    todo = [s for s in submitted_students(coursedir, assignment)
            if (students is None or s in students) and needs_grading(coursedir, assignment, s, force)]
    if not todo:
        return []
    temp = Path(tempfile.mkdtemp(prefix=f"grader-{assignment}-"))
    snapshot = temp / "gradebook-snapshot.db"
    snapshot_gradebook(coursedir.db_url, snapshot)
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # alembic
    # The hidden tests' secret, from the course folder: the workers grade in copies of it.
    env[hidden.ENV] = hidden.course_secret(course).decode()
    threads = max(1, (os.cpu_count() or 1) // workers)   # at least one thread each
    for name in THREAD_VARIABLES:        # N kernels share the cores: no oversubscription
        env[name] = os.environ.get(name, str(threads))
    numbers = iter(range(10**6))

    def new():
        return Worker(context, next(numbers), course, assignment, expected, snapshot, temp, env)

    queue, results, pool, failed_workers = list(reversed(todo)), [], [], []
    bar = tqdm(total=len(todo), unit="submission", desc=f"autograde {assignment}",
               disable=not progress, file=sys.stderr)

    def finish(result, data=None, work=None):
        if result.ok:
            try:
                merge(coursedir, gradebook, assignment, result.student, data, work)
            except Exception as err:
                result.ok, result.detail = False, f"merging failed: {type(err).__name__}: {err}"
        results.append(result)
        bar.update()
        if not result.ok:
            bar.write(f"FAILED {result.student}: {result.detail}")

    gradebook = Gradebook(coursedir.db_url, coursedir.course_id)   # written by us alone
    try:
        pool = [new() for _ in range(min(workers, len(todo)))]
        while queue or any(w.student for w in pool):
            for w in pool:
                if w.ready and w.student is None and queue:
                    w.give(queue.pop())
            busy = [w.since + time_limit - time.monotonic() for w in pool if w.student]
            ready = wait([w.conn for w in pool], timeout=max(0.1, min(busy, default=60)))
            for w in list(pool):
                message, died = None, False
                if w.conn in ready:
                    try:
                        message = w.conn.recv()
                    except (EOFError, OSError):
                        died = True
                late = w.student and time.monotonic() - w.since > time_limit
                if message is None and w.conn in ready and not died:
                    w.ready = True                       # started
                elif message is not None and not message[0]:
                    raise SystemExit(f"error: {message[2]}")   # cannot start: nothing can work
                elif message is not None:
                    student, ok, detail, data = message
                    result = Result(student, ok, detail)
                    w.student = None
                    if queue:
                        w.give(queue.pop())     # it grades the next while this one merges
                    finish(result, data, w.work)
                    if not ok:
                        failed_workers.append(w.work)
                elif died or late:
                    why = (f"not graded after {time_limit:g} s (--time-limit); stopped" if late
                           else "the grading process died")
                    if w.student:
                        finish(Result(w.student, False, why))
                    w.stop(kill=True)
                    failed_workers.append(w.work)
                    pool.remove(w)
                    if queue:
                        pool.append(new())
    except KeyboardInterrupt:
        for w in pool:
            w.stop(kill=True)
        raise
    finally:
        bar.close()
        gradebook.close()
        for w in pool:
            w.stop()
        if not keep and not failed_workers:
            shutil.rmtree(temp, ignore_errors=True)
        elif failed_workers:
            print(f"The private courses of the failures, and the workers' logs, are in {temp}",
                  file=sys.stderr)
    return results


def default_workers():
    """Two per core: a worker spends about a fifth of its time waiting (for a kernel to
    start, to answer, to stop), so one per core leaves the cores idle that long; workers
    start in milliseconds (forked from the fork server), so a second one costs little.
    Measured on 2 cores, 40 submissions of exercise 02: 3 workers 1.93-1.99x as fast as
    serial nbgrader, 4 workers 2.13-2.16x. At most 8: each worker runs a kernel, which
    may use up to its memory limit."""
    return min(8, 2 * (os.cpu_count() or 1))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m grader.parallel",
        description="Autograde an assignment's submissions in parallel, with the same grades "
                    "as `nbgrader autograde`. Run it from the course folder.")
    parser.add_argument("assignment")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="submissions graded at once (default: two per core, at most 8)")
    parser.add_argument("--student", action="append", dest="students", metavar="ID",
                        help="grade only this student (repeatable)")
    parser.add_argument("--force", action="store_true", help="grade again what was graded")
    parser.add_argument("--course", default=".", help="the course folder (default: here)")
    parser.add_argument("--time-limit", type=float, default=3600, metavar="SECONDS",
                        help="stop grading a submission after this long (default 3600)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the workers' private course folders (for debugging)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    start = time.monotonic()
    results = grade_batch(args.course, args.assignment, args.workers, args.students, args.force,
                          args.time_limit, args.keep, progress=not args.no_progress)
    failed = [r for r in results if not r.ok]
    for r in results:
        if r.ok and r.detail:
            print(f"{r.student}: {r.detail}")
    print(f"autograded {len(results) - len(failed)} of {len(results)} submissions of "
          f"{args.assignment} in {time.monotonic() - start:.1f} s with {args.workers} workers"
          + (f"; FAILED: {', '.join(r.student for r in failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

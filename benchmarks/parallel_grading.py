"""Autograding time of every assignment: plain `nbgrader autograde` against
`python -m grader.parallel`, in seconds per honest submission.

    .venv/bin/python benchmarks/parallel_grading.py [ASSIGNMENT ...] [--submissions 4] [--workers N]

For each assignment (all of solutions/ by default): a course in a temporary folder with
the course's nbgrader_config.py (both runs use the sandbox and the same limits), the
assignment released and N honest submissions (the solution's answers in the release,
tests/submissions.py), graded twice from identical copies: by `nbgrader autograde`, which
grades one submission after the other, and by grader.parallel. Prints one Markdown row
per assignment: seconds per submission of each, the speedup, whether every grade of every
student is the same in the two gradebooks, and whether every submission earned full
marks. The course's goal is at most 15 s per honest submission for every assignment on 2
cores, the serial time (what one submission costs the grader on its own).

The load of the machine is printed first: on a machine that other work shares, every
time is pessimistic. Serial nbgrader keeps less than one core busy (much of grading is
waiting for a kernel to start and to answer), which is why grader.parallel runs two
workers per core by default.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook

from grader import parallel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))      # the tests' submissions: one definition
from submissions import answered, course_env, gradebook_contents, released_course, solution_answers, submit  # noqa: E402

BIN = Path(sys.executable).parent
GOAL_S = 15.0         # per honest submission, serial, on 2 cores


def run(args, cwd):
    out = subprocess.run([str(a) for a in args], cwd=cwd, env=course_env(), capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{out.stdout}\n{out.stderr}")
    return out


def timed(args, cwd):
    start = time.perf_counter()
    run(args, cwd)
    return time.perf_counter() - start


def full_marks(course, assignment):
    """Whether every submission in course's gradebook scored its maximum."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        subs = [gb.find_submission(assignment, s.id) for s in gb.students]
        return bool(subs) and all(s.score == s.max_score for s in subs)


def measure(assignment, count, workers, tmp):
    """(serial s per submission, parallel s per submission, same grades, full marks)."""
    base = Path(tmp) / assignment / "course"
    base.mkdir(parents=True)
    release, source = released_course(base, assignment)
    honest = answered(release, solution_answers(source))
    for k in range(count):
        submit(base, f"student{k:02d}", assignment, honest, release.name)
    serial, fast = base.with_name("serial"), base.with_name("parallel")
    shutil.copytree(base, serial)
    shutil.copytree(base, fast)
    t_serial = timed([BIN / "nbgrader", "autograde", assignment], serial)
    t_parallel = timed([sys.executable, "-m", "grader.parallel", assignment,
                        "--workers", workers, "--no-progress"], fast)
    graded = gradebook_contents(f"sqlite:///{serial / 'gradebook.db'}")
    same = bool(graded) and gradebook_contents(f"sqlite:///{fast / 'gradebook.db'}") == graded
    return t_serial / count, t_parallel / count, same, full_marks(serial, assignment) and full_marks(fast, assignment)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*",
                        default=sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()))
    parser.add_argument("--submissions", type=int, default=4, help="honest submissions per assignment")
    parser.add_argument("--workers", type=int, default=parallel.default_workers(),
                        help="grader.parallel's workers (default: its own default, two per core)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; {args.submissions} honest "
          f"submissions per assignment; grader.parallel with {args.workers} workers; goal: "
          f"<= {GOAL_S:.0f} s per submission, serial")
    print("| assignment | nbgrader autograde, s/submission | grader.parallel, s/submission "
          "| speedup | same grades | full marks | within goal |")
    print("|---|---|---|---|---|---|---|")
    ok = True
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as tmp:
        for a in args.assignments:
            serial, fast, same, full = measure(a, args.submissions, args.workers, tmp)
            within = serial <= GOAL_S
            ok &= same and full
            print(f"| {a} | {serial:.1f} | {fast:.1f} | {serial / fast:.2f}x | {'yes' if same else 'NO'} "
                  f"| {'yes' if full else 'NO'} | {'yes' if within else 'no'} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

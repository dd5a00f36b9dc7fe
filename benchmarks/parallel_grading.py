"""Autograding throughput: plain `nbgrader autograde` against `python -m grader.parallel`.

    .venv/bin/python benchmarks/parallel_grading.py [--workers N] [--submissions 40]

Builds a course in a temporary folder with the course's nbgrader_config.py (both runs
use the sandbox and the same limits), releases exercise 02 and submits N notebooks of
four kinds (tests/submissions.py: complete; only the sigmoid; untouched; an LSTM step
that reads a gate from the wrong block), then grades two identical copies of it: one
with `nbgrader autograde`, which grades the submissions one after the other, and one with grader.parallel. Prints
both wall times, how many cores the machine kept busy during each, the speedup, and
whether every grade of every student is the same in the two gradebooks. The load of the
machine is printed with them: on a machine that other work shares, the speedup is
pessimistic. Serial nbgrader keeps less than one core busy (much of grading is waiting
for a kernel to start and to answer), which is why grader.parallel runs two workers per
core by default.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader import parallel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))      # the tests' submissions: one definition
from submissions import KINDS, course_env, gradebook_contents, lstm_cell_course  # noqa: E402

BIN = Path(sys.executable).parent
ASSIGNMENT = "02_lstm_cell"


def run(args, cwd):
    out = subprocess.run([str(a) for a in args], cwd=cwd, env=course_env(), capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{out.stdout}\n{out.stderr}")
    return out


def machine_cpu():
    """(total, idle) CPU time of the whole machine so far, in clock ticks (/proc/stat)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]


def timed(args, cwd):
    """(wall seconds, cores the machine kept busy on average) while a command runs. The
    machine's count, because the kernels run in sandboxes whose CPU time does not come
    back to us; it includes whatever else the machine runs meanwhile."""
    total, idle = machine_cpu()
    start = time.perf_counter()
    run(args, cwd)
    wall = time.perf_counter() - start
    total2, idle2 = machine_cpu()
    return wall, (1 - (idle2 - idle) / (total2 - total)) * os.cpu_count()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=parallel.default_workers(),
                        help="grader.parallel's workers (default: its own default, two per core)")
    parser.add_argument("--submissions", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as tmp:
        base = Path(tmp) / "course"
        base.mkdir()
        lstm_cell_course(base, args.submissions)
        serial, fast = Path(tmp) / "serial", Path(tmp) / "parallel"
        shutil.copytree(base, serial)
        shutil.copytree(base, fast)
        load = os.getloadavg()[0]
        _, background = timed(["sleep", "5"], tmp)
        t_serial, cores_serial = timed([BIN / "nbgrader", "autograde", ASSIGNMENT], serial)
        t_parallel, cores_parallel = timed([sys.executable, "-m", "grader.parallel", ASSIGNMENT,
                                            "--workers", args.workers, "--no-progress"], fast)
        graded = gradebook_contents(f"sqlite:///{serial / 'gradebook.db'}")
        same = bool(graded) and gradebook_contents(f"sqlite:///{fast / 'gradebook.db'}") == graded
        print(f"{args.submissions} submissions of {ASSIGNMENT} ({', '.join(KINDS)}); "
              f"{os.cpu_count()} cores; load average {load:.1f} before, {os.getloadavg()[0]:.1f} "
              f"after; {background:.2f} cores busy with other work when idle")
        print(f"nbgrader autograde (serial):   {t_serial:6.1f} s wall, {cores_serial:.2f} cores busy")
        print(f"grader.parallel, {args.workers} workers:  {t_parallel:6.1f} s wall, "
              f"{cores_parallel:.2f} cores busy")
        print(f"speedup: {t_serial / t_parallel:.2f}x; gradebooks identical: {'yes' if same else 'NO'} "
              f"({len(graded)} scores and comments compared)")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

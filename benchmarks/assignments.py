"""Each assignment's points and how long its solution takes to run, as the autograder runs it.

    python benchmarks/assignments.py [ASSIGNMENT ...]

For every assignment in solutions/ (or those named): the points of its test cells (and how
many of them are hidden tests), and the wall time of its solution notebook executed top to
bottom in a fresh kernel, on 2 threads, twice (the first run includes cold imports, as a
grading kernel does; the table in the instructor guide quotes it). Prints one Markdown
row per assignment. Run it on a quiet machine: the numbers are wall-clock times.
"""
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def points(nb):
    """(total points, hidden points) of a source notebook's test cells."""
    total = hidden = 0.0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            total += meta.get("points", 0)
            hidden += meta.get("points", 0) if "### BEGIN HIDDEN TESTS" in cell.source else 0
    return total, hidden


def run_time(path):
    """Seconds to execute the notebook at path top to bottom in a fresh kernel."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main(names):
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "2"
    print(f"{os.cpu_count()} CPUs; 2 threads per kernel")
    print("| assignment | points (hidden) | run time, cold / warm |")
    print("|---|---|---|")
    for name in names:
        (path,) = sorted((ROOT / "solutions" / name).glob("*.ipynb"))
        total, hidden = points(nbformat.read(path, as_version=4))
        cold, warm = run_time(path), run_time(path)
        print(f"| {name} | {total:g} ({hidden:g}) | {cold:.0f} s / {warm:.0f} s |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()))

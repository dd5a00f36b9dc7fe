"""How long each page of the book takes to execute, against its budget.

    python benchmarks/chapter_times.py            # from the last build's record
    python benchmarks/chapter_times.py --run [NAME ...]   # execute now, one at a time

Every executed page of _toc.yml (the chapters and any appendix) has 45 s on a 2-core
machine, and the whole book 240 s. Without --run the times are those that the last
`make book` recorded in its jupyter-cache for each page's current code (a page whose code
changed since is reported as not built). With --run each page (or each one named, e.g.
`chapters/06_keras`) is executed now in a fresh kernel, one after another, on 2 threads as
the build does. Run it on a quiet machine: the numbers are wall-clock times. The last line
is the verdict.
"""
import os
import sys
import time
from pathlib import Path

import jupytext
from jupyter_cache import get_cache
from nbclient import NotebookClient
from sphinx_external_toc.parsing import parse_toc_yaml

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"
PAGE_BUDGET_S = 45
BOOK_BUDGET_S = 240


def executed_pages():
    """The pages of _toc.yml that the build executes (MyST notebooks), in book order."""
    names = list(parse_toc_yaml(str(ROOT / "_toc.yml")))     # every document, in order
    return [n for n in names if (ROOT / f"{n}.md").exists()
            and "jupytext:" in (ROOT / f"{n}.md").read_text()[:300]]


def recorded_seconds(name, cache):
    """Execution seconds the build's cache holds for the page's current code, or None."""
    try:
        record = cache.match_cache_notebook(jupytext.read(ROOT / f"{name}.md"))
    except KeyError:
        return None
    return record.data.get("execution_seconds")


def run_seconds(name):
    """Seconds to execute the page now, in a fresh kernel started in its folder."""
    nb = jupytext.read(ROOT / f"{name}.md")
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str((ROOT / name).parent)}}).execute()
    return time.perf_counter() - start


def main(argv):
    run = "--run" in argv
    names = [a for a in argv if a != "--run"] or executed_pages()
    unknown = sorted(set(names) - set(executed_pages()))
    if unknown:
        sys.exit(f"not an executed page of _toc.yml: {unknown} "
                 f"(expected names like chapters/06_keras)")
    if run:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ[var] = "2"          # as `make book` sets them
        times = {}
        for name in names:
            times[name] = run_seconds(name)
            print(f"{name:40s} {times[name]:6.1f} s", flush=True)
    else:
        if not CACHE.exists():
            sys.exit(f"{CACHE.relative_to(ROOT)} is missing: run `make book` first, or --run")
        cache = get_cache(str(CACHE))
        times = {name: recorded_seconds(name, cache) for name in names}
        for name, seconds in times.items():
            print(f"{name:40s} " + ("not built for its current code" if seconds is None
                                    else f"{seconds:6.1f} s"))
    known = {n: s for n, s in times.items() if s is not None}
    over = [f"{n} ({s:.0f} s)" for n, s in known.items() if s > PAGE_BUDGET_S]
    total = sum(known.values())
    verdict = "within budget" if not over and total <= BOOK_BUDGET_S else "OVER BUDGET"
    print(f"{os.cpu_count()} CPUs; {len(known)} of {len(times)} pages timed; "
          f"total {total:.0f} s (budget {BOOK_BUDGET_S} s); slowest "
          f"{max(known, key=known.get) if known else '-'}; over {PAGE_BUDGET_S} s: "
          f"{', '.join(over) or 'none'}; {verdict}")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Do exercise 08's checks pass the course's own solution whatever the seeds?

    python benchmarks/grading_seeds_08.py [--sets 20] [--first 0]

For each set k of seeds, trains the solution notebook's experiment with the seeds
3k, 3k + 1, 3k + 2 in place of grading.MEMORY_SEEDS (train_model adds 3k to the seed it is
given; everything else is the notebook's code and the grading module's settings), grades
it with the visible check and the hidden one (inputs drawn from the seed 10000 + k), and
prints, per set, pass or the check's message, the seconds its nine trainings took, and the
measured ratios MSE / baseline of every run (visible test set, hidden test set, shuffled
LSTM). At the end: how many sets passed both checks, and the range of each run's ratios
over all sets. The bars are meant to hold on at least 19 sets of 20. About 30 s a set on
an idle core (torch uses one thread, as in the notebook); two minutes on a busy machine.
"""
import argparse
import contextlib
import io
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from submissions import solution_answers  # noqa: E402

import lstm_ref as L  # noqa: E402
from lstm_ref import grading  # noqa: E402

# A line of the check's report: "  LSTM, forget bias 1    seed 0: 0.002 (shuffled LSTM: 4.16);  seed 1: ..."
ROW = re.compile(r"^  (RNN \(tanh\)|LSTM, forget bias \S+)\s+(.*)$", flags=re.M)
CELL = re.compile(r"seed \d+: ([0-9.]+)(?: \(shuffled LSTM: ([0-9.]+)\))?")


def experiment(offset):
    """The solution's run_experiment, its train_model seeded with seed + offset."""
    import torch
    from torch import nn
    torch.set_num_threads(1)
    (source,) = (ROOT / "solutions" / "08_rnn_vs_lstm").glob("*.ipynb")
    a = solution_answers(source)
    train = a["train_model"]
    for old in ("torch.manual_seed(seed)", "default_rng(seed)"):
        assert old in train, f"the solution's train_model no longer says {old}"
        train = train.replace(old, old.replace("(seed)", f"(seed + {offset})"))
    space = {"np": np, "torch": torch, "nn": nn, "L": L, "grading": grading, "time": time}
    for code in (a["adding_model"], a["set_forget_bias"], a["train_step"], train, a["run_experiment"]):
        exec(code, space)
    return space["run_experiment"]


def ratios(report):
    """{run name: [(ratio, shuffled ratio or None), ...]} from a check's printed report."""
    return {name: [(float(r), float(s) if s else None) for r, s in CELL.findall(rest)]
            for name, rest in ROW.findall(report)}


def one_set(k):
    """Grade set k; returns (passed, message, seconds, {check: ratios})."""
    said, measured, start = io.StringIO(), {}, time.perf_counter()
    try:
        with contextlib.redirect_stdout(said):
            records = grading.check_rnn_vs_lstm(experiment(3 * k))
        seconds = time.perf_counter() - start
        measured["visible"] = ratios(said.getvalue())
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            grading.hidden(10_000 + k, grading.check_rnn_vs_lstm_models, records)
        measured["hidden"] = ratios(said.getvalue())
        return True, "pass", seconds, measured
    except grading.GradingError as err:
        text = str(err)
        measured["failed"] = ratios(text)
        return False, "FAIL: " + " | ".join(text.splitlines()[-2:])[:300], time.perf_counter() - start, measured


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=20)
    parser.add_argument("--first", type=int, default=0, help="the first set (to split the work)")
    args = parser.parse_args()
    passed, seconds, pooled = 0, [], {}
    for k in range(args.first, args.first + args.sets):
        ok, result, took, measured = one_set(k)
        passed += ok
        seconds.append(took)
        for check, rows in measured.items():
            for name, cells in rows.items():
                pooled.setdefault(name, {"test": [], "shuffled": []})
                pooled[name]["test"] += [r for r, _ in cells]
                pooled[name]["shuffled"] += [s for _, s in cells if s is not None]
        shown = "; ".join(f"{check} " + " | ".join(f"{name}: " + " ".join(f"{r:.3f}" for r, _ in cells)
                                                    for name, cells in rows.items())
                          for check, rows in measured.items())
        print(f"08 set {k:2d} (seeds {3 * k}-{3 * k + 2})  {result}  {took:.0f} s  {shown}", flush=True)
    print(f"08: the solution passes on {passed} of {args.sets} sets of seeds; "
          f"{min(seconds):.0f} to {max(seconds):.0f} s per set (visible check, nine trainings)")
    for name, got in pooled.items():
        line = f"  {name:22s} ratio {min(got['test']):.3f} to {max(got['test']):.3f} over {len(got['test'])} " \
               f"measurements"
        if got["shuffled"]:
            line += f"; shuffled LSTM {min(got['shuffled']):.2f} to {max(got['shuffled']):.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()

"""Does exercise 09's training check pass the course's own solution whatever the seed?

    python benchmarks/grading_seeds_09.py [--seeds 20]

Trains the solution notebook's character model (solutions/09_char_lm) with initial
parameters drawn from seeds 0 .. N-1 (in place of its fixed seed 0), grades it with the
exercise's checks (the visible test, then the hidden one on a piece of the test plays
drawn from a seed of its own) and prints, per seed, pass or the check's message, with the
measured bits per character: the model's, the bigram's and the interpolated trigram's on
the same held-out characters, and the model's with Wh shuffled. The bars are meant to
hold on at least 19 seeds of 20. About 25 s per seed on one core.
"""
import argparse
import contextlib
import io
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")     # as the notebook sets it

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from submissions import solution_answers  # noqa: E402

from lstm_ref import charlm, text  # noqa: E402
from lstm_ref import grading  # noqa: E402

NUMBERS = re.compile(r"held-out ([0-9.]+) bits.*?needs ([0-9.]+) and an interpolated trigram ([0-9.]+)\."
                     r"(?:.*?Wh shuffled: ([0-9.]+))?", re.S)
CELLS = ("lstm", "embedding", "softmax_loss", "char_lm_loss", "optimiser", "train_char_lm")


def solution_space(seed):
    """The solution notebook's functions, with train_char_lm's seed replaced."""
    (source,) = (ROOT / "solutions" / "09_char_lm").glob("*.ipynb")
    answers = solution_answers(source)
    vocab, train_ids = grading.char_lm_data()
    space = {"np": np, "time": time, "charlm": charlm, "text": text, "grading": grading,
             "vocab": vocab, "train_ids": train_ids, "V": len(vocab)}
    train = answers["train_char_lm"]
    assert "seed=0)" in train, "the solution no longer seeds init_char_lm with seed=0"
    answers["train_char_lm"] = train.replace("seed=0)", f"seed={seed})")
    exec("\n\n".join(answers[c] for c in CELLS), space)
    return space


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    passed, rows = 0, []
    for seed in range(args.seeds):
        said = io.StringIO()
        start = time.perf_counter()
        try:
            with contextlib.redirect_stdout(said):
                space = solution_space(seed)
                params = grading.check_char_lm_training(space["train_char_lm"])
                grading.hidden(10_000 + seed, grading.check_char_lm_model, params)
            passed, result = passed + 1, "pass"
        except grading.GradingError as err:
            result = "FAIL: " + str(err).replace("\n", " ")[:300]
            said.write(str(err))
        found = NUMBERS.findall(said.getvalue())
        numbers = "; ".join(f"model {m}, bigram {b}, trigram {t}" + (f", Wh shuffled {s}" if s else "")
                            for m, b, t, s in found)
        rows.append(found)
        print(f"09 seed {seed:2d}  {result:5s}  {numbers}  ({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"09: the solution passes on {passed} of {args.seeds} seeds", flush=True)
    flat = [tuple(float(v) for v in r if v) for found in rows for r in found]
    if flat:
        model = [r[0] for r in flat]
        gain = [r[1] - r[0] for r in flat]
        shuffled = [r[3] for r in flat if len(r) > 3]
        print(f"bits per character over all graded pieces: model {min(model):.3f} to {max(model):.3f}; "
              f"below the bigram by {min(gain):.3f} to {max(gain):.3f} (needed {grading.CHAR_LM_MARGIN_BITS}); "
              f"with Wh shuffled {min(shuffled):.3f} to {max(shuffled):.3f}", flush=True)


if __name__ == "__main__":
    main()

"""Do the training exercises' checks pass the course's own solutions whatever the seed?

    python benchmarks/grading_seeds.py [04|05|06 ...] [--seeds 20]

For each training exercise, trains the solution notebook's code with seeds 0 .. N-1 (in
place of its fixed seed), grades the model with the exercise's checks (the visible test,
then the hidden one on inputs drawn from a seed of its own) and prints, per seed, pass or
the check's message, with the measured numbers: held-out accuracy or MSE ratio or MAE,
and the same with the LSTM's trained weights shuffled. The checks' bars are meant to hold
on at least 19 seeds of 20. Several minutes for 05 (PyTorch, 20 seeds); under one for 04.
"""
import argparse
import contextlib
import io
import os
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

NUMBERS = re.compile(r"(?:accuracy|ratio|your forecaster|shuffled:) +[0-9.]+")


def solution(assignment):
    (source,) = (ROOT / "solutions" / assignment).glob("*.ipynb")
    return solution_answers(source)


def keras_case(seed):
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(2)
    a = solution("04_keras")
    space = {"np": np, "keras": keras, "grading": grading}
    exec(a["build_model"] + "\n" + a["train_sentiment_model"]
         .replace("set_random_seed(0)", f"set_random_seed({seed})").replace("verbose=2", "verbose=0"), space)
    model = grading.check_sentiment_training(space["train_sentiment_model"])
    grading.hidden(10_000 + seed, grading.check_sentiment_model, model)


def torch_case(seed):
    import torch
    from torch import nn
    torch.set_num_threads(2)
    a = solution("05_pytorch")
    space = {"np": np, "torch": torch, "nn": nn, "L": L, "grading": grading, "time": time}
    exec(a["LSTM"] + "\n" + a["adding_model"].replace("torch.manual_seed(0)", f"torch.manual_seed({seed})")
         .replace("default_rng(0)", f"default_rng({seed})"), space)
    model = grading.check_adding_training(space["train_adding_model"], space["LSTM"])
    grading.hidden(10_000 + seed, grading.check_adding_model, model, space["LSTM"])


def forecasting_case(seed):
    from lstm_ref.train import Regressor, fit
    space = {"np": np, "Regressor": Regressor, "fit": fit}
    source = re.sub(r"seed=([01])\b", lambda m: f"seed={seed + int(m.group(1))}",
                    solution("06_forecasting")["fit_forecaster"])
    exec(source, space)
    grading.check_forecaster(space["fit_forecaster"])


CASES = {"04": keras_case, "05": torch_case, "06": forecasting_case}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exercises", nargs="*", default=sorted(CASES), choices=sorted(CASES))
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    for exercise in args.exercises:
        passed = 0
        for seed in range(args.seeds):
            said = io.StringIO()
            try:
                with contextlib.redirect_stdout(said):
                    CASES[exercise](seed)
                passed, result = passed + 1, "pass"
            except grading.GradingError as err:
                result = "FAIL: " + str(err).splitlines()[-1][:200]
            print(f"{exercise} seed {seed:2d}  {result:5s}  {'; '.join(NUMBERS.findall(said.getvalue()))}",
                  flush=True)
        print(f"{exercise}: the solution passes on {passed} of {args.seeds} seeds", flush=True)


if __name__ == "__main__":
    main()

"""Synthetic long-memory tasks, seeded and reproducible.

Adding problem (Hochreiter & Schmidhuber 1997, experiment 4). Each step of the input is a
pair (value, marker); exactly two steps are marked and the target, given only at the end,
depends on their two values. A network can only beat the *trivial baseline* -- always
predicting the mean target, whose MSE is the target's variance -- by carrying both values
across up to T steps. Two formulations:

- ``variant="hochreiter1997"``, the original: values U(-1, 1); the first mark on one of the
  first 10 steps, the second on one of the first T/2 - 1 steps still unmarked; markers are
  1 on the two marked steps, -1 on the first and last step (unless marked), 0 elsewhere; a
  marked first step has its value set to 0; target 0.5 + (X1 + X2) / 4, in [0, 1].
  One deviation, stated: the paper draws each length from [T, T + T/10] (so that a
  network cannot count steps); here every sequence has length T, so that batches need no
  padding. Trivial-baseline MSE: see `adding_baseline_mse`, about 0.0396.
- ``variant="le2015"`` (default), the form most later work uses (Le, Jaitly & Hinton 2015;
  Arjovsky et al. 2016): values U(0, 1); one mark uniformly in each half; markers 1 or 0;
  target X1 + X2, in [0, 2]. Trivial-baseline MSE = Var(X1 + X2) = 2/12 = 1/6.

Copy (memory) task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): S symbols from an
alphabet of K, then `lag` blanks, then a "go" delimiter; the network must output blanks
until the delimiter and then repeat the S symbols. Baseline: cross-entropy of guessing blanks
then uniform symbols, S*log(K) / (lag + 2S) nats per step.
"""
import numpy as np

ADDING_VARIANTS = ("le2015", "hochreiter1997")


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _positive_int(where, name, n, minimum=1):
    if not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}, got {n!r}")


def adding_baseline_mse(T, variant="le2015"):
    """MSE of always predicting the mean target: the number a model must get below.

    le2015: Var(X1) + Var(X2) with X ~ U(0, 1): 1/12 + 1/12 = 1/6, for every T.
    hochreiter1997: (Var X1 + Var X2) / 16, where X ~ U(-1, 1) has variance 1/3 but a value
    is zeroed when its mark falls on step 0: probability 1/10 for the first mark, and
    (9/10) / (T/2 - 1) for the second (one of the T/2 - 1 first unmarked steps).
    """
    if variant == "le2015":
        return 1.0 / 6.0
    if variant == "hochreiter1997":
        n2 = T // 2 - 1
        p1, p2 = 1 / 10, (9 / 10) / n2
        return ((1 - p1) / 3 + (1 - p2) / 3) / 16
    raise ValueError(f"adding_baseline_mse: variant must be one of {ADDING_VARIANTS}, got {variant!r}")


def adding_problem(n, T, seed=None, variant="le2015", dtype=np.float64):
    """n sequences of the adding problem, each of length T.

    Inputs: n, number of sequences; T, length (>= 4; >= 24 for hochreiter1997, whose first
    mark falls on one of the first 10 steps and second among the first T/2 - 1 unmarked);
    seed, an int or a np.random.Generator; variant, see the module docstring.
    Returns: x (n, T, 2) with x[..., 0] the values and x[..., 1] the markers, and
    y (n, 1) the targets, both of the given dtype.
    """
    _positive_int("adding_problem", "n", n)
    if variant not in ADDING_VARIANTS:
        raise ValueError(f"adding_problem: variant must be one of {ADDING_VARIANTS}, got {variant!r}")
    _positive_int("adding_problem", "T", T, minimum=24 if variant == "hochreiter1997" else 4)
    rng = _rng(seed)
    rows = np.arange(n)
    x = np.zeros((n, T, 2))
    if variant == "le2015":
        x[:, :, 0] = rng.uniform(0, 1, size=(n, T))
        first = rng.integers(0, T // 2, size=n)
        second = rng.integers(T // 2, T, size=n)
    else:
        x[:, :, 0] = rng.uniform(-1, 1, size=(n, T))
        first = rng.integers(0, 10, size=n)
        # second mark: one of the first T/2 - 1 steps other than `first`
        k = rng.integers(0, T // 2 - 1, size=n)
        second = k + (k >= first)
        x[:, 0, 1] = -1.0
        x[:, T - 1, 1] = -1.0
        x[:, 0, 0] = np.where((first == 0) | (second == 0), 0.0, x[:, 0, 0])
    x[rows, first, 1] = 1.0
    x[rows, second, 1] = 1.0
    total = x[rows, first, 0] + x[rows, second, 0]
    y = total if variant == "le2015" else 0.5 + total / 4
    return x.astype(dtype), y.reshape(n, 1).astype(dtype)


def copy_task(n, S=10, lag=50, K=8, seed=None, dtype=np.float64):
    """n sequences of the copy task: remember S symbols for `lag` steps, then repeat them.

    Symbols are 1..K; 0 is the blank and K+1 the delimiter ("now repeat").
    Sequence length L = S + lag + S: S symbols, lag - 1 blanks, the delimiter, S blanks.

    Returns:
    - x: (n, L, K + 2) one-hot inputs of the given dtype.
    - y: (n, L) int64 targets: 0 for the first S + lag steps, then the S symbols.
    - baseline: cross-entropy per step (nats) of the best memoryless guess,
      S * log(K) / L.
    """
    for name, v in (("n", n), ("S", S), ("lag", lag), ("K", K)):
        _positive_int("copy_task", name, v)
    rng = _rng(seed)
    L = S + lag + S
    symbols = rng.integers(1, K + 1, size=(n, S))
    tokens = np.zeros((n, L), dtype=np.int64)
    tokens[:, :S] = symbols
    tokens[:, S + lag - 1] = K + 1
    y = np.zeros((n, L), dtype=np.int64)
    y[:, S + lag:] = symbols
    x = np.eye(K + 2, dtype=dtype)[tokens]
    return x, y, S * np.log(K) / L

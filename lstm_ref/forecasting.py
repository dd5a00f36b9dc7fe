"""Forecasting a series from windows of its past: the pieces that chapter 9 and exercise 6 use.

A series s_0, ..., s_{n-1} is cut into windows by `lstm_ref.datasets.windows`: window k has
the inputs X[k] = s[k:k + L] as (L, 1) and the targets y[k] = s[k + L:k + L + h], so its
targets lie at the times k + L, ..., k + L + h - 1 (`target_times`).

- Splits in time. `chronological_split` cuts a series into consecutive training, validation
  and test parts; `window_parts` says which windows belong to which part: a window belongs
  to the part that holds *all* of its targets (its inputs may reach back into the part
  before, which is known at that date); a window whose targets straddle two parts belongs
  to neither. No window of one part has a target in another, so nothing is learnt from
  the months a model is scored on.
- `StandardScaler`: (x - mean) / std with the mean and std (ddof=0) of the training part
  only; `split_and_scale` does split and scaling in one call (exercise 6's definition).
- Baselines, every one a function of the windows X (N, L, 1) that returns (N, horizon):
  `last_value_forecast`, `seasonal_naive_forecast`, and `LinearAR`, a linear
  autoregression fitted by least squares on the same windows. `recursive_forecast` runs
  any one-step forecaster `horizon` steps ahead, feeding each forecast back in.
- Metrics: `mae`, `rmse` and `mase` (the MAE divided by the in-sample MAE of the
  (seasonal) naive forecast on the training part, Hyndman and Koehler 2006).

NumPy only. Bad input raises ValueError (or TypeError for a wrong type) naming the argument.
"""
import numbers

import numpy as np

__all__ = ["target_times", "window_parts", "chronological_split", "StandardScaler",
           "split_and_scale", "last_value_forecast", "seasonal_naive_forecast", "LinearAR",
           "recursive_forecast", "mae", "rmse", "mase"]

PARTS = ("train", "val", "test")


# ------------------------------------------------------------------ checks of arguments

def _int(where, name, value, minimum):
    """value as an int >= minimum, or a clear error (bools are not counts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value}")
    return int(value)


def _numbers(where, name, value, ndim=None):
    """value as a float64 array of finite numbers (a copy when it was not one already)."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: {name} must be an array of numbers, got "
                        f"{type(value).__name__}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{where}: {name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{where}: {name} has a NaN or inf at index {tuple(int(i) for i in bad)}")
    return arr


def _windows_X(where, X):
    """X as (N, L, 1) windows of one feature, with N >= 1."""
    X = _numbers(where, "X", X)
    if X.ndim != 3 or X.shape[2] != 1 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{where}: X must be windows of shape (N, lookback, 1), N >= 1, "
                         f"got shape {X.shape}")
    return X


def _split_sizes(where, n, n_val, n_test):
    """(n_train, n_val, n_test) for a series of n values; every part non-empty."""
    n_val = _int(where, "n_val", n_val, 1)
    n_test = _int(where, "n_test", n_test, 1)
    if n - n_val - n_test < 1:
        raise ValueError(f"{where}: the training part would be empty: a series of {n} values "
                         f"with n_val={n_val} and n_test={n_test} leaves {n - n_val - n_test}")
    return n - n_val - n_test, n_val, n_test


# ------------------------------------------------------------------ splits in time

def target_times(n_series, lookback, horizon):
    """The time index of every target of every window of a series of n_series values.

    Returns an int array (N, horizon), N = n_series - lookback - horizon + 1, with
    entry [k, j] = k + lookback + j: the time of y[k, j] in `datasets.windows`.
    """
    n = _int("target_times", "n_series", n_series, 2)
    lookback = _int("target_times", "lookback", lookback, 1)
    horizon = _int("target_times", "horizon", horizon, 1)
    if n < lookback + horizon:
        raise ValueError(f"target_times: a series of {n} values has no window of lookback "
                         f"{lookback} and horizon {horizon} "
                         f"(needs n_series >= {lookback + horizon})")
    return np.arange(n - lookback - horizon + 1)[:, None] + lookback + np.arange(horizon)


def window_parts(n_series, lookback, horizon, n_val, n_test):
    """Which windows belong to the training, validation and test parts.

    The series is split in time: times [0, n_train) train, the next n_val validation,
    the last n_test test. A window belongs to the part that holds all its targets; its
    inputs may lie in an earlier part (they are known when it forecasts). A window whose
    targets straddle a boundary belongs to no part (horizon > 1 only).

    Returns a dict "train", "val", "test" -> boolean mask (N,) over the windows of
    `datasets.windows(series, lookback, horizon)`. Every training target comes before
    every validation target, which comes before every test target.
    """
    times = target_times(n_series, lookback, horizon)
    n_train, n_val, _ = _split_sizes("window_parts", int(n_series), n_val, n_test)
    first, last = times[:, 0], times[:, -1]
    return {"train": last < n_train,
            "val": (first >= n_train) & (last < n_train + n_val),
            "test": first >= n_train + n_val}


def chronological_split(series, n_val, n_test):
    """Consecutive parts of a 1-D series: train = series[:n_train], val = the next n_val
    values, test = the last n_test values (n_train = len(series) - n_val - n_test >= 1).
    Returns float64 copies (train, val, test), in time order, never shuffled."""
    s = _numbers("chronological_split", "series", series, ndim=1)
    n_train, n_val, _ = _split_sizes("chronological_split", len(s), n_val, n_test)
    return s[:n_train].copy(), s[n_train:n_train + n_val].copy(), s[n_train + n_val:].copy()


class StandardScaler:
    """Scales values to (x - mean) / std, with mean and std (np.std's ddof=0) of the data
    given to `fit`, the training part only: statistics of the validation or test part
    would carry information about the future into training (leakage).

        scaler = StandardScaler().fit(train)
        z = scaler.transform(series)          # any shape; scalar statistics
        x = scaler.inverse_transform(z)
    """

    def __init__(self):
        self.mean = None
        self.std = None

    def fit(self, train):
        """Set mean and std from train (any shape, >= 2 finite values, not all equal).
        Returns the scaler itself."""
        x = _numbers("StandardScaler.fit", "train", train)
        if x.size < 2:
            raise ValueError(f"StandardScaler.fit: train needs at least 2 values, got {x.size}")
        std = float(x.std())
        if not std > 0:
            raise ValueError("StandardScaler.fit: every value of train is the same "
                             f"({float(x.flat[0])}); its std is 0 and cannot scale")
        self.mean, self.std = float(x.mean()), std
        return self

    def _fitted(self, where):
        if self.mean is None:
            raise ValueError(f"StandardScaler.{where}: call fit(train) first")

    def transform(self, x):
        """(x - mean) / std, float64, same shape as x."""
        self._fitted("transform")
        return (_numbers("StandardScaler.transform", "x", x) - self.mean) / self.std

    def inverse_transform(self, z):
        """z * std + mean: scaled values back in the units of the series."""
        self._fitted("inverse_transform")
        return _numbers("StandardScaler.inverse_transform", "z", z) * self.std + self.mean

    def __repr__(self):
        return f"StandardScaler(mean={self.mean}, std={self.std})"


def split_and_scale(series, n_val, n_test):
    """Exercise 6's split: `chronological_split`, then every part scaled with the
    training part's mean and std. Returns (train, val, test, mean, std), the three parts
    float64 (n_train,), (n_val,), (n_test,), and mean and std floats."""
    train, val, test = chronological_split(series, n_val, n_test)
    scaler = StandardScaler().fit(train)
    return (scaler.transform(train), scaler.transform(val), scaler.transform(test),
            scaler.mean, scaler.std)


# ------------------------------------------------------------------ baselines

def last_value_forecast(X, horizon=1):
    """Every step of the horizon forecast by the window's last value X[:, -1, 0].

    X (N, L, 1) windows; horizon >= 1. Returns (N, horizon) float64.
    """
    X = _windows_X("last_value_forecast", X)
    horizon = _int("last_value_forecast", "horizon", horizon, 1)
    return np.repeat(X[:, -1, :], horizon, axis=1)


def seasonal_naive_forecast(X, horizon=1, season=12):
    """Each step of the horizon forecast by the value one season before it.

    Step j (j = 0 .. horizon - 1) is the time L + j; its forecast is the last observed value
    of the same phase of the cycle, X[:, L - season + (j mod season), 0]: for horizon <=
    season exactly X[:, L - season + j, 0], and beyond one season the last observed season
    repeats. X (N, L, 1) windows with L >= season; horizon, season >= 1.
    Returns (N, horizon) float64.
    """
    X = _windows_X("seasonal_naive_forecast", X)
    horizon = _int("seasonal_naive_forecast", "horizon", horizon, 1)
    season = _int("seasonal_naive_forecast", "season", season, 1)
    L = X.shape[1]
    if season > L:
        raise ValueError(f"seasonal_naive_forecast: the windows hold {L} steps (X.shape[1]), fewer "
                         f"than one season ({season}): the value one season back is not in them")
    return X[:, L - season + np.arange(horizon) % season, 0]


def seasonal_naive_drift_forecast(X, horizon=1, season=12):
    """The seasonal naive forecast plus the last season's change: step j is forecast by
    X[:, L - season + (j mod season), 0] + (X[:, L - 1, 0] - X[:, L - 1 - season, 0]), the
    value one season before it raised by how much the series rose over the last season. A
    series with a trend and a cycle (CO2) is what it is made for. X (N, L, 1) windows with
    L >= season + 1; horizon, season >= 1. Returns (N, horizon) float64.
    """
    X = _windows_X("seasonal_naive_drift_forecast", X)
    season = _int("seasonal_naive_drift_forecast", "season", season, 1)
    if season + 1 > X.shape[1]:
        raise ValueError(f"seasonal_naive_drift_forecast: the windows hold {X.shape[1]} steps "
                         f"(X.shape[1]); the last season's change needs season + 1 = {season + 1}")
    drift = X[:, -1, 0] - X[:, -1 - season, 0]
    return seasonal_naive_forecast(X, horizon, season) + drift[:, None]


class LinearAR:
    """A linear autoregression on windows: y_hat = X[:, :, 0] @ weights + bias.

    weights (L, horizon): column j forecasts step j of the horizon from the L values of the
    window, oldest first (weights[-1] multiplies the last value); bias (horizon,). `fit`
    solves the least-squares problem for all horizon steps at once (a direct multi-step
    forecast when horizon > 1), with np.linalg.lstsq: where the windows do not determine
    the weights (e.g. an exactly linear series), the minimum-norm solution.
    """

    def __init__(self, weights, bias):
        self.weights = _numbers("LinearAR", "weights", weights, ndim=2)
        self.bias = _numbers("LinearAR", "bias", bias, ndim=1)
        if self.bias.shape[0] != self.weights.shape[1]:
            raise ValueError(f"LinearAR: bias must be (horizon,) = ({self.weights.shape[1]},) "
                             f"for weights {self.weights.shape}, got {self.bias.shape}")

    @classmethod
    def fit(cls, X, y):
        """Least squares on windows X (N, L, 1) and targets y (N, horizon), N >= L + 1."""
        X = _windows_X("LinearAR.fit", X)
        y = _numbers("LinearAR.fit", "y", y, ndim=2)
        N, L, _ = X.shape
        if y.shape[0] != N:
            raise ValueError(f"LinearAR.fit: X has {N} windows but y has {y.shape[0]} rows; "
                             f"y must be (N, horizon) = ({N}, horizon)")
        if N < L + 1:
            raise ValueError(f"LinearAR.fit: {N} windows cannot fit {L} weights and a bias; "
                             f"need at least lookback + 1 = {L + 1}")
        design = np.concatenate([X[:, :, 0], np.ones((N, 1))], axis=1)      # (N, L + 1)
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        return cls(coef[:-1], coef[-1])

    def predict(self, X):
        """X (N, L, 1) -> (N, horizon) forecasts."""
        X = _windows_X("LinearAR.predict", X)
        if X.shape[1] != self.weights.shape[0]:
            raise ValueError(f"LinearAR.predict: the model was fitted on windows of "
                             f"{self.weights.shape[0]} steps, X has {X.shape[1]} (shape {X.shape})")
        return X[:, :, 0] @ self.weights + self.bias

    def __repr__(self):
        return f"LinearAR(lookback={self.weights.shape[0]}, horizon={self.weights.shape[1]})"


def recursive_forecast(one_step, X, horizon):
    """Forecast `horizon` steps by running a one-step forecaster on its own forecasts.

    one_step: a function of windows (N, L, 1) -> (N, 1) (or (N,)) next-step forecasts.
    Step 1 is one_step(X); then the window drops its oldest value and takes the forecast
    as its newest, and so on: errors of early steps feed into later ones.
    Returns (N, horizon) float64.
    """
    window = _windows_X("recursive_forecast", X).copy()
    horizon = _int("recursive_forecast", "horizon", horizon, 1)
    N = window.shape[0]
    out = np.empty((N, horizon))
    for j in range(horizon):
        step = np.asarray(one_step(window), dtype=float)
        if step.shape not in ((N,), (N, 1)):
            raise ValueError(f"recursive_forecast: one_step must return (N, 1) = ({N}, 1) "
                             f"forecasts for windows {window.shape}, got shape {step.shape}")
        out[:, j] = step.reshape(N)
        window = np.concatenate([window[:, 1:], out[:, j, None, None]], axis=1)
    return out


# ------------------------------------------------------------------ metrics

def _pair(where, y_true, y_pred):
    y_true = _numbers(where, "y_true", y_true)
    y_pred = _numbers(where, "y_pred", y_pred)
    if y_true.shape != y_pred.shape:
        # Equal shapes are required: (N, 1) against (N,) would broadcast to (N, N).
        raise ValueError(f"{where}: y_true and y_pred must have the same shape, got "
                         f"{y_true.shape} and {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError(f"{where}: y_true and y_pred are empty")
    return y_true, y_pred


def mae(y_true, y_pred, axis=None):
    """Mean absolute error, in the units of the series: a float, or an array when axis is
    given (e.g. axis=0 on (N, horizon) arrays: one MAE per step of the horizon)."""
    y_true, y_pred = _pair("mae", y_true, y_pred)
    out = np.mean(np.abs(y_pred - y_true), axis=axis)
    return float(out) if axis is None else out


def rmse(y_true, y_pred, axis=None):
    """Root mean squared error, in the units of the series (weighs large errors more than
    the MAE); a float, or an array when axis is given."""
    y_true, y_pred = _pair("rmse", y_true, y_pred)
    out = np.sqrt(np.mean((y_pred - y_true) ** 2, axis=axis))
    return float(out) if axis is None else out


def mase(y_true, y_pred, y_train, season=1, axis=None):
    """Mean absolute scaled error (Hyndman and Koehler 2006): the MAE divided by the MAE
    that the naive forecast "the value `season` steps before" makes within the training
    series, mean |y_train[t] - y_train[t - season]|. Below 1: better, on the held-out
    period, than that naive forecast was in-sample. Unit-free, so comparable across series.

    y_true, y_pred: equal shapes; y_train: the 1-D training series, len > season.
    """
    scale_series = _numbers("mase", "y_train", y_train, ndim=1)
    season = _int("mase", "season", season, 1)
    if len(scale_series) <= season:
        raise ValueError(f"mase: y_train needs more than season = {season} values, "
                         f"got {len(scale_series)}")
    scale = float(np.mean(np.abs(scale_series[season:] - scale_series[:-season])))
    if scale == 0:
        raise ValueError(f"mase: y_train repeats itself every {season} steps exactly, so the "
                         f"naive in-sample MAE is 0 and cannot scale")
    return mae(y_true, y_pred, axis=axis) / scale

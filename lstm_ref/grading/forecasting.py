"""Checks of exercise 06: windows, a split in time, scaling, baselines and a forecaster.
"""
import numpy as np

from .. import forecasting as reference
from ..datasets import co2_monthly, windows
from .core import (drawn, GradingError, _as_array, _case, _check_finite, _check_shape, _explain, _outputs,
                   _unchanged, check_array, run_student)

# --------------------------------------------------------- exercise 06: forecasting
#
# A real series that ships inside statsmodels (so nothing is downloaded): the CO2
# concentration at Mauna Loa, lstm_ref.datasets.co2_monthly.

FORECAST_LOOKBACK = 24          # months of history per window
FORECAST_VAL = 60               # the five years before the test period
FORECAST_TEST = 60              # the last five years, 1997-01 to 2001-12
SEASON = 12                     # months per seasonal cycle
# A forecaster whose skill comes from its LSTM loses it when the LSTM's trained weights are
# shuffled: its MAE must then be at least this times its own (one that forecasts some
# other way, e.g. a seasonal rule beside an LSTM it never reads, keeps its MAE).
FORECAST_ABLATED = 2.0
# What a forecaster may use from lstm_ref: the NumPy training code of lstm_ref.train
# (Regressor, fit, Adam, clipping) and the LSTM it trains.
FORECASTER_ALLOWED = ("__init__", "fit", "predict", "loss_and_grads", "cell_params", "step",
                      "clip_by_global_norm", "init_lstm", "lstm_forward", "lstm_backward")


def _window_cases():
    rng = np.random.default_rng(drawn(1000))
    yield "the series 0, 1, ..., 9 (each value is its own index), lookback 3, horizon 1", np.arange(10.0), 3, 1
    yield "the series 0, 1, ..., 11, lookback 4, horizon 3", np.arange(12.0), 4, 3
    yield f"a random series of 40 values (seed {drawn(1000)}), lookback 12, horizon 2", rng.standard_normal(40), 12, 2
    yield "a series of 6 values, lookback 5, horizon 1 (exactly one window)", np.arange(6.0) ** 2, 5, 1


def check_make_windows(make_windows):
    """make_windows(series, lookback, horizon) -> (X, y): window k has the inputs
    X[k] = series[k:k + lookback] as (lookback, 1) and the targets y[k] = series[k + lookback:
    k + lookback + horizon], for every k = 0 .. N - 1, N = len(series) - lookback - horizon + 1.
    X (N, lookback, 1) (samples, timesteps, features), y (N, horizon); series unchanged."""
    for label, series, lookback, horizon in _window_cases():
        def body(series=series, lookback=lookback, horizon=horizon):
            X_ref, y_ref = windows(series, lookback, horizon)
            N = len(y_ref)
            passed = series.copy()
            result = run_student("make_windows", make_windows, passed, lookback, horizon)
            X, y = _outputs("make_windows", result, 2, ("X", "y"))
            _unchanged("make_windows", "series", series, passed)
            count = (f"N = len(series) - lookback - horizon + 1 = {len(series)} - {lookback} - {horizon} + 1 = "
                     f"{N} windows: the last one ends with the series' last value.")
            X_hint = (f"X[k] = series[k:k + lookback], one window per row, with a feature axis: (N, lookback, 1), "
                      f"the (samples, timesteps, features) an LSTM reads (add it with X[..., None]). {count}")
            y_hint = f"y[k] = series[k + lookback:k + lookback + horizon]: (N, horizon). {count}"

            def compare():
                check_array("X", X, X_ref, hint=X_hint)
                check_array("y", y, y_ref, hint=y_hint)
            w = np.lib.stride_tricks.sliding_window_view(series, lookback + horizon)
            _explain(compare, (X, y), [
                ("y starts with the last input value: the targets are the horizon values after the window, "
                 "series[k + lookback:k + lookback + horizon]",
                 lambda: (X_ref, w[:, lookback - 1:lookback - 1 + horizon]))])
        _case("make_windows", label, body)


def _split_cases():
    values = co2_monthly().to_numpy()
    yield (f"the CO2 series ({len(values)} months), n_val={FORECAST_VAL}, n_test={FORECAST_TEST}",
           values, FORECAST_VAL, FORECAST_TEST)
    rng = np.random.default_rng(drawn(1001))
    yield (f"a rising series 100 + 2t + noise of 30 values (seed {drawn(1001)}), n_val=6, n_test=4",
           100 + 2 * np.arange(30) + rng.standard_normal(30), 6, 4)


def _split_result(split_and_scale, series, n_val, n_test):
    passed = series.copy()
    result = run_student("split_and_scale", split_and_scale, passed, n_val, n_test)
    _unchanged("split_and_scale", "series", series, passed)
    train, val, test, mean, std = _outputs("split_and_scale", result, 5, ("train", "val", "test", "mean", "std"))
    for name, value in (("mean", mean), ("std", std)):
        if np.ndim(value) != 0:
            raise GradingError(f"split_and_scale: {name} should be one number (the whole training part's), got "
                               f"an array of shape {np.shape(value)}")
    parts = [_as_array(f"split_and_scale's {n}", p) for n, p in zip(reference.PARTS, (train, val, test))]
    return parts, float(mean), float(std)


def check_chronological_split(split_and_scale):
    """split_and_scale(series, n_val, n_test) -> (train, val, test, mean, std): train, val and
    test, read back with the returned scaler (part * std + mean), are the consecutive slices
    series[:n_train], series[n_train:n_train + n_val] and the last n_test values."""
    for label, series, n_val, n_test in _split_cases():
        def body(series=series, n_val=n_val, n_test=n_test):
            parts, mean, std = _split_result(split_and_scale, series, n_val, n_test)
            slices = reference.chronological_split(series, n_val, n_test)
            want = tuple(s.size for s in slices)
            got = tuple(p.size for p in parts)
            if got != want:
                raise GradingError(f"train, val and test have {got} values; expected (len(series) - n_val - "
                                   f"n_test, n_val, n_test) = {want}.")
            if not (np.isfinite(mean) and np.isfinite(std) and std > 0):
                raise GradingError(f"the scaler (mean {mean}, std {std}) cannot be undone: std must be a "
                                   f"positive number.")
            raw = [p.ravel() for p in parts]
            if all(np.allclose(r, s) for r, s in zip(raw, slices)) and not np.isclose(std, 1.0):
                raise GradingError("the three parts are the raw values, not scaled: return (part - mean) / std.")
            back = [r * std + mean for r in raw]
            try:
                for name, b, s in zip(reference.PARTS, back, slices):
                    check_array(f"{name} (read back as {name} * std + mean)", b, s)
            except GradingError as err:
                if n_val == n_test and np.allclose(back[1], slices[2]) and np.allclose(back[2], slices[1]):
                    cause = "val and test are swapped: the test part is the last, the validation part just before it"
                elif np.allclose(back[2], series[:n_test]):
                    cause = "the test part is taken from the start of the series; it is the last n_test values"
                elif np.allclose(np.sort(np.concatenate(back)), np.sort(series)):
                    cause = ("the values are shuffled. A forecast is tested on the future, so the split keeps time "
                             "order: the model learns from the past (train), is tuned on the years after it "
                             "(validation) and tested on the last years (test). Tested on months scattered between "
                             "months it trained on, it answers an easier question than forecasting")
                else:
                    raise
                raise GradingError(f"{err}\nLikely cause: {cause}.") from None
        _case("split_and_scale", label, body)


def check_scaler(split_and_scale):
    """The scaler that split_and_scale fits: mean and std are those of the training part only
    (np.mean, np.std with its default ddof=0), and every part is scaled with them. Statistics
    of the whole series (or of train and validation together) are named as leakage."""
    for label, series, n_val, n_test in _split_cases():
        def body(series=series, n_val=n_val, n_test=n_test):
            parts, mean, std = _split_result(split_and_scale, series, n_val, n_test)
            slices = reference.chronological_split(series, n_val, n_test)
            train, n_train = slices[0], len(slices[0])
            scaler = reference.StandardScaler().fit(train)
            want = np.array([scaler.mean, scaler.std])
            got = np.array([mean, std])
            leak = ("data leakage: the scaling the model trains with then depends on values of the {what}, which "
                    "a forecaster cannot know when it forecasts them (here the test period lies above everything "
                    "before it). Fit the scaler on the training part only, and scale the validation and test parts "
                    "with the training part's mean and std")
            mistakes = [
                ("the scaler is fitted on the whole series, test period included: " + leak.format(what="test period"),
                 lambda: (np.array([series.mean(), series.std()]),)),
                ("the scaler is fitted on train and validation together: " + leak.format(what="validation period"),
                 lambda: (np.array([series[:n_train + n_val].mean(), series[:n_train + n_val].std()]),)),
                ("std uses ddof=1 (the sample standard deviation); the exercise asks for np.std's default, ddof=0",
                 lambda: (np.array([train.mean(), train.std(ddof=1)]),))]
            _explain(lambda: check_array("(mean, std) of the scaler", got, want), (got,), mistakes)
            for name, part, s in zip(reference.PARTS, parts, slices):
                check_array(f"the scaled {name} part", part.ravel() if part.size == s.size else part,
                            (s - want[0]) / want[1], hint="One scaled value per value of the part.")
        _case("split_and_scale", label, body)


def _baseline_cases(seasonal):
    rng = np.random.default_rng(drawn(1002))
    shapes = ([(5, 24, 1, 12), (4, 12, 3, 12), (3, 15, 12, 12), (4, 16, 3, 4)] if seasonal else
              [(5, 6, 1, None), (4, 12, 3, None), (3, 24, 12, None)])
    for N, L, h, season in shapes:
        X = rng.standard_normal((N, L, 1))
        extra = f", season {season}" if seasonal else ""
        yield f"random windows X of shape ({N}, {L}, 1), horizon {h}{extra}", X, h, season


def _co2_test_mae(forecast):
    """MAE (ppm) of a one-month-ahead forecast function of the scaled test windows."""
    data = forecasting_data()
    pred = np.asarray(forecast(data["X_test"]), dtype=float).reshape(-1, 1)
    return float(np.mean(np.abs((pred - data["y_test"]) * data["std"])))


def check_last_value(last_value_forecast):
    """last_value_forecast(X, horizon) -> (N, horizon): every step of the horizon forecast by
    the window's last value, X[:, -1, 0]. Exact. Prints its MAE on the CO2 test period."""
    for label, X, h, _ in _baseline_cases(False):
        def body(X=X, h=h):
            passed = X.copy()
            got = run_student("last_value_forecast", last_value_forecast, passed, h)
            _unchanged("last_value_forecast", "X", X, passed)
            want = reference.last_value_forecast(X, h)
            _explain(lambda: check_array("the last-value forecast", got, want,
                                         hint="One forecast per window and step of the horizon: (N, horizon)."),
                     (got,), [("it repeats the window's first value; the last observed value is X[:, -1, 0]",
                               lambda: (np.repeat(X[:, 0, :], h, axis=1),))])
        _case("last_value_forecast", label, body)
    mae = _co2_test_mae(lambda X: run_student("last_value_forecast", last_value_forecast, X.copy(), 1))
    print(f"Passed. On the CO2 test period ({FORECAST_TEST} months), one month ahead: MAE {mae:.2f} ppm.")


def check_seasonal_naive(seasonal_naive_forecast):
    """seasonal_naive_forecast(X, horizon, season=12) -> (N, horizon): step j of the horizon
    (j = 0 .. horizon - 1, horizon <= season) forecast by the value one season before it,
    X[:, L - season + j, 0]. Exact. Prints its MAE on the CO2 test period."""
    for label, X, h, season in _baseline_cases(True):
        def body(X=X, h=h, season=season):
            L = X.shape[1]
            passed = X.copy()
            got = run_student("seasonal_naive_forecast", seasonal_naive_forecast, passed, h, season)
            _unchanged("seasonal_naive_forecast", "X", X, passed)
            want = reference.seasonal_naive_forecast(X, h, season)
            hint = "One forecast per window and step of the horizon: (N, horizon)."
            if np.shape(got)[:1] == (X.shape[0],) and np.size(got) == 0:
                hint += (" Yours is empty: X[:, -season:-season + horizon] ends at index 0 when horizon = season; "
                         "count from the start instead, X[:, L - season:L - season + horizon].")
            shifted = lambda k: lambda: (X[:, L - season + k:L - season + k + h, 0],)
            mistakes = [
                ("every step is forecast one step too late: the value one season before step j is at index "
                 "L - season + j (the target of step j is at L + j)", shifted(1)),
                ("every step is forecast from one step too early: the value one season before step j is at index "
                 "L - season + j", shifted(-1)),
                ("it repeats the last value; the seasonal naive forecast takes the value one season earlier",
                 lambda: (np.repeat(X[:, -1, :], h, axis=1),))]
            if season != SEASON:
                mistakes.append(("the season argument is ignored (this is the result for 12): use season",
                                 lambda: (X[:, L - SEASON:L - SEASON + h, 0],)))
            _explain(lambda: check_array("the seasonal naive forecast", got, want, hint=hint), (got,),
                     [(c, m) for c, m in mistakes if m()[0].shape == want.shape])
        _case("seasonal_naive_forecast", label, body)
    mae = _co2_test_mae(lambda X: run_student("seasonal_naive_forecast", seasonal_naive_forecast, X.copy(), 1,
                                              SEASON))
    print(f"Passed. On the CO2 test period ({FORECAST_TEST} months), one month ahead: MAE {mae:.2f} ppm.")


def forecasting_data(parts=("train", "val", "test")):
    """The data of check_forecaster, made as the exercise asks: the monthly CO2 series split in
    time (train, then FORECAST_VAL validation months, then the last FORECAST_TEST test months),
    scaled with the training part's mean and std, cut into windows of FORECAST_LOOKBACK months
    that forecast the next month. A window belongs to the part its target month is in (its
    inputs may reach back into the part before: at that date they are known).
    parts: which of "train", "val", "test" to return (a notebook loads only "train" and
    "val": the test windows are loaded by check_forecaster, after the fitting).
    Returns a dict: X_train (N, 24, 1), y_train (N, 1), X_val, y_val, X_test, y_test (scaled)
    of the parts asked for, mean and std (ppm), and (with "test") test_dates, the months of
    the test targets."""
    unknown = set(parts) - {"train", "val", "test"}
    if unknown or isinstance(parts, str):
        raise ValueError(f"forecasting_data: parts must be a tuple of 'train', 'val', 'test'; got {parts!r}")
    s = co2_monthly()
    values = s.to_numpy()
    train, _, _ = reference.chronological_split(values, FORECAST_VAL, FORECAST_TEST)
    scaler = reference.StandardScaler().fit(train)
    X, y = windows(scaler.transform(values), FORECAST_LOOKBACK, 1)
    target = reference.target_times(len(values), FORECAST_LOOKBACK, 1)[:, 0]   # the month window k forecasts
    rows = reference.window_parts(len(values), FORECAST_LOOKBACK, 1, FORECAST_VAL, FORECAST_TEST)
    data = {"mean": scaler.mean, "std": scaler.std}
    if "test" in parts:
        data["test_dates"] = s.index[target[rows["test"]]]
    for name in parts:
        data[f"X_{name}"], data[f"y_{name}"] = X[rows[name]], y[rows[name]]
    return data


def _reachable(root, depth=4):
    """The objects a forecast function reaches: what its closure and defaults hold, the
    object of a bound method, the arguments of a functools.partial, and the attributes of
    the objects found, to `depth` steps; modules and classes are not entered."""
    import types
    seen, todo, found = set(), [(root, 0)], []
    while todo:
        obj, level = todo.pop()
        if id(obj) in seen or isinstance(obj, (types.ModuleType, type, str, bytes, np.ndarray)):
            continue
        seen.add(id(obj))
        found.append(obj)
        if level == depth:
            continue
        nxt = []
        if isinstance(obj, types.FunctionType):
            nxt += [c.cell_contents for c in obj.__closure__ or () if c.cell_contents is not c]
            nxt += list(obj.__defaults__ or ())
        elif isinstance(obj, types.MethodType):
            nxt += [obj.__self__, obj.__func__]
        elif isinstance(obj, (list, tuple, set, frozenset)):
            nxt += list(obj)[:100]
        elif isinstance(obj, dict):
            nxt += list(obj.values())[:100]
        elif hasattr(obj, "func") and hasattr(obj, "args"):          # functools.partial
            nxt += [obj.func, *obj.args, *(obj.keywords or {}).values()]
        framework = type(obj).__module__.split(".")[0] in ("torch", "keras", "tensorflow")
        if hasattr(obj, "__dict__") and not isinstance(obj, types.FunctionType) and not framework:
            nxt += list(vars(obj).values())[:100]
        todo += [(o, level + 1) for o in nxt]
    return found


def _lstm_weights(forecast):
    """[(name, get, put)] for the LSTMs in what forecast reaches: lstm_ref.train.Regressor
    with an LSTM cell, PyTorch modules holding nn.LSTM or nn.LSTMCell (or a module of the
    student's named *LSTM*), Keras models holding keras.layers.LSTM; get() returns the
    weights as NumPy arrays, put(arrays) writes them back."""
    from ..train import Regressor
    out = []
    for obj in _reachable(forecast):
        kind = type(obj).__module__.split(".")[0]
        if isinstance(obj, Regressor) and obj.cell == "lstm":
            params = obj.cell_params()

            def put(arrays, params=params):
                for key, value in zip(params, arrays):
                    params[key][...] = value
            out.append(("a Regressor('lstm')", lambda params=params: [v.copy() for v in params.values()], put))
        elif kind == "torch" or hasattr(obj, "named_modules") and hasattr(obj, "parameters"):
            for path, module in getattr(obj, "named_modules", lambda: [])():
                if "LSTM" in type(module).__name__:
                    tensors = list(module.parameters())

                    def put(arrays, tensors=tensors):
                        import torch
                        with torch.no_grad():
                            for t, a in zip(tensors, arrays):
                                t.copy_(torch.from_numpy(a))
                    out.append((f"{type(module).__name__} {path or ''}".strip(),
                                lambda tensors=tensors: [t.detach().cpu().numpy().copy() for t in tensors], put))
        elif kind == "keras" and hasattr(obj, "layers"):
            from .keras import _lstm_layers
            for layer in _lstm_layers(obj):
                out.append((f"keras LSTM {layer.name}", layer.get_weights, layer.set_weights))
    return out


def _mae_without_lstm(forecast, X_test, truth, std, mean):
    """(names of the LSTMs found, the forecast's MAE in ppm with their weights shuffled);
    every weight is put back afterwards."""
    lstms = _lstm_weights(forecast)
    if not lstms:
        return [], None
    rng = np.random.default_rng(drawn(1003))
    saved = [get() for _, get, _ in lstms]
    try:
        for (_, _, put), arrays in zip(lstms, saved):
            put([rng.permutation(a.ravel()).reshape(a.shape) for a in arrays])
        pred = _as_array("your test forecasts with the LSTM's weights shuffled", run_student(
            "the forecast function that fit_forecaster returned", forecast, X_test.copy(),
            allowed=FORECASTER_ALLOWED))
    finally:
        for (_, _, put), arrays in zip(lstms, saved):
            put(arrays)
    bad = ~np.isfinite(pred)
    pred = np.where(bad, 1e6, pred)     # a forecast that blows up without its LSTM lost its skill
    return list(dict.fromkeys(name for name, _, _ in lstms)), reference.mae(truth, pred * std + mean)


def check_forecaster(fit_forecaster):
    """fit_forecaster(X_train, y_train, X_val, y_val) -> forecast, a function X (N, 24, 1) ->
    (N, 1) of one-month-ahead forecasts (scaled units). The check makes the data itself
    (forecasting_data) and passes fit_forecaster only the training and validation windows, so
    fitting cannot see the test period; then it forecasts the test windows with the function
    returned, computes the MAE in ppm itself, and compares it with the last-value, seasonal
    naive and seasonal naive with drift baselines on the same windows (and, for comparison
    only, a linear AR fitted on the training windows). Passing needs an MAE below all three,
    and a forecaster whose skill is its LSTM's: an LSTM (lstm_ref's Regressor, a PyTorch or a
    Keras one) must be reachable from the function returned, and with its trained weights
    shuffled the MAE must be at least FORECAST_ABLATED times as large. Prints the table and
    returns a dict: mae, baselines, test_dates, forecast and truth (ppm)."""
    data = forecasting_data()
    fit_args = [data[k].copy() for k in ("X_train", "y_train", "X_val", "y_val")]
    forecast = run_student("fit_forecaster", fit_forecaster, *fit_args, allowed=FORECASTER_ALLOWED)
    if not callable(forecast):
        raise GradingError(f"fit_forecaster returned {type(forecast).__name__}; return the function that "
                           f"forecasts, e.g. `return lambda X: model.predict(X)`.")
    X_test = data["X_test"].copy()
    pred = _as_array("your test forecasts", run_student("the forecast function that fit_forecaster returned",
                                                        forecast, X_test, allowed=FORECASTER_ALLOWED))
    _check_shape("your test forecasts", pred, data["y_test"], "One forecast per test window: (N, 1).")
    _check_finite("your test forecasts", pred)
    std, mean = data["std"], data["mean"]
    truth = data["y_test"] * std + mean
    ppm = pred * std + mean
    mae = reference.mae(truth, ppm)
    ar = reference.LinearAR.fit(data["X_train"], data["y_train"])
    baselines = {name: reference.mae(truth, baseline(data["X_test"]) * std + mean) for name, baseline in (
        ("last value", reference.last_value_forecast),
        ("seasonal naive", lambda X: reference.seasonal_naive_forecast(X, 1, SEASON)),
        ("seasonal + drift", lambda X: reference.seasonal_naive_drift_forecast(X, 1, SEASON)))}
    context = reference.mae(truth, ar.predict(data["X_test"]) * std + mean)
    dates = data["test_dates"]
    table = (f"One month ahead over the test period {dates[0]:%Y-%m} to {dates[-1]:%Y-%m} ({len(truth)} months), "
             f"fitted on {len(fit_args[0])} training and {len(fit_args[2])} validation windows only; MAE in ppm:\n"
             f"  {'your forecaster':16s} {mae:6.3f}\n" + "".join(f"  {k:16s} {v:6.3f}\n" for k, v in baselines.items())
             + f"  {'linear AR(24)':16s} {context:6.3f}  (for comparison, not required: see chapter 9)\n")
    best = min(baselines, key=baselines.get)
    if mae >= baselines[best]:
        bias = float(np.mean(ppm - truth))
        cause = ""
        if abs(bias) > 0.5 * mae:
            top = float(data["X_train"].max() * std + mean)
            cause = (f"\nLikely cause: your forecasts are {'too low' if bias < 0 else 'too high'} by {abs(bias):.2f} "
                     f"ppm on average. The test period ({truth.min():.0f} to {truth.max():.0f} ppm) lies above "
                     f"every value the model was trained on (up to {top:.0f} ppm); a network that forecasts the "
                     f"level cannot reach values it has never produced. Forecast the change instead: train on "
                     f"y - X[:, -1] from X - X[:, -1:] (each window relative to its last value) and add the last "
                     f"value back.")
        raise GradingError(f"{table}Needed: an MAE below the best of these baselines ({best}, "
                           f"{baselines[best]:.3f} ppm).{cause}")
    found, ablated = _mae_without_lstm(forecast, X_test, truth, std, mean)
    if not found:
        raise GradingError(
            f"{table}But no LSTM was found in what fit_forecaster returned (the forecast function, what it "
            f"holds in its closure and the objects it uses): the exercise asks for an LSTM forecaster, e.g. "
            f"lstm_ref.train.Regressor('lstm', ...) trained with fit, and `return lambda X: ...model.predict(...)`.")
    if ablated < FORECAST_ABLATED * mae:
        raise GradingError(
            f"{table}But with the trained weights of its LSTM ({', '.join(found)}) shuffled, your forecaster still "
            f"has MAE {ablated:.3f} ppm (needed: at least {FORECAST_ABLATED} times yours, "
            f"{FORECAST_ABLATED * mae:.3f}): its forecasts do not come from its LSTM.")
    table += f"  with its LSTM's weights shuffled: {ablated:.3f} (its skill comes from the LSTM)\n"
    print(f"Passed.\n{table.rstrip()}")
    return {"mae": mae, "baselines": baselines, "test_dates": dates, "forecast": ppm[:, 0], "truth": truth[:, 0]}

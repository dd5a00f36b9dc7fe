"""lstm_ref.forecasting and the CO2 data: splits in time without leakage, the scaler, the
baselines and the metrics, on hand-made series whose answers are known exactly."""
import sys

import numpy as np
import pandas as pd
import pytest

from lstm_ref import datasets
from lstm_ref import forecasting as F
from lstm_ref.datasets import co2_monthly, windows
# the split of chapter 9 and exercise 6
from lstm_ref.grading import FORECAST_LOOKBACK as LOOKBACK
from lstm_ref.grading import FORECAST_TEST as N_TEST
from lstm_ref.grading import FORECAST_VAL as N_VAL

CO2_MONTHS = 526                     # March 1958 to December 2001


# ------------------------------------------------------------------ the data

def test_co2_monthly_is_the_documented_series():
    s = co2_monthly()
    assert isinstance(s, pd.Series) and s.dtype == np.float64 and s.shape == (CO2_MONTHS,)
    assert isinstance(s.index, pd.DatetimeIndex)
    assert s.index[0] == pd.Timestamp("1958-03-01") and s.index[-1] == pd.Timestamp("2001-12-01")
    # one value per calendar month, each on the month's first day, none missing
    expected = pd.date_range("1958-03-01", "2001-12-01", freq="MS")
    assert s.index.equals(expected)
    assert not s.isna().any() and np.all(np.isfinite(s.to_numpy()))
    # the Keeling curve: about 316 ppm at the start, about 370 ppm at the end, rising
    assert 312 < s.iloc[:12].mean() < 318 and 368 < s.iloc[-12:].mean() < 374
    assert s.iloc[-12:].mean() > s.iloc[:12].mean() + 50


def test_co2_monthly_returns_a_copy():
    s = co2_monthly()
    s.iloc[0] = -1.0
    assert co2_monthly().iloc[0] > 300


def test_co2_monthly_without_statsmodels_says_what_to_install(monkeypatch):
    monkeypatch.setattr(datasets, "_CO2", {})                 # no cached series
    monkeypatch.setitem(sys.modules, "statsmodels", None)     # `import statsmodels` now fails
    monkeypatch.setitem(sys.modules, "statsmodels.datasets", None)
    with pytest.raises(ImportError, match="co2_monthly needs statsmodels.*pip install statsmodels"):
        co2_monthly()


def test_sunspots_yearly_is_the_documented_series(monkeypatch):
    s = datasets.sunspots_yearly()
    assert isinstance(s, pd.Series) and s.dtype == np.float64 and s.shape == (309,)
    assert list(s.index[[0, -1]]) == [1700, 2008] and (np.diff(s.index) == 1).all()
    assert not s.isna().any() and (s >= 0).all() and s.max() > 150
    monkeypatch.setitem(sys.modules, "statsmodels.datasets", None)
    with pytest.raises(ImportError, match="sunspots_yearly needs statsmodels"):
        datasets.sunspots_yearly()


def test_the_module_imports_with_numpy_alone(imported_after):
    heavy = ("pandas", "statsmodels", "torch", "tensorflow")
    assert imported_after("import lstm_ref.forecasting", heavy) == []


# ------------------------------------------------------------------ windows and splits

def test_windows_on_a_counting_series():
    X, y = windows(np.arange(10.0), 3, 2)
    assert X.shape == (6, 3, 1) and y.shape == (6, 2)
    np.testing.assert_array_equal(X[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(y[0], [3, 4])
    np.testing.assert_array_equal(X[-1, :, 0], [5, 6, 7])
    np.testing.assert_array_equal(y[-1], [8, 9])


def test_target_times_are_the_times_of_the_targets():
    series = np.arange(20.0) * 10                   # value = 10 * time
    for lookback, horizon in [(3, 1), (5, 4), (1, 19)]:
        _, y = windows(series, lookback, horizon)
        times = F.target_times(len(series), lookback, horizon)
        assert times.shape == y.shape and times.dtype.kind == "i"
        np.testing.assert_array_equal(series[times], y)


@pytest.mark.parametrize("horizon", [1, 12])
def test_window_parts_on_co2_never_mix_time(horizon):
    n = CO2_MONTHS
    parts = F.window_parts(n, LOOKBACK, horizon, N_VAL, N_TEST)
    times = F.target_times(n, LOOKBACK, horizon)
    n_train = n - N_VAL - N_TEST
    assert sum(parts["train"] & parts["val"]) == sum(parts["val"] & parts["test"]) == 0
    assert sum(parts["train"] & parts["test"]) == 0
    train, val, test = (times[parts[p]] for p in F.PARTS)
    # every training target precedes every validation target precedes every test target
    assert train.max() < val.min() and val.max() < test.min()
    # and each part's targets are exactly its months
    assert train.max() < n_train <= val.min() and val.max() < n_train + N_VAL <= test.min()
    assert test.max() == n - 1
    # windows that straddle a boundary (horizon > 1 only) belong to no part
    straddling = horizon - 1
    assert len(train) == n_train - LOOKBACK - straddling
    assert len(val) == N_VAL - straddling and len(test) == N_TEST - straddling
    # inputs may reach back: the first test window forecasts the first test month from the
    # last LOOKBACK months of the validation part (known at that date)
    first_test = np.flatnonzero(parts["test"])[0]
    assert times[first_test, 0] == n_train + N_VAL
    assert n_train <= first_test and first_test + LOOKBACK - 1 < n_train + N_VAL


def test_window_parts_match_exercise_6s_data():
    from lstm_ref import grading
    data = grading.forecasting_data()
    values = co2_monthly().to_numpy()
    scaler = F.StandardScaler().fit(F.chronological_split(values, N_VAL, N_TEST)[0])
    X, y = windows(scaler.transform(values), LOOKBACK, 1)
    parts = F.window_parts(len(values), LOOKBACK, 1, N_VAL, N_TEST)
    assert (scaler.mean, scaler.std) == pytest.approx((data["mean"], data["std"]), rel=1e-12)
    for p in F.PARTS:
        np.testing.assert_allclose(X[parts[p]], data[f"X_{p}"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(y[parts[p]], data[f"y_{p}"], rtol=0, atol=1e-12)


def test_chronological_split_keeps_time_order_and_copies():
    series = np.arange(10.0)
    train, val, test = F.chronological_split(series, 3, 2)
    np.testing.assert_array_equal(train, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(val, [5, 6, 7])
    np.testing.assert_array_equal(test, [8, 9])
    train[0] = 99.0
    assert series[0] == 0.0


def test_scaler_uses_the_training_part_only():
    rng = np.random.default_rng(0)
    series = 100 + 2 * np.arange(30) + rng.standard_normal(30)
    tr, va, te, mean, std = F.split_and_scale(series, 6, 4)
    assert mean == pytest.approx(series[:20].mean(), rel=1e-15)
    assert std == pytest.approx(series[:20].std(ddof=0), rel=1e-15)
    np.testing.assert_allclose(np.concatenate([tr, va, te]), (series - mean) / std, rtol=1e-15)
    # changing the future does not change the scaler
    future_changed = series.copy()
    future_changed[20:] *= 10
    assert F.split_and_scale(future_changed, 6, 4)[3:] == (mean, std)


def test_standard_scaler_round_trip_and_shapes():
    scaler = F.StandardScaler().fit([1.0, 2.0, 3.0, 4.0])
    assert scaler.mean == 2.5 and scaler.std == pytest.approx(np.sqrt(1.25))
    z = scaler.transform(np.arange(6.0).reshape(2, 3, 1))
    assert z.shape == (2, 3, 1)
    np.testing.assert_allclose(scaler.inverse_transform(z), np.arange(6.0).reshape(2, 3, 1),
                               rtol=0, atol=1e-14)


# ------------------------------------------------------------------ baselines

def test_last_value_forecast_by_hand():
    X = np.array([[1.0, 2, 3], [4, 5, 6]])[:, :, None]
    np.testing.assert_array_equal(F.last_value_forecast(X), [[3], [6]])
    np.testing.assert_array_equal(F.last_value_forecast(X, 2), [[3, 3], [6, 6]])


def test_seasonal_naive_forecast_by_hand():
    X = np.stack([np.arange(24.0), 100 + np.arange(24.0)])[:, :, None]   # value = position
    np.testing.assert_array_equal(F.seasonal_naive_forecast(X), [[12], [112]])
    np.testing.assert_array_equal(F.seasonal_naive_forecast(X, 3), [[12, 13, 14], [112, 113, 114]])
    np.testing.assert_array_equal(F.seasonal_naive_forecast(X, 12)[0], np.arange(12, 24))
    # beyond one season the last observed season repeats
    np.testing.assert_array_equal(F.seasonal_naive_forecast(X, 14)[0, 12:], [12, 13])
    # another season length, and a window exactly one season long
    np.testing.assert_array_equal(F.seasonal_naive_forecast(X, 2, season=4)[0], [20, 21])
    np.testing.assert_array_equal(F.seasonal_naive_forecast(X[:, 12:], 1)[0], [12])


def test_baselines_agree_with_exercise_6s_definitions():
    rng = np.random.default_rng(1002)
    for N, L, h, season in [(5, 24, 1, 12), (4, 12, 3, 12), (3, 15, 12, 12), (4, 16, 3, 4)]:
        X = rng.standard_normal((N, L, 1))
        np.testing.assert_array_equal(F.last_value_forecast(X, h),
                                      np.repeat(X[:, -1, :], h, axis=1))
        np.testing.assert_array_equal(F.seasonal_naive_forecast(X, h, season),
                                      X[:, L - season:L - season + h, 0])


def _ar2_series(n):
    """s_t = 0.5 + 0.6 s_{t-1} - 0.3 s_{t-2}, no noise: an exact AR(2)."""
    s = np.empty(n)
    s[:2] = [4.0, -3.0]
    for t in range(2, n):
        s[t] = 0.5 + 0.6 * s[t - 1] - 0.3 * s[t - 2]
    return s


def test_linear_ar_recovers_an_exact_autoregression():
    X, y = windows(_ar2_series(40), 2, 1)
    model = F.LinearAR.fit(X, y)
    # oldest first: weights[0] multiplies s_{t-2}, weights[-1] the last value s_{t-1}
    np.testing.assert_allclose(model.weights[:, 0], [-0.3, 0.6], rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.bias, [0.5], rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.predict(X), y, rtol=0, atol=1e-10)


def test_linear_ar_direct_and_recursive_multi_step():
    s = _ar2_series(60)
    X, y = windows(s, 2, 5)
    direct = F.LinearAR.fit(X, y)                               # five regressions at once
    assert direct.weights.shape == (2, 5) and direct.bias.shape == (5,)
    np.testing.assert_allclose(direct.predict(X), y, rtol=0, atol=1e-9)
    one_step = F.LinearAR.fit(*windows(s, 2, 1))
    recursive = F.recursive_forecast(one_step.predict, X, 5)   # feeds its forecasts back
    np.testing.assert_allclose(recursive, y, rtol=0, atol=1e-9)


def test_linear_ar_on_a_straight_line_extrapolates():
    s = 1.0 + 2.0 * np.arange(20)             # collinear windows: the minimum-norm solution
    model = F.LinearAR.fit(*windows(s, 3, 1))
    future = (1.0 + 2.0 * np.arange(100, 103))[None, :, None]  # far outside the training range
    np.testing.assert_allclose(model.predict(future), [[1.0 + 2.0 * 103]], rtol=1e-9)


def test_recursive_forecast_of_the_last_value_is_the_last_value_forecast():
    X = np.random.default_rng(3).standard_normal((4, 6, 1))
    np.testing.assert_array_equal(F.recursive_forecast(lambda w: w[:, -1], X, 3),
                                  F.last_value_forecast(X, 3))


# ------------------------------------------------------------------ metrics

def test_metrics_by_hand():
    y_true, y_pred = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 5.0])
    assert F.mae(y_true, y_pred) == pytest.approx(1.0)                 # (1 + 0 + 2) / 3
    assert F.rmse(y_true, y_pred) == pytest.approx(np.sqrt(5 / 3))     # (1 + 0 + 4) / 3
    train = np.array([1.0, 2.0, 4.0, 7.0])                             # naive errors 1, 2, 3
    assert F.mase(y_true, y_pred, train) == pytest.approx(0.5)
    assert F.mase(y_true, y_pred, train, season=2) == pytest.approx(1 / 4)  # errors 3, 5
    assert isinstance(F.mae(y_true, y_pred), float)


def test_metrics_per_step_of_the_horizon():
    y_true = np.zeros((2, 3))
    y_pred = np.array([[1.0, -2, 3], [1, 2, -5]])
    np.testing.assert_allclose(F.mae(y_true, y_pred, axis=0), [1, 2, 4])
    np.testing.assert_allclose(F.rmse(y_true, y_pred, axis=0), [1, 2, np.sqrt(17)])
    np.testing.assert_allclose(F.mase(y_true, y_pred, [0.0, 2.0], axis=0), [0.5, 1, 2])


# ------------------------------------------------------------------ bad input

X_OK = np.zeros((3, 12, 1))


@pytest.mark.parametrize("call,error,message", [
    (lambda: F.last_value_forecast(np.zeros((3, 12))), ValueError,
     r"X must be windows of shape \(N, lookback, 1\).*\(3, 12\)"),
    (lambda: F.last_value_forecast(np.zeros((3, 12, 2))), ValueError,
     r"last_value_forecast: X .*\(3, 12, 2\)"),
    (lambda: F.last_value_forecast(X_OK, 0), ValueError, "horizon must be >= 1, got 0"),
    (lambda: F.last_value_forecast(X_OK, 2.0), TypeError,
     r"horizon must be an int, got 2.0 \(float\)"),
    (lambda: F.last_value_forecast(np.full((1, 3, 1), np.nan)), ValueError,
     "X has a NaN or inf at index"),
    (lambda: F.seasonal_naive_forecast(X_OK[:, :6]), ValueError,
     r"hold 6 steps.*one season \(12\)"),
    (lambda: F.seasonal_naive_forecast(X_OK, 1, 0), ValueError, "season must be >= 1"),
    (lambda: F.LinearAR.fit(X_OK, np.zeros((4, 1))), ValueError,
     "X has 3 windows but y has 4 rows"),
    (lambda: F.LinearAR.fit(X_OK, np.zeros(3)), ValueError,
     r"y must have 2 dimension\(s\), got shape \(3,\)"),
    (lambda: F.LinearAR.fit(X_OK, np.zeros((3, 1))), ValueError,
     r"3 windows cannot fit 12 weights.*13"),
    (lambda: F.LinearAR(np.zeros((12, 1)), np.zeros(2)), ValueError,
     r"bias must be \(horizon,\) = \(1,\)"),
    (lambda: F.LinearAR(np.zeros((4, 1)), np.zeros(1)).predict(X_OK), ValueError,
     "fitted on windows of 4 steps, X has 12"),
    (lambda: F.recursive_forecast(lambda w: w[:, -2:, 0], X_OK, 2), ValueError,
     r"one_step must return \(N, 1\) = \(3, 1\).*got shape \(3, 2\)"),
    (lambda: F.chronological_split(np.arange(10.0), 5, 5), ValueError,
     "training part would be empty"),
    (lambda: F.chronological_split(np.zeros((5, 2)), 1, 1), ValueError,
     r"series must have 1 dimension"),
    (lambda: F.chronological_split(np.arange(10.0), -1, 2), ValueError,
     "n_val must be >= 1, got -1"),
    (lambda: F.chronological_split(["a", "b", "c"], 1, 1), TypeError,
     "series must be an array of numbers"),
    (lambda: F.window_parts(30, 24, 12, 1, 1), ValueError,
     "no window of lookback 24 and horizon 12"),
    (lambda: F.window_parts(30, 3, True, 1, 1), TypeError, "horizon must be an int"),
    (lambda: F.StandardScaler().fit([2.0, 2.0, 2.0]), ValueError, "its std is 0"),
    (lambda: F.StandardScaler().fit([1.0]), ValueError, "at least 2 values"),
    (lambda: F.StandardScaler().transform([1.0]), ValueError, r"call fit\(train\) first"),
    (lambda: F.mae(np.zeros((5, 1)), np.zeros(5)), ValueError,
     r"same shape, got \(5, 1\) and \(5,\)"),
    (lambda: F.rmse([1.0, np.inf], [1.0, 2.0]), ValueError,
     r"rmse: y_true has a NaN or inf at index \(1,\)"),
    (lambda: F.mae([], []), ValueError, "empty"),
    (lambda: F.mase([1.0], [1.0], [1.0, 2.0], season=2), ValueError, "more than season = 2 values"),
    (lambda: F.mase([1.0], [1.0], [3.0, 3.0, 3.0]), ValueError, "naive in-sample MAE is 0"),
])
def test_bad_input_is_named_in_the_error(call, error, message):
    with pytest.raises(error, match=message):
        call()

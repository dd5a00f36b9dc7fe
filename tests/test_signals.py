"""lstm_ref.signals: the synthetic ECG, its labels and anomalies, the splits, the metrics."""
import numpy as np
import pytest

from lstm_ref import signals as S

FS = 100


@pytest.fixture(scope="module")
def pair():
    """The same 4-minute recording with and without anomalies (20 after the first minute)."""
    kwargs = dict(fs=FS, heart_rate=72.0, seed=7)
    with_anomalies = S.synthetic_ecg(240, n_anomalies=20, normal_until_s=60, **kwargs)
    normal = S.synthetic_ecg(240, **kwargs)
    return with_anomalies, normal


# ------------------------------------------------------------------ the generator

def test_imports_with_numpy_only(imported_after):
    heavy = ("torch", "tensorflow", "keras", "scipy", "pandas")
    assert imported_after("import lstm_ref.signals", heavy) == []


def test_shapes_and_dtypes(pair):
    ecg, _ = pair
    n = 240 * FS
    assert ecg.signal.shape == ecg.waves.shape == ecg.anomaly.shape == (n,)
    assert ecg.signal.dtype == np.float32 and ecg.waves.dtype == np.int8
    assert ecg.anomaly.dtype == bool and ecg.r_peaks.dtype == np.int64 and ecg.fs == FS
    assert set(np.unique(ecg.waves)) == {0, 1, 2, 3}
    assert all(isinstance(e, S.Event) for e in ecg.events)
    assert [e.start for e in ecg.events] == sorted(e.start for e in ecg.events)
    assert S.synthetic_ecg(10, seed=0, dtype=np.float64).signal.dtype == np.float64


def test_normal_beats_look_like_the_model(pair):
    _, ecg = pair
    # 72 beats per minute for 4 minutes, with a few per cent of heart-rate variability
    assert abs(len(ecg.r_peaks) - 72 * 4) <= 3
    rr = np.diff(ecg.r_peaks) / FS
    assert abs(rr.mean() - 60 / 72) < 0.01 and 0.01 < rr.std() < 0.06
    # every R peak is labelled QRS and stands about 1 mV high (R amplitude 1.0, +- jitter,
    # wander of 0.1 mV, noise of 0.02 mV)
    assert np.all(ecg.waves[ecg.r_peaks] == 2)
    assert 0.85 < np.median(ecg.signal[ecg.r_peaks]) < 1.15
    # one P, one QRS, one T label run per beat
    for label in (1, 2, 3):
        runs = S.mask_to_events(ecg.waves == label)
        assert abs(len(runs) - len(ecg.r_peaks)) <= 2, label
    # no anomalies unless asked for
    assert ecg.events == () and not ecg.anomaly.any()


def test_seeded_and_reproducible():
    a = S.synthetic_ecg(60, n_anomalies=8, normal_until_s=20, seed=3)
    b = S.synthetic_ecg(60, n_anomalies=8, normal_until_s=20, seed=3)
    c = S.synthetic_ecg(60, n_anomalies=8, normal_until_s=20, seed=4)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))
    assert a.events == b.events and a.events != c.events
    assert not np.array_equal(a.signal, c.signal)
    x1, y1 = S.wave_labelling_data(5, 150, seed=1)
    x2, y2 = S.wave_labelling_data(5, 150, seed=1)
    x3, _ = S.wave_labelling_data(5, 150, seed=2)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


def test_anomalies_are_where_the_labels_say(pair):
    ecg, normal = pair
    np.testing.assert_array_equal(ecg.anomaly, S.events_to_mask(ecg.events, len(ecg.signal)))
    kinds = [e.kind for e in ecg.events]
    assert sorted(kinds) == sorted(S.ANOMALY_KINDS * 5)           # 20 events, 5 of each kind
    # all after normal_until_s, none overlapping, each inside its own 9-s slot
    slots = np.linspace(60 * FS, 240 * FS, 21)
    for e in ecg.events:
        k = np.searchsorted(slots, e.start, side="right") - 1
        assert slots[k] <= e.start < e.stop <= slots[k + 1], e
    diff = np.abs(ecg.signal.astype(float) - normal.signal)
    # Outside the events the recording is the normal one, up to the tails of the removed
    # or widened Gaussian waves beyond the two standard deviations that a label covers.
    assert diff[~ecg.anomaly].max() < 0.05
    for e in ecg.events:
        inside = slice(e.start, e.stop)
        assert diff[inside].max() > 0.1, e
        if e.kind == "dropped_beat":
            # no QRS or T inside, no R peak, and the P wave came just before
            assert not np.isin(ecg.waves[inside], (2, 3)).any()
            assert not np.any((ecg.r_peaks >= e.start) & (ecg.r_peaks < e.stop))
            assert (ecg.waves[e.start - 30:e.start] == 1).any()
            assert np.isin(normal.waves[inside], (2, 3)).mean() > 0.5
        elif e.kind == "wide_qrs":
            assert np.all(ecg.waves[inside] == 2)
            # the label reaches LABEL_SIGMAS widened standard deviations of Q and S further
            runs = [r for r in S.mask_to_events(normal.waves == 2)
                    if r[0] < e.stop and r[1] > e.start]
            assert len(runs) == 1
            rr = np.median(np.diff(normal.r_peaks))
            extra = (2 * S.LABEL_SIGMAS * (S.WIDE_QRS_FACTOR - 1) * S.WAVE_WIDTHS["Q"]
                     / (2 * np.pi) * rr)
            assert abs((e.stop - e.start) - (runs[0][1] - runs[0][0]) - extra) <= 2
        elif e.kind == "baseline_jump":
            step = ecg.signal[inside].astype(float) - normal.signal[inside]
            assert np.ptp(step) < 1e-5 and 0.3 <= abs(step[0]) <= 0.6
            assert 0.6 * FS - 1 <= e.stop - e.start <= 1.2 * FS
        else:
            extra = ecg.signal[inside].astype(float) - normal.signal[inside]
            # sd 0.08 to 0.15 mV, estimated from 50 to 100 samples
            assert 0.05 < extra.std() < 0.22 and 0.5 * FS - 1 <= e.stop - e.start <= FS


def test_time_splits_are_disjoint_in_time(pair):
    ecg, _ = pair
    n = len(ecg.signal)
    splits = S.time_splits(n, (0.25, 0.25, 0.5))
    assert [(s.start, s.stop) for s in splits] == [(0, n // 4), (n // 4, n // 2), (n // 2, n)]
    covered = np.concatenate([np.arange(n)[s] for s in splits])
    np.testing.assert_array_equal(covered, np.arange(n))           # contiguous, no overlap
    assert not ecg.anomaly[splits[0]].any()                         # training part normal
    assert ecg.anomaly[splits[1]].any() and ecg.anomaly[splits[2]].any()
    assert S.time_splits(10, (0.5, 0.5)) == (slice(0, 5), slice(5, 10))


def test_wave_labelling_data():
    x, y = S.wave_labelling_data(40, 300, seed=0)
    assert x.shape == (40, 300, 1) and x.dtype == np.float32
    assert y.shape == (40, 300) and y.dtype == np.int64
    share = np.bincount(y.ravel(), minlength=4) / y.size
    assert np.all(share > 0.08) and 0.3 < share[0] < 0.6, share
    # the tallest sample of each excerpt is an R peak, labelled QRS
    assert np.mean(y[np.arange(40), np.abs(x[..., 0]).argmax(axis=1)] == 2) > 0.9
    assert S.wave_labelling_data(2, 50, seed=0, dtype=np.float64)[0].dtype == np.float64


# ------------------------------------------------------------------ helpers and metrics

def test_event_helpers_on_hand_made_cases():
    assert S.mask_to_events([0, 1, 1, 0, 1]) == [(1, 3), (4, 5)]
    assert S.mask_to_events(np.zeros(3, bool)) == []
    np.testing.assert_array_equal(S.events_to_mask([(1, 3), S.Event("x", 4, 5)], 6),
                                  [0, 1, 1, 0, 1, 0])
    detected = np.zeros(12, bool)
    detected[5] = True
    events = [(2, 4), (7, 9)]
    np.testing.assert_array_equal(S.events_detected(events, detected), [False, False])
    np.testing.assert_array_equal(S.events_detected(events, detected, tolerance=1), [False, False])
    np.testing.assert_array_equal(S.events_detected(events, detected, tolerance=2), [True, True])
    np.testing.assert_array_equal(S.window_max([0, 1, 0, 0, 0, 1, 1], 3), [1, 1])
    np.testing.assert_array_equal(S.window_max([3.0, 1.0, 2.0, 5.0], 2), [3.0, 5.0])
    np.testing.assert_allclose(S.moving_average([1, 2, 3, 4, 5], 3), [4 / 3, 2, 3, 4, 14 / 3])
    np.testing.assert_allclose(S.moving_average([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])


def test_precision_recall_f1_exact():
    # TP = 2 (positions 0 and 4), FP = 1 (position 2), FN = 1 (position 1)
    assert S.precision_recall_f1([1, 1, 0, 0, 1], [1, 0, 1, 0, 1]) == pytest.approx(
        (2 / 3, 2 / 3, 2 / 3))
    # TP = 1, FP = 3, FN = 0: precision 1/4, recall 1, F1 = 2 / (2 + 3) = 0.4
    assert S.precision_recall_f1([0, 1, 0, 0], [1, 1, 1, 1]) == pytest.approx((0.25, 1.0, 0.4))
    assert S.precision_recall_f1([1, 0], [0, 0]) == (0.0, 0.0, 0.0)      # nothing predicted
    assert S.precision_recall_f1(np.array([True]), np.array([True])) == (1.0, 1.0, 1.0)
    # three classes: class 0 TP 1, FP 0, FN 1 -> 2/3; class 1 TP 1, FP 1, FN 0 -> 2/3;
    # class 2 absent from both -> 0
    np.testing.assert_allclose(S.per_class_f1(np.array([0, 0, 1]), np.array([0, 1, 1]), 3),
                               [2 / 3, 2 / 3, 0.0])


def test_precision_recall_curve_exact():
    y = np.array([1, 0, 1, 0], bool)
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    precision, recall, thresholds = S.precision_recall_curve(y, scores)
    np.testing.assert_allclose(thresholds, [0.9, 0.8, 0.7, 0.1])
    np.testing.assert_allclose(precision, [1, 1 / 2, 2 / 3, 1 / 2])
    np.testing.assert_allclose(recall, [0.5, 0.5, 1, 1])
    # AP = 0.5 * 1 + 0 * 1/2 + 0.5 * 2/3 + 0 * 1/2
    assert S.average_precision(y, scores) == pytest.approx(0.5 + 1 / 3)
    # F1 at the four thresholds: 2/3, 1/2, 4/5, 2/3; the best, 0.7, moves halfway to 0.1
    assert S.best_f1_threshold(y, scores) == pytest.approx((0.4, 0.8))
    # tied scores form one threshold
    precision, recall, thresholds = S.precision_recall_curve([1, 0, 1], [0.5, 0.5, 0.2])
    np.testing.assert_allclose(thresholds, [0.5, 0.2])
    np.testing.assert_allclose(precision, [1 / 2, 2 / 3])
    np.testing.assert_allclose(recall, [1 / 2, 1])
    assert S.average_precision([1, 1, 0, 0], [4, 3, 2, 1]) == 1.0
    assert S.best_f1_threshold([0, 0, 1], [3, 2, 1]) == pytest.approx((1.0, 0.5))


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("kwargs, error, words", [
    (dict(duration_s=-1), ValueError, "duration_s must be > 0"),
    (dict(fs=100.0), TypeError, "fs must be an integer"),
    (dict(heart_rate=300), ValueError, "heart_rate must be in [40, 180]"),
    (dict(noise_mv=-0.1), ValueError, "noise_mv must be >= 0"),
    (dict(n_anomalies=2.5), TypeError, "n_anomalies must be an integer"),
    (dict(n_anomalies=20), ValueError, "20 anomalies need 4 s each"),
    (dict(anomaly_kinds=("spike",), n_anomalies=1), ValueError, "anomaly_kinds must be"),
    (dict(amplitudes={"U": 1.0}), ValueError, "amplitudes may only name"),
    (dict(dtype=np.int32), TypeError, "dtype must be a floating-point type, got int32"),
])
def test_synthetic_ecg_rejects_bad_input(kwargs, error, words):
    args = dict(duration_s=30, seed=0)
    args.update(kwargs)
    with pytest.raises(error, match="synthetic_ecg") as info:
        S.synthetic_ecg(args.pop("duration_s"), **args)
    assert words in str(info.value)


@pytest.mark.parametrize("call, error, words", [
    (lambda: S.precision_recall_f1([1, 0], [1, 0, 1]), ValueError, "same shape, got (2,) and (3,)"),
    (lambda: S.precision_recall_f1([1, 0], [0.5, 0.2]), TypeError, "y_pred must be bool"),
    (lambda: S.precision_recall_f1(np.ones((2, 2), bool), np.ones((2, 2), bool)), ValueError,
     "y_true must be 1-D (N,), got shape (2, 2)"),
    (lambda: S.precision_recall_curve([0, 0], [0.1, 0.2]), ValueError, "no positives"),
    (lambda: S.precision_recall_curve([1, 0], [np.nan, 0.2]), ValueError, "scores must be finite"),
    (lambda: S.per_class_f1(np.array([0, 4]), np.array([0, 1]), 4), ValueError,
     "y_true must lie in [0, 4), got values from 0 to 4"),
    (lambda: S.per_class_f1(np.array([0.0]), np.array([0]), 2), TypeError, "integer labels"),
    (lambda: S.time_splits(100, (0.5, 0.6)), ValueError, "summing to 1"),
    (lambda: S.time_splits(2, (0.1, 0.9)), ValueError, "a split would be empty"),
    (lambda: S.window_max([1, 2], 3), ValueError, "len(values) >= width, got 2 < 3"),
    (lambda: S.window_max([1, 2], 0), ValueError, "width must be > 0"),
    (lambda: S.events_to_mask([(3, 2)], 5), ValueError, "0 <= start < stop <= n=5"),
    (lambda: S.events_detected([(0, 1)], [True], tolerance=-1), ValueError,
     "tolerance must be >= 0"),
    (lambda: S.wave_labelling_data(0, 10), ValueError, "n must be > 0"),
    (lambda: S.moving_average(np.ones((2, 2)), 2), ValueError, "values must be 1-D"),
])
def test_helpers_reject_bad_input(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)

"""Synthetic ECG-like signals with per-sample labels and injected anomalies, and the
metrics that score a labeller or a detector. Seeded and reproducible; NumPy only.

The signal model. Each heartbeat is a sum of five Gaussian waves, P, Q, R, S and T, placed
and sized in the *phase* of the beat, as in the dynamical ECG model of McSharry et al.
(2003): with the R peak of beat k at time r_k and the beat's cycle length RR_k (the interval
to the next R peak), wave w is centred at r_k + RR_k * theta_w / (2 pi) and has the
standard deviation RR_k * b_w / (2 pi). The angles theta_w and widths b_w are the paper's
Table 1 (the defaults of its ECGSYN program differ slightly: -70, -15, 0, 15 and 100
degrees); the amplitudes (in mV, typical of lead II) are ours, because the paper's a_w
drive a differential equation rather than scale a Gaussian. Waves therefore stretch with
the cycle length (real QRS complexes stretch less; it does not matter here). On top:

- heart-rate variability: RR_k = RR * (1 + 0.03 sin(2 pi 0.1 t_k + phi_1)
  + 0.04 sin(2 pi 0.25 t_k + phi_2) + 0.01 e_k), e_k ~ N(0, 1), the two spectral peaks
  of McSharry et al.'s RR model (Mayer waves near 0.1 Hz, respiratory sinus arrhythmia near
  0.25 Hz) as two sinusoids with random phases;
- every wave's amplitude multiplied by (1 + 0.05 e) per beat;
- baseline wander, wander_mv * sin(2 pi 0.25 t + phi) (breathing), and white Gaussian noise
  of standard deviation noise_mv.

Per-sample wave labels (WAVES): a sample is P or T when it lies within two standard
deviations of that wave's centre, QRS from two standard deviations before the Q centre to
two after the S centre, baseline otherwise (the three never overlap with these angles).

Injected anomalies (ANOMALY_KINDS), each an Event(kind, start, stop) over samples
[start, stop):

- "dropped_beat": the P wave comes, the QRS and T do not (as in second-degree AV block);
  the event spans where the QRS and T would have been;
- "wide_qrs": the Q, R and S waves of one beat twice as wide (as in a bundle-branch block
  or a ventricular ectopic beat); the event spans the widened QRS;
- "baseline_jump": the baseline steps by 0.3 to 0.6 mV (either sign) for 0.6 to 1.2 s, as
  when an electrode briefly loses contact;
- "noise_burst": extra white noise of standard deviation 0.08 to 0.15 mV for 0.5 to 1.0 s,
  as from a muscle contraction.

Signals are float32 by default (the dtype argument says otherwise); times are in seconds,
amplitudes in mV, positions in samples.
"""
from collections import namedtuple

import numpy as np

# McSharry et al. (2003), Table 1: angle of each wave relative to the R peak, and width (rad).
WAVE_ANGLES = {"P": -np.pi / 3, "Q": -np.pi / 12, "R": 0.0, "S": np.pi / 12, "T": np.pi / 2}
WAVE_WIDTHS = {"P": 0.25, "Q": 0.1, "R": 0.1, "S": 0.1, "T": 0.4}
# Amplitudes in mV (ours, typical of lead II; see the module docstring).
WAVE_AMPLITUDES = {"P": 0.15, "Q": -0.15, "R": 1.0, "S": -0.3, "T": 0.3}
WAVES = ("baseline", "P", "QRS", "T")          # per-sample labels 0, 1, 2, 3
_P, _QRS, _T = (WAVES.index(w) for w in ("P", "QRS", "T"))
ANOMALY_KINDS = ("dropped_beat", "wide_qrs", "baseline_jump", "noise_burst")
LABEL_SIGMAS = 2.0                             # a wave's label covers centre +- 2 sd
WIDE_QRS_FACTOR = 2.0                          # how much wider a "wide_qrs" beat is

Event = namedtuple("Event", "kind start stop")
Event.__doc__ = "An injected anomaly: its kind and the samples [start, stop) it spans."

ECG = namedtuple("ECG", "signal waves anomaly events r_peaks fs")
ECG.__doc__ = """A synthetic recording.

signal (N,) float32 (or the dtype asked for), in mV; waves (N,) int8, indices into WAVES;
anomaly (N,) bool, True inside an injected anomaly; events, a tuple of Event in time order;
r_peaks (n_beats,) int64, the samples of the R peaks that happened (dropped beats have
none); fs, the sampling rate in Hz."""


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_number(where, name, value, integer=False, minimum=0, strict=True):
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise TypeError(f"{where}: {name} must be {'an integer' if integer else 'a number'}, "
                        f"got {type(value).__name__} {value!r}")
    if not (value > minimum if strict else value >= minimum):
        raise ValueError(f"{where}: {name} must be {'>' if strict else '>='} {minimum}, "
                         f"got {value!r}")


# ------------------------------------------------------------------ the signal model

def _beat_times(duration_s, heart_rate, rng):
    """R-peak times (s) of every beat that touches [0, duration_s], and each beat's cycle
    length RR_k (s), from its R peak to the next: two (n_beats,) float64 arrays."""
    rr_mean = 60.0 / heart_rate
    phase_lf, phase_hf = rng.uniform(0, 2 * np.pi, size=2)
    t = rng.uniform(0.2, 0.2 + rr_mean)              # first R peak: a random place in a beat
    times, cycles = [], []
    while t < duration_s + rr_mean:
        rr = rr_mean * (1 + 0.03 * np.sin(2 * np.pi * 0.1 * t + phase_lf)     # Mayer waves
                        + 0.04 * np.sin(2 * np.pi * 0.25 * t + phase_hf)      # breathing
                        + 0.01 * rng.standard_normal())
        times.append(t)
        cycles.append(rr)
        t += rr
    return np.array(times), np.array(cycles)


def _waves_of_beats(times, cycles, amplitudes, rng):
    """Centre (s), standard deviation (s) and amplitude (mV) of each wave of each beat:
    three dicts of (n_beats,) arrays keyed by wave name, P, Q, R, S, T."""
    centre, sd, amp = {}, {}, {}
    for w in WAVE_ANGLES:
        centre[w] = times + cycles * WAVE_ANGLES[w] / (2 * np.pi)
        sd[w] = cycles * WAVE_WIDTHS[w] / (2 * np.pi)
        amp[w] = amplitudes[w] * (1 + 0.05 * rng.standard_normal(len(times)))
    return centre, sd, amp


def _label_spans(centre, sd):
    """{label: (start, end)} in seconds, each a (n_beats,) array, label an index into
    WAVES: the P, QRS and T of every beat, each wave's centre +- LABEL_SIGMAS standard
    deviations."""
    k = LABEL_SIGMAS
    return {_P: (centre["P"] - k * sd["P"], centre["P"] + k * sd["P"]),
            _QRS: (centre["Q"] - k * sd["Q"], centre["S"] + k * sd["S"]),
            _T: (centre["T"] - k * sd["T"], centre["T"] + k * sd["T"])}


def _samples(start_s, end_s, fs):
    """The samples [start, stop) whose times n / fs lie in [start_s, end_s]."""
    return int(np.ceil(start_s * fs)), int(np.floor(end_s * fs)) + 1


def _render(n, fs, centre, sd, amp, spans):
    """The sum of every beat's Gaussian waves at the n sample times, (n,) float64, and the
    wave label of every sample, (n,) int8 (a beat with zero R amplitude has no QRS or T)."""
    t = np.arange(n) / fs
    signal = np.zeros(n)
    waves = np.zeros(n, np.int8)
    for k in range(len(centre["R"])):
        # each beat touches only the samples near it: 5 sd either side of its P and T
        lo = max(0, int((centre["P"][k] - 5 * sd["P"][k]) * fs))
        hi = min(n, int((centre["T"][k] + 5 * sd["T"][k]) * fs) + 2)
        if lo >= hi:
            continue
        tk = t[lo:hi]
        for w in WAVE_ANGLES:
            signal[lo:hi] += amp[w][k] * np.exp(-0.5 * ((tk - centre[w][k]) / sd[w][k]) ** 2)
        for label, (a, b) in spans.items():
            if label != _P and amp["R"][k] == 0.0:      # a dropped beat: only its P wave
                continue
            waves[lo:hi][(tk >= a[k]) & (tk <= b[k])] = label
    return signal, waves


def _place_events(n_events, kinds, first_s, duration_s, rng):
    """n_events (kind, time) pairs: kinds in equal numbers in a random order, one event per
    slot, the slots n_events equal parts of [first_s, duration_s].

    An event is placed at a time in [slot start + 1 s, slot end - 2 s]. At 40 beats per
    minute or more, a beat-level event then spans at most about 0.95 s before and 1.45 s
    after that time (the nearest R peak is within half a cycle, 0.81 s, the QRS starts 0.074
    cycles before it and the T ends 0.38 cycles after it); other events last at most 1.2 s.
    So every event stays inside its own slot.
    """
    order = rng.permutation(np.resize(np.arange(len(kinds)), n_events))
    edges = np.linspace(first_s, duration_s, n_events + 1)
    at = rng.uniform(edges[:-1] + 1.0, edges[1:] - 2.0)
    return [(kinds[k], t) for k, t in zip(order, at)]


def _alter_beats(placed, times, sd, amp):
    """Apply the beat-level anomalies in place: a dropped beat loses its Q, R, S and T
    (amplitude 0), a wide QRS has Q, R and S WIDE_QRS_FACTOR times wider. Returns the
    (kind, beat index) pairs."""
    altered = []
    for kind, at in placed:
        if kind not in ("dropped_beat", "wide_qrs"):
            continue
        k = int(np.argmin(np.abs(times - at)))          # the beat nearest the event time
        if kind == "dropped_beat":
            for w in ("Q", "R", "S", "T"):
                amp[w][k] = 0.0
        else:
            for w in ("Q", "R", "S"):
                sd[w][k] *= WIDE_QRS_FACTOR
        altered.append((kind, k))
    return altered


def _add_signal_anomalies(placed, signal, fs, rng):
    """Add the baseline jumps and noise bursts to signal in place; returns their Events."""
    events = []
    for kind, at in placed:
        if kind == "baseline_jump":
            start, stop = int(at * fs), int((at + rng.uniform(0.6, 1.2)) * fs)
            signal[start:stop] += rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.6)
        elif kind == "noise_burst":
            start, stop = int(at * fs), int((at + rng.uniform(0.5, 1.0)) * fs)
            signal[start:stop] += rng.uniform(0.08, 0.15) * rng.standard_normal(stop - start)
        else:
            continue
        events.append(Event(kind, start, stop))
    return events


def _check_ecg_arguments(duration_s, fs, heart_rate, amplitudes, noise_mv, wander_mv,
                         n_anomalies, anomaly_kinds, normal_until_s, dtype):
    where = "synthetic_ecg"
    _check_number(where, "duration_s", duration_s)
    _check_number(where, "fs", fs, integer=True)
    _check_number(where, "heart_rate", heart_rate)
    if not 40 <= heart_rate <= 180:
        raise ValueError(f"{where}: heart_rate must be in [40, 180] beats per minute, "
                         f"got {heart_rate!r}")
    for name, value in (("noise_mv", noise_mv), ("wander_mv", wander_mv),
                        ("normal_until_s", normal_until_s)):
        _check_number(where, name, value, strict=False)
    _check_number(where, "n_anomalies", n_anomalies, integer=True, strict=False)
    unknown = [k for k in anomaly_kinds if k not in ANOMALY_KINDS]
    if unknown or not len(anomaly_kinds):
        raise ValueError(f"{where}: anomaly_kinds must be a non-empty selection of "
                         f"{ANOMALY_KINDS}, got {tuple(anomaly_kinds)!r}")
    bad = sorted(set(amplitudes or {}) - set(WAVE_AMPLITUDES))
    if bad:
        raise ValueError(f"{where}: amplitudes may only name the waves "
                         f"{tuple(WAVE_AMPLITUDES)}, got {bad}")
    if n_anomalies and (duration_s - normal_until_s) / n_anomalies < 4.0:
        raise ValueError(f"{where}: {n_anomalies} anomalies need 4 s each after "
                         f"normal_until_s={normal_until_s}; duration_s={duration_s} leaves "
                         f"{duration_s - normal_until_s:.1f} s")
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"{where}: dtype must be a floating-point type, got {np.dtype(dtype)}")


def synthetic_ecg(duration_s, *, fs=100, heart_rate=70.0, amplitudes=None, noise_mv=0.02,
                  wander_mv=0.1, n_anomalies=0, anomaly_kinds=ANOMALY_KINDS,
                  normal_until_s=0.0, seed=None, dtype=np.float32):
    """A synthetic ECG of duration_s seconds sampled at fs Hz (see the module docstring).

    heart_rate: mean rate in beats per minute, in [40, 180]. amplitudes: a dict overriding
    some of WAVE_AMPLITUDES (mV). noise_mv, wander_mv: white-noise sd and baseline-wander
    amplitude (mV). n_anomalies: how many anomalies to inject, the kinds of anomaly_kinds in
    equal numbers (as near as n_anomalies allows), all after normal_until_s, so that
    [0, normal_until_s) is normal (to train a detector on normal data only); each needs 4 s.
    seed: an int or a np.random.Generator. The normal signal and the anomalies draw from
    separate streams, so the same seed with and without anomalies gives the same recording
    outside the anomalies.
    Returns an ECG: signal (N,) of the given dtype (mV), waves (N,) int8, anomaly (N,) bool,
    events, r_peaks (int64), fs; N = round(duration_s * fs).
    """
    _check_ecg_arguments(duration_s, fs, heart_rate, amplitudes, noise_mv, wander_mv,
                         n_anomalies, anomaly_kinds, normal_until_s, dtype)
    normal_rng, anomaly_rng = _rng(seed).spawn(2)
    n = int(round(duration_s * fs))
    times, cycles = _beat_times(duration_s, heart_rate, normal_rng)
    centre, sd, amp = _waves_of_beats(times, cycles, {**WAVE_AMPLITUDES, **(amplitudes or {})},
                                      normal_rng)
    placed = _place_events(n_anomalies, tuple(anomaly_kinds), normal_until_s, duration_s,
                           anomaly_rng)
    altered = _alter_beats(placed, times, sd, amp)
    spans = _label_spans(centre, sd)
    signal, waves = _render(n, fs, centre, sd, amp, spans)
    t = np.arange(n) / fs
    signal += wander_mv * np.sin(2 * np.pi * 0.25 * t + normal_rng.uniform(0, 2 * np.pi))
    signal += noise_mv * normal_rng.standard_normal(n)

    # a dropped beat's event spans its missing QRS and T; a wide beat's, its QRS
    events = [Event(kind, *_samples(spans[_QRS][0][k],
                                    spans[_T if kind == "dropped_beat" else _QRS][1][k], fs))
              for kind, k in altered]
    events += _add_signal_anomalies(placed, signal, fs, anomaly_rng)
    events.sort(key=lambda e: e.start)
    beats = np.flatnonzero(amp["R"] != 0.0)
    r_peaks = np.round(times[beats] * fs).astype(np.int64)
    r_peaks = r_peaks[(r_peaks >= 0) & (r_peaks < n)]
    return ECG(signal.astype(dtype), waves, events_to_mask(events, n), tuple(events), r_peaks, fs)


def wave_labelling_data(n, T, *, fs=100, seed=None, dtype=np.float32):
    """n excerpts of T samples, each from a different synthetic patient, with a wave label
    per sample: the many-to-many task of labelling P, QRS, T and baseline.

    Each patient has its own heart rate, U(50, 100) beats per minute, and R, P and T
    amplitudes U(0.7, 1.5), U(0.08, 0.25) and U(0.15, 0.45) mV, noise sd U(0.01, 0.04) mV
    and baseline wander U(0, 0.15) mV; the excerpt starts at a random time of a 2 T-sample
    record, so that it may begin in the middle of a beat.
    Returns x (n, T, 1) of the given dtype (mV) and y (n, T) int64 indices into WAVES.
    """
    where = "wave_labelling_data"
    _check_number(where, "n", n, integer=True)
    _check_number(where, "T", T, integer=True)
    rng = _rng(seed)
    x = np.zeros((n, T, 1), dtype)
    y = np.zeros((n, T), np.int64)
    for i in range(n):
        amps = {"R": rng.uniform(0.7, 1.5), "P": rng.uniform(0.08, 0.25),
                "T": rng.uniform(0.15, 0.45)}
        ecg = synthetic_ecg(2 * T / fs, fs=fs, heart_rate=rng.uniform(50, 100),
                            amplitudes=amps, noise_mv=rng.uniform(0.01, 0.04),
                            wander_mv=rng.uniform(0, 0.15), seed=rng, dtype=dtype)
        start = rng.integers(0, T + 1)
        x[i, :, 0] = ecg.signal[start:start + T]
        y[i] = ecg.waves[start:start + T]
    return x, y


# ------------------------------------------------------------------ splits and events

def time_splits(n_samples, fractions=(0.6, 0.2, 0.2)):
    """Contiguous, disjoint, time-ordered slices of range(n_samples), one per fraction:
    train on the past, choose on the next stretch, test on the future.

    fractions: positive numbers summing to 1. The last slice ends at n_samples.
    """
    _check_number("time_splits", "n_samples", n_samples, integer=True)
    fractions = np.asarray(fractions, dtype=float)
    if (fractions.ndim != 1 or len(fractions) < 1 or np.any(fractions <= 0)
            or abs(fractions.sum() - 1) > 1e-9):
        raise ValueError(f"time_splits: fractions must be positive numbers summing to 1, "
                         f"got {fractions.tolist()}")
    edges = np.round(np.concatenate([[0], np.cumsum(fractions)]) * n_samples).astype(int)
    edges[-1] = n_samples
    if np.any(np.diff(edges) < 1):
        raise ValueError(f"time_splits: n_samples={n_samples} is too short for fractions "
                         f"{fractions.tolist()}: a split would be empty")
    return tuple(slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]))


def events_to_mask(events, n):
    """(n,) bool, True on the samples [start, stop) of every event (an Event or a
    (start, stop) pair)."""
    _check_number("events_to_mask", "n", n, integer=True)
    mask = np.zeros(n, bool)
    for e in events:
        start, stop = (e.start, e.stop) if isinstance(e, Event) else e
        if not 0 <= start < stop <= n:
            raise ValueError(f"events_to_mask: an event must satisfy 0 <= start < stop <= "
                             f"n={n}, got {e!r}")
        mask[start:stop] = True
    return mask


def mask_to_events(mask):
    """The runs of True in a 1-D bool mask, as a list of (start, stop) sample pairs."""
    mask = _bool_1d("mask_to_events", "mask", mask)
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def events_detected(events, detected, tolerance=0):
    """Which events a detector caught: (len(events),) bool, True where at least one detected
    sample falls in [start - tolerance, stop + tolerance) of the event.

    events: Events or (start, stop) pairs; detected: (N,) bool, one entry per sample.
    """
    detected = _bool_1d("events_detected", "detected", detected)
    _check_number("events_detected", "tolerance", tolerance, integer=True, strict=False)
    hit = []
    for e in events:
        start, stop = (e.start, e.stop) if isinstance(e, Event) else e
        hit.append(bool(detected[max(0, start - tolerance):stop + tolerance].any()))
    return np.array(hit, bool)


def window_max(values, width):
    """Maximum of values over consecutive, non-overlapping windows of `width` samples:
    (N,) -> (N // width,), a tail shorter than width dropped. On a bool mask it says which
    windows contain any True; on anomaly scores, the window's highest score."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"window_max: values must be 1-D (N,), got shape {values.shape}")
    _check_number("window_max", "width", width, integer=True)
    if len(values) < width:
        raise ValueError(f"window_max: need len(values) >= width, got {len(values)} < {width}")
    m = len(values) // width
    return values[:m * width].reshape(m, width).max(axis=1)


def moving_average(values, width):
    """Centred moving average, (N,) -> (N,) float64: entry t is the mean of the `width`
    values from t - width // 2 on. The ends repeat the first and last value, so that the
    average does not sag towards zero there."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"moving_average: values must be 1-D (N,), got shape {values.shape}")
    _check_number("moving_average", "width", width, integer=True)
    padded = np.pad(values, (width // 2, width - 1 - width // 2), mode="edge")
    c = np.concatenate([[0.0], np.cumsum(padded)])
    return (c[width:] - c[:-width]) / width


# ------------------------------------------------------------------ metrics

def _bool_1d(where, name, a):
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{where}: {name} must be 1-D (N,), got shape {a.shape}")
    if a.dtype != bool and not (a.dtype.kind in "iu" and np.isin(a, (0, 1)).all()):
        raise TypeError(f"{where}: {name} must be bool (or 0/1 integers), got dtype {a.dtype}")
    return a.astype(bool)


def _same_length(where, a, b, names):
    if a.shape != b.shape:
        raise ValueError(f"{where}: {names[0]} and {names[1]} must have the same shape, got "
                         f"{a.shape} and {b.shape}")


def precision_recall_f1(y_true, y_pred):
    """Precision, recall and F1 of binary predictions, as three floats.

    y_true, y_pred: (N,) bool (or 0/1). precision = TP / (TP + FP), recall = TP / (TP + FN),
    F1 their harmonic mean 2 TP / (2 TP + FP + FN). A ratio with a zero denominator (no
    positive predictions, or no positives at all) counts as 0.0.
    """
    y_true = _bool_1d("precision_recall_f1", "y_true", y_true)
    y_pred = _bool_1d("precision_recall_f1", "y_pred", y_pred)
    _same_length("precision_recall_f1", y_true, y_pred, ("y_true", "y_pred"))
    tp = int(np.sum(y_true & y_pred))
    fp = int(np.sum(~y_true & y_pred))
    fn = int(np.sum(y_true & ~y_pred))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return precision, recall, f1


def per_class_f1(y_true, y_pred, n_classes):
    """(n_classes,) float64: the F1 of each class, one against the rest, for integer labels
    of any (matching) shape; a class absent from both counts as 0.0."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _same_length("per_class_f1", y_true, y_pred, ("y_true", "y_pred"))
    for name, a in (("y_true", y_true), ("y_pred", y_pred)):
        if a.dtype.kind not in "iu":
            raise TypeError(f"per_class_f1: {name} must hold integer labels, got dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= n_classes):
            raise ValueError(f"per_class_f1: {name} must lie in [0, {n_classes}), got values from "
                             f"{a.min()} to {a.max()}")
    return np.array([precision_recall_f1((y_true == c).ravel(), (y_pred == c).ravel())[2]
                     for c in range(n_classes)])


def precision_recall_curve(y_true, scores):
    """Precision and recall of `scores >= threshold` at every distinct threshold.

    y_true: (N,) bool; scores: (N,) real, higher meaning more anomalous.
    Returns precision, recall and thresholds, each (K,) float64 for the K distinct scores in
    decreasing order (so recall rises along the arrays).
    """
    y_true = _bool_1d("precision_recall_curve", "y_true", y_true)
    scores = np.asarray(scores, dtype=float)
    _same_length("precision_recall_curve", y_true, scores, ("y_true", "scores"))
    if not np.all(np.isfinite(scores)):
        raise ValueError("precision_recall_curve: scores must be finite")
    if not y_true.any():
        raise ValueError("precision_recall_curve: y_true has no positives; recall is undefined")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], y_true[order]
    last = np.flatnonzero(np.diff(s, append=-np.inf))     # last index of each distinct score
    tp = np.cumsum(y)[last]
    predicted = last + 1
    return tp / predicted, tp / y_true.sum(), s[last]


def average_precision(y_true, scores):
    """Area under the precision-recall step curve: the sum over thresholds of
    (recall_k - recall_{k-1}) * precision_k, with recall_0 = 0. A threshold-free summary:
    1.0 for scores that rank every positive first; random scores get about the fraction of
    positives."""
    precision, recall, _ = precision_recall_curve(y_true, scores)
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def best_f1_threshold(y_true, scores):
    """A threshold for `scores >= threshold` with the highest F1 on (y_true, scores), and
    that F1. Choose it on validation data, then apply it unchanged to the test data.

    Every threshold between the best distinct score and the next lower one makes the same
    predictions here; the one returned lies halfway, the widest margin on either side (the
    best score itself when it is the lowest).
    """
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(both), where=both > 0)
    k = int(np.argmax(f1))
    last = k + 1 == len(thresholds)
    threshold = thresholds[k] if last else (thresholds[k] + thresholds[k + 1]) / 2
    return float(threshold), float(f1[k])

"""Checks for the autograded exercises. One place for every tolerance, every input the
autograder feeds a student's function, and every message a student reads.

A test cell in an exercise notebook is one short call, e.g.

    from lstm_ref import grading
    grading.check_lstm_step_forward(lstm_step_forward)

Each check runs the student's function on a small hand-made case and on seeded random
ones (B = 1, T = 1, H != D among them), compares every output with `lstm_ref` at the
tolerances of `lstm_ref.tolerances` (the ones the package's own tests use), and raises
`GradingError` with a message that says what is wrong: which output, its shape, which
gate, the worst entry with its index, the error and the tolerance, NaNs, or a known
mistake recognised from its result. A function that calls `lstm_ref` to do the work it
was asked to do earns no points, and is told why.
"""
import itertools
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import cells, sequence
from .gates import LSTM_GATES, gate_slices
from .tolerances import elementwise

PACKAGE_DIR = Path(__file__).resolve().parent


class GradingError(AssertionError):
    """A check failed. The message says what is wrong and how it was measured."""


# ------------------------------------------------------------------ comparing arrays

def check_array(what, got, expected):
    """Compare one output with the reference: type, shape, finiteness, then values.

    Elementwise at the tolerances for expected's dtype (`lstm_ref.tolerances`):
    |got - expected| <= atol + rtol * |expected|, everywhere.
    """
    if got is None:
        raise GradingError(f"{what}: your function returned None. Did you forget a `return`?")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise GradingError(f"{what}: expected a NumPy array of numbers, got {type(got).__name__}") from None
    if got.shape != expected.shape:
        raise GradingError(f"{what}: wrong shape. Expected {expected.shape}, got {got.shape}.")
    bad = ~np.isfinite(got)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise GradingError(f"{what}: {int(bad.sum())} of {got.size} entries are NaN or inf "
                           f"(the first at index {first}). Look for an overflow, e.g. exp of a "
                           f"large number, or a division by zero.")
    tol = elementwise(expected.dtype)
    excess = np.abs(got - expected) - (tol["atol"] + tol["rtol"] * np.abs(expected))
    if (excess > 0).any():
        k = np.unravel_index(np.argmax(excess), excess.shape)
        idx = tuple(int(i) for i in k)
        raise GradingError(
            f"{what}: wrong values. At index {idx} you have {got[k]:.6g}, the reference has "
            f"{expected[k]:.6g} (absolute error {abs(got[k] - expected[k]):.2e}; allowed "
            f"{tol['atol']:.0e} + {tol['rtol']:.0e} * |reference|). {int((excess > 0).sum())} "
            f"of {got.size} entries are outside the tolerance.")


def check_gate_blocks(what, got, expected, order=LSTM_GATES):
    """Compare a fused (B, kH) block gate by gate, naming the gates that differ."""
    got = np.asarray(got, dtype=float)
    if got.shape != expected.shape:
        raise GradingError(f"{what}: wrong shape. Expected {expected.shape}, got {got.shape}.")
    H = expected.shape[-1] // len(order)
    s = gate_slices(order, H)
    wrong = []
    for name in order:
        try:
            check_array(f"{what}, gate {name}", got[..., s[name]], expected[..., s[name]])
        except GradingError as err:
            wrong.append(str(err))
    if wrong:
        raise GradingError(f"{what}: {len(wrong)} of {len(order)} gate blocks differ "
                           f"(order {', '.join(order)}).\n" + "\n".join(wrong))


# --------------------------------------------------------- work that was not done

@contextmanager
def _watch_reference_calls():
    """Record the calls that code outside lstm_ref makes into lstm_ref's computation
    (everything but this module and the input checks) while the block runs."""
    calls = []
    outside = {"grading.py", "checks.py", "__init__.py"}

    def reference(code):
        path = Path(code.co_filename)
        return path.parent == PACKAGE_DIR and path.name not in outside

    def profile(frame, event, arg):
        # Only the entry into the reference counts, not the reference's own inner calls.
        if event == "call" and reference(frame.f_code) and not (frame.f_back and reference(frame.f_back.f_code)):
            calls.append(f"lstm_ref.{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}")
    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(previous)


def run_student(name, fn, *args, allowed=(), **kwargs):
    """Call the student's function; refuse the result if it delegated to lstm_ref.

    allowed: names of lstm_ref functions the exercise lets students use (e.g. "sigmoid").
    """
    if not callable(fn):
        raise GradingError(f"{name}: expected a function, got {type(fn).__name__}")
    with _watch_reference_calls() as calls:
        try:
            result = fn(*args, **kwargs)
        except NotImplementedError:
            raise GradingError(f"{name}: not implemented yet (it still raises NotImplementedError)") from None
    used = [c for c in dict.fromkeys(calls) if c.rsplit(".", 1)[-1] not in allowed]
    if used:
        raise GradingError(
            f"{name} calls {', '.join(used)} from the reference package. This exercise asks you to "
            f"write that computation yourself, so a solution that calls lstm_ref earns no points "
            f"for it. Replace the call with your own code.")
    return result


def _outputs(name, result, count, names):
    if not isinstance(result, tuple) or len(result) != count:
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        raise GradingError(f"{name}: expected a tuple of {count} values ({', '.join(names)}), got {got}")
    return result


# ------------------------------------------------------------------------- inputs

def _params(rng, D, H, k):
    return {"Wx": rng.standard_normal((D, k * H)) * 0.5, "Wh": rng.standard_normal((H, k * H)) * 0.5,
            "b": rng.standard_normal(k * H) * 0.5}


def step_cases(k):
    """Inputs for one-step exercises, for a cell with k gate blocks: a hand-made case
    (small integers-over-ten, easy to follow by hand) and seeded random ones.
    Yields (label, dict with x, h_prev, c_prev, Wx, Wh, b), float64."""
    B, D, H = 2, 3, 2
    grid = lambda *shape: (np.arange(np.prod(shape)).reshape(shape) % 7 - 3) / 10.0
    yield "the hand-made case (B=2, D=3, H=2)", {
        "x": grid(B, D), "h_prev": grid(B, H)[::-1].copy(), "c_prev": grid(B, H) * 2,
        "Wx": grid(D, k * H), "Wh": grid(H, k * H)[:, ::-1].copy(), "b": grid(k * H) / 2}
    for seed, (B, D, H) in enumerate([(1, 4, 3), (5, 3, 6)]):
        rng = np.random.default_rng(100 + seed)
        yield f"a random case (seed {100 + seed}, B={B}, D={D}, H={H})", {
            "x": rng.standard_normal((B, D)), "h_prev": rng.standard_normal((B, H)),
            "c_prev": rng.standard_normal((B, H)), **_params(rng, D, H, k)}


def sequence_cases(k):
    """Inputs for whole-sequence exercises: (label, dict with x, Wx, Wh, b, h0, c0)."""
    for seed, (B, T, D, H) in enumerate([(2, 5, 3, 4), (1, 1, 2, 3), (3, 8, 4, 2)]):
        rng = np.random.default_rng(200 + seed)
        yield f"a random case (seed {200 + seed}, B={B}, T={T}, D={D}, H={H})", {
            "x": rng.standard_normal((B, T, D)), "h0": rng.standard_normal((B, H)),
            "c0": rng.standard_normal((B, H)), **_params(rng, D, H, k)}


def _case(where, label, check):
    try:
        check()
    except GradingError as err:
        raise GradingError(f"{where}, on {label}:\n{err}") from None


# -------------------------------------------------------------------------- checks

def check_sigmoid(sigmoid):
    """sigmoid: exact, stable for large |x| (no overflow warning, no NaN), shape and dtype kept."""
    x = np.array([[-1000.0, -30.0, -1.0, 0.0], [0.5, 2.0, 30.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            got = run_student("sigmoid", sigmoid, x.copy())
        except FloatingPointError as err:
            raise GradingError(
                f"sigmoid overflows for large |x| ({err}). exp(-x) is inf for x < -709; compute "
                f"each entry from exp of a non-positive number instead.") from None
    check_array("sigmoid(x)", got, cells.sigmoid(x))
    x32 = x.astype(np.float32)
    out32 = np.asarray(run_student("sigmoid", sigmoid, x32))
    if out32.dtype != np.float32:
        raise GradingError(f"sigmoid of a float32 array returned {out32.dtype}; keep the input's dtype")


# LSTM mistakes that a wrong answer is compared against, to name the likely cause.
def _lstm_step(x, h_prev, c_prev, Wx, Wh, b, order=LSTM_GATES, g_act=np.tanh, out_act=np.tanh,
               input_gate=True, forget_gate=True):
    s = gate_slices(order, Wh.shape[0])
    a = x @ Wx + h_prev @ Wh + b
    i, f, o = (cells.sigmoid(a[:, s[n]]) for n in ("i", "f", "o"))
    g = g_act(a[:, s["g"]])
    c = (f if forget_gate else 1.0) * c_prev + (i if input_gate else 1.0) * g
    return out_act(c) * o, c


def _lstm_mistakes():
    for perm in itertools.permutations(LSTM_GATES):
        if perm != LSTM_GATES:
            yield (f"you read the gate blocks in the order {', '.join(perm)}; the course's order "
                   f"is {', '.join(LSTM_GATES)} (lstm_ref.LSTM_GATES)", {"order": perm})
    yield "g (the candidate) uses sigmoid; it should use tanh", {"g_act": cells.sigmoid}
    yield "h_next = o * c_next; it should be o * tanh(c_next)", {"out_act": lambda c: c}
    yield "the candidate is added without the input gate: use i * g", {"input_gate": False}
    yield "c_prev is carried without the forget gate: use f * c_prev", {"forget_gate": False}


def check_lstm_step_forward(lstm_step_forward):
    """lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b) -> (h_next, c_next, cache)."""
    for label, case in step_cases(4):
        h_ref, c_ref, _ = cells.lstm_step_forward(**case)
        result = run_student("lstm_step_forward", lstm_step_forward, *(case[k].copy() for k in
                             ("x", "h_prev", "c_prev", "Wx", "Wh", "b")), allowed=("sigmoid",))
        h, c, _ = _outputs("lstm_step_forward", result, 3, ("h_next", "c_next", "cache"))

        def compare():
            try:
                check_array("c_next", c, c_ref)
                check_array("h_next", h, h_ref)
            except GradingError as err:
                for cause, options in _lstm_mistakes():
                    h_m, c_m = _lstm_step(**case, **options)
                    if np.allclose(np.asarray(h, float), h_m, rtol=1e-8, atol=1e-10):
                        raise GradingError(f"{err}\nLikely cause: {cause}.") from None
                raise
        _case("lstm_step_forward", label, compare)


def check_rnn_step_forward(rnn_step_forward):
    """rnn_step_forward(x, h_prev, Wx, Wh, b) -> (h_next, cache)."""
    for label, case in step_cases(1):
        args = {k: case[k] for k in ("x", "h_prev", "Wx", "Wh", "b")}
        h_ref, _ = cells.rnn_step_forward(**args)
        result = run_student("rnn_step_forward", rnn_step_forward, *(v.copy() for v in args.values()))
        h, _ = _outputs("rnn_step_forward", result, 2, ("h_next", "cache"))
        _case("rnn_step_forward", label, lambda: check_array("h_next", h, h_ref))


def check_rnn_forward(rnn_forward):
    """rnn_forward(x, Wx, Wh, b, h0) -> (h, h_T, cache); h (B, T, H)."""
    for label, case in sequence_cases(1):
        args = {k: case[k] for k in ("x", "Wx", "Wh", "b", "h0")}
        h_ref, hT_ref, _ = sequence.rnn_forward(**args)
        result = run_student("rnn_forward", rnn_forward, *(v.copy() for v in args.values()),
                             allowed=("rnn_step_forward",))
        h, hT, _ = _outputs("rnn_forward", result, 3, ("h", "h_T", "cache"))

        def compare():
            check_array("h (all hidden states)", h, h_ref)
            check_array("h_T (final state)", hT, hT_ref)
        _case("rnn_forward", label, compare)


def check_lstm_step_backward(lstm_step_forward, lstm_step_backward):
    """lstm_step_backward(dh_next, dc_next, cache) -> (dx, dh_prev, dc_prev, dWx, dWh, db),
    with the student's own forward producing the cache."""
    names = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")
    for label, case in step_cases(4):
        rng = np.random.default_rng(300)
        B, H = case["h_prev"].shape
        dh, dc = rng.standard_normal((B, H)), rng.standard_normal((B, H))
        *_, cache_ref = cells.lstm_step_forward(**case)
        expected = cells.lstm_step_backward(dh, dc, cache_ref)
        *_, cache = run_student("lstm_step_forward", lstm_step_forward, *(case[k].copy() for k in
                                ("x", "h_prev", "c_prev", "Wx", "Wh", "b")), allowed=("sigmoid",))
        result = run_student("lstm_step_backward", lstm_step_backward, dh.copy(), dc.copy(), cache,
                             allowed=("sigmoid",))
        got = _outputs("lstm_step_backward", result, 6, names)

        def compare():
            for name, g, e in zip(names, got, expected):
                check_array(name, g, e)
        _case("lstm_step_backward", label, compare)


def check_lstm_step_rollout(lstm_step_forward, T=20):
    """Chain T steps of the student's lstm_step_forward, in float64 and float32: every
    state matches the reference at the tolerance of its dtype, and no input is modified."""
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(400)
        B, D, H = 3, 4, 5
        x = rng.standard_normal((B, T, D)).astype(dtype)
        p = {k: v.astype(dtype) for k, v in _params(rng, D, H, 4).items()}
        h = c = h_ref = c_ref = np.zeros((B, H), dtype)
        for t in range(T):
            before = [a.copy() for a in (x[:, t], h, c, *p.values())]
            result = run_student("lstm_step_forward", lstm_step_forward, x[:, t], h, c, p["Wx"], p["Wh"], p["b"],
                                 allowed=("sigmoid",))
            if any(not np.array_equal(a, b) for a, b in zip(before, (x[:, t], h, c, *p.values()))):
                raise GradingError("lstm_step_forward modified one of its inputs in place; "
                                   "compute new arrays instead (e.g. c_next = f * c_prev + i * g)")
            h, c, _ = _outputs("lstm_step_forward", result, 3, ("h_next", "c_next", "cache"))
            h_ref, c_ref, _ = cells.lstm_step_forward(x[:, t], h_ref, c_ref, **p)
            where = f"lstm_step_forward chained over {T} steps in {np.dtype(dtype).name}, at step {t}"
            _case(where, "a random case (seed 400, B=3, D=4, H=5)", lambda: (
                check_array("c_next", c, c_ref), check_array("h_next", h, h_ref)))
            if np.asarray(h).dtype != dtype:
                raise GradingError(f"{where}: h_next has dtype {np.asarray(h).dtype}; a {np.dtype(dtype).name} "
                                   f"input should give a {np.dtype(dtype).name} result")
            h, c = np.asarray(h), np.asarray(c)


def check_lstm_step_shapes(lstm_step_forward):
    """Only the form of the answer: a 3-tuple whose h_next and c_next are (B, H) arrays."""
    for label, case in step_cases(4):
        result = run_student("lstm_step_forward", lstm_step_forward, *(case[k].copy() for k in
                             ("x", "h_prev", "c_prev", "Wx", "Wh", "b")), allowed=("sigmoid",))
        h, c, _ = _outputs("lstm_step_forward", result, 3, ("h_next", "c_next", "cache"))
        for name, got in (("h_next", h), ("c_next", c)):
            shape = np.shape(got)
            if shape != case["h_prev"].shape:
                raise GradingError(f"lstm_step_forward, on {label}: {name} has shape {shape}, "
                                   f"expected (B, H) = {case['h_prev'].shape}")

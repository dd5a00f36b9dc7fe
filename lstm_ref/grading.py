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

The checks, by exercise:

- 01 (RNN): check_rnn_step_forward, check_rnn_forward, check_rnn_step_backward,
  check_rnn_backward, check_rnn_backward_many_to_one, check_gradient_by_lag,
  check_gradient_by_lag_long.
- 02 (LSTM cell): check_sigmoid, check_lstm_step_forward, check_lstm_step_shapes,
  check_lstm_step_rollout.
- 03 (backpropagation): check_lstm_step_backward, check_lstm_backward,
  check_lstm_backward_many_to_one, check_numerical_gradient, check_rel_error.
- 04 (Keras): check_keras_model, check_keras_compile, check_to_keras_lstm,
  check_from_keras_lstm, check_keras_round_trip, check_sentiment_model; the generated
  reviews: sentiment_data, sentiment_reviews, encode_reviews.
- 05 (PyTorch): check_torch_lstm, check_torch_lstm_parameters, check_adding_model.
- 06 (forecasting): check_make_windows, check_chronological_split, check_scaler,
  check_last_value, check_seasonal_naive, check_forecaster; the data: co2_monthly,
  forecasting_data.

Keras, TensorFlow, PyTorch and statsmodels are imported inside the checks that need them,
so that lstm_ref imports with NumPy alone. check_sentiment_model and check_adding_model
train nothing: they measure the student's trained model on held-out data they draw
themselves. check_forecaster calls the student's fitting function once, with the training
and validation windows only, so that fitting cannot see the test period. All three report
the score next to a baseline.

A backward check runs the student's own forward function to make the cache (its layout
is the student's business), checks that forward first, and only then the backward.
"""
import itertools
import sys
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

from . import cells, gradcheck, probes, sequence
# The data of exercises 04 and 06, re-exported: a notebook reads them as grading.<name>.
from .datasets import (NEGATIVE_WORDS, POSITIVE_WORDS, SENTIMENT_EXAMPLE, SENTIMENT_LEN,  # noqa: F401
                       SENTIMENT_WORDS, co2_monthly, encode_reviews, sentiment_data, sentiment_reviews,
                       windows)
from .gates import LSTM_GATES, gate_slices
from .init import orthogonal
from .tolerances import FLOAT64, GRADCHECK_MAX_ABS, GRADCHECK_NORMWISE, GRADCHECK_STEP, elementwise

PACKAGE_DIR = Path(__file__).resolve().parent

# Values spanning many decades (gradient norms against lag) are compared relatively only:
# an absolute floor would accept anything below it, which is exactly where they live.
RELATIVE_ONLY = {"rtol": FLOAT64["rtol"], "atol": 0.0}


class GradingError(AssertionError):
    """A check failed. The message says what is wrong and how it was measured."""


# ------------------------------------------------------------------ comparing arrays

# Said when an output has the wrong shape: what the shape should be, and why.
SHAPE_HINTS = {
    "dx": "A gradient has the shape of the array it is the gradient of: dx is shaped like x.",
    "dh_prev": "dh_prev is shaped like h_prev, (B, H).",
    "dc_prev": "dc_prev is shaped like c_prev, (B, H).",
    "dh0": "dh0 is shaped like h0, (B, H).",
    "dc0": "dc0 is shaped like c0, (B, H).",
    "dWx": "dWx is shaped like Wx: for y = x @ W, dW = x.T @ dy.",
    "dWh": "dWh is shaped like Wh: for y = h @ W, dW = h.T @ dy.",
    "db": "db is shaped like b: b is added to every row of the batch (and at every "
          "step), so its gradient sums over those rows.",
    "h": "h holds every hidden state, batch first like x: h[:, t] is the state after step t.",
}


def _as_array(what, got):
    """got as a float array, or a GradingError that says why it is not one."""
    if got is None:
        raise GradingError(f"{what}: your function returned None. Did you forget a `return`?")
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise GradingError(f"{what}: expected a NumPy array of numbers, got {type(got).__name__}") from None


def _check_shape(what, got, expected, hint=""):
    if got.shape != expected.shape:
        msg = f"{what}: wrong shape. Expected {expected.shape}, got {got.shape}."
        if got.ndim == expected.ndim and sorted(got.shape) == sorted(expected.shape):
            msg += " The sizes are right but in another order: are two axes swapped (a transpose)?"
        raise GradingError(f"{msg} {hint}".rstrip())


def _check_finite(what, got):
    bad = ~np.isfinite(got)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise GradingError(f"{what}: {int(bad.sum())} of {got.size} entries are NaN or inf "
                           f"(the first at index {first}). Look for an overflow, e.g. exp of a "
                           f"large number, or a division by zero.")


def check_array(what, got, expected, tol=None, hint=""):
    """Compare one output with the reference: type, shape, finiteness, then values.

    Elementwise at the tolerances for expected's dtype (`lstm_ref.tolerances`), or at tol
    ({"rtol", "atol"}) where given: |got - expected| <= atol + rtol * |expected|, everywhere.
    hint: said after a wrong shape (what the shape should be).
    """
    got = _as_array(what, got)
    expected = np.asarray(expected)
    _check_shape(what, got, expected, hint)
    _check_finite(what, got)
    tol = tol or elementwise(expected.dtype)
    excess = np.abs(got - expected) - (tol["atol"] + tol["rtol"] * np.abs(expected))
    if (excess > 0).any():
        k = np.unravel_index(np.argmax(excess), excess.shape)
        idx = tuple(int(i) for i in k)
        allowed = (f"{tol['rtol']:.0e} * |reference|, relative only because these values span "
                   f"many decades" if tol["atol"] == 0 else
                   f"{tol['atol']:.0e} + {tol['rtol']:.0e} * |reference|")
        raise GradingError(
            f"{what}: wrong values. At index {idx} you have {got[k]:.6g}, the reference has "
            f"{expected[k]:.6g} (absolute error {abs(got[k] - expected[k]):.2e}; allowed "
            f"{allowed}). {int((excess > 0).sum())} of {got.size} entries are outside the tolerance.")


def check_gate_blocks(what, got, expected, order=LSTM_GATES, hint="", every=None):
    """Compare a fused (..., kH) block gate by gate, naming the gates that differ.

    The last axis of expected holds the k = len(order) gate blocks side by side, H columns
    each (dWx (D, 4H), dWh (H, 4H), db (4H,) for the LSTM); indices in the messages are
    within the block. every: said when every block differs (None: the note for gradients).
    """
    got = _as_array(what, got)
    expected = np.asarray(expected)
    _check_shape(what, got, expected, hint)
    H = expected.shape[-1] // len(order)
    s = gate_slices(order, H)
    wrong = []
    for name in order:
        try:
            check_array(f"{what}, gate {name}", got[..., s[name]], expected[..., s[name]])
        except GradingError as err:
            # A block that holds another gate's values means the blocks are out of order.
            other = [o for o in order if o != name and _same((got[..., s[name]],), (expected[..., s[o]],))]
            wrong.append(str(err) + (f" It holds the reference's gate {other[0]} block: is the order "
                                     f"of the blocks {', '.join(order)}?" if other else ""))
    if wrong:
        if every is None:
            every = (" Every block differs, so look at what all gates share (the upstream gradient, "
                     "the rows it is multiplied with, a transpose) before any one gate's derivative.")
        every = every if len(wrong) == len(order) else ""
        raise GradingError(f"{what}: {len(wrong)} of {len(order)} gate blocks differ "
                           f"(order {', '.join(order)}).{every}\n" + "\n".join(wrong))


def _same(got, want, rtol=1e-8, atol=1e-10):
    """Whether every array of got equals the one of want (used to recognise a mistake)."""
    try:
        return len(got) == len(want) and all(
            np.shape(g) == np.shape(w) and np.allclose(np.asarray(g, dtype=float), w, rtol=rtol, atol=atol)
            for g, w in zip(got, want))
    except (TypeError, ValueError):
        return False


def _explain(compare, got, mistakes, note="", rtol=1e-8, atol=1e-10):
    """Run compare(); if it fails, name the first known mistake whose result equals what the
    student returned. got: the student's outputs that compare() checks; mistakes: pairs
    (cause, function returning the outputs that mistake gives, in got's order); note: said
    when no known mistake matches."""
    try:
        compare()
    except GradingError as err:
        for cause, outputs in mistakes:
            if _same(got, outputs(), rtol, atol):
                raise GradingError(f"{err}\nLikely cause: {cause}.") from None
        if note:
            raise GradingError(f"{err}\n{note}") from None
        raise


# --------------------------------------------------------- work that was not done

@contextmanager
def _watch_reference_calls():
    """Record the calls that code outside lstm_ref makes into lstm_ref's computation
    (everything but this module and the input checks) while the block runs."""
    calls = []
    outside = {"grading.py", "checks.py", "__init__.py"}
    # Loading the exercises' data is no computation a student is asked to write; cutting a
    # series into windows is (exercise 06), so datasets.windows still counts.
    data = {"sentiment_reviews", "encode_reviews", "sentiment_data", "co2_monthly"}

    def inside(code):
        path = Path(code.co_filename)
        return path.parent == PACKAGE_DIR and path.name not in outside

    def reference(code):
        return inside(code) and not (code.co_filename.endswith("datasets.py") and code.co_name in data)

    def profile(frame, event, arg):
        # Only the entry into the reference counts, not the reference's own inner calls, nor
        # the first import of one of its modules (running the module's code is no computation).
        if (event == "call" and reference(frame.f_code) and frame.f_code.co_name != "<module>"
                and not (frame.f_back and inside(frame.f_back.f_code))):
            calls.append(f"lstm_ref.{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}")
    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(previous)


def _not_implemented(name, fn, err):
    """Which function is still a stub: the student's fn itself, or one that it calls."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    inner = tb.tb_frame.f_code.co_name if tb is not None else name
    owner = tb.tb_frame.f_locals.get("self") if tb is not None else None
    if owner is not None:                           # a method: name it with its class
        inner = f"{type(owner).__name__}.{inner}"
    if inner not in (name, getattr(fn, "__name__", name), "<lambda>"):
        return (f"{name}: not implemented yet: it calls {inner}, which still raises "
                f"NotImplementedError. Write {inner} first.")
    return f"{name}: not implemented yet (it still raises NotImplementedError)"


def run_student(name, fn, *args, allowed=(), watch=True, **kwargs):
    """Call the student's function; refuse the result if it delegated to lstm_ref.

    allowed: names of lstm_ref functions the exercise lets students use (e.g. "sigmoid").
    The student's own functions (defined in the notebook) are always theirs to call.
    watch=False: call it without watching (where the exercise permits all of lstm_ref and
    the function runs a framework's Python-heavy code, e.g. Keras' fit, which the watch
    slows down by half); stubs and errors are reported as always.
    """
    if not callable(fn):
        raise GradingError(f"{name}: expected a function, got {type(fn).__name__}")
    with (_watch_reference_calls() if watch else nullcontext([])) as calls:
        try:
            result = fn(*args, **kwargs)
        except NotImplementedError as err:
            stub = GradingError(_not_implemented(name, fn, err))
            stub.stub = True            # the same on every input: _case adds no input label
            raise stub from None
        except FloatingPointError:
            raise                       # check_sigmoid turns an overflow into its own message
        except Exception as err:
            # The student's traceback stays above this message (`from err`).
            raise GradingError(f"{name} raised {type(err).__name__}: {err}\n(The traceback "
                               f"above shows the line of your code where it happened.)") from err
    used = [c for c in dict.fromkeys(calls) if c.rsplit(".", 1)[-1] not in allowed]
    if used:
        raise GradingError(
            f"{name} calls {', '.join(used)} from the reference package. This exercise asks you to "
            f"write that computation yourself, so a solution that calls lstm_ref earns no points "
            f"for it. Replace the call with your own code (your own functions from this notebook "
            f"are yours to call).")
    return result


def _outputs(name, result, count, names):
    if not isinstance(result, (tuple, list)) or len(result) != count:
        got = (f"a {type(result).__name__} of {len(result)}" if isinstance(result, (tuple, list))
               else type(result).__name__)
        raise GradingError(f"{name}: expected a tuple of {count} values ({', '.join(names)}), got {got}")
    return tuple(result)


def _forward_first(forward, backward, compare):
    """A backward pass is checked with the cache of the student's own forward pass; if that
    forward is wrong, say so instead of blaming the backward."""
    try:
        compare()
    except GradingError as err:
        raise GradingError(f"{backward} is checked with the cache that your {forward} makes, and "
                           f"{forward} is not right yet. Fix it first:\n{err}") from None


def _unchanged(name, argument, before, after):
    """A function must not write into an array it was given (the caller may still need it)."""
    if not np.array_equal(before, after):
        k = tuple(int(i) for i in np.argwhere(before != after)[0])
        raise GradingError(
            f"{name} changed its argument {argument} in place (entry {k} was {before[k]:.6g} and is "
            f"{after[k]:.6g} after the call). The caller may still need it: compute new arrays "
            f"(e.g. g = {argument}[:, t] + carried) instead of adding into {argument}.")


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


def upstream(case, seed=300):
    """Seeded upstream gradients for a step case: dh_next and dc_next, each (B, H)."""
    rng = np.random.default_rng(seed)
    shape = case["h_prev"].shape
    return rng.standard_normal(shape), rng.standard_normal(shape)


def sequence_cases(k):
    """Inputs for whole-sequence exercises: (label, dict with x (B, T, D), Wx, Wh, b,
    h0 and c0 (B, H), and dh (B, T, H), an upstream gradient for every step's state)."""
    for seed, (B, T, D, H) in enumerate([(2, 5, 3, 4), (1, 1, 2, 3), (3, 8, 4, 2)]):
        rng = np.random.default_rng(200 + seed)
        case = {"x": rng.standard_normal((B, T, D)), "h0": rng.standard_normal((B, H)),
                "c0": rng.standard_normal((B, H)), **_params(rng, D, H, k)}
        case["dh"] = rng.standard_normal((B, T, H))     # drawn last: the rest is as it was
        yield f"a random case (seed {200 + seed}, B={B}, T={T}, D={D}, H={H})", case


def long_sequence_case(k, T, rho, input_scale=1.0, B=3, D=3, H=4, seed=600):
    """A long sequence for a cell with k gate blocks, whose recurrent weights set how the
    gradient changes per step back: each (H, H) block of Wh is rho times an orthogonal
    matrix. Returns (label, dict with x (B, T, D), Wx, Wh, b, h0, c0 (zeros) and dh
    (B, T, H): zero except at the last step, a loss that reads only h_T)."""
    rng = np.random.default_rng(seed)
    Wh = np.concatenate([rho * orthogonal(rng, H) for _ in range(k)], axis=1)
    # The bias scales with the inputs: small inputs keep the state near zero (tanh linear).
    case = {"x": input_scale * rng.standard_normal((B, T, D)), "Wx": 0.5 * rng.standard_normal((D, k * H)),
            "Wh": Wh, "b": 0.1 * input_scale * rng.standard_normal(k * H),
            "h0": np.zeros((B, H)), "c0": np.zeros((B, H))}
    case["dh"] = np.zeros((B, T, H))
    case["dh"][:, -1] = unit_rows(seed, B, H)
    scale = "" if input_scale == 1 else f", inputs of size {input_scale:.0e}"
    return (f"a long sequence (seed {seed}, B={B}, T={T}, D={D}, H={H}, Wh = {rho} x orthogonal"
            f"{scale})"), case


def unit_rows(seed, B, H, dtype=np.float64):
    """The (B, H) unit vectors u of lstm_ref.gradient_by_lag(..., seed=seed): a loss
    L = sum(h_T * u) has dL/dh_T = u, of norm 1 for every example."""
    u = np.random.default_rng(seed).standard_normal((B, H)).astype(dtype)
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def _case(where, label, check):
    try:
        check()
    except GradingError as err:
        if getattr(err, "stub", False):
            raise                       # a stub is a stub on every input: no case label
        raise GradingError(f"{where}, on {label}:\n{err}") from None


# ------------------------------------------------------------ exercise 02: the LSTM cell

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


# ------------------------------------------------------------------ exercise 01: the RNN

RNN_STEP_ARGS = ("x", "h_prev", "Wx", "Wh", "b")
RNN_SEQUENCE_ARGS = ("x", "Wx", "Wh", "b", "h0")


def _rnn_step(x, h_prev, Wx, Wh, b, act=np.tanh, transpose_Wh=False, bias=True):
    """The RNN step with a known mistake switched on (for naming a wrong answer)."""
    return act(x @ Wx + h_prev @ (Wh.T if transpose_Wh else Wh) + (b if bias else 0.0))


def _rnn_step_mistakes(case):
    args = [case[k] for k in RNN_STEP_ARGS]
    for cause, options in [
            ("h_next has no tanh: h_next = tanh(x @ Wx + h_prev @ Wh + b)", {"act": lambda a: a}),
            ("the sigmoid is used where the RNN uses tanh", {"act": cells.sigmoid}),
            ("h_prev @ Wh.T is used; with rows as examples the recurrent term is h_prev @ Wh",
             {"transpose_Wh": True}),
            ("the bias b is not added", {"bias": False})]:
        yield cause, lambda options=options: (_rnn_step(*args, **options),)


def check_rnn_step_forward(rnn_step_forward):
    """rnn_step_forward(x, h_prev, Wx, Wh, b) -> (h_next, cache): x (B, D), h_prev (B, H),
    Wx (D, H), Wh (H, H), b (H,); h_next (B, H) = tanh(x @ Wx + h_prev @ Wh + b)."""
    for label, case in step_cases(1):
        def body(case=case):
            args = {k: case[k] for k in RNN_STEP_ARGS}
            h_ref, _ = cells.rnn_step_forward(**args)
            result = run_student("rnn_step_forward", rnn_step_forward, *(v.copy() for v in args.values()))
            h, _ = _outputs("rnn_step_forward", result, 2, ("h_next", "cache"))
            _explain(lambda: check_array("h_next", h, h_ref), (h,), _rnn_step_mistakes(case))
        _case("rnn_step_forward", label, body)


def _rnn_states(x, Wx, Wh, b, h0, from_h0=False):
    """Every state h_1..h_T, (B, T, H); from_h0: the mistake of reading h0 at every step."""
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ Wx + (h0 if from_h0 else h) @ Wh + b)
        hs.append(h)
    return np.stack(hs, axis=1)


def check_rnn_forward(rnn_forward):
    """rnn_forward(x, Wx, Wh, b, h0) -> (h, h_T, cache): x (B, T, D), h0 (B, H);
    h (B, T, H) every state, h_T (B, H) the last. It may call the student's own
    rnn_step_forward, never lstm_ref's."""
    for label, case in sequence_cases(1):
        def body(case=case):
            args = {k: case[k] for k in RNN_SEQUENCE_ARGS}
            h_ref, hT_ref, _ = sequence.rnn_forward(**args)
            result = run_student("rnn_forward", rnn_forward, *(v.copy() for v in args.values()))
            h, hT, _ = _outputs("rnn_forward", result, 3, ("h", "h_T", "cache"))

            def compare():
                check_array("h (every hidden state)", h, h_ref, hint=SHAPE_HINTS["h"])
                check_array("h_T (final state)", hT, hT_ref)
            _explain(compare, (h,), [
                ("h0 is not used: the first step reads h_prev = h0, not zeros",
                 lambda: (_rnn_states(**{**args, "h0": np.zeros_like(args["h0"])}),)),
                ("every step reads h0: step t must read the state that step t-1 made",
                 lambda: (_rnn_states(**args, from_h0=True),))])
        _case("rnn_forward", label, body)


def _rnn_step_backward(dh_next, x, h_prev, Wx, Wh, b, slope="1-h_next^2", transpose=True):
    """One RNN step backward with a known mistake switched on; returns the five gradients."""
    h_next = np.tanh(x @ Wx + h_prev @ Wh + b)
    factor = {"1-h_next^2": 1 - h_next**2, "none": 1.0, "1-h_prev^2": 1 - h_prev**2,
              "1-h_next": 1 - h_next}[slope]
    da = dh_next * factor
    return da @ Wx.T, da @ (Wh.T if transpose else Wh), x.T @ da, h_prev.T @ da, da.sum(axis=0)


def _rnn_step_backward_mistakes(dh_next, args):
    for cause, options in [
            ("the gradient is not multiplied by the slope of tanh: first da = dh_next * "
             "(1 - h_next**2), then the products", {"slope": "none"}),
            ("the slope of tanh is taken at h_prev; tanh'(a) = 1 - tanh(a)**2 = 1 - h_next**2, "
             "with h_next the output of this step", {"slope": "1-h_prev^2"}),
            ("the slope of tanh is written 1 - h_next; it is 1 - h_next**2", {"slope": "1-h_next"}),
            ("dh_prev = da @ Wh; for a = h_prev @ Wh the gradient is da @ Wh.T", {"transpose": False})]:
        yield cause, lambda options=options: _rnn_step_backward(dh_next, *args, **options)


def check_rnn_step_backward(rnn_step_forward, rnn_step_backward):
    """rnn_step_backward(dh_next, cache) -> (dx, dh_prev, dWx, dWh, db), with the cache from
    the student's own rnn_step_forward. dh_next (B, H); dx (B, D), dh_prev (B, H),
    dWx (D, H), dWh (H, H), db (H,)."""
    names = ("dx", "dh_prev", "dWx", "dWh", "db")
    for label, case in step_cases(1):
        def body(case=case):
            args = [case[k] for k in RNN_STEP_ARGS]
            dh, _ = upstream(case)
            h_ref, cache_ref = cells.rnn_step_forward(*args)
            result = run_student("rnn_step_forward", rnn_step_forward, *(a.copy() for a in args))
            h, cache = _outputs("rnn_step_forward", result, 2, ("h_next", "cache"))
            _forward_first("rnn_step_forward", "rnn_step_backward", lambda: check_array("h_next", h, h_ref))
            expected = cells.rnn_step_backward(dh, cache_ref)
            got = _outputs("rnn_step_backward", run_student("rnn_step_backward", rnn_step_backward,
                                                            dh.copy(), cache), 5, names)

            def compare():
                for name, g, e in zip(names, got, expected):
                    check_array(name, g, e, hint=SHAPE_HINTS[name])
            _explain(compare, got, _rnn_step_backward_mistakes(dh, args))
        _case("rnn_step_backward", label, body)


def _rnn_bptt(x, Wx, Wh, b, h0, dh, carry=True, every_step=True, accumulate=True):
    """Backpropagation through time of the tanh RNN, with a known mistake switched on.
    Returns (dx, dh0, dWx, dWh, db)."""
    hs = np.concatenate([h0[:, None], _rnn_states(x, Wx, Wh, b, h0)], axis=1)   # h_0 .. h_T
    T = x.shape[1]
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    carried = np.zeros_like(h0)
    for t in reversed(range(T)):
        g = (dh[:, t] if every_step or t == T - 1 else 0.0) + (carried if carry else 0.0)
        da = g * (1 - hs[:, t + 1] ** 2)
        dx[:, t] = da @ Wx.T
        carried = da @ Wh.T
        step = (x[:, t].T @ da, hs[:, t].T @ da, da.sum(axis=0))
        if accumulate:
            dWx, dWh, db = dWx + step[0], dWh + step[1], db + step[2]
        else:
            dWx, dWh, db = step
    return dx, carried, dWx, dWh, db


def _bptt_mistakes(bptt, args, dh):
    """The mistakes of a backpropagation through time that any cell can make; bptt is
    _rnn_bptt or _lstm_bptt, args the forward's arguments."""
    yield ("the gradient carried back from step t+1 is not added: h_t is read by the loss at step t "
           "and by step t+1, so dh_t = dh[:, t] + (the dh_prev that step t+1 returned)"), \
        lambda: bptt(**args, dh=dh, carry=False)
    yield ("only dh[:, T-1] is used: the loss reads every step, so add dh[:, t] at every step t",
           lambda: bptt(**args, dh=dh, every_step=False))
    yield ("the weight gradients are those of a single step: Wx, Wh and b are shared by all steps, "
           "so their gradients are sums over t", lambda: bptt(**args, dh=dh, accumulate=False))


def _check_rnn_backward_case(rnn_forward, rnn_backward, case, check_inputs=False):
    names = ("dx", "dh0", "dWx", "dWh", "db")
    args = {k: case[k] for k in RNN_SEQUENCE_ARGS}
    h_ref, _, cache_ref = sequence.rnn_forward(**args)
    passed = {k: v.copy() for k, v in args.items()}
    result = run_student("rnn_forward", rnn_forward, *passed.values())
    h, _, cache = _outputs("rnn_forward", result, 3, ("h", "h_T", "cache"))
    _forward_first("rnn_forward", "rnn_backward", lambda: check_array("h (every hidden state)", h, h_ref))
    dh = case["dh"].copy()
    got = _outputs("rnn_backward", run_student("rnn_backward", rnn_backward, dh, cache), 5, names)
    if check_inputs:
        _unchanged("rnn_backward", "dh", case["dh"], dh)
        for k in args:
            _unchanged("rnn_forward and rnn_backward", k, args[k], passed[k])
    e = sequence.rnn_backward(case["dh"], cache_ref)
    expected = (e["x"], e["h0"], e["Wx"], e["Wh"], e["b"])

    def compare():
        for name, g, want in zip(names, got, expected):
            check_array(name, g, want, hint=SHAPE_HINTS[name])
    _explain(compare, got, _bptt_mistakes(_rnn_bptt, args, case["dh"]),
             note="If your rnn_backward calls your rnn_step_backward, make sure that one passes its "
                  "own test first.")


def check_rnn_backward(rnn_forward, rnn_backward):
    """rnn_backward(dh, cache) -> (dx, dh0, dWx, dWh, db), the gradients of a loss with
    dL/dh_t = dh[:, t] for every step, with the cache from the student's own rnn_forward.
    dh (B, T, H); dx (B, T, D), dh0 (B, H), dWx (D, H), dWh (H, H), db (H,)."""
    for label, case in sequence_cases(1):
        _case("rnn_backward", label, lambda case=case: _check_rnn_backward_case(rnn_forward, rnn_backward, case))


def check_rnn_backward_many_to_one(rnn_forward, rnn_backward):
    """rnn_backward for a loss that reads only h_T, on sequences of 30 and 60 steps (the
    gradient reaching the first steps is small, and still has to be right), and leaving
    its arguments unchanged."""
    for T, rho in ((30, 0.9), (60, 1.0)):
        label, case = long_sequence_case(1, T, rho, seed=610 + T)
        _case("rnn_backward", label, lambda case=case: _check_rnn_backward_case(
            rnn_forward, rnn_backward, case, check_inputs=True))


def _rnn_lag_norms(x, Wx, Wh, b, u, slope=True, reduce="mean", of="h"):
    """Norms of dL/dh_T, dL/dh_{T-1}, ..., dL/dh_0 (T + 1 entries), L = sum(h_T * u), with a
    known mistake switched on (for naming a wrong answer). of="x": those of dL/dx_t."""
    T = x.shape[1]
    hs = _rnn_states(x, Wx, Wh, b, np.zeros_like(u))
    norm = {"mean": lambda a: np.linalg.norm(a, axis=1).mean(), "sum": lambda a: np.linalg.norm(a, axis=1).sum(),
            "whole": np.linalg.norm}[reduce]
    out, g = [], u
    for t in reversed(range(T)):
        da = g * (1 - hs[:, t] ** 2) if slope else g
        out.append(norm(g if of == "h" else da @ Wx.T))
        g = da @ Wh.T
    return np.array(out + [norm(g)])


def _gradient_by_lag_mistakes(args, u, expected):
    T = len(expected)
    yield ("the array is in time order; entry k must be lag k, so entry 0 is the last state h_T "
           "(its gradient is u, norm 1) and entry T-1 is h_1", lambda: (expected[::-1],))
    yield ("each entry is recorded after stepping back, so lag 0 (h_T itself, norm 1) is missing: "
           "record the norm first, then step back", lambda: (_rnn_lag_norms(*args, u)[1:],))
    yield ("the norm is taken of the whole (B, H) gradient; take each example's norm (a row, "
           "axis=1) and average over the batch", lambda: (_rnn_lag_norms(*args, u, reduce="whole")[:T],))
    yield ("the example norms are summed over the batch; average them (mean over the B examples)",
           lambda: (_rnn_lag_norms(*args, u, reduce="sum")[:T],))
    yield ("the gradient is not multiplied by tanh's slope (1 - h_t**2) on the way back",
           lambda: (_rnn_lag_norms(*args, u, slope=False)[:T],))
    yield ("these are the norms of the gradient reaching the inputs x_t; the exercise asks for "
           "the hidden states h_t", lambda: (_rnn_lag_norms(*args, u, of="x")[:T],))


def _check_gradient_by_lag_case(rnn_gradient_by_lag, case, seed, tol=None):
    B, T, _ = case["x"].shape
    H = case["Wh"].shape[0]
    p = {k: case[k] for k in ("Wx", "Wh", "b")}
    u = unit_rows(seed, B, H)
    expected = probes.gradient_by_lag("rnn", p, case["x"], seed=seed)["dh"]
    args = (case["x"], p["Wx"], p["Wh"], p["b"])
    got = run_student("rnn_gradient_by_lag", rnn_gradient_by_lag, *(a.copy() for a in args), u.copy())
    hint = (f"One number per state h_T, ..., h_1: T = {T} entries, entry k for lag k (h0 is given, "
            f"not a state the network computed).")
    _explain(lambda: check_array("gradient norm by lag", got, expected, tol=tol, hint=hint), (got,),
             _gradient_by_lag_mistakes(args, u, expected),
             note="If your function calls your rnn_forward and rnn_step_backward, make sure they pass "
                  "their own tests first.", rtol=1e-6, atol=0.0)


def check_gradient_by_lag(rnn_gradient_by_lag):
    """rnn_gradient_by_lag(x, Wx, Wh, b, u) -> (T,) array: entry k is the mean over the batch
    of ||dL/dh_{T-k}|| for L = sum(h_T * u), states from zero; compared with
    lstm_ref.gradient_by_lag("rnn", ...)["dh"] with the same unit vectors u (B, H)."""
    for seed, (label, case) in enumerate(sequence_cases(1)):
        _case("rnn_gradient_by_lag", label,
              lambda case=case, seed=seed: _check_gradient_by_lag_case(rnn_gradient_by_lag, case, seed))


def check_gradient_by_lag_long(rnn_gradient_by_lag):
    """rnn_gradient_by_lag on long sequences where the gradient vanishes (to ~1e-23) and
    where it explodes (to ~1e5), every lag compared relatively: the numbers span many
    decades, and the small ones are the point of the measurement."""
    for T, rho, scale in ((60, 0.5, 1.0), (30, 1.5, 1e-6)):
        label, case = long_sequence_case(1, T, rho, input_scale=scale, seed=620 + T)
        _case("rnn_gradient_by_lag", label, lambda case=case: _check_gradient_by_lag_case(
            rnn_gradient_by_lag, case, seed=3, tol=RELATIVE_ONLY))


# ------------------------------------------------------- exercise 03: backpropagation

# Exercise 03 gives students the forward pass (lstm_ref's step, so that it does not show the
# answer of exercise 02): computing a forward step is not the work a backward check grades.
GIVEN_FORWARD = ("sigmoid", "lstm_step_forward")
LSTM_STEP_ARGS = ("x", "h_prev", "c_prev", "Wx", "Wh", "b")
LSTM_SEQUENCE_ARGS = ("x", "Wx", "Wh", "b", "h0", "c0")
LSTM_STEP_GRADS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")
WEIGHT_GRADS = ("dWx", "dWh", "db")


def _lstm_step_backward(dh_next, dc_next, cache, h_path=True, h_path_in_dc_prev=True,
                        sigmoid_slope=True, g_slope=True, do_tanh=True):
    """lstm_ref.cells.lstm_step_backward with a known mistake switched on (cache: the
    reference's layout). Returns (dx, dh_prev, dc_prev, dWx, dWh, db)."""
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, tanh_c = cache
    do = dh_next * (tanh_c if do_tanh else f * c_prev + i * g)
    dc = dc_next + (dh_next * o * (1 - tanh_c**2) if h_path else 0.0)
    dc_prev = (dc if h_path_in_dc_prev else dc_next) * f
    slope = (lambda s: s * (1 - s)) if sigmoid_slope else (lambda s: 1 - s**2)
    da = np.concatenate([dc * g * slope(i), dc * c_prev * slope(f),
                         dc * i * ((1 - g**2) if g_slope else g * (1 - g)), do * slope(o)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def _lstm_step_backward_mistakes(dh, dc, cache, outputs):
    pick = [LSTM_STEP_GRADS.index(n) for n in outputs]
    for cause, options in [
            ("dc misses the gradient that reaches c_next through h_next = o * tanh(c_next): "
             "dc = dc_next + dh_next * o * (1 - tanh(c_next)**2)", {"h_path": False}),
            ("dc_prev = f * dc_next; c_next also reaches the loss through h_next, so with "
             "dc = dc_next + dh_next * o * (1 - tanh(c_next)**2), dc_prev = f * dc", {"h_path_in_dc_prev": False}),
            ("the sigmoid gates i, f, o use tanh's slope 1 - s**2; the sigmoid's slope is s * (1 - s)",
             {"sigmoid_slope": False}),
            ("the candidate g uses the sigmoid's slope g * (1 - g); g = tanh(a_g), whose slope is 1 - g**2",
             {"g_slope": False}),
            ("do = dh_next * c_next; h_next = o * tanh(c_next), so do = dh_next * tanh(c_next)",
             {"do_tanh": False})]:
        yield cause, lambda options=options: tuple(
            _lstm_step_backward(dh, dc, cache, **options)[k] for k in pick)


def _compare_gradients(names, got, expected):
    """Compare gradients by name: the weight gradients of a gated cell block by block."""
    for name, g, e in zip(names, got, expected):
        if name in WEIGHT_GRADS:
            check_gate_blocks(name, g, e, hint=SHAPE_HINTS[name])
        else:
            check_array(name, g, e, hint=SHAPE_HINTS[name])


def check_lstm_step_backward(lstm_step_forward, lstm_step_backward, outputs=LSTM_STEP_GRADS):
    """lstm_step_backward(dh_next, dc_next, cache) -> (dx, dh_prev, dc_prev, dWx, dWh, db),
    with the student's own forward producing the cache. dh_next, dc_next (B, H); dx (B, D),
    dh_prev, dc_prev (B, H), dWx (D, 4H), dWh (H, 4H), db (4H,).

    outputs: the names of the gradients this check compares (all six by default), so that
    one exercise can give the input and state gradients and the weight gradients their own
    points. Weight gradients are compared gate block by gate block."""
    for label, case in step_cases(4):
        def body(case=case):
            dh, dc = upstream(case)
            h_ref, c_ref, cache_ref = cells.lstm_step_forward(**case)
            result = run_student("lstm_step_forward", lstm_step_forward,
                                 *(case[k].copy() for k in LSTM_STEP_ARGS), allowed=GIVEN_FORWARD)
            h, c, cache = _outputs("lstm_step_forward", result, 3, ("h_next", "c_next", "cache"))
            _forward_first("lstm_step_forward", "lstm_step_backward", lambda: (
                check_array("c_next", c, c_ref), check_array("h_next", h, h_ref)))
            expected = cells.lstm_step_backward(dh, dc, cache_ref)
            result = run_student("lstm_step_backward", lstm_step_backward, dh.copy(), dc.copy(), cache,
                                 allowed=GIVEN_FORWARD)
            got = _outputs("lstm_step_backward", result, 6, LSTM_STEP_GRADS)
            pick = [LSTM_STEP_GRADS.index(n) for n in outputs]
            got = tuple(got[k] for k in pick)
            _explain(lambda: _compare_gradients(outputs, got, [expected[k] for k in pick]), got,
                     _lstm_step_backward_mistakes(dh, dc, cache_ref, outputs))
        _case("lstm_step_backward", label, body)


def _lstm_bptt(x, Wx, Wh, b, h0, c0, dh, carry=True, carry_c=True, every_step=True, accumulate=True):
    """Backpropagation through time of the LSTM with the reference's step functions, with a
    known mistake switched on. Returns (dx, dh0, dc0, dWx, dWh, db)."""
    T = x.shape[1]
    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, cache = cells.lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        caches.append(cache)
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh_carried, dc_carried = np.zeros_like(h0), np.zeros_like(c0)
    for t in reversed(range(T)):
        g = (dh[:, t] if every_step or t == T - 1 else 0.0) + (dh_carried if carry else 0.0)
        dx[:, t], dh_carried, dc_step, *step = cells.lstm_step_backward(
            g + np.zeros_like(h0), dc_carried if carry_c else np.zeros_like(c0), caches[t])
        dc_carried = dc_step
        if accumulate:
            dWx, dWh, db = dWx + step[0], dWh + step[1], db + step[2]
        else:
            dWx, dWh, db = step
    return dx, dh_carried, dc_carried, dWx, dWh, db


def _check_lstm_backward_case(lstm_forward, lstm_backward, case, check_inputs=False):
    names = ("dx", "dh0", "dc0", "dWx", "dWh", "db")
    args = {k: case[k] for k in LSTM_SEQUENCE_ARGS}
    h_ref, _, cache_ref = sequence.lstm_forward(**args)
    passed = {k: v.copy() for k, v in args.items()}
    result = run_student("lstm_forward", lstm_forward, *passed.values(), allowed=GIVEN_FORWARD)
    h, _, cache = _outputs("lstm_forward", result, 3, ("h", "(h_T, c_T)", "cache"))
    _forward_first("lstm_forward", "lstm_backward", lambda: check_array("h (every hidden state)", h, h_ref))
    dh = case["dh"].copy()
    result = run_student("lstm_backward", lstm_backward, dh, cache, allowed=GIVEN_FORWARD)
    got = _outputs("lstm_backward", result, 6, names)
    if check_inputs:
        _unchanged("lstm_backward", "dh", case["dh"], dh)
        for k in args:
            _unchanged("lstm_forward and lstm_backward", k, args[k], passed[k])
    e = sequence.lstm_backward(case["dh"], cache_ref)
    expected = tuple(e[k] for k in ("x", "h0", "c0", "Wx", "Wh", "b"))
    mistakes = [("the cell-state gradient is not carried between steps: pass the dc_prev of step t "
                 "as dc_next to step t-1 (the path along which an LSTM's gradient survives)",
                 lambda: _lstm_bptt(**args, dh=case["dh"], carry_c=False))]
    mistakes += _bptt_mistakes(_lstm_bptt, args, case["dh"])
    _explain(lambda: _compare_gradients(names, got, expected), got, mistakes,
             note="If your lstm_backward calls your lstm_step_backward, make sure that one passes its "
                  "own tests first.")


def check_lstm_backward(lstm_forward, lstm_backward):
    """lstm_backward(dh, cache) -> (dx, dh0, dc0, dWx, dWh, db), the gradients of a loss with
    dL/dh_t = dh[:, t] for every step (nothing reads c_T), with the cache from the student's
    (or the exercise's) lstm_forward(x, Wx, Wh, b, h0, c0) -> (h, (h_T, c_T), cache).
    dh (B, T, H); dx (B, T, D), dh0 and dc0 (B, H), dWx (D, 4H), dWh (H, 4H), db (4H,)."""
    for label, case in sequence_cases(4):
        _case("lstm_backward", label,
              lambda case=case: _check_lstm_backward_case(lstm_forward, lstm_backward, case))


def check_lstm_backward_many_to_one(lstm_forward, lstm_backward):
    """lstm_backward for a loss that reads only h_T, on sequences of 25 and 50 steps, and
    leaving its arguments unchanged."""
    for T, rho in ((25, 0.9), (50, 1.0)):
        label, case = long_sequence_case(4, T, rho, seed=630 + T)
        _case("lstm_backward", label, lambda case=case: _check_lstm_backward_case(
            lstm_forward, lstm_backward, case, check_inputs=True))


# ------------------------------------------------------- exercise 03: gradient checking

def _differences(f, x, h, kind):
    """A difference quotient of the scalar f() in x, one entry at a time (x is restored):
    the centred one and the usual wrong ones, for naming a wrong answer."""
    quotients = {"centred": lambda p, m, c: (p - m) / (2 * h), "no-half": lambda p, m, c: (p - m) / h,
                 "flipped": lambda p, m, c: (m - p) / (2 * h), "forward": lambda p, m, c: (p - c) / h,
                 "backward": lambda p, m, c: (c - m) / h, "half-forward": lambda p, m, c: (p - c) / (2 * h)}
    grad = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        old = x[k]
        x[k] = old + h
        plus = f()
        x[k] = old - h
        minus = f()
        x[k] = old
        grad[k] = quotients[kind](plus, minus, f())
    return grad


def _gradcheck_functions():
    """Scalar functions f() of an array x for checking a numerical gradient: (label, x0,
    make, h) where make(x) returns f reading that very array x, and h is the step to pass
    (None: the student's default). Plain NumPy: f must not call lstm_ref, or the student's
    function would be blamed for it."""
    rng = np.random.default_rng(700)
    W = rng.standard_normal((2, 3))
    A, R = rng.standard_normal((12, 5)), rng.standard_normal((2, 5))

    def cubic(x, weights=1.0):
        def f():
            return float(np.sum(weights * x**3))
        return f

    def layer(x):
        def f():
            return float(np.sum(R * np.tanh(x.reshape(2, 12) @ A)))
        return f
    yield ("f() = sum(W * x**3), x of shape (2, 3)", rng.standard_normal((2, 3)),
           lambda x: cubic(x, W), None)
    yield ("f() = sum(R * tanh(x.reshape(2, 12) @ A)), x of shape (2, 3, 4)", rng.standard_normal((2, 3, 4)),
           layer, None)
    yield ("f() = sum(x**3) with the step h = 1e-2 passed (the centred difference is then "
           "exactly 3 x**2 + h**2), x of shape (4,)", rng.standard_normal(4), cubic, 1e-2)


def _check_gradient(what, got, expected):
    """A numerical gradient against the reference's: the gradient-check tolerances (max
    absolute error and normwise relative error) of lstm_ref.tolerances."""
    got = _as_array(what, got)
    _check_shape(what, got, expected, "The gradient has the shape of x.")
    _check_finite(what, got)
    err = np.abs(got - expected)
    rel = gradcheck.rel_error(got, expected)
    if err.max() > GRADCHECK_MAX_ABS or rel > GRADCHECK_NORMWISE:
        k = np.unravel_index(np.argmax(err), err.shape)
        raise GradingError(
            f"{what}: wrong values. At index {tuple(int(i) for i in k)} you have {got[k]:.10g}, the "
            f"reference (lstm_ref.numerical_gradient) has {expected[k]:.10g}: absolute error "
            f"{err[k]:.2e} (allowed {GRADCHECK_MAX_ABS:.0e}), normwise relative error {rel:.2e} "
            f"(allowed {GRADCHECK_NORMWISE:.0e}).")


def check_numerical_gradient(numerical_gradient):
    """numerical_gradient(f, x, h=1e-6) -> array shaped like x: the centred difference
    (f(x + h e_k) - f(x - h e_k)) / (2h) at every entry k, for f a function of no arguments
    that reads x (perturbed in place and put back). Compared with lstm_ref.numerical_gradient
    at the gradient-check tolerances; x must be as it was after the call (up to rounding)."""
    for label, x0, make, h in _gradcheck_functions():
        def body(x0=x0, make=make, h=h):
            step = {} if h is None else {"h": h}
            x = x0.copy()
            try:
                got = run_student("numerical_gradient", numerical_gradient, make(x), x, **step)
            except GradingError as err:
                if isinstance(err.__cause__, TypeError) and "positional argument" in str(err.__cause__):
                    raise GradingError(f"{err}\nf takes no arguments: it reads x, the very array you "
                                       f"change in place, so call f() after each change.") from err.__cause__
                raise
            if not np.allclose(x, x0, rtol=FLOAT64["rtol"], atol=FLOAT64["atol"]):
                k = tuple(int(i) for i in np.argwhere(~np.isclose(x, x0, rtol=FLOAT64["rtol"],
                                                                 atol=FLOAT64["atol"]))[0])
                raise GradingError(
                    f"numerical_gradient left x changed: entry {k} was {x0[k]:.10g} before the call and "
                    f"is {x[k]:.10g} after it. Put each entry back after perturbing it (old = x[k]; "
                    f"...; x[k] = old): the caller's array, and every later entry's derivative, "
                    f"depend on it.")
            x_ref = x0.copy()
            expected = gradcheck.numerical_gradient(make(x_ref), x_ref, **step)

            def mistake(kind, size=None):
                xm = x0.copy()
                return lambda: (_differences(make(xm), xm, size or h or GRADCHECK_STEP, kind),)
            mistakes = [
                ("a one-sided difference (f(x + h) - f(x)) / h, whose error is of order h; the "
                 "centred difference (f(x + h) - f(x - h)) / (2h) has an error of order h**2", mistake("forward")),
                ("a one-sided difference (f(x) - f(x - h)) / h; use the centred difference", mistake("backward")),
                ("the difference is divided by h; the two points are 2h apart, so divide by 2h", mistake("no-half")),
                ("the sign is flipped: (f(x + h) - f(x - h)) / (2h), the value at x + h first", mistake("flipped")),
                ("the second evaluation is at x, not at x - h: after x[k] = old + h, set x[k] = old - h "
                 "(not x[k] -= h, which goes back to x)", mistake("half-forward")),
                ("the step h passed to numerical_gradient is ignored (this is the result for h = 1e-6): "
                 "use the argument h", mistake("centred", GRADCHECK_STEP))]
            shape = ("" if x0.ndim == 2 else f"Your function must work for x of any shape (here "
                     f"{x0.ndim}-D): visit every entry, e.g. for k in np.ndindex(x.shape).")
            _explain(lambda: _check_gradient("numerical_gradient(f, x)", got, expected), (got,),
                     mistakes if h is not None else mistakes[:-1], note=shape, rtol=1e-6, atol=1e-9)
        _case("numerical_gradient", label, body)


def _rel_error_measures(a, b):
    """Measures that are not the normwise relative error, for naming a wrong answer:
    (cause, value of that measure on a and b, NaN where it is undefined)."""
    n = np.linalg.norm
    d = np.abs(a - b)

    def spectral(m):
        return np.linalg.norm(m, 2) if m.ndim == 2 else n(m)
    why = ("At an entry where the gradient is nearly zero, the rounding error of a centred "
           "difference (about 1e-10, whatever the entry) is as large as the entry, so an "
           "elementwise error calls a correct gradient wrong. Use one normwise number for the "
           "whole array: ||a - b|| / max(||a||, ||b||)")
    measures = [
        (f"your error is elementwise, the largest |a_k - b_k| / (|a_k| + |b_k|). {why}",
         lambda: np.max(d / (np.abs(a) + np.abs(b)))),
        (f"your error is elementwise, the largest |a_k - b_k| / max(1e-8, |a_k| + |b_k|). {why}",
         lambda: np.max(d / np.maximum(1e-8, np.abs(a) + np.abs(b)))),
        (f"your error is elementwise, the largest |a_k - b_k| / max(|a_k|, |b_k|). {why}",
         lambda: np.max(d / np.maximum(np.abs(a), np.abs(b)))),
        ("you divide by ||a|| + ||b||; the course's definition divides by max(||a||, ||b||)",
         lambda: n(a - b) / (n(a) + n(b))),
        ("you divide by ||a|| only; divide by max(||a||, ||b||), so that the error does not "
         "depend on the order of the arguments", lambda: n(a - b) / n(a)),
        ("you divide by ||b|| only; divide by max(||a||, ||b||), so that the error does not "
         "depend on the order of the arguments", lambda: n(a - b) / n(b)),
        ("you divide by min(||a||, ||b||); the course divides by max(||a||, ||b||)",
         lambda: n(a - b) / min(n(a), n(b))),
        ("you use the matrix 2-norm (the largest singular value, np.linalg.norm(m, 2)); use the "
         "Frobenius norm of the whole array, the square root of the sum of all squared entries "
         "(np.linalg.norm(m) with no ord)", lambda: spectral(a - b) / max(spectral(a), spectral(b))),
        ("you use squared norms; take the square roots: ||a - b|| / max(||a||, ||b||)",
         lambda: n(a - b) ** 2 / max(n(a), n(b)) ** 2),
        ("you use the largest absolute entries (max |a - b| / max(max |a|, max |b|)); the course "
         "uses the Euclidean norm of the whole array", lambda: d.max() / max(np.abs(a).max(), np.abs(b).max())),
    ]
    with np.errstate(all="ignore"):             # 0/0 in a wrong measure is no match, not a warning
        return [(cause, float(measure())) for cause, measure in measures]


def _rel_error_value(rel_error, a, b):
    """The student's rel_error(a, b) as a float, or a GradingError that says why it is not one."""
    got = run_student("rel_error", rel_error, a.copy(), b.copy())
    if got is None:
        raise GradingError("rel_error returned None. Did you forget a `return`?")
    if np.ndim(got) != 0:
        raise GradingError(
            f"rel_error(a, b) should return one number for the whole pair of arrays, got an array "
            f"of shape {np.shape(got)}. A gradient check judges the whole array at once: "
            f"||a - b|| / max(||a||, ||b||).")
    value = float(got)
    if not np.isfinite(value):
        raise GradingError(f"rel_error(a, b) returned {value}. When both arrays are zero there is "
                           f"nothing to compare: return 0.0 instead of dividing by zero.")
    return value


def check_rel_error(rel_error):
    """rel_error(a, b) -> float: the normwise relative error ||a - b|| / max(||a||, ||b||)
    over whole arrays of any shape (Frobenius norm), 0.0 when both are zero. Compared with
    lstm_ref.rel_error at relative tolerance 1e-10 on pairs that tell it apart from the
    elementwise error and from other denominators and norms."""
    rng = np.random.default_rng(800)
    g = rng.standard_normal((2, 3, 4))
    a = rng.standard_normal((4, 3))
    pairs = [
        ("a gradient with a nearly zero entry, a = [1, 2, 1e-12] and b = [1, 2, 1e-10]",
         np.array([1.0, 2.0, 1e-12]), np.array([1.0, 2.0, 1e-10])),
        ("two random (3, 4) arrays", rng.standard_normal((3, 4)), rng.standard_normal((3, 4))),
        ("a (4, 3) array a and b = 2 a", a, 2 * a),
        ("b = 2 a and a, in this order", 2 * a, a),
        ("a (2, 3, 4) gradient and a copy with errors of 1e-6", g, g + 1e-6 * rng.standard_normal(g.shape)),
        ("two equal arrays", g, g.copy()),
        ("two arrays of zeros", np.zeros((2, 3)), np.zeros((2, 3))),
    ]
    # The student's value on every pair, so that a wrong measure is named only if it explains
    # all of them (one pair cannot tell "divide by ||a||" from "divide by min(||a||, ||b||)").
    values = []
    for _, a, b in pairs:
        try:
            values.append(_rel_error_value(rel_error, a, b))
        except GradingError:
            values.append(np.nan)
    measures = [_rel_error_measures(a, b) for _, a, b in pairs]

    def explains(k):
        agree = [abs(v - m[k][1]) <= 1e-9 * abs(m[k][1]) for v, m in zip(values, measures)
                 if np.isfinite(v) and np.isfinite(m[k][1])]
        return bool(agree) and all(agree)
    for (label, a, b), m in zip(pairs, measures):
        def body(a=a, b=b, m=m):
            value = _rel_error_value(rel_error, a, b)
            expected = gradcheck.rel_error(a, b)
            if abs(value - expected) > RELATIVE_ONLY["rtol"] * abs(expected):
                causes = [cause for k, (cause, v) in enumerate(m)
                          if abs(value - v) <= 1e-9 * abs(v) and explains(k)]
                raise GradingError(
                    f"rel_error(a, b): you return {value:.6g}, the reference ||a - b|| / max(||a||, "
                    f"||b||) is {expected:.6g} (allowed relative difference {RELATIVE_ONLY['rtol']:.0e})."
                    + (f"\nLikely cause: {causes[0]}." if causes else ""))
        _case("rel_error", label, body)


# ------------------------------------------------------------- exercise 04: Keras
#
# Keras (and, in exercise 05, PyTorch) is imported inside the checks that use it, never at
# the top of this module: lstm_ref imports with NumPy alone. The notebook chooses the
# backend (KERAS_BACKEND) before it imports Keras.

def _keras():
    import keras
    return keras


# The sizes of the exercise's model; build_model is also checked with _OTHER_SIZES, so that
# numbers written into the function for these sizes do not pass.
KERAS_MODEL_SIZES = {"vocab_size": len(SENTIMENT_WORDS), "embed_dim": 16, "units": 32,
                     "seq_len": SENTIMENT_LEN}
_OTHER_SIZES = {"vocab_size": 50, "embed_dim": 8, "units": 5, "seq_len": 7}
SENTIMENT_TEST_SEED = 3               # the notebook trains on seed 1 and validates on seed 2
SENTIMENT_TEST_SIZE = 1000
SENTIMENT_MIN_ACCURACY = 0.9


def _sizes_label(sizes):
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def _built_model(build_model, sizes):
    """The student's model for these sizes, called once on a batch so that every layer is built."""
    keras = _keras()
    model = run_student("build_model", build_model, **sizes)
    if not isinstance(model, keras.Model):
        raise GradingError(f"build_model returned {type(model).__name__}; return the Keras model itself "
                           f"(e.g. model = keras.Sequential([...]); ...; return model)")
    try:
        with warnings.catch_warnings():         # a wrong layer may warn; its check says why
            warnings.simplefilter("ignore")
            model(np.zeros((2, sizes["seq_len"]), np.int32))
    except Exception as err:
        raise GradingError(f"Calling your model on a batch of 2 reviews of seq_len={sizes['seq_len']} word "
                           f"indices failed with {type(err).__name__}: {err}") from err
    return model


def _layer_summary(layers):
    return ", ".join(f"{type(l).__name__}" for l in layers) or "no layers"


def _check_keras_architecture(model, sizes):
    keras = _keras()
    V, E, H, T = (sizes[k] for k in ("vocab_size", "embed_dim", "units", "seq_len"))
    layers = [l for l in model.layers if not isinstance(l, keras.layers.InputLayer)]
    kinds = (keras.layers.Embedding, keras.layers.LSTM, keras.layers.Dense)
    if len(layers) != 3 or not all(isinstance(l, k) for l, k in zip(layers, kinds)):
        msg = (f"the model should have exactly three layers, Embedding, LSTM, Dense, in this order; "
               f"yours has {_layer_summary(layers)}.")
        names = [type(l).__name__ for l in layers]
        if any(n in ("GRU", "SimpleRNN") for n in names):
            msg += " This exercise asks for an LSTM (keras.layers.LSTM)."
        if "Bidirectional" in names:
            msg += " A Bidirectional wrapper reads the review both ways; this model reads it once, forwards."
        if any(n in ("Dropout", "SpatialDropout1D", "Flatten", "GlobalAveragePooling1D") for n in names):
            msg += " Leave out the extra layers: the checks count every layer's parameters."
        raise GradingError(msg)
    emb, lstm, dense = layers
    z = np.zeros((2, T), np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_e = emb(z)
        out_l = lstm(out_e)
        if isinstance(out_l, (list, tuple)):
            raise GradingError("the LSTM layer returns a list (its output and its states): leave "
                               "return_state=False, so that it returns only its last hidden state.")
        out_d = dense(out_l)
    shapes = [tuple(int(n) for n in o.shape) for o in (out_e, out_l, out_d)]
    expected = [(2, T, E), (2, H), (2, 1)]
    if shapes[0] != expected[0]:
        raise GradingError(f"Embedding output: for a batch of 2 reviews of {T} words expected shape "
                           f"(2, seq_len, embed_dim) = {expected[0]}, got {shapes[0]}. Embedding(input_dim="
                           f"vocab_size, output_dim=embed_dim) turns each word index into a vector of "
                           f"embed_dim numbers.")
    if shapes[1] != expected[1]:
        hint = (" The LSTM returns every step's state (return_sequences=True); one label per review "
                "needs only the last one: leave return_sequences=False (the default)."
                if len(shapes[1]) == 3 else " The LSTM's units is the hidden size H = units.")
        raise GradingError(f"LSTM output: expected shape (2, units) = {expected[1]}, got {shapes[1]}.{hint}")
    if shapes[2] != expected[2]:
        raise GradingError(f"Dense output: expected shape (2, 1) = one number per review, the "
                           f"probability that it is positive; got {shapes[2]}. Use Dense(1, ...).")
    act = getattr(dense.activation, "__name__", str(dense.activation))
    if act != "sigmoid":
        why = {"softmax": "a softmax over a single unit is always 1, whatever the input",
               "linear": "a linear output is any real number, not a probability"}.get(
                   act, "binary cross-entropy expects a probability in (0, 1)")
        raise GradingError(f"Dense activation is {act!r}; use activation='sigmoid': {why}.")
    for name, want in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
        got = getattr(getattr(lstm, name), "__name__", "?")
        if got != want:
            raise GradingError(f"the LSTM's {name} is {got!r}; the course's LSTM (and Keras' default) uses "
                               f"{want!r}: leave it at its default.")
    counts = [
        ("Embedding", emb, V * E, f"vocab_size * embed_dim = {V} * {E}: one vector per word index "
                                  f"0..vocab_size-1 (check input_dim=vocab_size)"),
        ("LSTM", lstm, 4 * H * (E + H + 1), f"4 gate blocks * (D + H + 1) * H = 4 * ({E} + {H} + 1) * {H}: "
                                            f"kernel (D, 4H), recurrent_kernel (H, 4H) and bias (4H,), "
                                            f"with D = embed_dim"),
        ("Dense", dense, H + 1, f"H + 1 = {H} + 1: one weight per hidden unit and a bias")]
    for name, layer, want, formula in counts:
        got = layer.count_params()
        if got != want:
            raise GradingError(f"{name} has {got} parameters; expected {want} = {formula}.")


def check_keras_model(build_model):
    """build_model(vocab_size, embed_dim, units, seq_len) -> a Keras model Embedding -> LSTM ->
    Dense(1, sigmoid): layer types and order, each layer's output shape for a batch of 2,
    the sigmoid output, and each layer's parameter count against the formula, for the
    exercise's sizes and for other sizes."""
    for label, sizes in (("the exercise's sizes", KERAS_MODEL_SIZES), ("other sizes", _OTHER_SIZES)):
        _case("build_model", f"{label} ({_sizes_label(sizes)})",
              lambda sizes=sizes: _check_keras_architecture(_built_model(build_model, sizes), sizes))


def _binary_crossentropy(loss):
    """None if loss is Keras' binary cross-entropy on probabilities, else what it is instead."""
    keras = _keras()
    if isinstance(loss, str):
        return None if loss in ("binary_crossentropy", "bce") else repr(loss)
    if isinstance(loss, keras.losses.BinaryCrossentropy):
        if loss.get_config().get("from_logits"):
            return ("BinaryCrossentropy(from_logits=True), which expects scores before the sigmoid; "
                    "the model's output is already a probability (from_logits=False)")
        return None
    name = getattr(loss, "__name__", type(loss).__name__)
    return None if name == "binary_crossentropy" else name


def check_keras_compile(build_model):
    """The model that build_model returns is compiled with the Adam optimizer and binary
    cross-entropy (on probabilities: the model ends in a sigmoid)."""
    sizes = KERAS_MODEL_SIZES
    model = _built_model(build_model, sizes)
    optimizer = getattr(model, "optimizer", None)
    if not getattr(model, "compiled", False) or optimizer is None:
        raise GradingError("build_model returns a model that is not compiled: call model.compile(optimizer="
                           "'adam', loss='binary_crossentropy', metrics=['accuracy']) before returning it.")
    if type(optimizer).__name__ != "Adam":
        raise GradingError(f"the model is compiled with the {type(optimizer).__name__} optimizer; the exercise "
                           f"asks for Adam (optimizer='adam' or keras.optimizers.Adam(learning_rate=...)).")
    wrong = _binary_crossentropy(model.loss)
    if wrong is not None and "from_logits" in wrong:
        raise GradingError(f"the model is compiled with the loss {wrong}.")
    if wrong is not None:
        raise GradingError(f"the model is compiled with the loss {wrong}; a yes/no label with a sigmoid "
                           f"output takes binary cross-entropy: loss='binary_crossentropy'.")


# Weight transfer. The cases: H != D (a swapped Wx and Wh has the wrong shape), B = 1 and
# T = 1, and H = D (where only the values tell Wx from Wh).
def keras_transfer_cases():
    """(label, dict with x (B, T, D), Wx, Wh, b) in float32, biases non-zero."""
    for seed, (B, T, D, H) in enumerate([(2, 5, 3, 4), (1, 1, 2, 3), (3, 6, 4, 4)]):
        rng = np.random.default_rng(900 + seed)
        case = {"x": rng.standard_normal((B, T, D)), **_params(rng, D, H, 4)}
        yield (f"a random case (seed {900 + seed}, B={B}, T={T}, D={D}, H={H})",
               {k: v.astype(np.float32) for k, v in case.items()})


_KERAS_VARIABLES = (("kernel", "Wx", "(D, 4H)"), ("recurrent_kernel", "Wh", "(H, 4H)"), ("bias", "b", "(4H,)"))


def _keras_lstm_layer(D, H, fill=None):
    """A built Keras LSTM layer (outputs, h_T and c_T), its weights set to fill if given."""
    keras = _keras()
    layer = keras.layers.LSTM(H, return_sequences=True, return_state=True)
    layer.build((None, None, D))
    if fill is not None:
        for name, _, _ in _KERAS_VARIABLES:
            var = getattr(layer.cell, name)
            var.assign(np.full(var.shape, fill, np.float32))
    return layer


def _keras_variables(layer):
    return {name: np.array(getattr(layer.cell, name).numpy()) for name, _, _ in _KERAS_VARIABLES}


def _keras_layout():
    from .convert import LAYOUTS
    lay = LAYOUTS[("keras", "lstm")]
    return (f"Keras stores {lay.input_weight} = Wx, {lay.recurrent_weight} = Wh and {lay.bias} = b, "
            f"gate blocks in the order {', '.join(lay.gate_names)}, which is the course's "
            f"{', '.join(lay.gates)} (c is g): no transpose and no reordering")


def _check_stored(what, got, expected, p):
    """A weight that the student stored in (or read from) Keras: gate block by gate block,
    then exactly (the numbers are only copied, at float32)."""
    H = p["Wh"].shape[0]
    f = gate_slices(LSTM_GATES, H)["f"]
    shifted = p["b"].copy()
    shifted[f] += 1
    mistakes = [("it holds Wh; Wx (D, 4H) multiplies the input x_t and goes into the kernel, Wh (H, 4H) "
                 "multiplies h_{t-1} and goes into the recurrent_kernel", p["Wh"]),
                ("it holds Wx; Wh multiplies h_{t-1} and goes into the recurrent_kernel", p["Wx"]),
                ("the forget-gate block holds b_f + 1. unit_forget_bias=True only sets the initial bias; "
                 "Keras adds nothing at run time, so store b as it is", shifted)]
    try:
        check_gate_blocks(what, got, expected, every=" Every block differs: is it another array (Wh for "
                                                       "Wx), or its entries in another order?")
    except GradingError as err:
        for cause, value in mistakes:
            if value is not expected and _same((got,), (value,), rtol=1e-6, atol=1e-6):
                raise GradingError(f"{err}\nLikely cause: {cause}.") from None
        raise GradingError(f"{err}\n{_keras_layout()}.") from None
    got = np.asarray(got)
    if not np.array_equal(got, expected):
        k = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
        raise GradingError(f"{what}: entry {tuple(int(i) for i in k)} is {got[k]:.9g}, not exactly {expected[k]:.9g}. "
                           f"Moving weights copies numbers: no arithmetic, no rounding beyond float32.")


def _check_to_keras_case(to_keras_lstm, p):
    from .convert import to_keras
    D, H = p["Wx"].shape[0], p["Wh"].shape[0]
    layer = _keras_lstm_layer(D, H, fill=0.0)
    try:
        run_student("to_keras_lstm", to_keras_lstm, layer, p["Wx"].copy(), p["Wh"].copy(), p["b"].copy())
    except GradingError as err:
        if isinstance(err.__cause__, ValueError) and "shape" in str(err.__cause__):
            raise GradingError(f"{err}\n{_keras_layout()}.") from err.__cause__
        raise
    reference = to_keras(_keras_lstm_layer(D, H), p)        # lstm_ref's own conversion
    got, expected = _keras_variables(layer), _keras_variables(reference)
    for name, arg, shape in _KERAS_VARIABLES:
        if not got[name].any() and expected[name].any():
            raise GradingError(f"the layer's {name} is unchanged (still the zeros the check put there): "
                               f"to_keras_lstm must write {arg} into the layer it is given, e.g. with "
                               f"layer.set_weights([...]) or layer.cell.{name}.assign(...), not into a new layer.")
        _check_stored(f"the layer's {name} {shape}, which should hold {arg}", got[name], expected[name], p)
    out, h_T, c_T = (np.asarray(o) for o in layer(p["x"]))
    h_ref, (hT_ref, cT_ref), _ = sequence.lstm_forward(p["x"], p["Wx"], p["Wh"], p["b"])
    check_array("the Keras layer's output (every step's h) after loading", out, h_ref)
    check_array("the Keras layer's final cell state c_T after loading", c_T, cT_ref)


def check_to_keras_lstm(to_keras_lstm):
    """to_keras_lstm(layer, Wx, Wh, b) writes the course's weights into a built Keras LSTM
    layer: its kernel, recurrent_kernel and bias equal Wx, Wh, b (at float32, exactly), and
    the layer's outputs then equal lstm_ref.lstm_forward's at the float32 tolerances."""
    for label, p in keras_transfer_cases():
        _case("to_keras_lstm", label, lambda p=p: _check_to_keras_case(to_keras_lstm, p))


def _read_keras(from_keras_lstm, layer):
    """The student's (Wx, Wh, b) read from layer, as NumPy arrays (copies)."""
    result = run_student("from_keras_lstm", from_keras_lstm, layer)
    got = _outputs("from_keras_lstm", result, 3, ("Wx", "Wh", "b"))
    for name, value in zip(("Wx", "Wh", "b"), got):
        if not isinstance(value, np.ndarray):
            raise GradingError(f"from_keras_lstm returned {name} as a {type(value).__name__}; return NumPy "
                               f"arrays: layer.get_weights() gives them, or variable.numpy().")
    return got


def _check_from_keras_case(from_keras_lstm, p):
    from .convert import to_keras
    D, H = p["Wx"].shape[0], p["Wh"].shape[0]
    layer = to_keras(_keras_lstm_layer(D, H), p)
    got = _read_keras(from_keras_lstm, layer)
    stored = _keras_variables(layer)
    hints = {"Wx": "Wx is the kernel, (D, 4H); Keras, unlike PyTorch, does not transpose it.",
             "Wh": "Wh is the recurrent_kernel, (H, 4H).", "b": "b is the bias, (4H,): Keras has only one."}
    for name, value in zip(("Wx", "Wh", "b"), got):
        _check_shape(name, value, p[name], hints[name])
        _check_stored(name, value, p[name], p)
    for name, _, _ in _KERAS_VARIABLES:
        if not np.array_equal(stored[name], _keras_variables(layer)[name]):
            raise GradingError(f"from_keras_lstm changed the layer's {name}: reading must leave the layer as it was.")
    for var in layer.cell.weights:
        var.assign(np.zeros(var.shape, np.float32))
    for name, value in zip(("Wx", "Wh", "b"), got):
        if not np.array_equal(value, p[name]):
            raise GradingError(f"the {name} that from_keras_lstm returned changed when the layer's weights were "
                               f"set to zero afterwards: it shares memory with the layer. Return copies "
                               f"(np.array(...)), which stay as they were when the layer trains on.")


def check_from_keras_lstm(from_keras_lstm):
    """from_keras_lstm(layer) -> (Wx (D, 4H), Wh (H, 4H), b (4H,)): the weights of a Keras LSTM
    layer in the course's layout, as NumPy arrays that do not share memory with the layer,
    exactly the stored float32 numbers; the layer is left unchanged."""
    for label, p in keras_transfer_cases():
        _case("from_keras_lstm", label, lambda p=p: _check_from_keras_case(from_keras_lstm, p))


def check_keras_round_trip(to_keras_lstm, from_keras_lstm):
    """Both ways, exactly: from_keras_lstm(to_keras_lstm(layer, Wx, Wh, b)) gives back Wx, Wh,
    b (float32), and writing what from_keras_lstm read from one layer into another makes the
    two layers' weights equal."""
    for label, p in keras_transfer_cases():
        def body(p=p):
            D, H = p["Wx"].shape[0], p["Wh"].shape[0]
            layer = _keras_lstm_layer(D, H, fill=0.0)
            run_student("to_keras_lstm", to_keras_lstm, layer, p["Wx"].copy(), p["Wh"].copy(), p["b"].copy())
            back = _read_keras(from_keras_lstm, layer)
            for name, value in zip(("Wx", "Wh", "b"), back):
                _check_shape(f"{name} after the round trip", value, p[name])
                if not np.array_equal(value, p[name]):
                    k = np.unravel_index(np.argmax(np.abs(value - p[name])), value.shape)
                    raise GradingError(
                        f"from_keras_lstm(to_keras_lstm(layer, Wx, Wh, b)) does not give back {name} exactly: "
                        f"entry {tuple(int(i) for i in k)} went in as {p[name][k]:.9g} and came back as "
                        f"{value[k]:.9g}. Make each function pass its own test first.")
            source = _keras_lstm_layer(D, H)                  # Keras' own random initial weights
            target = _keras_lstm_layer(D, H, fill=0.0)
            run_student("to_keras_lstm", to_keras_lstm, target, *_read_keras(from_keras_lstm, source))
            for name, want in _keras_variables(source).items():
                if not np.array_equal(_keras_variables(target)[name], want):
                    raise GradingError(f"to_keras_lstm(other_layer, *from_keras_lstm(layer)) does not copy the "
                                       f"{name} of layer exactly into other_layer.")
        _case("the round trip", label, body)


def check_sentiment_training(train_sentiment_model):
    """Run the student's train_sentiment_model(x_train, y_train, x_val, y_val) -> (model,
    history) once, on the notebook's sets (sentiment_data(2000, seed=1) and (500, seed=2)),
    and measure the model it returns with check_sentiment_model. The check trains nothing of
    its own, and the test reviews never reach the training function. Returns the model.
    The training function may use anything (lstm_ref cannot train a Keras model)."""
    data = [*sentiment_data(2000, 1), *sentiment_data(500, 2)]
    # lstm_ref has nothing that trains a Keras model: no call to refuse, so no watch.
    result = run_student("train_sentiment_model", train_sentiment_model, *data, watch=False)
    model, _ = _outputs("train_sentiment_model", result, 2, ("model", "history"))
    check_sentiment_model(model)
    return model


def check_sentiment_model(model):
    """A trained model (Embedding -> LSTM -> Dense(sigmoid)) on SENTIMENT_TEST_SIZE reviews
    the check draws itself (seed SENTIMENT_TEST_SEED; training used other seeds): its
    accuracy at threshold 0.5 is at least SENTIMENT_MIN_ACCURACY, and it calls
    SENTIMENT_EXAMPLE positive. Prints the accuracy, the majority-class baseline and the
    example's probability."""
    keras = _keras()
    if isinstance(model, tuple):
        raise GradingError("expected the trained Keras model, got a tuple: train_sentiment_model returns "
                           "(model, history); pass model.")
    if not isinstance(model, keras.Model):
        raise GradingError(f"expected the trained Keras model, got {type(model).__name__}")
    x, y = sentiment_data(SENTIMENT_TEST_SIZE, SENTIMENT_TEST_SEED)
    p = _as_array("your model's predictions", run_student("model.predict", model.predict, x, verbose=0))
    _check_shape("your model's predictions", p, np.zeros((len(y), 1)),
                 "One probability per review, from Dense(1, activation='sigmoid').")
    _check_finite("your model's predictions", p)
    accuracy = float(np.mean((p[:, 0] > 0.5) == (y > 0.5)))
    majority = float(max(y.mean(), 1 - y.mean()))
    example = float(np.asarray(model.predict(encode_reviews([SENTIMENT_EXAMPLE]), verbose=0)).ravel()[0])
    report = (f"held-out accuracy {accuracy:.3f} on {len(y)} reviews that the check draws itself (seed "
              f"{SENTIMENT_TEST_SEED}; your model never saw them); always answering the majority class "
              f"scores {majority:.3f}. P(positive | {SENTIMENT_EXAMPLE!r}) = {example:.3f}.")
    if accuracy < SENTIMENT_MIN_ACCURACY:
        cause = ("Your model gives (almost) every review the same answer: it has not learned yet. "
                 if accuracy <= majority + 0.02 else "")
        raise GradingError(f"{report}\nNeeded: accuracy >= {SENTIMENT_MIN_ACCURACY}. {cause}Look at the "
                           f"validation accuracy per epoch in history.history: train longer, or with a larger "
                           f"learning rate (Adam at 5e-3 learns this task in a few epochs).")
    if example <= 0.5:
        raise GradingError(f"{report}\nNeeded: {SENTIMENT_EXAMPLE!r} comes out positive (probability > 0.5): "
                           f"'not' turns 'bad' around, which only a model that reads the words in order can tell.")
    print(f"Passed: {report}")


# ------------------------------------------------------------ exercise 05: PyTorch
#
# The student's LSTM is a torch.nn.Module with its own parameters, stepping through time in
# a Python loop: with torch operations on its own weights, or with nn.LSTMCell one step at a
# time. torch.nn.LSTM (and the fused kernel torch.lstm that it runs) would do the whole
# recurrence for them, so a module that contains or calls it earns no points.

def _torch():
    import torch
    return torch


FUSED_RECURRENCES = ("lstm", "gru", "rnn_tanh", "rnn_relu")     # what nn.LSTM/GRU/RNN run
# The adding problem (lstm_ref.tasks, variant le2015) that exercise 05's model is trained on,
# and the held-out set on which the check measures it. A model that carries only one of the
# two marked values gets MSE Var(X1) = 1/12, half the baseline; so the bar is well below that.
ADDING_T = 30
ADDING_MARGIN = 0.1
ADDING_TEST_SEED = 7
ADDING_TEST_SIZE = 1000
# What exercise 05 may use from lstm_ref outside the LSTM's forward: the task, its baseline,
# and the course's initial weights.
ADDING_ALLOWED = ("adding_problem", "adding_baseline_mse", "init_lstm")

_NO_FUSED = ("This exercise asks you to write the loop over time yourself (with your own "
             "parameters, or nn.LSTMCell one step at a time), so a module built on nn.LSTM "
             "earns no points for it.")


@contextmanager
def _watch_fused_recurrence():
    """Record the calls of PyTorch's fused recurrences (torch.lstm, which nn.LSTM runs, and
    those of nn.GRU and nn.RNN) while the block runs; nn.LSTMCell's lstm_cell is not one."""
    from torch.overrides import TorchFunctionMode

    class Watch(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.calls = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            if name in FUSED_RECURRENCES:
                self.calls.append(f"torch.{name}")
            return func(*args, **(kwargs or {}))
    with Watch() as watch:
        yield watch.calls


def _no_framework_recurrence(name, module):
    """Refuse a module that contains torch.nn.LSTM (or GRU or RNN)."""
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise GradingError(f"{name}: expected a torch.nn.Module, got {type(module).__name__}")
    found = [f"{path or 'the module itself'} ({type(m).__name__})" for path, m in module.named_modules()
             if isinstance(m, torch.nn.RNNBase)]
    if found:
        raise GradingError(f"{name} contains {', '.join(found)}: torch.nn.LSTM runs the whole recurrence "
                           f"in one call. {_NO_FUSED}")


def _run_module(name, module, *args):
    """Call a student's module (its forward), refusing lstm_ref and the fused recurrences."""
    with _watch_fused_recurrence() as fused:
        result = run_student(name, module, *args)
    if fused:
        raise GradingError(f"{name} calls {', '.join(dict.fromkeys(fused))}, the fused recurrence that "
                           f"torch.nn.LSTM runs. {_NO_FUSED}")
    return result


def _numpy(what, value):
    """A tensor (or array) as a NumPy array, or a GradingError that says what came instead."""
    torch = _torch()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return _as_array(what, value)


def _tensor(a):
    return None if a is None else _torch().from_numpy(np.ascontiguousarray(a))


def torch_lstm_cases():
    """(label, dict with x (B, T, D), Wx, Wh, b, h0, c0) in float32: the sequence cases
    (initial states given) and one that starts from zeros (h0 = c0 = None)."""
    for label, case in sequence_cases(4):
        yield label, {k: v.astype(np.float32) for k, v in case.items() if k in LSTM_SEQUENCE_ARGS}
    rng = np.random.default_rng(240)
    B, T, D, H = 2, 6, 3, 5
    case = {"x": rng.standard_normal((B, T, D)), **_params(rng, D, H, 4)}
    yield (f"a random case without initial states (seed 240, B={B}, T={T}, D={D}, H={H}; h0 = c0 = None, "
           f"so both start at zero)", {**{k: v.astype(np.float32) for k, v in case.items()}, "h0": None, "c0": None})


def _lstm_states(x, Wx, Wh, b, h0, c0, **options):
    """Every h and the final c of _lstm_step (a known mistake switched on), in float64."""
    B, H = x.shape[0], Wh.shape[0]
    h = np.zeros((B, H)) if h0 is None else h0.astype(float)
    c = np.zeros((B, H)) if c0 is None else c0.astype(float)
    states = []
    for t in range(x.shape[1]):
        h, c = _lstm_step(x[:, t].astype(float), h, c, Wx.astype(float), Wh.astype(float), b.astype(float),
                          **options)
        states.append(h)
    return np.stack(states, axis=1), c


def _torch_lstm_mistakes(case):
    for cause, options in _lstm_mistakes():
        yield cause, lambda options=options: (_lstm_states(**case, **options)[0],)
    yield ("the bias is counted twice: nn.LSTMCell adds bias_ih and bias_hh, so put b into one of them "
           "and zeros into the other", lambda: (_lstm_states(**{**case, "b": 2 * case["b"]})[0],))
    if case["h0"] is not None:
        yield ("h0 and c0 are not used: the first step must start from the initial states given",
               lambda: (_lstm_states(**{**case, "h0": None, "c0": None})[0],))


def _torch_layout_hint(err):
    """Add the layouts to an error raised while loading weights (a size mismatch)."""
    from .convert import LAYOUTS
    lay = LAYOUTS[("torch", "lstm")]
    return GradingError(f"{err}\nYour parameters in the course's layout hold Wx (D, 4H), Wh (H, 4H) and b "
                        f"(4H,) as they are; nn.LSTMCell stores weight_ih (4H, D) = Wx.T, weight_hh (4H, H) = "
                        f"Wh.T and two biases whose sum is b ({lay.bias.replace('_l{k}', '')}), gate order "
                        f"{', '.join(lay.gates)}.")


def _loaded_torch_lstm(LSTM, D, H, p):
    """The student's LSTM(D, H), loaded with p through its load method."""
    module = run_student("LSTM(input_size, hidden_size)", LSTM, D, H, allowed=ADDING_ALLOWED)
    _no_framework_recurrence("your LSTM", module)
    if not callable(getattr(module, "load", None)):
        raise GradingError("your LSTM has no method load(Wx, Wh, b): write it, so that the check can give "
                           "your module the weights that lstm_ref uses.")
    try:
        with _torch().no_grad():
            run_student("LSTM.load", module.load, p["Wx"].copy(), p["Wh"].copy(), p["b"].copy())
    except GradingError as err:
        if isinstance(err.__cause__, RuntimeError):
            raise _torch_layout_hint(err) from err.__cause__
        raise
    return module


def _torch_forward(module, case):
    args = [_tensor(case["x"])] + ([_tensor(case["h0"]), _tensor(case["c0"])] if case["h0"] is not None else [])
    result = _run_module("LSTM.forward", module, *args)
    h, final = _outputs("LSTM.forward", result, 2, ("h", "(h_T, c_T)"))
    h_T, c_T = _outputs("LSTM.forward's final states", final, 2, ("h_T", "c_T"))
    return h, h_T, c_T


def _check_torch_lstm_case(LSTM, case):
    D, H = case["Wx"].shape[0], case["Wh"].shape[0]
    module = _loaded_torch_lstm(LSTM, D, H, case)
    h, h_T, c_T = (_numpy(what, v) for what, v in zip(("h", "h_T", "c_T"), _torch_forward(module, case)))
    h_ref, (hT_ref, cT_ref), _ = sequence.lstm_forward(**case)

    def compare():
        check_array("h (every hidden state)", h, h_ref, hint=SHAPE_HINTS["h"])
        check_array("h_T (final hidden state)", h_T, hT_ref)
        check_array("c_T (final cell state)", c_T, cT_ref)
    _explain(compare, (h,), _torch_lstm_mistakes(case), rtol=1e-4, atol=1e-5)


def check_torch_lstm(LSTM):
    """LSTM(input_size, hidden_size), a torch.nn.Module with load(Wx, Wh, b) taking the
    course's float32 weights and forward(x, h0=None, c0=None) -> (h, (h_T, c_T)): x (B, T, D),
    h0 and c0 (B, H) or None for zeros, h (B, T, H). Compared with lstm_ref.lstm_forward at the
    float32 tolerances, on sequences with and without initial states; torch.nn.LSTM refused."""
    for label, case in torch_lstm_cases():
        _case("your LSTM", label, lambda case=case: _check_torch_lstm_case(LSTM, case))


def check_torch_lstm_parameters(LSTM):
    """The module trains: its parameters are registered (4H(D + H + 1) numbers, or
    4H(D + H + 2) with nn.LSTMCell's two biases), every one of them receives a gradient, and
    autograd's gradients for the input and the initial states equal lstm_ref.lstm_backward's."""
    torch = _torch()
    label, case = list(torch_lstm_cases())[0]
    D, H = case["Wx"].shape[0], case["Wh"].shape[0]

    def body():
        module = _loaded_torch_lstm(LSTM, D, H, case)
        named = [(n, tuple(p.shape)) for n, p in module.named_parameters()]
        count = sum(int(np.prod(shape)) for _, shape in named)
        own, cell = 4 * H * (D + H + 1), 4 * H * (D + H + 2)
        if count not in (own, cell):
            listed = ", ".join(f"{n} {s}" for n, s in named) or "none"
            raise GradingError(
                f"your LSTM(D={D}, H={H}) has {count} trainable numbers (parameters: {listed}); an LSTM has "
                f"4H(D + H + 1) = {own}: Wx (D, 4H), Wh (H, 4H) and b (4H,) (or {cell} with nn.LSTMCell's two "
                f"biases). Weights must be torch.nn.Parameter attributes of the module (or of a submodule), "
                f"or the optimizer never sees them.")
        x, h0, c0 = (_tensor(case[k]).clone().requires_grad_() for k in ("x", "h0", "c0"))
        result = _run_module("LSTM.forward", module, x, h0, c0)
        h, final = _outputs("LSTM.forward", result, 2, ("h", "(h_T, c_T)"))
        _, c_T = _outputs("LSTM.forward's final states", final, 2, ("h_T", "c_T"))
        if not (isinstance(h, torch.Tensor) and h.requires_grad):
            raise GradingError("the h that your forward returns is not connected to the parameters (it does not "
                               "require a gradient): a forward that goes through NumPy, .detach() or "
                               "torch.no_grad() cuts autograd's graph, and nothing can be trained.")
        rng = np.random.default_rng(250)
        dh, dc = rng.standard_normal(h.shape).astype(np.float32), rng.standard_normal(c_T.shape).astype(np.float32)
        (h * _tensor(dh)).sum().add((c_T * _tensor(dc)).sum()).backward()
        missing = [n for n, p in module.named_parameters() if p.grad is None]
        if missing:
            raise GradingError(f"the parameters {', '.join(missing)} receive no gradient: forward does not use "
                               f"them, so training would never change them.")
        _, _, cache = sequence.lstm_forward(**case)
        ref = sequence.lstm_backward(dh, cache, dc_T=dc)
        for what, t, key in (("dx, the gradient with respect to x", x, "x"), ("dh0", h0, "h0"), ("dc0", c0, "c0")):
            if t.grad is None:
                raise GradingError(f"{what} is None: your forward does not use {key}.")
            check_array(f"autograd's {what}", t.grad.numpy(), ref[key])
    _case("your LSTM", label, body)


def check_adding_training(train_adding_model):
    """Run the student's train_adding_model() -> model once (their training, with their
    batches), and measure the model it returns with check_adding_model on held-out sequences
    that the training function never sees. The check trains nothing of its own. Returns the
    model."""
    model = run_student("train_adding_model", train_adding_model, allowed=ADDING_ALLOWED)
    check_adding_model(model)
    return model


def check_adding_model(model):
    """A trained model (x (N, ADDING_T, 2) float32 tensor -> (N, 1)) built on the student's
    LSTM, measured on ADDING_TEST_SIZE held-out sequences of the adding problem that the check
    draws itself (seed ADDING_TEST_SEED): its MSE must be at most ADDING_MARGIN times the
    trivial baseline lstm_ref.adding_baseline_mse. The check trains nothing; it prints the
    MSE, the baseline and their ratio."""
    from .tasks import adding_baseline_mse, adding_problem
    torch = _torch()
    if isinstance(model, tuple):
        raise GradingError("expected the trained model, got a tuple: return (or pass) the model itself.")
    _no_framework_recurrence("your model", model)
    x, y = adding_problem(ADDING_TEST_SIZE, ADDING_T, seed=ADDING_TEST_SEED, dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            pred = _numpy("your model's predictions", _run_module("your model", model, _tensor(x)))
    finally:
        model.train(was_training)
    _check_shape("your model's predictions", pred, y, f"One prediction per sequence: ({len(y)}, 1), like y.")
    _check_finite("your model's predictions", pred)
    mse = float(np.mean((pred - y) ** 2))
    baseline = adding_baseline_mse(ADDING_T)
    ratio = mse / baseline
    report = (f"held-out MSE {mse:.4f} on {len(y)} sequences of the adding problem (T = {ADDING_T}, "
              f"le2015, seed {ADDING_TEST_SEED}; drawn by the check); the trivial baseline, always "
              f"predicting the mean target 1.0, has MSE {baseline:.4f}: ratio {ratio:.3f}.")
    if ratio > ADDING_MARGIN:
        cause = ""
        if ratio > 0.8:
            cause = ("\nThat is about the baseline: the model predicts little more than the mean. Train for "
                     "more steps or with a larger learning rate, and start the forget-gate bias at 1.")
        elif 0.35 < ratio < 0.65:
            cause = ("\nThat is about half the baseline, what a model that remembers only one of the two marked "
                     "values gets (the error is then the other value's variance, 1/12): train for longer.")
        raise GradingError(f"{report}\nNeeded: at most {ADDING_MARGIN} times the baseline, i.e. MSE <= "
                           f"{ADDING_MARGIN * baseline:.4f}.{cause}")
    print(f"Passed: {report} Needed: at most {ADDING_MARGIN}.")


# --------------------------------------------------------- exercise 06: forecasting
#
# A real series that ships inside statsmodels (so nothing is downloaded): the CO2
# concentration at Mauna Loa, lstm_ref.datasets.co2_monthly.

FORECAST_LOOKBACK = 24          # months of history per window
FORECAST_VAL = 60               # the five years before the test period
FORECAST_TEST = 60              # the last five years, 1997-01 to 2001-12
SEASON = 12                     # months per seasonal cycle
# What a forecaster may use from lstm_ref: the NumPy training code of lstm_ref.train
# (Regressor, fit, Adam, clipping) and the LSTM it trains.
FORECASTER_ALLOWED = ("__init__", "fit", "predict", "loss_and_grads", "cell_params", "step",
                      "clip_by_global_norm", "init_lstm", "lstm_forward", "lstm_backward")


def _window_cases():
    rng = np.random.default_rng(1000)
    yield "the series 0, 1, ..., 9 (each value is its own index), lookback 3, horizon 1", np.arange(10.0), 3, 1
    yield "the series 0, 1, ..., 11, lookback 4, horizon 3", np.arange(12.0), 4, 3
    yield "a random series of 40 values (seed 1000), lookback 12, horizon 2", rng.standard_normal(40), 12, 2
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
    rng = np.random.default_rng(1001)
    yield ("a rising series 100 + 2t + noise of 30 values (seed 1001), n_val=6, n_test=4",
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
    parts = [_as_array(f"split_and_scale's {n}", p) for n, p in zip(("train", "val", "test"), (train, val, test))]
    return parts, float(mean), float(std)


def check_chronological_split(split_and_scale):
    """split_and_scale(series, n_val, n_test) -> (train, val, test, mean, std): train, val and
    test, read back with the returned scaler (part * std + mean), are the consecutive slices
    series[:n_train], series[n_train:n_train + n_val] and the last n_test values."""
    for label, series, n_val, n_test in _split_cases():
        def body(series=series, n_val=n_val, n_test=n_test):
            parts, mean, std = _split_result(split_and_scale, series, n_val, n_test)
            n_train = len(series) - n_val - n_test
            want = (n_train, n_val, n_test)
            got = tuple(p.size for p in parts)
            if got != want:
                raise GradingError(f"train, val and test have {got} values; expected (len(series) - n_val - "
                                   f"n_test, n_val, n_test) = {want}.")
            if not (np.isfinite(mean) and np.isfinite(std) and std > 0):
                raise GradingError(f"the scaler (mean {mean}, std {std}) cannot be undone: std must be a "
                                   f"positive number.")
            slices = (series[:n_train], series[n_train:n_train + n_val], series[n_train + n_val:])
            names = ("train", "val", "test")
            raw = [p.ravel() for p in parts]
            if all(np.allclose(r, s) for r, s in zip(raw, slices)) and not np.isclose(std, 1.0):
                raise GradingError("the three parts are the raw values, not scaled: return (part - mean) / std.")
            back = [r * std + mean for r in raw]
            try:
                for name, b, s in zip(names, back, slices):
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
            n_train = len(series) - n_val - n_test
            train = series[:n_train]
            want = np.array([train.mean(), train.std()])
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
            slices = (train, series[n_train:n_train + n_val], series[n_train + n_val:])
            for name, part, s in zip(("train", "val", "test"), parts, slices):
                check_array(f"the scaled {name} part", part.ravel() if part.size == s.size else part,
                            (s - want[0]) / want[1], hint="One scaled value per value of the part.")
        _case("split_and_scale", label, body)


def _baseline_cases(seasonal):
    rng = np.random.default_rng(1002)
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
            want = np.repeat(X[:, -1, :], h, axis=1)
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
            want = X[:, L - season:L - season + h, 0]
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


def forecasting_data():
    """The data of check_forecaster, made as the exercise asks: the monthly CO2 series split in
    time (train, then FORECAST_VAL validation months, then the last FORECAST_TEST test months),
    scaled with the training part's mean and std, cut into windows of FORECAST_LOOKBACK months
    that forecast the next month. A window belongs to the part its target month is in (its
    inputs may reach back into the part before: at that date they are known).
    Returns a dict: X_train (N, 24, 1), y_train (N, 1), X_val, y_val, X_test, y_test (scaled),
    mean and std (ppm), and test_dates, the months of the test targets."""
    s = co2_monthly()
    values = s.to_numpy()
    n_train = len(values) - FORECAST_VAL - FORECAST_TEST
    mean, std = values[:n_train].mean(), values[:n_train].std()
    X, y = windows((values - mean) / std, FORECAST_LOOKBACK, 1)
    target = np.arange(FORECAST_LOOKBACK, len(values))           # the month that window k forecasts
    parts = {"train": target < n_train, "val": (target >= n_train) & (target < n_train + FORECAST_VAL),
             "test": target >= n_train + FORECAST_VAL}
    data = {"mean": float(mean), "std": float(std), "test_dates": s.index[target[parts["test"]]]}
    for name, rows in parts.items():
        data[f"X_{name}"], data[f"y_{name}"] = X[rows], y[rows]
    return data


def check_forecaster(fit_forecaster):
    """fit_forecaster(X_train, y_train, X_val, y_val) -> forecast, a function X (N, 24, 1) ->
    (N, 1) of one-month-ahead forecasts (scaled units). The check makes the data itself
    (forecasting_data) and passes fit_forecaster only the training and validation windows, so
    fitting cannot see the test period; then it forecasts the test windows with the function
    returned, computes the MAE in ppm itself, and compares it with the last-value and seasonal
    naive baselines on the same windows. Passing needs an MAE below both. Prints the table and
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
    mae = float(np.mean(np.abs(ppm - truth)))
    baselines = {"last value": float(np.mean(np.abs(data["X_test"][:, -1] * std + mean - truth))),
                 "seasonal naive": float(np.mean(np.abs(data["X_test"][:, -SEASON] * std + mean - truth)))}
    dates = data["test_dates"]
    table = (f"One month ahead over the test period {dates[0]:%Y-%m} to {dates[-1]:%Y-%m} ({len(truth)} months), "
             f"fitted on {len(fit_args[0])} training and {len(fit_args[2])} validation windows only; MAE in ppm:\n"
             f"  {'your forecaster':15s} {mae:6.3f}\n" + "".join(f"  {k:15s} {v:6.3f}\n" for k, v in baselines.items()))
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
        raise GradingError(f"{table}Needed: an MAE below the better baseline ({best}, {baselines[best]:.3f} ppm)."
                           f"{cause}")
    print(f"Passed.\n{table.rstrip()}")
    return {"mae": mae, "baselines": baselines, "test_dates": dates, "forecast": ppm[:, 0], "truth": truth[:, 0]}

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

A backward check runs the student's own forward function to make the cache (its layout
is the student's business), checks that forward first, and only then the backward.
"""
import itertools
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import cells, gradcheck, probes, sequence
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


def check_gate_blocks(what, got, expected, order=LSTM_GATES, hint=""):
    """Compare a fused (..., kH) block gate by gate, naming the gates that differ.

    The last axis of expected holds the k = len(order) gate blocks side by side, H columns
    each (dWx (D, 4H), dWh (H, 4H), db (4H,) for the LSTM); indices in the messages are
    within the block.
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
        every = (" Every block differs, so look at what all gates share (the upstream gradient, "
                 "the rows it is multiplied with, a transpose) before any one gate's derivative."
                 if len(wrong) == len(order) else "")
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


def _not_implemented(name, fn, err):
    """Which function is still a stub: the student's fn itself, or one that it calls."""
    frames = traceback.extract_tb(err.__traceback__)
    inner = frames[-1].name if frames else name
    if inner not in (name, getattr(fn, "__name__", name), "<lambda>"):
        return (f"{name}: not implemented yet: it calls {inner}, which still raises "
                f"NotImplementedError. Write {inner} first.")
    return f"{name}: not implemented yet (it still raises NotImplementedError)"


def run_student(name, fn, *args, allowed=(), **kwargs):
    """Call the student's function; refuse the result if it delegated to lstm_ref.

    allowed: names of lstm_ref functions the exercise lets students use (e.g. "sigmoid").
    The student's own functions (defined in the notebook) are always theirs to call.
    """
    if not callable(fn):
        raise GradingError(f"{name}: expected a function, got {type(fn).__name__}")
    with _watch_reference_calls() as calls:
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

"""Checks of exercise 03: the LSTM backward pass (step and sequence), gradient checking, and
the backward step of a variant, the LSTM with peepholes.
"""
import numpy as np

from .. import cells, gradcheck, sequence
from ..gates import LSTM_GATES, gate_slices
from ..tolerances import FLOAT64, GRADCHECK_MAX_ABS, GRADCHECK_NORMWISE, GRADCHECK_STEP
from ..variants import lstm_variant_backward, lstm_variant_forward
from .core import (drawn, GradingError, RELATIVE_ONLY, SHAPE_HINTS, _DH_IN_PLACE_FIX, _as_array, _case,
                   _check_finite, _check_shape, _explain, _same, wrong_blocks, _forward_first, _outputs, _unchanged,
                   check_array, check_gate_blocks, long_sequence_case, run_student, sequence_cases,
                   step_cases, upstream)
from .lstm_cell import _check_states, _student_step
from .rnn import _bptt_mistakes

# ------------------------------------------------------- exercise 03: backpropagation

# Exercise 03 gives students the forward pass (lstm_ref's step, so that it does not show the
# answer of exercise 02): computing a forward step is not the work a backward check grades.
GIVEN_FORWARD = ("sigmoid", "lstm_step_forward")
LSTM_SEQUENCE_ARGS = ("x", "Wx", "Wh", "b", "h0", "c0")
LSTM_STEP_GRADS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")
WEIGHT_GRADS = ("dWx", "dWh", "db")


def _lstm_step_backward(dh_next, dc_next, cache, h_path=True, h_path_in_dc_prev=True,
                        sigmoid_slope=True, g_slope=True, do_tanh=True, db_rows="sum", tanh_slope_in_dc=True):
    """lstm_ref.cells.lstm_step_backward with a known mistake switched on (cache: the
    reference's layout). Returns (dx, dh_prev, dc_prev, dWx, dWh, db)."""
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, tanh_c = cache
    do = dh_next * (tanh_c if do_tanh else f * c_prev + i * g)
    dc = dc_next + ((dh_next * o * ((1 - tanh_c**2) if tanh_slope_in_dc else 1.0)) if h_path else 0.0)
    dc_prev = (dc if h_path_in_dc_prev else dc_next) * f
    slope = (lambda s: s * (1 - s)) if sigmoid_slope else (lambda s: 1 - s**2)
    blocks = {"i": dc * g * slope(i), "f": dc * c_prev * slope(f),
              "g": dc * i * ((1 - g**2) if g_slope else g * (1 - g)), "o": do * slope(o)}
    da = np.concatenate([blocks[name] for name in LSTM_GATES], axis=1)
    db = {"sum": da.sum(axis=0), "mean": da.mean(axis=0), "first": da[0]}[db_rows]
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, db


# The step backward's usual mistakes: (what is wrong, the option of _lstm_step_backward that makes it).
_LSTM_STEP_SLIPS = [
    ("dc misses the gradient that reaches c_next through h_next = o * tanh(c_next): "
     "dc = dc_next + dh_next * o * (1 - tanh(c_next)**2)", {"h_path": False}),
    ("the term that h_next adds to dc lacks tanh's slope: h_next = o * tanh(c_next), so it is "
     "dh_next * o * (1 - tanh(c_next)**2), not dh_next * o", {"tanh_slope_in_dc": False}),
    ("dc_prev = f * dc_next; c_next also reaches the loss through h_next, so with "
     "dc = dc_next + dh_next * o * (1 - tanh(c_next)**2), dc_prev = f * dc", {"h_path_in_dc_prev": False}),
    ("the sigmoid gates i, f, o use tanh's slope 1 - s**2; the sigmoid's slope is s * (1 - s)",
     {"sigmoid_slope": False}),
    ("the candidate g uses the sigmoid's slope g * (1 - g); g = tanh(a_g), whose slope is 1 - g**2",
     {"g_slope": False}),
    ("do = dh_next * c_next; h_next = o * tanh(c_next), so do = dh_next * tanh(c_next)",
     {"do_tanh": False}),
    ("db averages da over the batch; b is added to every row, so db sums them: "
     "db = da.sum(axis=0)", {"db_rows": "mean"}),
    ("db is the first row of da; b is added to every row of the batch, so db sums them: "
     "db = da.sum(axis=0)", {"db_rows": "first"}),
]


def _slips(catalogue, backward, pick):
    """(cause, function giving the outputs pick of backward(**options)) for each mistake of a
    catalogue of (cause, options) pairs: the mistakes that _explain compares an answer with."""
    for cause, options in catalogue:
        yield cause, lambda options=options: tuple(backward(**options)[k] for k in pick)


def _lstm_step_backward_mistakes(dh, dc, cache, outputs):
    pick = [LSTM_STEP_GRADS.index(n) for n in outputs]
    return _slips(_LSTM_STEP_SLIPS, lambda **o: _lstm_step_backward(dh, dc, cache, **o), pick)


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
            h, c, cache = _student_step(lstm_step_forward, case, allowed=GIVEN_FORWARD)
            _forward_first("lstm_step_forward", "lstm_step_backward", lambda: _check_states(h, c, h_ref, c_ref))
            expected = cells.lstm_step_backward(dh, dc, cache_ref)
            result = run_student("lstm_step_backward", lstm_step_backward, dh.copy(), dc.copy(), cache,
                                 allowed=GIVEN_FORWARD)
            got = _outputs("lstm_step_backward", result, 6, LSTM_STEP_GRADS)
            pick = [LSTM_STEP_GRADS.index(n) for n in outputs]
            got = tuple(got[k] for k in pick)
            _explain(lambda: _compare_gradients(outputs, got, [expected[k] for k in pick]), got,
                     _lstm_step_backward_mistakes(dh, dc, cache_ref, outputs),
                     note=lambda: _locate_step_error(lstm_step_backward, dh, dc, cache, cache_ref))
        _case("lstm_step_backward", label, body)


# What each gate block of da is, for saying where an error sits.
_DA = {"i": "da_i = dc * g * i * (1 - i)", "f": "da_f = dc * c_prev * f * (1 - f)",
       "g": "da_g = dc * i * (1 - g**2)", "o": "da_o = do * o * (1 - o), with do = dh_next * tanh(c_next)"}


def _locate_step_error(lstm_step_backward, dh, dc, cache, cache_ref):
    """Where a wrong step backward goes wrong, measured: which gate blocks of da are wrong
    (seen in dWx = x.T @ da), and which of the two incoming gradients leads to the error
    (the student's function run again with only dc_next, then only dh_next)."""
    def run(dh_in, dc_in):
        result = run_student("lstm_step_backward", lstm_step_backward, dh_in.copy(), dc_in.copy(), cache,
                             allowed=GIVEN_FORWARD)
        return _outputs("lstm_step_backward", result, 6, LSTM_STEP_GRADS), \
            cells.lstm_step_backward(dh_in, dc_in, cache_ref)
    try:
        got, expected = run(dh, dc)
        only_c, only_h = run(np.zeros_like(dh), dc), run(dh, np.zeros_like(dc))
    except GradingError:
        return ""
    if _same(got, expected, rtol=1e-5, atol=1e-7):
        return ""                       # right to single precision: check_array has said so
    lines = []
    blocks = wrong_blocks(got[3], expected[3], LSTM_GATES)
    c_ok, h_ok = _same(*only_c), _same(*only_h)
    if c_ok != h_ok:
        lines.append("with only dc_next flowing in (dh_next = 0) your gradients are "
                     f"{'right' if c_ok else 'wrong'}, and with only dh_next (dc_next = 0) they are "
                     f"{'right' if h_ok else 'wrong'}: the error is on a path that only "
                     f"{'dh_next' if c_ok else 'dc_next'} takes")
    if blocks == []:
        lines.append("dWx is right, so your da is right: the error is in what you make from it "
                     "(dx = da @ Wx.T, dh_prev = da @ Wh.T, db = da.sum(axis=0), "
                     "dc_prev = dc * f)")
    elif blocks:
        lines.append(f"dWx = x.T @ da shows that da is wrong in the gate block"
                     f"{'s' if len(blocks) > 1 else ''} {', '.join(blocks)}"
                     + (f" and right in {', '.join(g for g in LSTM_GATES if g not in blocks)}"
                        if len(blocks) < len(LSTM_GATES) else "")
                     + ": " + "; ".join(_DA[g] for g in blocks))
        if c_ok and not h_ok and set("ifg") <= set(blocks):
            lines.append("the gates that read dc (i, f, g) are wrong only when dh_next flows in: look "
                         "at the term that h_next = o * tanh(c_next) adds to dc, "
                         "dh_next * o * (1 - tanh(c_next)**2), with tanh's slope (tanh′) in it")
    return "Where the error sits: " + "; ".join(lines) + "." if lines else ""


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
    _forward_first("lstm_forward", "lstm_backward",
                   lambda: check_array("h (every hidden state)", h, h_ref, hint=SHAPE_HINTS["h"]))
    dh = case["dh"].copy()
    result = run_student("lstm_backward", lstm_backward, dh, cache, allowed=GIVEN_FORWARD)
    got = _outputs("lstm_backward", result, 6, names)
    if check_inputs:
        _unchanged("lstm_backward", "dh", case["dh"], dh, fix=_DH_IN_PLACE_FIX)
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
    rng = np.random.default_rng(drawn(700))
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
    rng = np.random.default_rng(drawn(800))
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




# ------------------------------------------------ exercise 03: a variant, peepholes

PEEPHOLE_STEP_GRADS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db", "dp_i", "dp_f", "dp_o")
PEEPHOLE_ARGS = ("x", "h_prev", "c_prev", "Wx", "Wh", "b", "p_i", "p_f", "p_o")
_PEEP_HINTS = {**SHAPE_HINTS, **{f"dp_{k}": f"dp_{k} is shaped like p_{k}, (H,): each unit's "
                                           f"peephole is shared by every row, so its gradient "
                                           f"sums over the batch." for k in "ifo"}}


def _peephole_case(case, seed):
    """A step case with peephole weights p_i, p_f, p_o (H,) drawn from seed."""
    rng = np.random.default_rng(drawn(seed))
    H = case["h_prev"].shape[1]
    return {**case, **{f"p_{k}": 0.5 * rng.standard_normal(H) for k in "ifo"}}


def _peephole_reference(case, dh, dc):
    """(h_next, c_next) and the nine step gradients of the peephole LSTM, from
    lstm_ref.variants run over a sequence of one step."""
    h, (_, c), cache = lstm_variant_forward(
        case["x"][:, None], case["Wx"], case["Wh"], case["b"], case["h_prev"], case["c_prev"],
        case["p_i"], case["p_f"], case["p_o"], variant="peephole")
    g = lstm_variant_backward(dh[:, None], cache, dc_T=dc)
    return (h[:, 0], c), (g["x"][:, 0], g["h0"], g["c0"], g["Wx"], g["Wh"], g["b"], g["p_i"], g["p_f"], g["p_o"])


def _peephole_backward(case, dh, dc, o_reads_new_c=True, o_peep_in_dc=True, peeps_in_dc_prev=True,
                       dp_o_from_c_prev=False):
    """The peephole step backward with a known mistake switched on. Returns the nine gradients."""
    x, h_prev, c_prev, Wx, Wh, b, p_i, p_f, p_o = (case[k] for k in PEEPHOLE_ARGS)
    s = gate_slices(LSTM_GATES, h_prev.shape[1])
    a = x @ Wx + h_prev @ Wh + b
    i = cells.sigmoid(a[:, s["i"]] + c_prev * p_i)
    f = cells.sigmoid(a[:, s["f"]] + c_prev * p_f)
    g = np.tanh(a[:, s["g"]])
    c = f * c_prev + i * g
    o = cells.sigmoid(a[:, s["o"]] + c * p_o)
    tanh_c = np.tanh(c)
    da_o = dh * tanh_c * o * (1 - o)
    dc = dc + dh * o * (1 - tanh_c**2) + (da_o * p_o if o_peep_in_dc else 0.0)
    da = {"i": dc * g * i * (1 - i), "f": dc * c_prev * f * (1 - f), "g": dc * i * (1 - g**2), "o": da_o}
    dc_prev = dc * f + ((da["i"] * p_i + da["f"] * p_f) if peeps_in_dc_prev else 0.0)
    da_all = np.concatenate([da[k] for k in LSTM_GATES], axis=1)
    return (da_all @ Wx.T, da_all @ Wh.T, dc_prev, x.T @ da_all, h_prev.T @ da_all, da_all.sum(axis=0),
            (da["i"] * c_prev).sum(axis=0), (da["f"] * c_prev).sum(axis=0),
            (da_o * (c_prev if dp_o_from_c_prev else c)).sum(axis=0))


# The peephole step backward's usual mistakes, as _LSTM_STEP_SLIPS.
_PEEPHOLE_SLIPS = [
    ("dc misses the path through the output gate's peephole: o = sigmoid(a_o + c_next * p_o) "
     "reads the new cell, so dc also gets da_o * p_o", {"o_peep_in_dc": False}),
    ("dc_prev misses the peepholes of i and f, which read c_prev: add da_i * p_i + da_f * p_f to "
     "f * dc", {"peeps_in_dc_prev": False}),
    ("dp_o uses c_prev; the output gate's peephole reads the new cell c_next (o is computed "
     "after it), so dp_o sums da_o * c_next over the batch", {"dp_o_from_c_prev": True}),
]


def _peephole_mistakes(case, dh, dc, pick):
    return _slips(_PEEPHOLE_SLIPS, lambda **o: _peephole_backward(case, dh, dc, **o), pick)


def check_peephole_step_backward(peephole_step_forward, peephole_step_backward, outputs=PEEPHOLE_STEP_GRADS):
    """peephole_step_backward(dh_next, dc_next, cache) -> (dx, dh_prev, dc_prev, dWx, dWh, db,
    dp_i, dp_f, dp_o) for the LSTM with peepholes (chapter 5: i and f read c_prev through
    p_i, p_f; o reads c_next through p_o; each p (H,)), with the cache of the notebook's
    peephole_step_forward(x, h_prev, c_prev, Wx, Wh, b, p_i, p_f, p_o) -> (h_next, c_next,
    cache), against lstm_ref.variants on one step. outputs: the gradients compared."""
    for label, case in step_cases(4):
        def body(case=_peephole_case(case, 800 + case["x"].shape[0])):
            dh, dc = upstream(case, seed=310)
            (h_ref, c_ref), expected = _peephole_reference(case, dh, dc)
            result = run_student("peephole_step_forward", peephole_step_forward,
                                 *(case[k].copy() for k in PEEPHOLE_ARGS), allowed=GIVEN_FORWARD)
            h, c, cache = _outputs("peephole_step_forward", result, 3, ("h_next", "c_next", "cache"))
            _forward_first("peephole_step_forward", "peephole_step_backward",
                           lambda: _check_states(h, c, h_ref, c_ref))
            result = run_student("peephole_step_backward", peephole_step_backward, dh.copy(), dc.copy(), cache,
                                 allowed=GIVEN_FORWARD)
            got = _outputs("peephole_step_backward", result, 9, PEEPHOLE_STEP_GRADS)
            pick = [PEEPHOLE_STEP_GRADS.index(n) for n in outputs]
            got = tuple(got[k] for k in pick)

            def compare():
                for name, g, e in zip(outputs, got, [expected[k] for k in pick]):
                    if name in WEIGHT_GRADS:
                        check_gate_blocks(name, g, e, hint=_PEEP_HINTS[name])
                    else:
                        check_array(name, g, e, hint=_PEEP_HINTS[name])
            _explain(compare, got, _peephole_mistakes(case, dh, dc, pick))
        _case("peephole_step_backward", label, body)

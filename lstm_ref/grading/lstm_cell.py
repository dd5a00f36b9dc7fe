"""Checks of exercise 02: the LSTM cell (a stable sigmoid, one LSTM step).
"""
import itertools

import numpy as np

from .. import cells
from ..gates import LSTM_GATES, gate_slices
from .core import (drawn, GradingError, _case, _explain, _outputs, _params, _unchanged, check_array,
                   run_student, step_cases)

# ------------------------------------------------------------ exercise 02: the LSTM cell

LSTM_STEP_ARGS = ("x", "h_prev", "c_prev", "Wx", "Wh", "b")
_STEP_OUTPUTS = ("h_next", "c_next", "cache")


def _student_step(lstm_step_forward, case, allowed=("sigmoid",)):
    """The student's (h_next, c_next, cache) for a step case, called with copies."""
    result = run_student("lstm_step_forward", lstm_step_forward,
                         *(case[k].copy() for k in LSTM_STEP_ARGS), allowed=allowed)
    return _outputs("lstm_step_forward", result, 3, _STEP_OUTPUTS)


def _check_states(h, c, h_ref, c_ref):
    """A step's new states against the reference's, c_next first (h_next is made from it)."""
    check_array("c_next", c, c_ref)
    check_array("h_next", h, h_ref)


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
    """lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b) -> (h_next, c_next, cache): x (B, D),
    h_prev and c_prev (B, H), Wx (D, 4H), Wh (H, 4H), b (4H,), gate blocks i, f, g, o;
    h_next and c_next (B, H). A wrong h_next is compared with the known mistakes (gate
    order, activations, a missing gate) to name the likely cause."""
    for label, case in step_cases(4):
        def body(case=case):
            h_ref, c_ref, _ = cells.lstm_step_forward(**case)
            h, c, _ = _student_step(lstm_step_forward, case)
            _explain(lambda: _check_states(h, c, h_ref, c_ref), (h,), [
                (cause, lambda options=options: (_lstm_step(**case, **options)[0],))
                for cause, options in _lstm_mistakes()])
        _case("lstm_step_forward", label, body)


def check_lstm_step_rollout(lstm_step_forward, T=20):
    """Chain T steps of the student's lstm_step_forward, in float64 and float32: every
    state matches the reference at the tolerance of its dtype, and no input is modified."""
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(drawn(400))
        B, D, H = 3, 4, 5
        x = rng.standard_normal((B, T, D)).astype(dtype)
        p = {k: v.astype(dtype) for k, v in _params(rng, D, H, 4).items()}
        # Two arrays, not one: a change to c_prev in place must not show as one to h_prev.
        h, c = np.zeros((B, H), dtype), np.zeros((B, H), dtype)
        h_ref, c_ref = h, c
        for t in range(T):
            args = dict(zip(LSTM_STEP_ARGS, (x[:, t], h, c, p["Wx"], p["Wh"], p["b"])))
            before = {k: a.copy() for k, a in args.items()}
            result = run_student("lstm_step_forward", lstm_step_forward, *args.values(), allowed=("sigmoid",))
            for k in LSTM_STEP_ARGS:
                _unchanged("lstm_step_forward", k, before[k], args[k],
                           fix="compute new arrays instead (e.g. c_next = f * c_prev + i * g)")
            h, c, _ = _outputs("lstm_step_forward", result, 3, _STEP_OUTPUTS)
            h_ref, c_ref, _ = cells.lstm_step_forward(x[:, t], h_ref, c_ref, **p)
            where = f"lstm_step_forward chained over {T} steps in {np.dtype(dtype).name}, at step {t}"
            _case(where, f"a random case (seed {drawn(400)}, B=3, D=4, H=5)", lambda: _check_states(h, c, h_ref, c_ref))
            if np.asarray(h).dtype != dtype:
                raise GradingError(f"{where}: h_next has dtype {np.asarray(h).dtype}; a {np.dtype(dtype).name} "
                                   f"input should give a {np.dtype(dtype).name} result")
            h, c = np.asarray(h), np.asarray(c)


def check_lstm_step_shapes(lstm_step_forward):
    """Only the form of the answer: a 3-tuple whose h_next and c_next are (B, H) arrays."""
    for label, case in step_cases(4):
        h, c, _ = _student_step(lstm_step_forward, case)
        for name, got in (("h_next", h), ("c_next", c)):
            shape = np.shape(got)
            if shape != case["h_prev"].shape:
                raise GradingError(f"lstm_step_forward, on {label}: {name} has shape {shape}, "
                                   f"expected (B, H) = {case['h_prev'].shape}")



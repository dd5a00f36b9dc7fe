"""Checks of exercise 01: the RNN step and sequence, their backward pass, the gradient by lag.
"""
import numpy as np

from .. import cells, probes, sequence
from .core import (RELATIVE_ONLY, SHAPE_HINTS, _DH_IN_PLACE_FIX, _case, _explain, _forward_first,
                   _outputs, _unchanged, check_array, long_sequence_case, run_student, sequence_cases,
                   step_cases, unit_rows, upstream)

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
        h = _rnn_step(x[:, t], h0 if from_h0 else h, Wx, Wh, b)
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
    _forward_first("rnn_forward", "rnn_backward",
                   lambda: check_array("h (every hidden state)", h, h_ref, hint=SHAPE_HINTS["h"]))
    dh = case["dh"].copy()
    got = _outputs("rnn_backward", run_student("rnn_backward", rnn_backward, dh, cache), 5, names)
    if check_inputs:
        _unchanged("rnn_backward", "dh", case["dh"], dh, fix=_DH_IN_PLACE_FIX)
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



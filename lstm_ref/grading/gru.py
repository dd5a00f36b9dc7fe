"""Checks of exercise 07: the GRU from its equations (the reset-after form of PyTorch and
Keras), one step forward and backward, then backpropagation through a sequence.
"""
import itertools

import numpy as np

from .. import cells, sequence
from ..gates import GRU_GATES, gate_slices
from .core import (SHAPE_HINTS, GradingError, _DH_IN_PLACE_FIX, _case, _explain, _forward_first,
                   _outputs, _same, wrong_blocks, _unchanged, check_array, check_gate_blocks, long_sequence_case,
                   run_student, sequence_cases, step_cases, upstream)
from .rnn import _bptt_mistakes

# ------------------------------------------------------------------ exercise 07: the GRU

GRU_STEP_ARGS = ("x", "h_prev", "Wx", "Wh", "bx", "bh")
GRU_SEQUENCE_ARGS = ("x", "Wx", "Wh", "bx", "bh", "h0")
GRU_STEP_GRADS = ("dx", "dh_prev", "dWx", "dWh", "dbx", "dbh")
GRU_SEQUENCE_GRADS = ("dx", "dh0", "dWx", "dWh", "dbx", "dbh")
_WEIGHTS = ("dWx", "dWh", "dbx", "dbh")
GRU_ALLOWED = ("sigmoid",)
_HINTS = {**SHAPE_HINTS, "dbx": "dbx is shaped like bx, (3H,).", "dbh": "dbh is shaped like bh, (3H,)."}


def _gru_case(case):
    """A GRU case from a step or sequence case of a 3-gate cell: its b becomes bx, and bh is
    drawn from the same numbers reversed and halved (so that the two biases differ)."""
    out = {k: v for k, v in case.items() if k not in ("b", "c_prev", "c0")}
    out["bx"], out["bh"] = case["b"], case["b"][::-1] * 0.5
    return out


def _gru_step(x, h_prev, Wx, Wh, bx, bh, order=GRU_GATES, reset_after=True, swap_z=False,
              bias_outside=False):
    """The GRU step with a known mistake switched on. Returns h_next."""
    s = gate_slices(order, Wh.shape[0])
    ax, ah = x @ Wx + bx, h_prev @ Wh + bh
    r = cells.sigmoid(ax[:, s["r"]] + ah[:, s["r"]])
    z = cells.sigmoid(ax[:, s["z"]] + ah[:, s["z"]])
    if not reset_after:
        rec = (r * h_prev) @ Wh[:, s["n"]] + bh[s["n"]]
    elif bias_outside:
        rec = r * (h_prev @ Wh[:, s["n"]]) + bh[s["n"]]
    else:
        rec = r * ah[:, s["n"]]
    n = np.tanh(ax[:, s["n"]] + rec)
    return z * n + (1 - z) * h_prev if swap_z else (1 - z) * n + z * h_prev


def _gru_mistakes():
    for perm in itertools.permutations(GRU_GATES):
        if perm != GRU_GATES:
            yield (f"you read the gate blocks in the order {', '.join(perm)}; the course's order is "
                   f"{', '.join(GRU_GATES)} (lstm_ref.GRU_GATES)", {"order": perm})
    yield ("z and 1 - z are swapped: h_next = (1 - z) * n + z * h_prev keeps the old state where "
           "z is near 1"), {"swap_z": True}
    yield ("the reset gate multiplies h_prev before the product (Cho et al.'s original, Keras' "
           "reset_after=False); the exercise asks for the reset-after form: r * (h_prev @ Wh_n + bh_n)"), \
        {"reset_after": False}
    yield "bh_n is added outside the reset gate; in the reset-after form it is inside: r * (h_prev @ Wh_n + bh_n)", \
        {"bias_outside": True}


def _student_step(gru_step_forward, case):
    result = run_student("gru_step_forward", gru_step_forward, *(case[k].copy() for k in GRU_STEP_ARGS),
                         allowed=GRU_ALLOWED)
    return _outputs("gru_step_forward", result, 2, ("h_next", "cache"))


def check_gru_step_forward(gru_step_forward):
    """gru_step_forward(x, h_prev, Wx, Wh, bx, bh) -> (h_next, cache): x (B, D), h_prev (B, H),
    Wx (D, 3H), Wh (H, 3H), bx and bh (3H,), gate blocks r, z, n, reset-after; h_next (B, H).
    A wrong h_next is compared with the known mistakes (gate order, z swapped, the reset
    before the product, bh_n outside the reset) to name the likely cause."""
    for label, case in step_cases(3):
        def body(case=_gru_case(case)):
            h_ref, _ = cells.gru_step_forward(**case)
            h, _ = _student_step(gru_step_forward, case)
            _explain(lambda: check_array("h_next", h, h_ref, hint="h_next is shaped like h_prev, (B, H)."),
                     (h,), [(cause, lambda options=options: (_gru_step(**case, **options),))
                            for cause, options in _gru_mistakes()])
        _case("gru_step_forward", label, body)


def _gru_step_backward(dh_next, cache, z_sign=True, r_in_dh=True, sigmoid_slope=True, tanh_slope=True,
                       direct=True):
    """lstm_ref.cells.gru_step_backward (reset-after) with a known mistake switched on
    (cache: the reference's layout). Returns (dx, dh_prev, dWx, dWh, dbx, dbh)."""
    x, h_prev, Wx, Wh, r, z, n, hn, _ = cache
    s = gate_slices(GRU_GATES, Wh.shape[0])
    dn = dh_next * (1 - z)
    dz = dh_next * ((h_prev - n) if z_sign else (n - h_prev))
    da_n = dn * ((1 - n**2) if tanh_slope else n * (1 - n))
    dr = da_n * hn
    slope = (lambda g: g * (1 - g)) if sigmoid_slope else (lambda g: 1 - g**2)
    dax = np.concatenate([{"r": dr * slope(r), "z": dz * slope(z), "n": da_n}[k] for k in GRU_GATES], axis=1)
    dah = dax.copy()
    dah[:, s["n"]] = da_n * (r if r_in_dh else 1.0)
    dh_prev = (dh_next * z if direct else 0.0) + dah @ Wh.T
    return dax @ Wx.T, dh_prev, x.T @ dax, h_prev.T @ dah, dax.sum(axis=0), dah.sum(axis=0)


def _backward_mistakes(dh, cache, pick):
    for cause, options in [
            ("dz has the wrong sign: h_next = (1 - z) * n + z * h_prev, so dz = dh_next * (h_prev - n)",
             {"z_sign": False}),
            ("the candidate's recurrent part is r * (h_prev @ Wh_n + bh_n): its gradient (for dWh_n, dbh_n "
             "and dh_prev) is multiplied by r", {"r_in_dh": False}),
            ("the gates r and z use tanh's slope 1 - s**2; the sigmoid's slope is s * (1 - s)",
             {"sigmoid_slope": False}),
            ("the candidate n uses the sigmoid's slope n * (1 - n); n = tanh(...), whose slope is 1 - n**2",
             {"tanh_slope": False}),
            ("dh_prev misses the direct path: h_next = (1 - z) * n + z * h_prev uses h_prev itself, so "
             "dh_prev = dh_next * z + (the gradients through the gates and the candidate)", {"direct": False})]:
        yield cause, lambda options=options: tuple(_gru_step_backward(dh, cache, **options)[k] for k in pick)


def _compare(names, got, expected):
    for name, g, e in zip(names, got, expected):
        if name in _WEIGHTS:
            check_gate_blocks(name, g, e, order=GRU_GATES, hint=_HINTS[name])
        else:
            check_array(name, g, e, hint=_HINTS.get(name, ""))


def check_gru_step_backward(gru_step_forward, gru_step_backward, outputs=GRU_STEP_GRADS):
    """gru_step_backward(dh_next, cache) -> (dx, dh_prev, dWx, dWh, dbx, dbh), with the
    student's own forward making the cache. outputs: the gradients compared (all six by
    default); the weight and bias gradients gate block by gate block (r, z, n)."""
    for label, case in step_cases(3):
        def body(case=_gru_case(case)):
            dh, _ = upstream({"h_prev": case["h_prev"]})
            h_ref, cache_ref = cells.gru_step_forward(**case)
            h, cache = _student_step(gru_step_forward, case)
            _forward_first("gru_step_forward", "gru_step_backward", lambda: check_array("h_next", h, h_ref))
            expected = cells.gru_step_backward(dh, cache_ref)
            result = run_student("gru_step_backward", gru_step_backward, dh.copy(), cache, allowed=GRU_ALLOWED)
            got = _outputs("gru_step_backward", result, 6, GRU_STEP_GRADS)
            pick = [GRU_STEP_GRADS.index(n) for n in outputs]
            got = tuple(got[k] for k in pick)
            _explain(lambda: _compare(outputs, got, [expected[k] for k in pick]), got,
                     _backward_mistakes(dh, cache_ref, pick),
                     note=lambda: _locate_step_error(gru_step_backward, dh, cache, cache_ref))
        _case("gru_step_backward", label, body)


# What each block of the two pre-activation gradients is, for saying where an error sits.
_DAX = {"r": "dax_r = dr * r * (1 - r), with dr = d_pre_n * ah_n",
        "z": "dax_z = dz * z * (1 - z), with dz = dh_next * (h_prev - n)",
        "n": "dax_n = d_pre_n = dh_next * (1 - z) * (1 - n**2)"}


def _locate_step_error(gru_step_backward, dh, cache, cache_ref):
    """Where a wrong GRU step backward goes wrong, measured: which blocks of dax (seen in
    dWx = x.T @ dax) and of dah (seen in dWh = h_prev.T @ dah) are wrong."""
    try:
        result = run_student("gru_step_backward", gru_step_backward, dh.copy(), cache, allowed=GRU_ALLOWED)
        got = _outputs("gru_step_backward", result, 6, GRU_STEP_GRADS)
    except GradingError:
        return ""
    expected = cells.gru_step_backward(dh, cache_ref)
    if _same(got, expected, rtol=1e-5, atol=1e-7):
        return ""                       # right to single precision: check_array has said so
    x_blocks = wrong_blocks(got[2], expected[2], GRU_GATES)
    h_blocks = wrong_blocks(got[3], expected[3], GRU_GATES)
    if x_blocks is None or h_blocks is None:
        return ""
    if not x_blocks and not h_blocks:
        return ("Where the error sits: dWx and dWh are right, so your dax and dah are right: the "
                "error is in what you make from them (dx = dax @ Wx.T, dbx and dbh their sums over "
                "the rows, dh_prev = dh_next * z + dah @ Wh.T with its direct path).")
    lines = []
    if x_blocks:
        lines.append(f"dWx = x.T @ dax shows that dax is wrong in the block{'s' if len(x_blocks) > 1 else ''} "
                     f"{', '.join(x_blocks)}: " + "; ".join(_DAX[g] for g in x_blocks))
    if h_blocks and h_blocks != x_blocks:
        extra = [g for g in h_blocks if g not in x_blocks]
        lines.append(f"dWh = h_prev.T @ dah is wrong in {', '.join(h_blocks)}"
                     + (f" where dax is right ({', '.join(extra)}): dah equals dax in the r and z blocks, "
                        f"and dah_n = dax_n * r, since the reset gate multiplies h_prev @ Wh_n + bh_n"
                        if extra else ""))
    return "Where the error sits: " + "; ".join(lines) + "."



def _gru_bptt(x, Wx, Wh, bx, bh, h0, dh, carry=True, every_step=True, accumulate=True):
    """Backpropagation through time of the GRU with the reference's step functions, with a
    known mistake switched on. Returns (dx, dh0, dWx, dWh, dbx, dbh)."""
    T = x.shape[1]
    h, caches = h0, []
    for t in range(T):
        h, cache = cells.gru_step_forward(x[:, t], h, Wx, Wh, bx, bh)
        caches.append(cache)
    dx, grads, dh_carried = np.zeros_like(x), [0.0] * 4, np.zeros_like(h0)
    for t in reversed(range(T)):
        g = (dh[:, t] if every_step or t == T - 1 else 0.0) + (dh_carried if carry else 0.0)
        dx[:, t], dh_carried, *step = cells.gru_step_backward(g + np.zeros_like(h0), caches[t])
        grads = [a + b for a, b in zip(grads, step)] if accumulate else step
    return (dx, dh_carried, *grads)


def _check_backward_case(gru_forward, gru_backward, case, check_inputs=False):
    args = {k: case[k] for k in GRU_SEQUENCE_ARGS}
    h_ref, _, cache_ref = sequence.gru_forward(**args)
    passed = {k: v.copy() for k, v in args.items()}
    result = run_student("gru_forward", gru_forward, *passed.values(), allowed=GRU_ALLOWED)
    h, cache = _outputs("gru_forward", result, 2, ("h", "cache"))
    _forward_first("gru_forward", "gru_backward", lambda: check_array("h (every hidden state)", h, h_ref,
                                                                       hint=SHAPE_HINTS["h"]))
    dh = case["dh"].copy()
    got = _outputs("gru_backward", run_student("gru_backward", gru_backward, dh, cache, allowed=GRU_ALLOWED),
                   6, GRU_SEQUENCE_GRADS)
    if check_inputs:
        _unchanged("gru_backward", "dh", case["dh"], dh, fix=_DH_IN_PLACE_FIX)
        for k in args:
            _unchanged("gru_forward and gru_backward", k, args[k], passed[k])
    e = sequence.gru_backward(case["dh"], cache_ref)
    _explain(lambda: _compare(GRU_SEQUENCE_GRADS, got, [e[k] for k in ("x", "h0", "Wx", "Wh", "bx", "bh")]),
             got, _bptt_mistakes(_gru_bptt, args, case["dh"]),
             note="If your gru_backward calls your gru_step_backward, make sure that one passes its own "
                  "tests first.")


def check_gru_backward(gru_forward, gru_backward):
    """gru_forward(x, Wx, Wh, bx, bh, h0) -> (h, cache), h (B, T, H) every state; and
    gru_backward(dh, cache) -> (dx, dh0, dWx, dWh, dbx, dbh) for a loss whose gradient with
    respect to every state is dh (B, T, H): against lstm_ref on three random sequences."""
    for label, case in sequence_cases(3):
        _case("gru_backward", label, lambda case=_gru_case(case): _check_backward_case(gru_forward, gru_backward, case))


def check_gru_backward_many_to_one(gru_forward, gru_backward):
    """A loss that reads only h_T, on sequences of 25 and 50 steps: every gradient against
    lstm_ref, and no argument changed in place."""
    for T in (25, 50):
        label, case = long_sequence_case(3, T, 0.9, seed=650 + T)
        _case("gru_backward", label, lambda case=_gru_case(case): _check_backward_case(
            gru_forward, gru_backward, case, check_inputs=True))


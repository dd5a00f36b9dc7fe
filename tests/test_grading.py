"""The autograder's checks pass correct work, and fail wrong work with a message that
names what is wrong."""
import numpy as np
import pytest

import lstm_ref as L
from lstm_ref import grading as G


def sigmoid(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def lstm_step(x, h, c, Wx, Wh, b, order="ifgo"):
    """A student's correct solution, written without lstm_ref (order: how it reads the blocks)."""
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    block = {name: a[:, k * H:(k + 1) * H] for k, name in enumerate(order)}
    i, f, o = sigmoid(block["i"]), sigmoid(block["f"]), sigmoid(block["o"])
    c_next = f * c + i * np.tanh(block["g"])
    return o * np.tanh(c_next), c_next, (x, h, c, Wx, Wh, b)


def fails(check, fn, *fragments):
    with pytest.raises(G.GradingError) as err:
        check(fn)
    for fragment in fragments:
        assert fragment in str(err.value), f"{fragment!r} not in:\n{err.value}"


def test_correct_work_passes():
    G.check_lstm_step_forward(lstm_step)
    G.check_sigmoid(sigmoid)
    G.check_rnn_step_forward(lambda x, h, Wx, Wh, b: (np.tanh(x @ Wx + h @ Wh + b), None))


def test_wrong_gate_order_is_named():
    fails(G.check_lstm_step_forward, lambda *a: lstm_step(*a, order="ifog"),
          "hand-made case", "wrong values", "At index", "Likely cause: you read the gate blocks in "
          "the order i, f, o, g")


def test_missing_tanh_is_named():
    def no_tanh(x, h, c, Wx, Wh, b):
        h_next, c_next, cache = lstm_step(x, h, c, Wx, Wh, b)
        return h_next / np.tanh(c_next) * c_next, c_next, cache
    fails(G.check_lstm_step_forward, no_tanh, "h_next: wrong values", "o * tanh(c_next)")


def test_delegating_to_the_reference_earns_nothing():
    fails(G.check_lstm_step_forward, L.lstm_step_forward,
          "calls lstm_ref.cells.lstm_step_forward", "earns no points")
    fails(G.check_lstm_step_forward, lambda *a: L.cells.lstm_step_forward(*a), "lstm_ref.cells.lstm_step_forward")


def test_shapes_none_nan_and_stubs():
    fails(G.check_lstm_step_forward, lambda *a: (None, None, None), "returned None", "return")
    def wrong_shape(*args):
        h_next, c_next, cache = lstm_step(*args)
        return h_next[:, :1], c_next, cache
    fails(G.check_lstm_step_forward, wrong_shape, "h_next: wrong shape. Expected (2, 2), got (2, 1)")
    def nan(*args):
        h_next, c_next, cache = lstm_step(*args)
        return h_next * np.nan, c_next, cache
    fails(G.check_lstm_step_forward, nan, "h_next: 4 of 4 entries are NaN or inf")

    def stub(*args):
        raise NotImplementedError
    fails(G.check_lstm_step_forward, stub, "not implemented yet")
    fails(G.check_lstm_step_forward, lambda *a: 3, "expected a tuple of 3 values")


def test_sigmoid_checks():
    fails(G.check_sigmoid, lambda x: 1 / (1 + np.exp(-x)), "overflows")
    fails(G.check_sigmoid, lambda x: sigmoid(x).astype(np.float64), "float32")
    fails(G.check_sigmoid, np.tanh, "sigmoid(x): wrong values")


def test_gate_blocks_name_the_gate():
    expected = np.arange(8.0).reshape(1, 8)
    got = expected.copy()
    got[0, 5] += 1
    with pytest.raises(G.GradingError, match=r"1 of 4 gate blocks differ(?s:.*)gate g"):
        G.check_gate_blocks("a", got, expected)


def test_tolerance_is_the_packages_own():
    """A correct float64 answer off by ~1e-14 (a different summation order) passes."""
    G.check_array("h", np.array([1.0 + 1e-14, 1e-13]), np.array([1.0, 0.0]))
    with pytest.raises(G.GradingError, match="absolute error 1.00e-09"):
        G.check_array("h", np.array([1.0 + 1e-9]), np.array([1.0]))


# ------------------------------------------------ exercise 01: the RNN, by an independent hand

def rnn_step(x, h, Wx, Wh, b):
    h_next = np.tanh(x @ Wx + h @ Wh + b)
    return h_next, (x, h, Wx, Wh, h_next)


def rnn_seq(x, Wx, Wh, b, h0):
    h, states, caches = h0, [], []
    for t in range(x.shape[1]):
        h, c = rnn_step(x[:, t], h, Wx, Wh, b)
        states.append(h)
        caches.append(c)
    return np.stack(states, axis=1), h, caches


def rnn_step_back(dh, cache, slope=True):
    x, h_prev, Wx, Wh, h_next = cache
    da = dh * (1 - h_next**2) if slope else dh
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def rnn_back(dh, cache, carry=True, accumulate=True, in_place=False):
    B, T, H = dh.shape
    Wx, Wh = cache[0][2], cache[0][3]
    dx, dWx, dWh, db = np.zeros((B, T, Wx.shape[0])), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    carried = np.zeros((B, H))
    for t in reversed(range(T)):
        if in_place:
            dh[:, t] += carried
            g = dh[:, t]
        else:
            g = dh[:, t] + (carried if carry else 0)
        dx[:, t], carried, a, b_, c = rnn_step_back(g, cache[t])
        if accumulate:
            dWx, dWh, db = dWx + a, dWh + b_, db + c
        else:
            dWx, dWh, db = a, b_, c
    return dx, carried, dWx, dWh, db


def by_lag(x, Wx, Wh, b, u, order=1, slope=True, reduce="mean"):
    T = x.shape[1]
    _, _, caches = rnn_seq(x, Wx, Wh, b, np.zeros_like(u))
    out, g = [], u
    for t in reversed(range(T)):
        rows = np.linalg.norm(g, axis=1)
        out.append({"mean": rows.mean(), "sum": rows.sum(), "whole": np.linalg.norm(g)}[reduce])
        _, g, *_ = rnn_step_back(g, caches[t], slope=slope)
    return np.array(out[::order])


def test_rnn_checks_pass_correct_work():
    G.check_rnn_step_forward(rnn_step)
    G.check_rnn_forward(rnn_seq)
    G.check_rnn_step_backward(rnn_step, rnn_step_back)
    G.check_rnn_backward(rnn_seq, rnn_back)
    G.check_rnn_backward_many_to_one(rnn_seq, rnn_back)
    G.check_gradient_by_lag(by_lag)
    G.check_gradient_by_lag_long(by_lag)


def test_rnn_forward_mistakes_are_named():
    fails(G.check_rnn_step_forward, lambda x, h, Wx, Wh, b: (x @ Wx + h @ Wh + b, None),
          "h_next: wrong values", "Likely cause: h_next has no tanh")
    fails(G.check_rnn_step_forward, lambda x, h, Wx, Wh, b: rnn_step(x, h, Wx, Wh.T, b),
          "Likely cause: h_prev @ Wh.T is used")
    fails(G.check_rnn_forward, lambda x, Wx, Wh, b, h0: rnn_seq(x, Wx, Wh, b, 0 * h0),
          "h (every hidden state): wrong values", "Likely cause: h0 is not used")

    def time_major(*args):
        h, h_T, cache = rnn_seq(*args)
        return h.transpose(1, 0, 2), h_T, cache
    fails(G.check_rnn_forward, time_major, "Expected (2, 5, 4), got (5, 2, 4)", "two axes swapped")


def test_rnn_step_backward_mistakes_are_named():
    check = lambda bwd: G.check_rnn_step_backward(rnn_step, bwd)
    fails(check, lambda dh, cache: rnn_step_back(dh, cache, slope=False),
          "rnn_step_backward, on the hand-made case", "dx: wrong values", "absolute error",
          "Likely cause: the gradient is not multiplied by the slope of tanh")

    def transposed_dWx(dh, cache):
        dx, dh_prev, dWx, dWh, db = rnn_step_back(dh, cache)
        return dx, dh_prev, dWx.T, dWh, db
    fails(check, transposed_dWx, "dWx: wrong shape. Expected (3, 2), got (2, 3)", "dWx is shaped like Wx")

    def no_batch_sum(dh, cache):
        dx, dh_prev, dWx, dWh, _ = rnn_step_back(dh, cache)
        return dx, dh_prev, dWx, dWh, dh * (1 - cache[4]**2)
    fails(check, no_batch_sum, "db: wrong shape", "sums over those rows")

    def untransposed(dh, cache):
        x, h_prev, Wx, Wh, h_next = cache
        dx, _, dWx, dWh, db = rnn_step_back(dh, cache)
        return dx, dh * (1 - h_next**2) @ Wh, dWx, dWh, db
    fails(check, untransposed, "dh_prev: wrong values", "Likely cause: dh_prev = da @ Wh")
    # A wrong forward is reported as the forward's fault.
    fails(lambda bwd: G.check_rnn_step_backward(lambda *a: (np.zeros((2, 2)), None), bwd), rnn_step_back,
          "rnn_step_backward is checked with the cache that your rnn_step_forward makes",
          "rnn_step_forward is not right yet")


def test_rnn_backward_mistakes_are_named():
    check = lambda bwd: G.check_rnn_backward(rnn_seq, bwd)
    fails(check, lambda dh, cache: rnn_back(dh, cache, carry=False),
          "dx: wrong values", "Likely cause: the gradient carried back from step t+1 is not added")
    fails(check, lambda dh, cache: rnn_back(dh, cache, accumulate=False),
          "dWx: wrong values", "Likely cause: the weight gradients are those of a single step")
    # Adding into the caller's dh gives the right numbers once, but the hidden check catches it.
    G.check_rnn_backward(rnn_seq, lambda dh, cache: rnn_back(dh, cache, in_place=True))
    fails(lambda bwd: G.check_rnn_backward_many_to_one(rnn_seq, bwd),
          lambda dh, cache: rnn_back(dh, cache, in_place=True), "changed its argument dh in place")


def test_gradient_by_lag_mistakes_are_named():
    fails(G.check_gradient_by_lag, lambda *a: by_lag(*a, order=-1),
          "gradient norm by lag: wrong values", "Likely cause: the array is in time order")
    fails(G.check_gradient_by_lag, lambda *a: by_lag(*a, reduce="whole"),
          "Likely cause: the norm is taken of the whole (B, H) gradient")
    fails(G.check_gradient_by_lag, lambda *a: by_lag(*a, slope=False),
          "Likely cause: the gradient is not multiplied by tanh's slope")
    fails(G.check_gradient_by_lag, lambda *a: np.append(by_lag(*a), 0.0),
          "wrong shape. Expected (5,), got (6,)", "T = 5 entries")
    # Right to ~1e-6 at every lag passes the visible test but not the relative hidden one,
    # where the smallest norms are 1e-23.
    G.check_gradient_by_lag(lambda *a: by_lag(*a) + 1e-13)
    fails(G.check_gradient_by_lag_long, lambda *a: by_lag(*a) + 1e-13,
          "a long sequence", "relative only")


def test_rnn_delegation_earns_nothing():
    fails(G.check_rnn_forward, lambda x, Wx, Wh, b, h0: L.rnn_forward(x, Wx, Wh, b, h0),
          "calls lstm_ref.sequence.rnn_forward", "earns no points")

    def loop_over_reference_step(x, Wx, Wh, b, h0):
        h, states = h0, []
        for t in range(x.shape[1]):
            h, _ = L.rnn_step_forward(x[:, t], h, Wx, Wh, b)
            states.append(h)
        return np.stack(states, axis=1), h, None
    fails(G.check_rnn_forward, loop_over_reference_step, "calls lstm_ref.cells.rnn_step_forward")
    fails(lambda bwd: G.check_rnn_step_backward(rnn_step, bwd),
          lambda dh, cache: L.rnn_step_backward(dh, cache), "calls lstm_ref.cells.rnn_step_backward")

    def reference_backward(dh, cache):
        dx, dh0, dWx, dWh, db = rnn_back(dh, cache)
        L.rnn_step_backward(dh[:, 0], cache[0])
        return dx, dh0, dWx, dWh, db
    fails(lambda bwd: G.check_rnn_backward(rnn_seq, bwd), reference_backward,
          "rnn_backward calls lstm_ref.cells.rnn_step_backward")
    fails(G.check_gradient_by_lag, lambda x, Wx, Wh, b, u: L.gradient_by_lag(
          "rnn", {"Wx": Wx, "Wh": Wh, "b": b}, x)["dh"], "calls lstm_ref.probes.gradient_by_lag")


def test_a_stub_called_by_the_student_is_named():
    def stub(*args):
        raise NotImplementedError()

    def uses_stub(x, Wx, Wh, b, u):
        return stub(x)
    with pytest.raises(G.GradingError, match="^rnn_gradient_by_lag: not implemented yet: it calls stub"):
        G.check_gradient_by_lag(uses_stub)       # no case label: a stub fails on every input
    fails(lambda bwd: G.check_rnn_backward(rnn_seq, bwd), stub, "rnn_backward: not implemented yet")

    def crashes(dh, cache):
        return cache[99]
    fails(lambda bwd: G.check_rnn_backward(rnn_seq, bwd), crashes, "rnn_backward raised IndexError")


# --------------------------------------- exercise 03: the LSTM backward, by an independent hand

def lstm_step_back(dh, dc_next, cache, h_path=True, order="ifgo"):
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, tc = cache
    dc = dc_next + (dh * o * (1 - tc**2) if h_path else 0)
    blocks = {"i": dc * g * i * (1 - i), "f": dc * c_prev * f * (1 - f), "g": dc * i * (1 - g**2),
              "o": dh * tc * o * (1 - o)}
    da = np.concatenate([blocks[k] for k in order], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def lstm_cached_step(x, h, c, Wx, Wh, b):
    """The exercise's forward (the reference's cache layout), written here without lstm_ref."""
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    c_next = f * c + i * g
    return o * np.tanh(c_next), c_next, (x, h, c, Wx, Wh, i, f, g, o, np.tanh(c_next))


def lstm_seq(x, Wx, Wh, b, h0, c0, step=lstm_cached_step):
    h, c, states, caches = h0, c0, [], []
    for t in range(x.shape[1]):
        h, c, cache = step(x[:, t], h, c, Wx, Wh, b)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), (h, c), caches


def lstm_back(dh, cache, carry_c=True, step_back=lstm_step_back):
    B, T, H = dh.shape
    Wx, Wh = cache[0][3], cache[0][4]
    dx, dWx, dWh, db = np.zeros((B, T, Wx.shape[0])), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H)
    dh_c, dc_c = np.zeros((B, H)), np.zeros((B, H))
    for t in reversed(range(T)):
        dx[:, t], dh_c, dc_c, a, b_, c = step_back(dh[:, t] + dh_c, dc_c if carry_c else 0 * dc_c, cache[t])
        dWx, dWh, db = dWx + a, dWh + b_, db + c
    return dx, dh_c, dc_c, dWx, dWh, db


def test_lstm_backward_checks_pass_correct_work():
    G.check_lstm_step_backward(lstm_cached_step, lstm_step_back)
    G.check_lstm_backward(lstm_seq, lstm_back)
    G.check_lstm_backward_many_to_one(lstm_seq, lstm_back)
    # The exercise gives the forward as lstm_ref's step: that is not counted against the student.
    G.check_lstm_step_backward(L.lstm_step_forward, lstm_step_back, outputs=("dx", "dh_prev", "dc_prev"))
    G.check_lstm_backward(lambda *a: lstm_seq(*a, step=L.lstm_step_forward), lstm_back)


def test_lstm_step_backward_names_gate_and_cause():
    check = lambda bwd, outputs=G.LSTM_STEP_GRADS: G.check_lstm_step_backward(lstm_cached_step, bwd, outputs)
    fails(check, lambda *a: lstm_step_back(*a, h_path=False), "dx: wrong values",
          "Likely cause: dc misses the gradient that reaches c_next through h_next")
    fails(lambda bwd: check(bwd, G.WEIGHT_GRADS), lambda *a: lstm_step_back(*a, order="ifog"),
          "dWx: 2 of 4 gate blocks differ (order i, f, g, o)", "dWx, gate g: wrong values",
          "It holds the reference's gate o block")

    def wrong_forget_weights(*args):
        dx, dh, dc, dWx, dWh, db = lstm_step_back(*args)
        H = dWh.shape[0]
        dWh = dWh.copy()
        dWh[:, H:2 * H] *= 2
        return dx, dh, dc, dWx, dWh, db
    # Only the weights are wrong: the state test passes, the weight test names gate f of dWh.
    check(wrong_forget_weights, ("dx", "dh_prev", "dc_prev"))
    fails(lambda bwd: check(bwd, G.WEIGHT_GRADS), wrong_forget_weights,
          "dWh: 1 of 4 gate blocks differ", "dWh, gate f: wrong values",
          "allowed 1e-12 + 1e-10 * |reference|")
    fails(check, lambda *a: L.lstm_step_backward(*a), "calls lstm_ref.cells.lstm_step_backward",
          "earns no points")


def test_lstm_backward_mistakes_and_delegation():
    check = lambda bwd: G.check_lstm_backward(lstm_seq, bwd)
    fails(check, lambda dh, cache: lstm_back(dh, cache, carry_c=False),
          "Likely cause: the cell-state gradient is not carried between steps")
    gates_swapped = lambda *a: lstm_step_back(*a, order="ifog")
    fails(check, lambda dh, cache: lstm_back(dh, cache, step_back=gates_swapped),
          "dx: wrong values", "make sure that one passes its own tests first")
    fails(check, lambda dh, cache: lstm_back(dh, cache, step_back=L.lstm_step_backward),
          "lstm_backward calls lstm_ref.cells.lstm_step_backward")


# ------------------------------------------------------- exercise 03: gradient checking

def centred(f, x, h=1e-6, kind="centred", restore=True):
    grad = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        old = x[k]
        x[k] = old + h
        plus = f()
        x[k] = old - h if kind != "forward" else old
        other = f()
        if restore:
            x[k] = old
        grad[k] = (plus - other) / (2 * h if kind == "centred" else h)
    return grad


def normwise(a, b):
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else np.linalg.norm(a - b) / scale


def test_gradient_checking_checks_pass_correct_work():
    G.check_numerical_gradient(centred)
    G.check_rel_error(normwise)


def test_numerical_gradient_mistakes_are_named():
    fails(G.check_numerical_gradient, lambda f, x, h=1e-6: centred(f, x, h, kind="forward"),
          "numerical_gradient(f, x): wrong values", "allowed 1e-07", "Likely cause: a one-sided difference")
    fails(G.check_numerical_gradient, lambda f, x, h=1e-6: centred(f, x, h, restore=False),
          "numerical_gradient left x changed")
    fails(G.check_numerical_gradient, lambda f, x, h=1e-6: centred(f, x),
          "step h = 1e-2", "Likely cause: the step h passed to numerical_gradient is ignored")
    fails(G.check_numerical_gradient, lambda f, x, h=1e-6: centred(lambda: f(x), x, h),
          "raised TypeError", "f takes no arguments")
    fails(G.check_numerical_gradient, lambda f, x, h=1e-6: L.numerical_gradient(f, x, h),
          "calls lstm_ref.gradcheck.numerical_gradient", "earns no points")


def test_rel_error_mistakes_are_named():
    def elementwise(a, b):
        with np.errstate(invalid="ignore"):
            return np.nanmax(np.abs(a - b) / (np.abs(a) + np.abs(b)))
    fails(G.check_rel_error, elementwise, "nearly zero entry", "you return 0.980198",
          "Likely cause: your error is elementwise")
    fails(G.check_rel_error, lambda a, b: normwise(a, b) if a.any() else np.nan, "returned nan", "return 0.0")
    n = np.linalg.norm
    fails(G.check_rel_error, lambda a, b: n(a - b) / (n(a) + n(b) + 1e-300),
          "Likely cause: you divide by ||a|| + ||b||")
    fails(G.check_rel_error, lambda a, b: n(a - b) / max(n(b), 1e-300),
          "b = 2 a and a", "Likely cause: you divide by ||b|| only")
    fails(G.check_rel_error, lambda a, b: np.abs(a - b), "one number for the whole pair")
    fails(G.check_rel_error, L.rel_error, "calls lstm_ref.gradcheck.rel_error")

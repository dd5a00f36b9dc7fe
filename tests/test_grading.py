"""The autograder's checks pass correct work, and fail wrong work with a message that
names what is wrong."""
import numpy as np
import pytest

import lstm_ref as L
from lstm_ref import grading as G
from lstm_ref import tolerances
from submissions import SENTIMENT_RULE


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
    """A correct float64 answer off by ~1e-14 (a different summation order) passes; for
    either dtype the line between pass and fail is lstm_ref.tolerances' atol + rtol * |ref|."""
    G.check_array("h", np.array([1.0 + 1e-14, 1e-13]), np.array([1.0, 0.0]))
    with pytest.raises(G.GradingError, match="absolute error 1.00e-09"):
        G.check_array("h", np.array([1.0 + 1e-9]), np.array([1.0]))
    for dtype in (np.float64, np.float32):
        tol = tolerances.elementwise(dtype)
        ref = np.array([2.0], dtype)
        limit = tol["atol"] + tol["rtol"] * 2.0
        G.check_array("h", ref + dtype(0.9 * limit), ref)
        with pytest.raises(G.GradingError, match="h: wrong values"):
            G.check_array("h", ref + dtype(1.1 * limit), ref)


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


# ------------------------------------------------------ exercise 04: Keras, by an independent hand

def keras_setup():
    import frameworks  # noqa: F401  (sets the Keras backend and the threads for this process)
    import keras
    return keras


def functional_model(vocab_size, embed_dim, units, seq_len, rnn="LSTM", activation="sigmoid",
                     return_sequences=False, loss="binary_crossentropy", optimizer="adam", compile=True):
    """The exercise's model, written with the functional API (the solution uses Sequential)."""
    keras = keras_setup()
    inputs = keras.Input((seq_len,), dtype="int32")
    z = keras.layers.Embedding(vocab_size, embed_dim)(inputs)
    z = getattr(keras.layers, rnn)(units, return_sequences=return_sequences)(z)
    model = keras.Model(inputs, keras.layers.Dense(1, activation=activation)(z))
    if compile:
        model.compile(optimizer=optimizer, loss=loss)
    return model


def keras_write(layer, Wx, Wh, b, order="ifgo"):
    """to_keras_lstm through the variables one at a time (order: how it lays out the blocks)."""
    H = Wh.shape[0]
    perm = lambda w: np.concatenate([w[..., "ifgo".index(g) * H:("ifgo".index(g) + 1) * H] for g in order], axis=-1)
    layer.cell.kernel.assign(perm(Wx))
    layer.cell.recurrent_kernel.assign(perm(Wh))
    layer.cell.bias.assign(perm(b))
    return layer


def keras_read(layer):
    return tuple(np.array(v.numpy()) for v in (layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias))


def test_keras_checks_pass_correct_work():
    keras_setup()
    G.check_keras_model(functional_model)
    G.check_keras_compile(functional_model)
    G.check_to_keras_lstm(keras_write)
    G.check_from_keras_lstm(keras_read)
    G.check_keras_round_trip(keras_write, keras_read)
    G.check_keras_compile(lambda **s: functional_model(**s, optimizer="adam", loss="bce"))


def test_keras_model_mistakes_are_named():
    keras = keras_setup()
    fails(G.check_keras_model, lambda **s: functional_model(**s, return_sequences=True),
          "the exercise's sizes", "LSTM output: expected shape (2, units) = (2, 32), got (2, 10, 32)",
          "return_sequences=False")
    fails(G.check_keras_model, lambda **s: functional_model(**s, activation="softmax"),
          "Dense activation is 'softmax'", "always 1")
    fails(G.check_keras_model, lambda **s: functional_model(**s, rnn="GRU"),
          "Embedding, LSTM, Dense", "yours has Embedding, GRU, Dense", "asks for an LSTM")
    fails(G.check_keras_model, lambda vocab_size, **s: functional_model(vocab_size - 1, **s),
          "Embedding has 640 parameters; expected 656 = vocab_size * embed_dim = 41 * 16")
    fails(G.check_keras_model, lambda **s: functional_model(**G.KERAS_MODEL_SIZES),
          "other sizes (vocab_size=50, embed_dim=8, units=5, seq_len=7)", "Calling your model")
    fails(G.check_keras_model, lambda **s: None, "build_model returned NoneType")
    fails(G.check_keras_compile, lambda **s: functional_model(**s, compile=False), "not compiled")
    fails(G.check_keras_compile, lambda **s: functional_model(**s, optimizer="sgd"), "SGD optimizer", "Adam")
    fails(G.check_keras_compile, lambda **s: functional_model(**s, loss="mse"), "loss 'mse'",
          "binary cross-entropy")
    fails(G.check_keras_compile, lambda **s: functional_model(
          **s, loss=keras.losses.BinaryCrossentropy(from_logits=True)), "from_logits=True")


def test_keras_weight_mistakes_are_named():
    keras_setup()
    fails(G.check_to_keras_lstm, lambda layer, Wx, Wh, b: layer.set_weights([Wx.T, Wh.T, b]),
          "to_keras_lstm raised ValueError", "Keras stores kernel (D, 4H) = Wx", "no transpose")
    fails(G.check_to_keras_lstm, lambda *a: keras_write(*a, order="ifog"),
          "kernel (D, 4H), which should hold Wx: 2 of 4 gate blocks differ", "holds the reference's gate o block")
    fails(G.check_to_keras_lstm, lambda layer, Wx, Wh, b: None, "unchanged (still the zeros")

    def forget_bias_added(layer, Wx, Wh, b):
        H = Wh.shape[0]
        return keras_write(layer, Wx, Wh, b + np.r_[np.zeros(H), np.ones(H), np.zeros(2 * H)].astype(b.dtype))
    fails(G.check_to_keras_lstm, forget_bias_added, "bias (4H,)", "gate f: wrong values",
          "Likely cause: the forget-gate block holds b_f + 1")
    fails(G.check_to_keras_lstm, lambda layer, Wx, Wh, b: keras_write(layer, Wh, Wx, b) if Wx.shape == Wh.shape
          else keras_write(layer, Wx, Wh, b), "H=4", "Likely cause: it holds Wh")
    fails(G.check_from_keras_lstm, lambda layer: tuple(w.T for w in keras_read(layer)),
          "Wx: wrong shape. Expected (3, 16), got (16, 3)", "does not transpose")
    fails(G.check_from_keras_lstm, lambda layer: tuple(layer.cell.weights), "as a Variable", "NumPy arrays")
    fails(G.check_from_keras_lstm, lambda layer: tuple(w + 1e-7 for w in keras_read(layer)),
          "not exactly", "no arithmetic")
    fails(lambda f: G.check_keras_round_trip(keras_write, f), lambda layer: tuple(w[::-1] for w in keras_read(layer)),
          "does not give back Wx exactly")


def keras_gru_write(layer, Wx, Wh, bx, bh, order="zrn", rows=(0, 1), transpose=False):
    """to_keras_gru (order: how it lays out the course's r, z, n blocks; rows: which of bx, bh
    goes in bias row 0 and 1)."""
    H = Wh.shape[0]
    perm = lambda w: np.concatenate([w[..., "rzn".index(g) * H:("rzn".index(g) + 1) * H] for g in order], axis=-1)
    biases = (bx, bh)
    layer.cell.kernel.assign(perm(Wx).T if transpose else perm(Wx))
    layer.cell.recurrent_kernel.assign(perm(Wh))
    layer.cell.bias.assign(np.stack([perm(biases[rows[0]]), perm(biases[rows[1]])]))
    return layer


def keras_gru_read(layer, order="zrn"):
    """from_keras_gru (order: the block order it assumes Keras uses)."""
    H = layer.cell.recurrent_kernel.shape[0]
    perm = lambda w: np.concatenate([w[..., order.index(g) * H:(order.index(g) + 1) * H] for g in "rzn"], axis=-1)
    kernel, recurrent, bias = (np.array(v.numpy()) for v in layer.cell.weights)
    return perm(kernel), perm(recurrent), perm(bias[0]), perm(bias[1])


def test_keras_gru_checks_pass_correct_work_and_name_mistakes():
    keras_setup()
    from lstm_ref import convert
    G.check_to_keras_gru(keras_gru_write)
    G.check_from_keras_gru(keras_gru_read)
    G.hidden(5, G.check_keras_gru, keras_gru_write, keras_gru_read)
    fails(G.check_to_keras_gru, lambda *a: keras_gru_write(*a, order="rzn"),
          "kernel, which should hold Wx: 2 of 3 gate blocks differ", "holds the reference's gate r block",
          "the first two blocks swap places")
    fails(G.check_to_keras_gru, lambda *a: keras_gru_write(*a, rows=(1, 0)), "row 0 and bx in row 1")
    fails(G.check_to_keras_gru, lambda layer, Wx, Wh, bx, bh: layer.cell.bias.assign(np.zeros((2, 3 * Wh.shape[0]))),
          "kernel is unchanged")
    fails(G.check_to_keras_gru, lambda layer, Wx, Wh, bx, bh: keras_gru_write(layer, Wx, Wh, bx + bh, 0 * bh),
          "the layer's bias, row 0 (bx): 3 of 3 gate blocks differ")
    fails(G.check_from_keras_gru, lambda layer: keras_gru_read(layer, order="rzn"),
          "Wx: 2 of 3 gate blocks differ", "holds the reference's gate z block")
    fails(G.check_from_keras_gru, lambda layer: (lambda w: (w[0], w[1], w[3], w[2]))(keras_gru_read(layer)),
          "bx: it holds bh")
    fails(G.check_from_keras_gru, lambda layer: tuple(convert.from_keras(layer)[0][0].values()),
          "calls lstm_ref.convert.from_keras", "earns no points")


def torch_write(lstm, Wx, Wh, b):
    import torch
    lstm.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
    lstm.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
    lstm.bias_ih_l0.copy_(torch.from_numpy(b / 2))       # any split with the right sum
    lstm.bias_hh_l0.copy_(torch.from_numpy(b / 2))
    return lstm


def torch_read(lstm):
    return (lstm.weight_ih_l0.detach().numpy().T.copy(), lstm.weight_hh_l0.detach().numpy().T.copy(),
            (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy())


def test_torch_layout_checks_pass_correct_work_and_name_mistakes():
    import torch
    from lstm_ref import convert
    G.check_to_torch_lstm(torch_write)
    G.check_from_torch_lstm(torch_read)
    G.hidden(4, G.check_torch_layout, torch_write, torch_read)
    fails(G.check_to_torch_lstm, lambda l, Wx, Wh, b: l.weight_ih_l0.copy_(torch.from_numpy(Wx)),
          "RuntimeError", "weight_ih (4H, D) = Wx.T")
    fails(G.check_to_torch_lstm, lambda l, Wx, Wh, b: (torch_write(l, Wx, Wh, 2 * b)), "is 2b", "only their sum acts")
    fails(G.check_to_torch_lstm, lambda l, Wx, Wh, b: setattr(l, "weight_ih_l0", torch.nn.Parameter(
          torch.from_numpy(Wx.T.copy()))), "replaced the parameter weight_ih_l0", "in place")
    ifog = lambda w: np.concatenate(np.split(w, 4, axis=-1)[:2] + np.split(w, 4, axis=-1)[:1:-1], axis=-1)
    fails(G.check_to_torch_lstm, lambda l, Wx, Wh, b: torch_write(l, ifog(Wx), Wh, b),
          "weight_ih_l0, which should hold Wx.T: 2 of 4 gate blocks differ", "holds the reference's gate o block")
    fails(G.check_from_torch_lstm, lambda l: (*torch_read(l)[:2], l.bias_ih_l0.detach().numpy().copy()),
          "b holds bias_ih_l0 only")
    fails(G.check_from_torch_lstm, lambda l: (l.weight_ih_l0.detach().numpy().copy(), *torch_read(l)[1:]),
          "Wx: wrong shape", "transpose")
    fails(G.check_from_torch_lstm, lambda l: (l.weight_ih_l0.detach().numpy().T, *torch_read(l)[1:]),
          "shares memory with the module")
    fails(G.check_from_torch_lstm, lambda l: (l.weight_ih_l0.T, *torch_read(l)[1:]), "as a Tensor")
    fails(G.check_to_torch_lstm, lambda l, Wx, Wh, b: convert.to_torch(l, {"Wx": Wx, "Wh": Wh, "b": b}),
          "calls lstm_ref.convert.to_torch", "earns no points")


def test_keras_delegation_earns_nothing():
    keras_setup()
    from lstm_ref import convert
    fails(G.check_to_keras_lstm, lambda layer, Wx, Wh, b: convert.to_keras(layer, {"Wx": Wx, "Wh": Wh, "b": b}),
          "to_keras_lstm calls lstm_ref.convert.to_keras", "earns no points")
    fails(G.check_from_keras_lstm, lambda layer: tuple(convert.from_keras(layer)[0][0].values()),
          "from_keras_lstm calls lstm_ref.convert.from_keras")


def rule_model(**options):
    """A stand-in for a trained model that answers by the rule that made the labels
    (tests/submissions.py SENTIMENT_RULE, whose options it takes)."""
    space = {"keras": keras_setup(), "np": np, "grading": G}
    exec(SENTIMENT_RULE, space)
    return space["rule_model"](**options)


def test_sentiment_check(capsys):
    # A rule that reads the words in order is right on every review, but it is no LSTM.
    fails(G.check_sentiment_model, rule_model(), "held-out accuracy 1.000 on 1000 reviews",
          "no trained keras.layers.LSTM layer")
    fails(G.check_sentiment_model, rule_model(decoy=True), "with the trained weights of its LSTM shuffled, the "
          "model still scores 1.000", "do not come from its LSTM")
    fails(G.check_sentiment_model, rule_model(constant=0.9), "accuracy 0.4", "always answering the majority class",
          "(almost) every review the same answer")
    fails(G.check_sentiment_model, rule_model(order_blind=True), "Needed: accuracy >= 0.9")
    fails(G.check_sentiment_model, rule_model(flip_example=True), "accuracy 1.000",
          "'the movie was not bad at all' comes out positive")
    fails(G.check_sentiment_model, (rule_model(), None), "got a tuple", "pass model")


def test_sentiment_training_check(capsys):
    seen, model = [], rule_model()

    def train(x_train, y_train, x_val, y_val):
        seen.extend([x_train.shape, x_val.shape])
        return model, None
    fails(G.check_sentiment_training, train, "no trained keras.layers.LSTM layer")
    assert seen == [(2000, G.SENTIMENT_LEN), (500, G.SENTIMENT_LEN)]
    fails(G.check_sentiment_training, lambda *data: rule_model(), "expected a tuple of 2 values (model, history)")
    # lstm_ref cannot train a Keras model, so this function may use anything of it.
    fails(G.check_sentiment_training, lambda *data: (L.init_lstm(2, 3), model)[1:] + (None,),
          "no trained keras.layers.LSTM layer")

    def build_model(**sizes):
        raise NotImplementedError()
    fails(G.check_sentiment_training, lambda *data: build_model(), "train_sentiment_model: not implemented yet: "
          "it calls build_model, which still raises NotImplementedError")


# ---------------------------------------------------- exercise 05: PyTorch, by an independent hand

def torch_lstm_classes():
    """Two correct LSTM modules (own parameters; nn.LSTMCell in a loop) and some wrong ones."""
    import frameworks  # noqa: F401  (threads)
    import torch
    from torch import nn

    class Own(nn.Module):
        order = "ifgo"

        def __init__(self, D, H):
            super().__init__()
            self.H = H
            self.Wx, self.Wh, self.b = (nn.Parameter(torch.zeros(*s)) for s in ((D, 4 * H), (H, 4 * H), (4 * H,)))

        def load(self, Wx, Wh, b):
            for p, v in ((self.Wx, Wx), (self.Wh, Wh), (self.b, b)):
                p.copy_(torch.from_numpy(v))

        def forward(self, x, h0=None, c0=None):
            h = torch.zeros(x.shape[0], self.H) if h0 is None else h0
            c = torch.zeros(x.shape[0], self.H) if c0 is None else c0
            states = []
            for t in range(x.shape[1]):
                a = dict(zip(self.order, (x[:, t] @ self.Wx + h @ self.Wh + self.b).split(self.H, dim=1)))
                c = torch.sigmoid(a["f"]) * c + torch.sigmoid(a["i"]) * torch.tanh(a["g"])
                h = torch.sigmoid(a["o"]) * torch.tanh(c)
                states.append(h)
            return torch.stack(states, 1), (h, c)

    class Cell(nn.Module):
        both_biases = False

        def __init__(self, D, H):
            super().__init__()
            self.cell = nn.LSTMCell(D, H)

        def load(self, Wx, Wh, b):
            c = self.cell
            c.weight_ih.copy_(torch.from_numpy(Wx.T))
            c.weight_hh.copy_(torch.from_numpy(Wh.T))
            c.bias_ih.copy_(torch.from_numpy(b))
            c.bias_hh.copy_(torch.from_numpy(b) if self.both_biases else torch.zeros(len(b)))

        def forward(self, x, h0=None, c0=None):
            state, states = (None if h0 is None else (h0, c0)), []
            for t in range(x.shape[1]):
                state = self.cell(x[:, t], state)
                states.append(state[0])
            return torch.stack(states, 1), state

    class Fused(Own):
        def __init__(self, D, H):
            super().__init__(D, H)
            self.lstm = nn.LSTM(D, H, batch_first=True)

    class FusedCall(Own):
        def forward(self, x, h0=None, c0=None):
            z = torch.zeros(1, x.shape[0], self.H)
            weights = [self.Wx.T, self.Wh.T, self.b, torch.zeros_like(self.b)]
            out, h, c = torch._VF.lstm(x, (z if h0 is None else h0[None], z if c0 is None else c0[None]),
                                       weights, True, 1, 0.0, False, False, True)
            return out, (h[0], c[0])

    return torch, Own, Cell, Fused, FusedCall


def test_torch_checks_pass_correct_work():
    _, Own, Cell, _, _ = torch_lstm_classes()
    for cls in (Own, Cell):
        G.check_torch_lstm(cls)
        G.check_torch_lstm_parameters(cls)


def test_torch_lstm_mistakes_are_named():
    torch, Own, Cell, _, _ = torch_lstm_classes()

    class Swapped(Own):
        order = "ifog"

    class BothBiases(Cell):
        both_biases = True

    class NoTranspose(Cell):
        def load(self, Wx, Wh, b):
            self.cell.weight_ih.copy_(torch.from_numpy(Wx))

    class IgnoresState(Own):
        def forward(self, x, h0=None, c0=None):
            return super().forward(x)

    class Unregistered(Own):
        def __init__(self, D, H):
            torch.nn.Module.__init__(self)
            self.H = H
            self.Wx, self.Wh, self.b = torch.zeros(D, 4 * H), torch.zeros(H, 4 * H), torch.zeros(4 * H)

    class Detached(Own):
        def forward(self, x, h0=None, c0=None):
            h, final = super().forward(x, h0, c0)
            return h.detach(), final

    fails(G.check_torch_lstm, Swapped, "seed 200", "h (every hidden state): wrong values",
          "Likely cause: you read the gate blocks in the order i, f, o, g")
    fails(G.check_torch_lstm, BothBiases, "Likely cause: the bias is counted twice")
    fails(G.check_torch_lstm, NoTranspose, "LSTM.load raised RuntimeError", "weight_ih (4H, D) = Wx.T")
    fails(G.check_torch_lstm, IgnoresState, "Likely cause: h0 and c0 are not used")
    fails(G.check_torch_lstm_parameters, Unregistered, "0 trainable numbers", "4H(D + H + 1) = 128",
          "torch.nn.Parameter")
    fails(G.check_torch_lstm_parameters, Detached, "not connected to the parameters")


def test_torch_delegation_earns_nothing():
    torch, Own, _, Fused, FusedCall = torch_lstm_classes()

    class Reference(Own):
        def forward(self, x, h0=None, c0=None):
            h, (h_T, c_T), _ = L.lstm_forward(x.numpy(), *(p.detach().numpy() for p in (self.Wx, self.Wh, self.b)),
                                              None if h0 is None else h0.numpy(), None if c0 is None else c0.numpy())
            return torch.from_numpy(h), (torch.from_numpy(h_T), torch.from_numpy(c_T))

    fails(G.check_torch_lstm, Fused, "your LSTM contains lstm (LSTM)", "earns no points")
    fails(G.check_torch_lstm, FusedCall, "LSTM.forward calls torch.lstm", "earns no points")
    fails(G.check_torch_lstm, Reference, "LSTM.forward calls lstm_ref.sequence.lstm_forward")

    class Stub(Own):
        def forward(self, x, h0=None, c0=None):
            raise NotImplementedError()
    fails(G.check_torch_lstm, Stub, "LSTM.forward: not implemented yet")


def test_adding_check(capsys):
    torch, Own, _, _, _ = torch_lstm_classes()

    class Rule(torch.nn.Module):
        """Predicts from the rule that made the targets; remembers the first value or not."""
        def __init__(self, first=True, lstm=False, flat=False):
            super().__init__()
            self.first, self.flat = first, flat
            if lstm:
                self.lstm = torch.nn.LSTM(2, 3)

        def forward(self, x):
            marked = x[..., 0] * x[..., 1]
            half = x.shape[1] // 2
            y = (marked.sum(1) if self.first else marked[:, half:].sum(1) + 0.5)
            return y if self.flat else y[:, None]

    class Summing(torch.nn.Module):
        """An LSTM set by hand to add the marked values (a gate opened by the marker writes
        0.1 x value into a cell that never forgets), read out times 10: its skill is its LSTM's."""
        def __init__(self):
            super().__init__()
            self.lstm, self.out = Own(2, 1), torch.nn.Linear(1, 1)
            with torch.no_grad():       # gate blocks i, f, g, o of one unit
                self.lstm.load(np.array([[0, 0, 0.1, 0], [20, 0, 0, 0]], np.float32),
                               np.zeros((1, 4), np.float32), np.array([-10, 20, 0, 20], np.float32))
                self.out.weight.fill_(10.0)
                self.out.bias.zero_()

        def forward(self, x):
            return self.out(self.lstm(x)[1][0])

    def adding(model):
        return G.check_adding_model(model, Own)

    def training(train):
        return G.check_adding_training(train, Own)

    adding(Summing())
    assert "Passed: held-out MSE 0.00" in capsys.readouterr().out
    fails(adding, Rule(), "no submodule of your class Own")

    class Decoy(Rule):
        """The rule, with an LSTM that it never reads."""
        def __init__(self, **rule):
            super().__init__(**rule)
            self.lstm = Own(2, 4)
    fails(adding, Decoy(), "parameters of its LSTM (lstm) shuffled",
          "its skill does not come from its LSTM")
    fails(adding, Decoy(first=False), "ratio 0.5", "Needed: at most 0.1 times the baseline",
          "remembers only one of the two marked values")
    fails(adding, torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * G.ADDING_T, 1)),
          "no submodule of your class Own")
    fails(adding, Decoy(flat=True), "wrong shape. Expected (1000, 1), got (1000,)")
    fails(adding, Rule(lstm=True), "your model contains lstm (LSTM)", "earns no points")

    def train():
        L.adding_problem(4, G.ADDING_T, seed=0)         # the task is the student's to use
        return Summing()
    assert isinstance(training(train), Summing)

    class Unwritten(torch.nn.Module):
        def __init__(self):
            raise NotImplementedError()
    fails(training, Unwritten, "train_adding_model: not implemented yet: it calls Unwritten.__init__")
    fails(training, lambda: Rule()(torch.zeros(2, 3)), "train_adding_model raised IndexError",
          "the line of your code")


# ------------------------------------------------ exercise 06: forecasting, by an independent hand

def windows(series, lookback, horizon, count=0, flat=False, y_shift=0):
    N = len(series) - lookback - horizon + 1 + count
    X = np.array([series[k:k + lookback] for k in range(N)])
    y = np.array([series[k + lookback + y_shift:k + lookback + y_shift + horizon] for k in range(N)])
    return (X if flat else X[..., None]), y


def split_scale(series, n_val, n_test, fit_on="train", ddof=0, order=(0, 1, 2)):
    n_train = len(series) - n_val - n_test
    parts = (series[:n_train], series[n_train:n_train + n_val], series[n_train + n_val:])
    ref = {"train": parts[0], "all": series, "train+val": series[:n_train + n_val]}[fit_on]
    mean, std = ref.mean(), ref.std(ddof=ddof)
    return (*((parts[k] - mean) / std for k in order), mean, std)


def test_forecasting_checks_pass_correct_work(capsys):
    G.check_make_windows(windows)
    G.check_chronological_split(split_scale)
    G.check_scaler(split_scale)
    G.check_last_value(lambda X, h: np.tile(X[:, -1], (1, h)))
    G.check_seasonal_naive(lambda X, h, season=12: np.stack([X[:, X.shape[1] - season + j, 0] for j in range(h)], 1))
    assert "one month ahead: MAE 1.11 ppm" in capsys.readouterr().out


def test_window_and_split_mistakes_are_named():
    fails(G.check_make_windows, lambda *a: windows(*a, count=-1), "X: wrong shape. Expected (7, 3, 1), got (6, 3, 1)",
          "N = len(series) - lookback - horizon + 1 = 10 - 3 - 1 + 1 = 7")
    fails(G.check_make_windows, lambda *a: windows(*a, flat=True), "got (7, 3)", "feature axis")
    fails(G.check_make_windows, lambda *a: windows(*a, y_shift=-1), "y: wrong values",
          "Likely cause: y starts with the last input value")
    fails(G.check_chronological_split, lambda *a: split_scale(*a, order=(0, 2, 1)), "the CO2 series (526 months)",
          "Likely cause: val and test are swapped")
    fails(G.check_chronological_split, lambda s, v, t: split_scale(np.random.default_rng(0).permutation(s), v, t),
          "Likely cause: the values are shuffled")
    # A leaky scaler does not make the split wrong; the scaler's own test names the leak.
    G.check_chronological_split(lambda *a: split_scale(*a, fit_on="all"))
    fails(G.check_scaler, lambda *a: split_scale(*a, fit_on="all"), "(mean, std) of the scaler: wrong values",
          "Likely cause: the scaler is fitted on the whole series, test period included: data leakage")
    fails(G.check_scaler, lambda *a: split_scale(*a, fit_on="train+val"), "fitted on train and validation together")
    fails(G.check_scaler, lambda *a: split_scale(*a, ddof=1), "ddof=1")


def test_baseline_mistakes_are_named():
    fails(G.check_last_value, lambda X, h: X[:, -1], "horizon 3", "Expected (4, 3), got (4, 1)")
    fails(G.check_last_value, lambda X, h: np.tile(X[:, 0], (1, h)), "Likely cause: it repeats the window's first value")
    fails(G.check_seasonal_naive, lambda X, h, season=12: X[:, -season:-season + h, 0],
          "horizon 12", "got (3, 0)", "ends at index 0 when horizon = season")
    fails(G.check_seasonal_naive, lambda X, h, season=12: X[:, X.shape[1] - season + 1:X.shape[1] - season + 1 + h, 0],
          "Likely cause: every step is forecast one step too late")
    fails(G.check_seasonal_naive, lambda X, h, season=12: X[:, X.shape[1] - 12:X.shape[1] - 12 + h, 0],
          "season 4", "Likely cause: the season argument is ignored")


def lstm_forecaster(steps=400):
    """fit_forecaster as exercise 06 asks, written here: lstm_ref's LSTM Regressor trained on
    each window relative to its last value, to forecast the change."""
    from lstm_ref.train import Regressor, fit

    def fit_forecaster(X_train, y_train, X_val, y_val):
        def relative(X):
            return (X - X[:, -1:]).astype(np.float32)

        def batch(rng):
            rows = rng.integers(0, len(X_train), size=32)
            return relative(X_train[rows]), (y_train[rows] - X_train[rows, -1]).astype(np.float32)
        model = Regressor("lstm", D=1, H=32, seed=0, dtype=np.float32)
        fit(model, batch, steps=steps, lr=1e-2, seed=0)
        return lambda X: model.predict(relative(X)) + X[:, -1]
    return fit_forecaster


def test_forecaster_check_sees_no_test_data(capsys):
    data = G.forecasting_data()
    seen = {}
    fit_lstm = lstm_forecaster()

    def fit_forecaster(X_train, y_train, X_val, y_val):
        seen.update(X_train=X_train, X_val=X_val, y_train=y_train, y_val=y_val)
        return fit_lstm(X_train, y_train, X_val, y_val)
    result = G.check_forecaster(fit_forecaster)
    out = capsys.readouterr().out
    assert "seasonal + drift  0.344" in out and "(its skill comes from the LSTM)" in out, out
    assert result["mae"] < min(result["baselines"].values())
    assert seen["X_train"].shape == (382, 24, 1) and seen["X_val"].shape == (60, 24, 1)
    test_values = set(np.round(data["y_test"].ravel(), 12))
    for name, arr in seen.items():     # no value of the test period reaches the fitting
        assert not test_values & set(np.round(arr.ravel(), 12)), name
    assert len(result["test_dates"]) == 60 and f"{result['test_dates'][0]:%Y-%m}" == "1997-01"
    assert "X_test" not in G.forecasting_data(parts=("train", "val"))
    with pytest.raises(ValueError, match="parts must be a tuple"):
        G.forecasting_data(parts="test")


def test_forecaster_shortcuts_fail():
    """What a forecaster with no LSTM, or one that it does not read, scores is not enough."""
    from lstm_ref import forecasting as F
    from lstm_ref.train import Regressor
    # The seasonal naive forecast with drift, one line, no fitting: it is a baseline.
    fails(G.check_forecaster, lambda *a: (lambda X: X[:, -1] + X[:, -12] - X[:, -13]),
          "your forecaster   0.344", "Needed: an MAE below the best of these baselines (seasonal + drift, 0.344")
    # A linear AR beats every baseline, but is no LSTM.
    fails(G.check_forecaster, lambda X, y, *val: F.LinearAR.fit(X, y).predict, "linear AR(24)     0.293",
          "no LSTM was found in what fit_forecaster returned")

    def decoy(X_train, y_train, X_val, y_val):
        ar, lstm = F.LinearAR.fit(X_train, y_train), Regressor("lstm", D=1, H=4, seed=0)
        return lambda X: ar.predict(X) + 0 * lstm.predict(X)
    fails(G.check_forecaster, decoy, "with the trained weights of its LSTM (a Regressor('lstm')) shuffled",
          "do not come from its LSTM")


def test_forecaster_mistakes_are_named():
    std = G.forecasting_data()["std"]
    fails(G.check_forecaster, lambda *a: (lambda X: X[:, -1] - 4.0 / std), "your forecaster   4.144",
          "Needed: an MAE below the best of these baselines (seasonal + drift, 0.344 ppm)",
          "Likely cause: your forecasts are too low by 4.14 ppm", "Forecast the change instead")
    fails(G.check_forecaster, lambda *a: (lambda X: X[:, -1, 0]), "your test forecasts: wrong shape. Expected (60, 1), "
          "got (60,)")
    fails(G.check_forecaster, lambda *a: None, "fit_forecaster returned NoneType")

    def reference_step(X_train, y_train, X_val, y_val):
        L.lstm_step_forward(X_train[:, 0], np.zeros((len(X_train), 4)), np.zeros((len(X_train), 4)),
                            np.zeros((1, 16)), np.zeros((4, 16)), np.zeros(16))
        return lambda X: X[:, -1]
    fails(G.check_forecaster, reference_step, "fit_forecaster calls lstm_ref.cells.lstm_step_forward")
    # The course's training code is allowed.
    model = __import__("lstm_ref.train", fromlist=["Regressor"]).Regressor("lstm", D=1, H=2, seed=0)
    fails(G.check_forecaster, lambda *a: (lambda X: model.predict(X)), "Needed: an MAE below the best")


def test_importing_a_reference_module_is_not_a_call():
    """A student's function that imports a module of lstm_ref for the first time runs that
    module's code; that is no call into the reference."""
    import importlib
    import sys
    saved = sys.modules.pop("lstm_ref.tasks")
    try:
        G.check_sigmoid(lambda x: (importlib.import_module("lstm_ref.tasks"), sigmoid(x))[1])
    finally:
        sys.modules["lstm_ref.tasks"] = saved
        L.tasks = saved

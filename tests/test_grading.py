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

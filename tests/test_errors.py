"""Bad input gets an error that names the function, the argument, what was expected and
what came."""
import re

import numpy as np
import pytest

import lstm_ref as L


@pytest.fixture
def lstm():
    rng = np.random.default_rng(0)
    p = L.init_lstm(4, 3, seed=0)
    return p, rng.standard_normal((2, 5, 4))


def raises(exc, *fragments):
    """pytest.raises that requires every fragment, literally, in the message."""
    return pytest.raises(exc, match="(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments))


def test_wrong_input_feature_size(lstm):
    p, x = lstm
    with raises(ValueError, "lstm_forward", "x has shape (2, 5, 7)", "expected (B, T, D) = (B, T, 4)",
                "D=4 from Wx"):
        L.lstm_forward(np.zeros((2, 5, 7)), **p)


def test_missing_time_axis(lstm):
    p, x = lstm
    with raises(ValueError, "x has shape (2, 4)", "expected (B, T, D)"):
        L.lstm_forward(x[:, 0], **p)


def test_weights_that_are_not_four_gates(lstm):
    p, x = lstm
    with raises(ValueError, "Wx has shape (4, 10)", "expected (D, 4H) = (D, 12)", "H=3 from Wh"):
        L.lstm_forward(x, p["Wx"][:, :10], p["Wh"], p["b"])
    with raises(ValueError, "Wh has shape (3, 9)", "expected (H, 4H)"):
        L.lstm_forward(x, p["Wx"], p["Wh"][:, :9], p["b"])
    with raises(ValueError, "b has shape (12, 1)", "expected (4H,) = (12,)"):
        L.lstm_forward(x, p["Wx"], p["Wh"], p["b"][:, None])


def test_initial_state_of_wrong_batch(lstm):
    p, x = lstm
    with raises(ValueError, "c0 has shape (3, 3)", "expected (B, H) = (2, 3)", "B=2 from x"):
        L.lstm_forward(x, **p, c0=np.zeros((3, 3)))


def test_mixed_dtypes(lstm):
    p, x = lstm
    with raises(TypeError, "x has dtype float32 but Wh has dtype float64"):
        L.lstm_forward(x.astype(np.float32), **p)


def test_integer_and_non_array_input(lstm):
    p, x = lstm
    with raises(TypeError, "x has dtype int64", "expected float32 or float64"):
        L.lstm_forward(x.astype(np.int64), **p)
    with raises(TypeError, "x must be a NumPy array, got list"):
        L.lstm_forward(x.tolist(), **p)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(lstm, bad):
    p, x = lstm
    Wh = p["Wh"].copy()
    Wh[1, 7] = bad
    with raises(ValueError, "lstm_forward", "Wh contains 1 NaN or inf", "index (1, 7)"):
        L.lstm_forward(x, p["Wx"], Wh, p["b"])


def test_non_finite_input(lstm):
    p, x = lstm
    x = x.copy()
    x[1, 2, 3] = np.nan
    with raises(ValueError, "x contains 1 NaN or inf", "index (1, 2, 3)"):
        L.lstm_forward(x, **p)


def test_backward_gradient_of_wrong_shape(lstm):
    p, x = lstm
    _, _, cache = L.lstm_forward(x, **p)
    with raises(ValueError, "lstm_backward", "dh has shape (2, 4, 3)", "expected (2, 5, 3)"):
        L.lstm_backward(np.zeros((2, 4, 3)), cache)
    with raises(TypeError, "lstm_backward", "float32"):
        L.lstm_backward(np.zeros((2, 5, 3), np.float32), cache)
    with raises(ValueError, "dc_T has shape (2, 4)"):
        L.lstm_backward(np.zeros((2, 5, 3)), cache, dc_T=np.zeros((2, 4)))


@pytest.mark.parametrize("call", [
    lambda p: L.rnn_step_forward(np.zeros((2, 5)), np.zeros((2, 3)), **L.init_rnn(4, 3)),
    lambda p: L.lstm_step_forward(np.zeros((2, 5)), np.zeros((2, 3)), np.zeros((2, 3)), **p),
    lambda p: L.gru_step_forward(np.zeros((2, 5)), np.zeros((2, 3)), **L.init_gru(4, 3)),
    lambda p: L.rnn_forward(np.zeros((2, 6, 5)), **L.init_rnn(4, 3)),
    lambda p: L.gru_forward(np.zeros((2, 6, 5)), **L.init_gru(4, 3)),
], ids=["rnn_step", "lstm_step", "gru_step", "rnn", "gru"])
def test_every_function_checks_its_input(lstm, call):
    with raises(ValueError, "x has shape", "expected", "D=4 from Wx"):
        call(lstm[0])


def test_step_backward_checks_upstream_gradient(lstm):
    p, _ = lstm
    *_, cache = L.lstm_step_forward(np.zeros((2, 4)), np.zeros((2, 3)), np.zeros((2, 3)), **p)
    with raises(ValueError, "lstm_step_backward", "dh_next has shape (2, 4)", "expected (B, H) = (2, 3)"):
        L.lstm_step_backward(np.zeros((2, 4)), np.zeros((2, 3)), cache)


def test_bad_sizes_and_task_arguments():
    with raises(ValueError, "init_lstm", "H must be a positive integer", "got 0"):
        L.init_lstm(3, 0)
    with raises(ValueError, "adding_problem", "T must be an integer >= 24", "got 10"):
        L.adding_problem(5, 10, variant="hochreiter1997")
    with raises(ValueError, "adding_problem", "variant must be one of", "'le2016'"):
        L.adding_problem(5, 10, variant="le2016")
    with raises(ValueError, "stacked_forward", "cell must be one of", "'LSTM'"):
        L.stacked_forward("LSTM", np.zeros((1, 2, 3)), [[L.init_lstm(3, 2)]])

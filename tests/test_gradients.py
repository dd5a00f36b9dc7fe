"""Analytic gradients against centred differences (float64, h = 1e-6): every parameter,
the input and the initial states, for one step and for whole sequences; and the step
functions against the sequence functions."""
import numpy as np
import pytest

import lstm_ref as L
from lstm_ref.tolerances import GRADCHECK_MAX_ABS, GRADCHECK_NORMWISE


def check(name, analytic, f, x):
    numeric = L.numerical_gradient(f, x)
    abs_err, rel = L.max_abs_error(analytic, numeric), L.rel_error(analytic, numeric)
    assert abs_err <= GRADCHECK_MAX_ABS and rel <= GRADCHECK_NORMWISE, (
        f"d{name}: max abs error {abs_err:.1e}, normwise relative error {rel:.1e}")


def params_with_biases(init, D, H, rng):
    p = init(D, H, seed=rng)
    return {k: v + 0.3 * rng.standard_normal(v.shape) if k.startswith("b") else v for k, v in p.items()}


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ----------------------------------------------------------------------- one step

def test_rnn_step_gradients(rng):
    B, D, H = 3, 4, 5
    p = params_with_biases(L.init_rnn, D, H, rng)
    x, h = rng.standard_normal((B, D)), rng.standard_normal((B, H))
    dout = rng.standard_normal((B, H))
    _, cache = L.rnn_step_forward(x, h, **p)
    dx, dh, dWx, dWh, db = L.rnn_step_backward(dout, cache)
    loss = lambda: np.sum(L.rnn_step_forward(x, h, **p)[0] * dout)
    for name, arr, g in [("x", x, dx), ("h_prev", h, dh), ("Wx", p["Wx"], dWx), ("Wh", p["Wh"], dWh),
                         ("b", p["b"], db)]:
        check(name, g, loss, arr)


def test_lstm_step_gradients(rng):
    B, D, H = 3, 4, 5
    p = params_with_biases(L.init_lstm, D, H, rng)
    x, h, c = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    dh_next, dc_next = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    *_, cache = L.lstm_step_forward(x, h, c, **p)
    dx, dh, dc, dWx, dWh, db = L.lstm_step_backward(dh_next, dc_next, cache)

    def loss():
        h1, c1, _ = L.lstm_step_forward(x, h, c, **p)
        return np.sum(h1 * dh_next) + np.sum(c1 * dc_next)
    for name, arr, g in [("x", x, dx), ("h_prev", h, dh), ("c_prev", c, dc), ("Wx", p["Wx"], dWx),
                         ("Wh", p["Wh"], dWh), ("b", p["b"], db)]:
        check(name, g, loss, arr)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_step_gradients(rng, reset_after):
    B, D, H = 3, 4, 5
    p = params_with_biases(L.init_gru, D, H, rng)
    x, h = rng.standard_normal((B, D)), rng.standard_normal((B, H))
    dout = rng.standard_normal((B, H))
    _, cache = L.gru_step_forward(x, h, **p, reset_after=reset_after)
    dx, dh, dWx, dWh, dbx, dbh = L.gru_step_backward(dout, cache)
    loss = lambda: np.sum(L.gru_step_forward(x, h, **p, reset_after=reset_after)[0] * dout)
    for name, arr, g in [("x", x, dx), ("h_prev", h, dh), ("Wx", p["Wx"], dWx), ("Wh", p["Wh"], dWh),
                         ("bx", p["bx"], dbx), ("bh", p["bh"], dbh)]:
        check(name, g, loss, arr)


# ------------------------------------------------------------------ whole sequences

SEQ = {
    "rnn": (L.init_rnn, L.rnn_forward, L.rnn_backward, ("h0",)),
    "lstm": (L.init_lstm, L.lstm_forward, L.lstm_backward, ("h0", "c0")),
    "gru": (L.init_gru, L.gru_forward, L.gru_backward, ("h0",)),
    "gru-cho": (L.init_gru, lambda *a, **k: L.gru_forward(*a, **k, reset_after=False), L.gru_backward, ("h0",)),
}


@pytest.mark.parametrize("cell", SEQ)
@pytest.mark.parametrize("B,T,D,H", [(2, 6, 3, 4), (1, 1, 2, 3)])
def test_sequence_gradients(rng, cell, B, T, D, H):
    init, forward, backward, state_names = SEQ[cell]
    p = params_with_biases(init, D, H, rng)
    x = rng.standard_normal((B, T, D))
    states = {k: rng.standard_normal((B, H)) for k in state_names}
    dh = rng.standard_normal((B, T, H))
    dfinal = [rng.standard_normal((B, H)) for _ in state_names]

    def loss():
        h, final, _ = forward(x, **p, **states)
        final = final if isinstance(final, tuple) else (final,)
        return np.sum(h * dh) + sum(np.sum(a * b) for a, b in zip(final, dfinal))
    _, _, cache = forward(x, **p, **states)
    grads = backward(dh, cache, *dfinal)
    assert set(grads) == {"x", *state_names, *p}
    for name, arr in [("x", x), *states.items(), *p.items()]:
        check(name, grads[name], loss, arr)


def test_lstm_sequence_equals_steps(rng):
    """The fast sequence code computes exactly the textbook step, T times."""
    B, T, D, H = 3, 8, 4, 5
    p = params_with_biases(L.init_lstm, D, H, rng)
    x = rng.standard_normal((B, T, D))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    dh = rng.standard_normal((B, T, H))
    hs, (hT, cT), cache = L.lstm_forward(x, **p, h0=h0, c0=c0)
    grads = L.lstm_backward(dh, cache)
    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, step_cache = L.lstm_step_forward(x[:, t], h, c, **p)
        np.testing.assert_allclose(hs[:, t], h, rtol=1e-12, atol=1e-14)
        caches.append(step_cache)
    np.testing.assert_allclose(cT, c, rtol=1e-12, atol=1e-14)
    dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
    sums = {k: np.zeros_like(v) for k, v in p.items()}
    for t in reversed(range(T)):
        dx, dh_next, dc_next, dWx, dWh, db = L.lstm_step_backward(dh_next + dh[:, t], dc_next, caches[t])
        np.testing.assert_allclose(grads["x"][:, t], dx, rtol=1e-10, atol=1e-12)
        for k, g in zip(("Wx", "Wh", "b"), (dWx, dWh, db)):
            sums[k] += g
    for k in sums:
        np.testing.assert_allclose(grads[k], sums[k], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["h0"], dh_next, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["c0"], dc_next, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", SEQ)
def test_no_input_is_modified(rng, cell):
    """Forward and backward leave every argument as it was, also for B = 1 and T = 1,
    where a transpose of the caller's array is already contiguous."""
    init, forward, backward, state_names = SEQ[cell]
    for B, T in [(1, 1), (1, 4), (3, 1), (2, 3)]:
        p = params_with_biases(init, 2, 3, rng)
        x = rng.standard_normal((B, T, 2))
        states = {k: rng.standard_normal((B, 3)) for k in state_names}
        dh = rng.standard_normal((B, T, 3))
        dfinal = [rng.standard_normal((B, 3)) for _ in state_names]
        before = [a.copy() for a in (x, dh, *states.values(), *p.values(), *dfinal)]
        h, _, cache = forward(x, **p, **states)
        h_before = h.copy()
        backward(dh, cache, *dfinal)
        h[...] = 0                       # writing into the output must not change the cache
        after = [x, dh, *states.values(), *p.values(), *dfinal]
        assert all(np.array_equal(a, b) for a, b in zip(before, after))
        np.testing.assert_array_equal(forward(x, **p, **states)[0], h_before)


def test_sigmoid_is_stable_and_exact():
    x = np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is right
        s = L.sigmoid(x)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    np.testing.assert_allclose(s[1:-1], 1 / (1 + np.exp(-x[1:-1])), rtol=1e-15)
    assert L.sigmoid(np.float32(-100.0)).dtype == np.float32


def test_forget_bias_initialisation():
    H = 5
    b = L.init_lstm(3, H, seed=0)["b"]
    f = L.gate_slices(L.LSTM_GATES, H)["f"]
    assert np.all(b[f] == 1.0) and np.count_nonzero(b) == H
    assert np.all(L.init_lstm(3, H, seed=0, forget_bias=0.0)["b"] == 0.0)
    Wh = L.init_lstm(3, H, seed=0)["Wh"]
    for k in range(4):     # each gate's recurrent block is orthogonal
        block = Wh[:, k * H:(k + 1) * H]
        np.testing.assert_allclose(block.T @ block, np.eye(H), atol=1e-12)
    np.testing.assert_array_equal(L.init_gru(3, H, seed=7)["Wx"], L.init_gru(3, H, seed=7)["Wx"])


def test_numerical_gradient_restores_input_and_rejects_float32():
    x = np.arange(6.0).reshape(2, 3)
    g = L.numerical_gradient(lambda: np.sum(x**2), x)
    np.testing.assert_allclose(g, 2 * np.arange(6.0).reshape(2, 3), atol=1e-8)
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match="float64"):
        L.numerical_gradient(lambda: 0.0, x.astype(np.float32))


def test_rel_error_is_normwise():
    """A gradient with a near-zero entry that is off by 1e-10: elementwise relative
    error calls it 100% wrong, the normwise error calls it right."""
    a = np.array([1.0, 2.0, 1e-12])
    b = np.array([1.0, 2.0, 1e-10])
    elementwise = np.max(np.abs(a - b) / (np.abs(a) + np.abs(b)))
    assert elementwise > 0.9
    assert L.rel_error(a, b) < 1e-10
    assert L.rel_error(np.zeros(3), np.zeros(3)) == 0.0


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradient_by_lag_matches_autodiff_of_the_sequence(rng, cell):
    """The probe's per-step gradients are those of the fast sequence backward:
    its lag-k input gradient is ||dL/dx_{T-1-k}|| with L = sum(h_T * u)."""
    init, forward, backward, state_names = SEQ[cell]
    B, T, D, H = 3, 7, 2, 4
    p = params_with_biases(init, D, H, rng)
    x = rng.standard_normal((B, T, D))
    probe = L.gradient_by_lag(cell, p, x, seed=5)
    u = np.random.default_rng(5).standard_normal((B, H))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    h, _, cache = forward(x, **p)
    dh = np.zeros_like(h)
    dh[:, -1] = u
    dx = backward(dh, cache)["x"]
    expected = np.linalg.norm(dx[:, ::-1], axis=2).mean(axis=0)
    np.testing.assert_allclose(probe["dx"], expected, rtol=1e-10)
    assert probe["dh"][0] == pytest.approx(1.0)
    np.testing.assert_array_equal(L.gradient_by_lag(cell, p, x, u=u)["dx"], probe["dx"])
    assert set(probe) == ({"dh", "dx", "dc"} if cell == "lstm" else {"dh", "dx"})

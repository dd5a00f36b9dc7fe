"""The LSTM variants of `lstm_ref.variants` (Greff et al. 2017): analytic gradients against
centred differences for every variant, "vanilla" against the fast LSTM, each variant's
defining equation, and the variants inside `lstm_ref.train`."""
import re

import numpy as np
import pytest

import lstm_ref as L
from lstm_ref.tolerances import FLOAT64, GRADCHECK_MAX_ABS, GRADCHECK_NORMWISE
from lstm_ref.train import Regressor, fit
from lstm_ref.variants import (PEEPHOLES, VARIANTS, VariantRegressor, init_lstm_variant,
                               init_peepholes, lstm_variant_backward, lstm_variant_forward,
                               variant_functions)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def params_for(variant, D, H, rng):
    """Initial parameters with random biases and random (non-zero) peepholes, so that no
    term of the backward pass hides behind a zero."""
    p = init_lstm_variant(variant, D, H, seed=rng)
    p["b"] = p["b"] + 0.3 * rng.standard_normal(p["b"].shape)
    if variant == "peephole":
        p.update(init_peepholes(H, seed=rng, scale=0.5))
    return p


def check(name, analytic, f, x):
    numeric = L.numerical_gradient(f, x)
    abs_err, rel = L.max_abs_error(analytic, numeric), L.rel_error(analytic, numeric)
    assert abs_err <= GRADCHECK_MAX_ABS and rel <= GRADCHECK_NORMWISE, (
        f"d{name}: max abs error {abs_err:.1e}, normwise relative error {rel:.1e}")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("B,T,D,H", [(2, 5, 3, 4), (1, 1, 2, 3)])
def test_variant_gradients(rng, variant, B, T, D, H):
    p = params_for(variant, D, H, rng)
    x = rng.standard_normal((B, T, D))
    states = {"h0": rng.standard_normal((B, H)), "c0": rng.standard_normal((B, H))}
    dh = rng.standard_normal((B, T, H))
    dh_T, dc_T = rng.standard_normal((B, H)), rng.standard_normal((B, H))

    def loss():
        h, (hT, cT), _ = lstm_variant_forward(x, **p, **states, variant=variant)
        return np.sum(h * dh) + np.sum(hT * dh_T) + np.sum(cT * dc_T)
    _, _, cache = lstm_variant_forward(x, **p, **states, variant=variant)
    grads = lstm_variant_backward(dh, cache, dh_T, dc_T)
    assert set(grads) == {"x", "h0", "c0", *p}
    for name, arr in [("x", x), *states.items(), *p.items()]:
        check(name, grads[name], loss, arr)


def test_vanilla_is_the_fast_lstm(rng):
    B, T, D, H = 3, 7, 4, 5
    p = params_for("vanilla", D, H, rng)
    x = rng.standard_normal((B, T, D))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    dh = rng.standard_normal((B, T, H))
    dc_T = rng.standard_normal((B, H))
    h, (hT, cT), cache = lstm_variant_forward(x, **p, h0=h0, c0=c0)
    h_ref, (hT_ref, cT_ref), cache_ref = L.lstm_forward(x, **p, h0=h0, c0=c0)
    for a, b in [(h, h_ref), (hT, hT_ref), (cT, cT_ref)]:
        np.testing.assert_allclose(a, b, **FLOAT64)
    grads = lstm_variant_backward(dh, cache, dc_T=dc_T)
    grads_ref = L.lstm_backward(dh, cache_ref, dc_T=dc_T)
    assert set(grads) == set(grads_ref)
    for k in grads_ref:
        np.testing.assert_allclose(grads[k], grads_ref[k], **FLOAT64, err_msg=k)


@pytest.fixture
def run(rng):
    """Forward pass of a variant on random data: (params, x, h, cache)."""
    def go(variant, B=3, T=6, D=2, H=4):
        p = params_for(variant, D, H, rng)
        x = rng.standard_normal((B, T, D))
        h, _, cache = lstm_variant_forward(x, **p, variant=variant)
        return p, x, h, cache
    return go


def test_each_variant_computes_its_equation(run):
    for variant in ("NIG", "NFG", "NOG"):
        gate = {"NIG": "i", "NFG": "f", "NOG": "o"}[variant]
        _, _, _, cache = run(variant)
        assert np.all(cache[gate] == 1.0), f"{variant}: {gate} must be exactly 1"
        others = [k for k in L.LSTM_GATES if k not in (gate, "g")]
        assert all(np.all((cache[k] > 0) & (cache[k] < 1)) for k in others)
    _, _, _, cache = run("CIFG")
    np.testing.assert_array_equal(cache["i"], 1 - cache["f"])
    _, _, h, cache = run("NOAF")
    np.testing.assert_allclose(h, (cache["o"] * cache["c"][1:]).transpose(1, 0, 2), **FLOAT64)
    _, _, h, cache = run("vanilla")
    np.testing.assert_allclose(h, (cache["o"] * np.tanh(cache["c"][1:])).transpose(1, 0, 2), **FLOAT64)
    # every variant: c_t = f c_{t-1} + i g
    for variant in VARIANTS:
        _, _, _, cache = run(variant)
        np.testing.assert_allclose(cache["c"][1:], cache["f"] * cache["c"][:-1] + cache["i"] * cache["g"],
                                   **FLOAT64)


def test_peepholes_read_the_cell(rng):
    """The peephole gates are those of the vanilla LSTM with c_{t-1} * p (i, f) and
    c_t * p_o (o) added to their pre-activations; zero peepholes give the vanilla LSTM."""
    B, T, D, H = 2, 4, 3, 5
    p = params_for("peephole", D, H, rng)
    x = rng.standard_normal((B, T, D))
    _, _, cache = lstm_variant_forward(x, **p, variant="peephole")
    s = L.gate_slices(L.LSTM_GATES, H)
    c = cache["c"]
    for t in range(T):
        a = x[:, t] @ p["Wx"] + cache["h"][t] @ p["Wh"] + p["b"]
        np.testing.assert_allclose(cache["i"][t], L.sigmoid(a[:, s["i"]] + c[t] * p["p_i"]), **FLOAT64)
        np.testing.assert_allclose(cache["f"][t], L.sigmoid(a[:, s["f"]] + c[t] * p["p_f"]), **FLOAT64)
        np.testing.assert_allclose(cache["o"][t], L.sigmoid(a[:, s["o"]] + c[t + 1] * p["p_o"]), **FLOAT64)
    zero = {**p, **init_peepholes(H)}
    lstm = {k: v for k, v in p.items() if k not in PEEPHOLES}
    np.testing.assert_allclose(lstm_variant_forward(x, **zero, variant="peephole")[0],
                               L.lstm_forward(x, **lstm)[0], **FLOAT64)


@pytest.mark.parametrize("variant,unused", [("NIG", "i"), ("NFG", "f"), ("NOG", "o"), ("CIFG", "i")])
def test_unused_gate_columns_get_zero_gradient(run, rng, variant, unused):
    p, x, h, cache = run(variant)
    grads = lstm_variant_backward(rng.standard_normal(h.shape), cache)
    s = L.gate_slices(L.LSTM_GATES, p["Wh"].shape[0])[unused]
    assert np.all(grads["Wx"][:, s] == 0) and np.all(grads["Wh"][:, s] == 0) and np.all(grads["b"][s] == 0)


def test_no_input_is_modified(rng):
    for variant in VARIANTS:
        p = params_for(variant, 2, 3, rng)
        x = rng.standard_normal((1, 3, 2))
        h0, c0 = rng.standard_normal((1, 3)), rng.standard_normal((1, 3))
        dh = rng.standard_normal((1, 3, 3))
        dh_T, dc_T = rng.standard_normal((1, 3)), rng.standard_normal((1, 3))
        before = [a.copy() for a in (x, h0, c0, dh, dh_T, dc_T, *p.values())]
        _, _, cache = lstm_variant_forward(x, **p, h0=h0, c0=c0, variant=variant)
        lstm_variant_backward(dh, cache, dh_T, dc_T)
        after = [x, h0, c0, dh, dh_T, dc_T, *p.values()]
        assert all(np.array_equal(a, b) for a, b in zip(before, after)), variant


def test_float32_stays_float32(rng):
    for variant in VARIANTS:
        p = {k: v.astype(np.float32) for k, v in params_for(variant, 2, 3, rng).items()}
        x = rng.standard_normal((2, 4, 2)).astype(np.float32)
        h, (hT, cT), cache = lstm_variant_forward(x, **p, variant=variant)
        grads = lstm_variant_backward(np.ones_like(h), cache)
        assert h.dtype == hT.dtype == cT.dtype == np.float32
        assert all(g.dtype == np.float32 for g in grads.values()), variant


def raises(exc, *fragments):
    return pytest.raises(exc, match="(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments))


def test_clear_errors(rng):
    p = init_lstm_variant("vanilla", 2, 3, seed=0)
    x = rng.standard_normal((2, 4, 2))
    with raises(ValueError, "lstm_variant_forward", "variant must be one of", "'GRU'"):
        lstm_variant_forward(x, **p, variant="GRU")
    with raises(ValueError, "'peephole' needs p_i, p_f and p_o", "missing ['p_i', 'p_f', 'p_o']"):
        lstm_variant_forward(x, **p, variant="peephole")
    with raises(ValueError, "'CIFG' has no peepholes", "['p_i', 'p_f', 'p_o']"):
        lstm_variant_forward(x, **p, **init_peepholes(3), variant="CIFG")
    with raises(ValueError, "p_o has shape (4,)", "expected (H,) = (3,)"):
        lstm_variant_forward(x, **p, **{**init_peepholes(3), "p_o": np.zeros(4)}, variant="peephole")
    with raises(ValueError, "x has shape (2, 4, 5)", "expected (B, T, D) = (B, T, 2)"):
        lstm_variant_forward(np.zeros((2, 4, 5)), **p)
    h, _, cache = lstm_variant_forward(x, **p)
    with raises(ValueError, "lstm_variant_backward", "dh has shape (2, 3, 3)", "expected (2, 4, 3)"):
        lstm_variant_backward(h[:, :3], cache)
    with raises(ValueError, "VariantRegressor", "variant must be one of"):
        VariantRegressor("nope", 2, 3)
    with raises(ValueError, "init_peepholes", "H must be a positive integer"):
        init_peepholes(0)


def test_variant_regressor_trains_like_the_lstm_regressor():
    """VariantRegressor('vanilla') is Regressor('lstm'): same initial weights, same losses;
    every variant runs inside `fit` and keeps the shared weights' initial values."""
    batch = lambda r: L.adding_problem(8, 10, seed=r)
    ref = Regressor("lstm", D=2, H=4, seed=3)
    for variant in VARIANTS:
        model = VariantRegressor(variant, D=2, H=4, seed=3)
        for k, v in ref.params.items():
            np.testing.assert_array_equal(model.params[k], v)
        assert set(model.params) == set(ref.params) | (set(PEEPHOLES) if variant == "peephole" else set())
    model = VariantRegressor("vanilla", D=2, H=4, seed=3)
    h_ref = fit(ref, batch, steps=5, eval_every=5, progress=False)
    h_var = fit(model, batch, steps=5, eval_every=5, progress=False)
    np.testing.assert_allclose(h_var["train_mse"], h_ref["train_mse"], rtol=1e-10)
    for variant in VARIANTS:
        m = VariantRegressor(variant, D=2, H=4, seed=3, dtype=np.float32)
        hist = fit(m, lambda r: L.adding_problem(8, 10, seed=r, dtype=np.float32), steps=3,
                   eval_every=3, progress=False)
        assert np.isfinite(hist["train_mse"][-1])
    forward, backward = variant_functions("CIFG")
    assert backward is lstm_variant_backward and "CIFG" in forward.__name__

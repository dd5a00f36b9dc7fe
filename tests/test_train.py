"""The NumPy training code the chapters use: its gradients, clipping, Adam and fit."""
import numpy as np
import pytest

import lstm_ref as L
from lstm_ref.tolerances import GRADCHECK_MAX_ABS, GRADCHECK_NORMWISE
from lstm_ref.train import Adam, Regressor, clip_by_global_norm, fit


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_regressor_gradients_match_numerical(cell):
    model = Regressor(cell, D=2, H=3, seed=0)
    x, y = L.adding_problem(4, 6, seed=1)
    _, grads = model.loss_and_grads(x, y)
    assert set(grads) == set(model.params)
    for name, arr in model.params.items():
        numeric = L.numerical_gradient(lambda: model.loss_and_grads(x, y)[0], arr)
        assert L.max_abs_error(grads[name], numeric) <= GRADCHECK_MAX_ABS, name
        assert L.rel_error(grads[name], numeric) <= GRADCHECK_NORMWISE, name


def test_cell_params_are_the_trained_arrays():
    model = Regressor("lstm", D=2, H=3, seed=0, forget_bias=0.0)
    p = model.cell_params()
    assert set(p) == {"Wx", "Wh", "b"} and p["Wx"] is model.params["Wx"]
    assert np.all(p["b"] == 0.0)


def test_clip_by_global_norm():
    grads = {"a": np.array([3.0]), "b": np.array([4.0])}
    clipped, norm = clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose([clipped["a"][0], clipped["b"][0]], [0.6, 0.8])
    same, _ = clip_by_global_norm(grads, 10.0)
    assert same is grads


def test_adam_minimises_a_quadratic():
    params = {"w": np.array([5.0, -3.0])}
    opt = Adam(params, lr=0.1)
    for _ in range(500):
        opt.step({"w": 2 * params["w"]})
    assert np.all(np.abs(params["w"]) < 1e-2)


def test_fit_learns_and_reports():
    model = Regressor("lstm", D=2, H=8, seed=0, dtype=np.float32)
    ev = L.adding_problem(200, 10, seed=9, dtype=np.float32)
    hist = fit(model, lambda r: L.adding_problem(32, 10, seed=r, dtype=np.float32), steps=300, lr=1e-2,
               eval_every=100, eval_data=ev, progress=False)
    assert hist["step"] == [100, 200, 300] and hist["seconds"] > 0
    assert hist["eval_mse"][-1] < 0.5 * L.adding_baseline_mse(10)


def test_fit_stops_on_a_diverging_loss():
    model = Regressor("rnn", D=2, H=4, seed=0)
    with pytest.raises(FloatingPointError, match="fit, at step 1: the loss is nan"):
        fit(model, lambda r: (np.zeros((2, 3, 2)), np.full((2, 1), np.nan)), steps=2, progress=False)

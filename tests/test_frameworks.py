"""lstm_ref computes what torch.nn.LSTM/GRU/RNN and Keras LSTM/GRU/SimpleRNN compute:
the same outputs, final states and gradients (input, initial states, every parameter),
with the same weights loaded through lstm_ref.convert."""
import numpy as np
import pytest

from frameworks import keras_run, torch_run, STATES
from lstm_ref import (gru_backward, gru_forward, init_gru, init_lstm, init_rnn, lstm_backward,
                      lstm_forward, rel_error, rnn_backward, rnn_forward, stacked_backward,
                      stacked_forward)
from lstm_ref.tolerances import FLOAT32_WEIGHT_GRAD_NORMWISE, elementwise

SHAPES = [  # (B, T, D, H)
    (1, 1, 3, 4),       # B = 1, T = 1
    (2, 5, 3, 4),       # H != D
    (3, 7, 5, 2),       # H < D
    (4, 6, 4, 4),       # H = D
]
INIT = {"lstm": init_lstm, "gru": init_gru, "rnn": init_rnn}


def random_problem(cell, B, T, D, H, dtype, with_states, seed=0):
    """Parameters with non-zero biases, input, initial states and upstream gradients."""
    rng = np.random.default_rng(seed)
    p = INIT[cell](D, H, seed=rng)
    for k in p:
        if k.startswith("b"):
            p[k] = p[k] + 0.5 * rng.standard_normal(p[k].shape)
    p = {k: v.astype(dtype) for k, v in p.items()}
    x = rng.standard_normal((B, T, D)).astype(dtype)
    states = {k: rng.standard_normal((B, H)).astype(dtype) for k in STATES[cell]} if with_states else {}
    dh = rng.standard_normal((B, T, H)).astype(dtype)
    dfinal = {k[0]: rng.standard_normal((B, H)).astype(dtype) for k in STATES[cell]}
    return p, x, states, dh, dfinal


def ref_run(cell, p, x, states, dh, dfinal, reset_after=True):
    if cell == "lstm":
        h, (hT, cT), cache = lstm_forward(x, **p, **states)
        grads = lstm_backward(dh, cache, dh_T=dfinal["h"], dc_T=dfinal["c"])
        return h, {"h": hT, "c": cT}, grads
    if cell == "gru":
        h, hT, cache = gru_forward(x, **p, **states, reset_after=reset_after)
        return h, {"h": hT}, gru_backward(dh, cache, dh_T=dfinal["h"])
    h, hT, cache = rnn_forward(x, **p, **states)
    return h, {"h": hT}, rnn_backward(dh, cache, dh_T=dfinal["h"])


def assert_close(what, ours, theirs, weight_grad=False):
    """float64: elementwise at rtol 1e-10/atol 1e-12. float32: elementwise at torch's
    tolerances, except weight gradients (sums of T*B terms), judged normwise."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs {theirs.shape}"
    if weight_grad and ours.dtype == np.float32:
        err = rel_error(ours, theirs)
        assert err <= FLOAT32_WEIGHT_GRAD_NORMWISE, f"{what}: normwise relative error {err:.2e}"
    else:
        np.testing.assert_allclose(ours, theirs, **elementwise(ours.dtype), err_msg=what)


def compare(ref, other, param_names):
    (h, finals, grads), (h2, finals2, grads2) = ref, other
    assert_close("output h", h, h2)
    for k in finals2:
        assert_close(f"final {k}", finals[k], finals2[k])
    for k in ("x", "h0", "c0"):
        if k in grads2:
            assert_close(f"d{k}", grads[k], grads2[k])
    for name in param_names:
        assert_close(f"d{name}", grads[name], grads2["params"][0][0][name], weight_grad=True)


CASES = [(cell, fw) for cell in ("lstm", "gru", "rnn") for fw in ("torch", "keras")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_states", [True, False])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "B{}T{}D{}H{}".format(*s))
@pytest.mark.parametrize("cell,framework", CASES)
def test_single_layer_matches_framework(cell, framework, shape, with_states, dtype):
    p, x, states, dh, dfinal = random_problem(cell, *shape, dtype, with_states)
    run = torch_run if framework == "torch" else keras_run
    compare(ref_run(cell, p, x, states, dh, dfinal), run(cell, [[p]], x, states, dh, dfinal), p)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_states", [True, False])
def test_keras_gru_original_reset_variant(with_states, dtype):
    """Keras GRU(reset_after=False) is Cho et al.'s form; lstm_ref's reset_after=False."""
    p, x, states, dh, dfinal = random_problem("gru", 3, 6, 4, 5, dtype, with_states)
    p["bh"] = np.zeros_like(p["bh"])    # that Keras variant stores only bx + bh
    ours = ref_run("gru", p, x, states, dh, dfinal, reset_after=False)
    theirs = keras_run("gru", [[p]], x, states, dh, dfinal, reset_after=False)
    compare(ours, theirs, ["Wx", "Wh", "bx"])
    # Keras has one bias for both: its gradient is the gradient of each of ours.
    assert_close("dbh", ours[2]["bh"], theirs[2]["params"][0][0]["bh"], weight_grad=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cell,framework", CASES)
def test_stacked_bidirectional_matches_framework(cell, framework, dtype):
    """Two bidirectional layers: params[layer][direction], as torch and Keras stack them."""
    rng = np.random.default_rng(1)
    B, T, D, H, L = 2, 5, 3, 4, 2
    params = []
    for k in range(L):
        layer = []
        for d in range(2):
            p = INIT[cell](D if k == 0 else 2 * H, H, seed=rng)
            layer.append({n: (v + 0.3 * rng.standard_normal(v.shape)).astype(dtype) for n, v in p.items()})
        params.append(layer)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    dh = rng.standard_normal((B, T, 2 * H)).astype(dtype)
    h, cache = stacked_forward(cell, x, params)
    dx, grads = stacked_backward(dh, cache)
    run = torch_run if framework == "torch" else keras_run
    h2, _, grads2 = run(cell, params, x, {}, dh, {}, num_layers=L, bidirectional=True)
    assert_close("output h", h, h2)
    assert_close("dx", dx, grads2["x"])
    for k in range(L):
        for d in range(2):
            for name in params[k][d]:
                assert_close(f"layer {k} direction {d} d{name}", grads[k][d][name],
                             grads2["params"][k][d][name], weight_grad=True)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_framework_initialised_weights_run_in_lstm_ref(cell):
    """The other direction: a module with the framework's own random weights (both torch
    biases non-zero) read by from_torch gives lstm_ref the module's outputs."""
    import torch
    from frameworks import TORCH_LAYERS
    from lstm_ref.convert import from_torch
    torch.manual_seed(0)
    m = TORCH_LAYERS[cell](3, 4, batch_first=True).double()
    p = from_torch(m)[0][0]
    x = np.random.default_rng(2).standard_normal((2, 6, 3))
    out, _ = m(torch.tensor(x))
    ours = {"lstm": lstm_forward, "gru": gru_forward, "rnn": rnn_forward}[cell](x, **p)[0]
    assert_close("output h", ours, out.detach().numpy())

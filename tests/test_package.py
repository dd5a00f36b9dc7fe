"""Packaging promises: NumPy only at import, conversions that round-trip exactly, and
converter errors that say what is wrong."""
import subprocess
import sys

import numpy as np
import pytest

import lstm_ref as L


def test_import_needs_only_numpy():
    code = ("import sys, lstm_ref, lstm_ref.convert; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_gate_order_is_defined_once():
    assert L.LSTM_GATES == ("i", "f", "g", "o") and L.GRU_GATES == ("r", "z", "n")
    s = L.gate_slices(L.LSTM_GATES, 3)
    assert [s[g] for g in L.LSTM_GATES] == [slice(0, 3), slice(3, 6), slice(6, 9), slice(9, 12)]


def test_reorder_gates_round_trip():
    from lstm_ref.convert import reorder_gates
    W = np.arange(2 * 9).reshape(2, 9)
    Wk = reorder_gates(W, ("r", "z", "n"), ("z", "r", "n"))
    np.testing.assert_array_equal(Wk[:, :3], W[:, 3:6])
    np.testing.assert_array_equal(reorder_gates(Wk, ("z", "r", "n"), ("r", "z", "n")), W)


def nested(init, D, H, layers, dirs, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(layers):
        ps = [init(D if k == 0 else dirs * H, H, seed=rng) for _ in range(dirs)]
        out.append([{n: v + rng.standard_normal(v.shape) for n, v in p.items()} for p in ps])
    return out


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_torch_round_trip(cell):
    import torch
    from lstm_ref.convert import from_torch, to_torch
    init = {"lstm": L.init_lstm, "gru": L.init_gru, "rnn": L.init_rnn}[cell]
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    params = nested(init, 3, 4, layers=2, dirs=2)
    back = from_torch(to_torch(cls(3, 4, num_layers=2, bidirectional=True).double(), params))
    for k in range(2):
        for d in range(2):
            for name, v in params[k][d].items():
                np.testing.assert_array_equal(back[k][d][name], v, err_msg=f"[{k}][{d}] {name}")


def test_torch_converter_errors():
    import torch
    from lstm_ref.convert import from_torch, to_torch
    p = L.init_lstm(3, 4)
    with pytest.raises(ValueError, match=r"weight_ih_l0 has shape \(16, 5\) in the framework.*\(16, 3\)"):
        to_torch(torch.nn.LSTM(5, 4), p)
    with pytest.raises(ValueError, match=r"2 layer\(s\) of 1 direction\(s\), got 1 layer"):
        to_torch(torch.nn.LSTM(3, 4, num_layers=2), p)
    with pytest.raises(ValueError, match=r"lacks \['bh', 'bx'\] for a GRU"):
        to_torch(torch.nn.GRU(3, 4), p)
    with pytest.raises(TypeError, match="expected a torch.nn.LSTM, GRU or RNN, got Linear"):
        to_torch(torch.nn.Linear(3, 4), p)
    with pytest.raises(ValueError, match="uses 'relu'"):
        from_torch(torch.nn.RNN(3, 4, nonlinearity="relu"))
    with pytest.raises(ValueError, match=r"\.grad is None; call loss.backward\(\)"):
        from_torch(torch.nn.LSTM(3, 4), grad=True)
    with pytest.raises(ValueError, match="bias=False but params"):
        to_torch(torch.nn.LSTM(3, 4, bias=False), p)
    p["b"][:] = 0
    to_torch(torch.nn.LSTM(3, 4, bias=False).double(), p)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_keras_round_trip(cell):
    import frameworks  # noqa: F401  (sets the Keras backend for this process)
    import keras
    from lstm_ref.convert import from_keras, to_keras
    init = {"lstm": L.init_lstm, "gru": L.init_gru, "rnn": L.init_rnn}[cell]
    cls = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}[cell]
    params = nested(init, 3, 4, layers=2, dirs=2)
    layers = [keras.layers.Bidirectional(cls(4, return_sequences=True, dtype="float64"), dtype="float64")
              for _ in range(2)]
    to_keras(layers, params)                      # builds the unbuilt layers for D = 3
    back = from_keras(layers)
    for k in range(2):
        for d in range(2):
            for name, v in params[k][d].items():
                np.testing.assert_array_equal(back[k][d][name], v, err_msg=f"[{k}][{d}] {name}")


def test_keras_converter_errors():
    import frameworks  # noqa: F401
    import keras
    from lstm_ref.convert import to_keras
    layer = keras.layers.LSTM(4)
    layer.build((None, None, 5))
    with pytest.raises(ValueError, match=r"kernel has shape \(5, 16\) in the framework.*\(3, 16\)"):
        to_keras(layer, L.init_lstm(3, 4))
    with pytest.raises(ValueError, match="activation 'relu'"):
        to_keras(keras.layers.LSTM(4, activation="relu"), L.init_lstm(3, 4))
    with pytest.raises(TypeError, match="got Dense"):
        to_keras(keras.layers.Dense(4), L.init_lstm(3, 4))

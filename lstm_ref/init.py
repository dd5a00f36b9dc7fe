"""Initial parameters for the RNN, LSTM and GRU, as dicts keyed like the forward arguments:

    params = init_lstm(D=8, H=16, seed=0)
    h, (h_T, c_T), cache = lstm_forward(x, **params)

The scheme is Keras' default, which is the better-founded of the two frameworks' choices:
- Wx: Glorot (Xavier) uniform, U(-a, a) with a = sqrt(6 / (D + kH)), kH = columns of Wx.
- Wh: each gate's (H, H) block an orthogonal matrix (Saxe et al. 2014), so that the
  recurrent map neither shrinks nor stretches the state at the start of training.
- biases zero, except the LSTM's forget gate: 1.0 by default (Gers et al. 2000,
  Jozefowicz et al. 2015), so that f_t starts near sigmoid(1) = 0.73 and the cell
  remembers from the first step. Pass forget_bias=0.0 to compare.
(PyTorch instead draws every weight and bias from U(-1/sqrt(H), 1/sqrt(H)).)
"""
import numpy as np

from .gates import GRU_GATES, LSTM_GATES, gate_slices


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_sizes(where, D, H):
    for name, n in (("D", D), ("H", H)):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{where}: {name} must be a positive integer, got {n!r}")


def glorot_uniform(rng, fan_in, fan_out, dtype=np.float64):
    """(fan_in, fan_out) matrix from U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out)).astype(dtype)


def orthogonal(rng, n, dtype=np.float64):
    """(n, n) orthogonal matrix, uniformly distributed (QR of a Gaussian, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.sign(np.diag(r))).astype(dtype)


def _recurrent(rng, H, k, dtype):
    return np.concatenate([orthogonal(rng, H, dtype) for _ in range(k)], axis=1)


def init_rnn(D, H, seed=None, dtype=np.float64):
    """Parameters of a tanh RNN: Wx (D, H), Wh (H, H), b (H,)."""
    _check_sizes("init_rnn", D, H)
    rng = _rng(seed)
    return {"Wx": glorot_uniform(rng, D, H, dtype), "Wh": orthogonal(rng, H, dtype),
            "b": np.zeros(H, dtype)}


def init_lstm(D, H, seed=None, dtype=np.float64, forget_bias=1.0):
    """Parameters of an LSTM: Wx (D, 4H), Wh (H, 4H), b (4H,) with b_f = forget_bias."""
    _check_sizes("init_lstm", D, H)
    rng = _rng(seed)
    b = np.zeros(4 * H, dtype)
    b[gate_slices(LSTM_GATES, H)["f"]] = forget_bias
    return {"Wx": glorot_uniform(rng, D, 4 * H, dtype), "Wh": _recurrent(rng, H, 4, dtype), "b": b}


def init_gru(D, H, seed=None, dtype=np.float64):
    """Parameters of a GRU: Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,)."""
    _check_sizes("init_gru", D, H)
    rng = _rng(seed)
    return {"Wx": glorot_uniform(rng, D, 3 * H, dtype), "Wh": _recurrent(rng, H, len(GRU_GATES), dtype),
            "bx": np.zeros(3 * H, dtype), "bh": np.zeros(3 * H, dtype)}

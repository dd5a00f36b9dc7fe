"""Measuring memory: how much of the gradient at the last step reaches each earlier step.

For a loss that reads only the last hidden state, L = sum(h_T * u) with u a fixed random
unit vector per example, backpropagation through time carries dL/dh_t back one step at
a time. For a tanh RNN each step multiplies it by a Jacobian,

    dL/dh_{t-1} = (dL/dh_t * (1 - h_t^2)) @ Wh^T,

so its norm shrinks or grows geometrically with the lag T - t. For an LSTM the cell
state adds a second path on which each step only multiplies by the forget gate,
dL/dc_{t-1} = f_t * dL/dc_t + (terms through the gates).

`gradient_by_lag` runs the textbook step functions of `lstm_ref.cells` forwards and then
backwards, records the norm of the gradient that reaches every step, and averages over
the batch.
"""
import numpy as np

from .cells import (gru_step_backward, gru_step_forward, lstm_step_backward, lstm_step_forward,
                    rnn_step_backward, rnn_step_forward)


def gradient_by_lag(cell, params, x, seed=0, u=None):
    """Norm of the gradient of L = sum(h_T * u) with respect to earlier states, by lag.

    Inputs: cell, "rnn", "lstm" or "gru"; params as from `lstm_ref.init`; x (B, T, D);
    u (B, H), the direction the loss reads h_T in, or None for random unit vectors drawn
    with `seed`. States start at zero.
    Returns a dict of arrays of length T, index k = lag (0 = the last step):
    - "dh": mean over the batch of ||dL/dh_{T-1-k}||, the gradient reaching the hidden
      state k steps before the end (k = 0 is dL/dh_{T-1} = u, norm 1);
    - "dx": the same for the input x_{T-1-k};
    - "dc" (LSTM only): the same for the cell state c_{T-1-k}.
    """
    if cell not in ("rnn", "lstm", "gru"):
        raise ValueError(f"gradient_by_lag: cell must be 'rnn', 'lstm' or 'gru', got {cell!r}")
    B, T, _ = x.shape
    H = params["Wh"].shape[0]
    if u is None:
        u = np.random.default_rng(seed).standard_normal((B, H)).astype(x.dtype)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
    h = np.zeros((B, H), x.dtype)
    c = np.zeros((B, H), x.dtype)
    caches = []
    for t in range(T):
        if cell == "lstm":
            h, c, cache = lstm_step_forward(x[:, t], h, c, **params)
        elif cell == "gru":
            h, cache = gru_step_forward(x[:, t], h, **params)
        else:
            h, cache = rnn_step_forward(x[:, t], h, **params)
        caches.append(cache)
    norm = lambda a: float(np.mean(np.linalg.norm(a, axis=1)))
    out = {"dh": np.zeros(T), "dx": np.zeros(T)}
    if cell == "lstm":
        out["dc"] = np.zeros(T)
    dh, dc = u, np.zeros_like(u)
    for k, t in enumerate(reversed(range(T))):
        out["dh"][k] = norm(dh)                 # gradient reaching h_t (lag k)
        if cell == "lstm":
            *_, o, tanh_c = caches[t]           # c_t reaches L through c_{t+1} and through h_t
            out["dc"][k] = norm(dc + dh * o * (1 - tanh_c**2))
            dx, dh, dc, *_ = lstm_step_backward(dh, dc, caches[t])
        elif cell == "gru":
            dx, dh, *_ = gru_step_backward(dh, caches[t])
        else:
            dx, dh, *_ = rnn_step_backward(dh, caches[t])
        out["dx"][k] = norm(dx)
    return out

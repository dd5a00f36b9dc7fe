"""Stacked and bidirectional networks, built from the single-layer sequence functions.

A bidirectional layer runs one network forwards over x and a second one over x read
backwards, and concatenates their hidden states step by step: h_t = [h_t^fwd, h_t^bwd],
so every output sees the whole sequence. A stacked network feeds layer k's hidden states
to layer k+1 as its input. PyTorch (bidirectional=True, num_layers=K) and Keras
(Bidirectional(..., merge_mode="concat"), layers in a row) compute exactly this.

Parameters are nested, params[layer][direction], as in `lstm_ref.convert`; all states
start at zero.
"""
import numpy as np

from .sequence import gru_backward, gru_forward, lstm_backward, lstm_forward, rnn_backward, rnn_forward

_CELLS = {"rnn": (rnn_forward, rnn_backward), "lstm": (lstm_forward, lstm_backward),
          "gru": (gru_forward, gru_backward)}


def _cell(where, cell):
    if cell not in _CELLS:
        raise ValueError(f"{where}: cell must be one of {sorted(_CELLS)}, got {cell!r}")
    return _CELLS[cell]


def stacked_forward(cell, x, params, **options):
    """Run a stack of (optionally bidirectional) layers over x.

    Inputs: cell, "rnn", "lstm" or "gru"; x (B, T, D); params[layer][direction];
    options passed to every layer (e.g. reset_after for the GRU).
    Returns: h (B, T, dirs*H), the top layer's hidden states (forward half first), and a
    cache for `stacked_backward`.
    """
    forward, _ = _cell("stacked_forward", cell)
    caches = []
    for layer in params:
        outs, layer_caches = [], []
        for d, p in enumerate(layer):
            inp = x[:, ::-1] if d == 1 else x          # direction 1 reads time backwards
            h, _, cache = forward(np.ascontiguousarray(inp), **p, **options)
            outs.append(h[:, ::-1] if d == 1 else h)
            layer_caches.append(cache)
        x = np.ascontiguousarray(np.concatenate(outs, axis=-1))
        caches.append(layer_caches)
    return x, (cell, caches)


def stacked_backward(dh, cache):
    """Backward pass of `stacked_forward`.

    Inputs: dh (B, T, dirs*H), gradient with respect to the top layer's hidden states; cache.
    Returns: dx (B, T, D) and grads[layer][direction], dicts keyed like the parameters.
    """
    cell, caches = cache
    _, backward = _cell("stacked_backward", cell)
    grads = []
    for layer_caches in reversed(caches):
        H = dh.shape[-1] // len(layer_caches)
        dx, layer_grads = 0, []
        for d, c in enumerate(layer_caches):
            dh_d = dh[..., d * H:(d + 1) * H]
            g = backward(np.ascontiguousarray(dh_d[:, ::-1] if d == 1 else dh_d), c)
            dx = dx + (g["x"][:, ::-1] if d == 1 else g["x"])
            layer_grads.append({k: v for k, v in g.items() if k not in ("x", "h0", "c0")})
        grads.insert(0, layer_grads)
        dh = dx
    return np.ascontiguousarray(dh), grads

"""Run the same recurrent layer in PyTorch and Keras, with lstm_ref's weights, and collect
outputs and every gradient in lstm_ref's names. Imported only by tests that need the
frameworks (importing both costs ~8 s)."""
import os

# This test process only: the course never sets KERAS_BACKEND globally.
os.environ["KERAS_BACKEND"] = "tensorflow"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

from lstm_ref.convert import from_keras, from_torch, to_keras, to_torch  # noqa: E402

torch.set_num_threads(2)
try:
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
except RuntimeError:        # already initialised by an earlier import in this process
    pass

TORCH_LAYERS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
KERAS_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}
STATES = {"lstm": ("h0", "c0"), "gru": ("h0",), "rnn": ("h0",)}


def torch_run(cell, params, x, states, dh, dfinal, num_layers=1, bidirectional=False):
    """Forward and backward through torch.nn.<cell> loaded with `params`.

    x (B, T, D); states: dict of initial states (B, H) or empty; dh: gradient for the
    outputs; dfinal: dict of gradients for the final states (single layer only).
    Returns (outputs, finals, grads): grads holds "x", the initial states' gradients
    and params[layer][direction].
    """
    B, T, D = x.shape
    H = dh.shape[-1] // (2 if bidirectional else 1)
    tdtype = torch.float64 if x.dtype == np.float64 else torch.float32
    m = TORCH_LAYERS[cell](D, H, num_layers=num_layers, bidirectional=bidirectional,
                           batch_first=True).to(tdtype)
    to_torch(m, params)
    xt = torch.tensor(x, requires_grad=True)
    s0 = {k: torch.tensor(v[None], requires_grad=True) for k, v in states.items()}
    if cell == "lstm":
        out, (hT, cT) = m(xt, (s0["h0"], s0["c0"]) if s0 else None)
        finals = {"h": hT[0], "c": cT[0]}
    else:
        out, hT = m(xt, s0.get("h0"))
        finals = {"h": hT[0]}
    loss = (out * torch.tensor(dh)).sum()
    for k, v in dfinal.items():
        loss = loss + (finals[k] * torch.tensor(v)).sum()
    loss.backward()
    grads = {"x": xt.grad.numpy(), "params": from_torch(m, grad=True)}
    grads.update({k: v.grad[0].numpy() for k, v in s0.items()})
    return out.detach().numpy(), {k: v.detach().numpy() for k, v in finals.items()}, grads


def keras_run(cell, params, x, states, dh, dfinal, num_layers=1, bidirectional=False,
              reset_after=True):
    """Same as `torch_run`, with Keras layers (Bidirectional and stacks for several layers)."""
    B, T, D = x.shape
    H = dh.shape[-1] // (2 if bidirectional else 1)
    dtype = "float64" if x.dtype == np.float64 else "float32"
    options = {"reset_after": reset_after} if cell == "gru" else {}
    layers = []
    for _ in range(num_layers):
        rnn = KERAS_LAYERS[cell](H, return_sequences=True, return_state=not bidirectional,
                                 dtype=dtype, **options)
        layers.append(keras.layers.Bidirectional(rnn, dtype=dtype) if bidirectional else rnn)
    to_keras(layers, params)
    xt = tf.constant(x)
    s0 = {k: tf.constant(v) for k, v in states.items()}
    with tf.GradientTape() as tape:
        tape.watch([xt, *s0.values()])
        if bidirectional:
            out = xt
            for layer in layers:
                out = layer(out)
            finals = {}
        else:
            init = [s0[k] for k in STATES[cell]] if s0 else None
            out, *fin = layers[0](xt, initial_state=init)
            finals = dict(zip(("h", "c"), fin))
        loss = tf.reduce_sum(out * dh)
        for k, v in dfinal.items():
            loss += tf.reduce_sum(finals[k] * v)
    weights = [w for layer in layers for w in layer.trainable_weights]
    g = tape.gradient(loss, [xt, *s0.values()] + weights)
    grads = {"x": g[0].numpy(), "params": from_keras(layers, grads=g[1 + len(s0):])}
    grads.update({k: v.numpy() for k, v in zip(s0, g[1:1 + len(s0)])})
    return out.numpy(), {k: v.numpy() for k, v in finals.items()}, grads

"""One time step of a plain RNN, an LSTM and a GRU: forward and backward.

These are the textbook versions, written to be read next to the book's equations.
Conventions (the book's, used everywhere in the course):

- x: input at one step, shape (B, D): B sequences in the batch, D input features.
- h_prev, h_next: hidden state, shape (B, H). c_prev, c_next: LSTM cell state, (B, H).
- Wx: input-to-hidden weights, (D, kH); Wh: hidden-to-hidden weights, (H, kH); b: (kH,),
  where k = 1 (RNN), 4 (LSTM) or 3 (GRU). Rows are examples (x @ Wx, not Wx @ x), so
  one matrix product handles a whole batch.
- The k gate blocks of a fused (B, kH) pre-activation are ordered as in `lstm_ref.gates`.

Each forward function returns a ``cache`` holding what its backward function needs.
Each backward function takes the upstream gradients (dL/d of each output) and
returns the gradients of the loss L with respect to every input, same shapes.
The fast, whole-sequence versions are in `lstm_ref.sequence`.
"""
import numpy as np

from .checks import check_arrays
from .gates import GRU_GATES, LSTM_GATES, gate_slices


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)) that never overflows.

    exp(-x) overflows for x < -709 in float64 (-88 in float32), so each branch
    uses exp of a non-positive number: for x >= 0, 1/(1+e^-x); for x < 0, the
    same value written as e^x/(1+e^x).

    Input: array of any shape and float dtype. Returns: array of the same shape and dtype.
    """
    x = np.asarray(x)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


# ---------------------------------------------------------------------------- RNN

def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One step of a tanh RNN:  h_next = tanh(x @ Wx + h_prev @ Wh + b).

    Inputs: x (B, D), h_prev (B, H), Wx (D, H), Wh (H, H), b (H,).
    Returns: h_next (B, H) and a cache for `rnn_step_backward`.
    """
    check_arrays("rnn_step_forward", ("Wh", Wh, ("H", "H")), ("Wx", Wx, ("D", "H")),
                 ("b", b, ("H",)), ("x", x, ("B", "D")), ("h_prev", h_prev, ("B", "H")))
    h_next = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h_next, (x, h_prev, Wx, Wh, h_next)


def rnn_step_backward(dh_next, cache):
    """Backward pass of `rnn_step_forward`.

    Inputs: dh_next (B, H), the gradient of the loss with respect to h_next; cache.
    Returns: dx (B, D), dh_prev (B, H), dWx (D, H), dWh (H, H), db (H,).
    """
    x, h_prev, Wx, Wh, h_next = cache
    check_arrays("rnn_step_backward", ("h_next", h_next, ("B", "H")), ("dh_next", dh_next, ("B", "H")))
    da = dh_next * (1 - h_next**2)          # tanh'(a) = 1 - tanh(a)^2
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


# --------------------------------------------------------------------------- LSTM

def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One step of an LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of
    Gers et al. 2000):

        a   = x @ Wx + h_prev @ Wh + b      all four pre-activations, (B, 4H)
        i   = sigmoid(a_i)                  input gate
        f   = sigmoid(a_f)                  forget gate
        g   = tanh(a_g)                     candidate values (the book's c~_t)
        o   = sigmoid(a_o)                  output gate
        c_next = f * c_prev + i * g         the cell state changes only additively
        h_next = o * tanh(c_next)

    Inputs: x (B, D), h_prev (B, H), c_prev (B, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns: h_next (B, H), c_next (B, H), and a cache for `lstm_step_backward`.
    """
    check_arrays("lstm_step_forward", ("Wh", Wh, ("H", "4H")), ("Wx", Wx, ("D", "4H")),
                 ("b", b, ("4H",)), ("x", x, ("B", "D")),
                 ("h_prev", h_prev, ("B", "H")), ("c_prev", c_prev, ("B", "H")))
    H = Wh.shape[0]
    s = gate_slices(LSTM_GATES, H)
    a = x @ Wx + h_prev @ Wh + b
    i = sigmoid(a[:, s["i"]])
    f = sigmoid(a[:, s["f"]])
    g = np.tanh(a[:, s["g"]])
    o = sigmoid(a[:, s["o"]])
    c_next = f * c_prev + i * g
    tanh_c = np.tanh(c_next)
    h_next = o * tanh_c
    cache = (x, h_prev, c_prev, Wx, Wh, i, f, g, o, tanh_c)
    return h_next, c_next, cache


def lstm_step_backward(dh_next, dc_next, cache):
    """Backward pass of `lstm_step_forward`.

    Inputs: dh_next (B, H) and dc_next (B, H), the gradients of the loss with respect
    to h_next and c_next; cache from the forward step.
    Returns: dx (B, D), dh_prev (B, H), dc_prev (B, H), dWx (D, 4H), dWh (H, 4H), db (4H,).

    The cell path: c_next = f * c_prev + ..., so dc_prev = f * dc (no matrix, no
    squashing): this is why the LSTM's gradient survives many steps when f is near 1.
    """
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, tanh_c = cache
    check_arrays("lstm_step_backward", ("c_prev", c_prev, ("B", "H")),
                 ("dh_next", dh_next, ("B", "H")), ("dc_next", dc_next, ("B", "H")))
    # h_next = o * tanh(c_next): c_next gets gradient from h_next as well as from the future.
    do = dh_next * tanh_c
    dc = dc_next + dh_next * o * (1 - tanh_c**2)
    di, df, dg = dc * g, dc * c_prev, dc * i
    dc_prev = dc * f
    # Through the nonlinearities: sigmoid' = s(1-s), tanh' = 1 - tanh^2.
    da = np.empty((x.shape[0], Wh.shape[1]), dtype=x.dtype)
    s = gate_slices(LSTM_GATES, Wh.shape[0])
    da[:, s["i"]] = di * i * (1 - i)
    da[:, s["f"]] = df * f * (1 - f)
    da[:, s["g"]] = dg * (1 - g**2)
    da[:, s["o"]] = do * o * (1 - o)
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


# ---------------------------------------------------------------------------- GRU

def gru_step_forward(x, h_prev, Wx, Wh, bx, bh, reset_after=True):
    """One step of a GRU (Cho et al. 2014):

        r = sigmoid(x @ Wx_r + bx_r + h_prev @ Wh_r + bh_r)       reset gate
        z = sigmoid(x @ Wx_z + bx_z + h_prev @ Wh_z + bh_z)       update gate
        n = tanh(x @ Wx_n + bx_n + r * (h_prev @ Wh_n + bh_n))    candidate (reset_after=True)
        n = tanh(x @ Wx_n + bx_n + (r * h_prev) @ Wh_n + bh_n)    candidate (reset_after=False)
        h_next = (1 - z) * n + z * h_prev

    reset_after=True is what PyTorch always computes and Keras' default (the cuDNN form:
    the recurrent product needs no r, so all three gates share one matrix product).
    reset_after=False is Cho et al.'s original, and Keras' ``reset_after=False``.
    Two biases are kept because with reset_after=True bh_n is multiplied by r, so it is
    not interchangeable with bx_n; with reset_after=False only bx + bh matters.

    Inputs: x (B, D), h_prev (B, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,).
    Returns: h_next (B, H) and a cache for `gru_step_backward`.
    """
    check_arrays("gru_step_forward", ("Wh", Wh, ("H", "3H")), ("Wx", Wx, ("D", "3H")),
                 ("bx", bx, ("3H",)), ("bh", bh, ("3H",)),
                 ("x", x, ("B", "D")), ("h_prev", h_prev, ("B", "H")))
    s = gate_slices(GRU_GATES, Wh.shape[0])
    ax = x @ Wx + bx                                 # input part of every gate, (B, 3H)
    r = sigmoid(ax[:, s["r"]] + h_prev @ Wh[:, s["r"]] + bh[s["r"]])
    z = sigmoid(ax[:, s["z"]] + h_prev @ Wh[:, s["z"]] + bh[s["z"]])
    if reset_after:
        hn = h_prev @ Wh[:, s["n"]] + bh[s["n"]]     # kept: the backward pass needs it
        n = np.tanh(ax[:, s["n"]] + r * hn)
    else:
        hn = None
        n = np.tanh(ax[:, s["n"]] + (r * h_prev) @ Wh[:, s["n"]] + bh[s["n"]])
    h_next = (1 - z) * n + z * h_prev
    cache = (x, h_prev, Wx, Wh, r, z, n, hn, reset_after)
    return h_next, cache


def gru_step_backward(dh_next, cache):
    """Backward pass of `gru_step_forward`.

    Inputs: dh_next (B, H), the gradient of the loss with respect to h_next; cache.
    Returns: dx (B, D), dh_prev (B, H), dWx (D, 3H), dWh (H, 3H), dbx (3H,), dbh (3H,).
    """
    x, h_prev, Wx, Wh, r, z, n, hn, reset_after = cache
    check_arrays("gru_step_backward", ("h_prev", h_prev, ("B", "H")), ("dh_next", dh_next, ("B", "H")))
    s = gate_slices(GRU_GATES, Wh.shape[0])
    dn = dh_next * (1 - z)
    dz = dh_next * (h_prev - n)
    dh_prev = dh_next * z                            # the direct path, gated by z
    da_n = dn * (1 - n**2)
    if reset_after:
        dr = da_n * hn
    else:
        drh = da_n @ Wh[:, s["n"]].T                 # gradient of r * h_prev
        dr = drh * h_prev
        dh_prev += drh * r
    dax = np.empty((x.shape[0], Wx.shape[1]), dtype=x.dtype)   # d loss / d (x @ Wx + bx)
    dax[:, s["r"]] = dr * r * (1 - r)
    dax[:, s["z"]] = dz * z * (1 - z)
    dax[:, s["n"]] = da_n
    dah = dax.copy()                                 # d loss / d (recurrent term + bh)
    if reset_after:
        dah[:, s["n"]] = da_n * r
        dWh = h_prev.T @ dah
        dh_prev += dah @ Wh.T
    else:
        dWh = h_prev.T @ dah
        dWh[:, s["n"]] = (r * h_prev).T @ da_n
        for gate in ("r", "z"):
            dh_prev += dah[:, s[gate]] @ Wh[:, s[gate]].T
    return dax @ Wx.T, dh_prev, x.T @ dax, dWh, dax.sum(axis=0), dah.sum(axis=0)

"""Whole sequences: RNN, LSTM and GRU forward and backward over (B, T, D) inputs.

Same maths as the one-step functions in `lstm_ref.cells` (the tests check that they
agree), arranged to be fast. Three ideas do most of the work:

1. Hoist the input projection. x_t @ Wx does not depend on the previous step, so the
   products of all T steps are one (T*B, D) @ (D, kH) matrix product before the loop.
   One large product runs near the machine's peak; T small ones do not.
2. Inside the time loop only what truly depends on the previous step remains:
   h_{t-1} @ Wh forward, dA_t @ Wh^T backward. Everything that can wait for the loop
   to finish waits: the weight and input gradients become three large products after it
   (dWx = X^T dA, dWh = H_prev^T dA, dx = dA Wx^T over all T*B rows at once).
3. One tanh activates all four gates of a step: sigmoid(a) = (1 + tanh(a/2)) / 2
   (details at `lstm_forward`).

Storage is time-major, (T, B, .), so that each step's rows are one contiguous block,
and element-wise work is done in place in preallocated arrays.

Shapes: x (B, T, D); h0, c0 (B, H) or None for zeros; weights as in `lstm_ref.cells`.
Each forward returns (h, final_state, cache) where h (B, T, H) holds the hidden state
of every step. Each backward takes dh (B, T, H), the gradient of the loss with respect
to h (zeros where the loss does not use a step), optionally the gradients with respect
to the final state, and returns a dict of gradients keyed like the arguments:
"x", "h0" (and "c0"), and one entry per parameter.
"""
import numpy as np

from .checks import check_arrays
from .gates import GRU_GATES, LSTM_GATES, gate_slices


def _initial(state, B, H, dtype):
    return np.zeros((B, H), dtype) if state is None else state


def _sigmoid_(a):
    """In-place sigmoid, as (1 + tanh(a/2)) / 2: the identity `lstm_forward` uses, for
    the same reason (NumPy's float32 tanh is faster than its exp), and saturating cleanly
    to exactly 0 or 1 for large |a| with no overflow."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _time_major(x):
    """(B, T, D) -> a new contiguous (T, B, D) array. Always a copy (ascontiguousarray
    would return the caller's own memory when B or T is 1), so that neither the caller's
    arrays nor the cache can change behind the other's back."""
    return x.transpose(1, 0, 2).copy()


_batch_major = _time_major      # the same swap of the first two axes, read the other way


# ---------------------------------------------------------------------------- RNN

def rnn_forward(x, Wx, Wh, b, h0=None):
    """tanh RNN over a sequence: h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b).

    Inputs: x (B, T, D), Wx (D, H), Wh (H, H), b (H,), h0 (B, H) or None (zeros).
    Returns: h (B, T, H), h_T (B, H), cache for `rnn_backward`.
    """
    (sz, dtype) = check_arrays("rnn_forward", ("Wh", Wh, ("H", "H")), ("Wx", Wx, ("D", "H")),
                               ("b", b, ("H",)), ("x", x, ("B", "T", "D")), ("h0", h0, ("B", "H")))
    B, T, D, H = sz["B"], sz["T"], sz["D"], sz["H"]
    x_tm = _time_major(x)
    hs = np.empty((T + 1, B, H), dtype)             # hs[t + 1] = h_t; hs[0] = h0
    hs[0] = _initial(h0, B, H, dtype)
    hs[1:] = (x_tm.reshape(T * B, D) @ Wx + b).reshape(T, B, H)
    for t in range(T):
        hs[t + 1] += hs[t] @ Wh
        np.tanh(hs[t + 1], out=hs[t + 1])
    return _batch_major(hs[1:]), hs[T].copy(), (x_tm, Wx, Wh, hs)


def rnn_backward(dh, cache, dh_T=None):
    """Backward pass of `rnn_forward`.

    Inputs: dh (B, T, H); cache; dh_T (B, H) or None, gradient with respect to h_T.
    Returns: dict with x (B, T, D), h0 (B, H), Wx (D, H), Wh (H, H), b (H,).
    """
    x_tm, Wx, Wh, hs = cache
    T, B, D = x_tm.shape
    H = Wh.shape[0]
    check_arrays("rnn_backward", ("dh", dh, (B, T, H)), ("dh_T", dh_T, (B, H)),
                 ("Wx (in cache)", Wx, (D, H)))
    dA = _time_major(dh)                             # becomes d loss / d pre-activation
    dh_next = _initial(dh_T, B, H, dh.dtype).copy()
    for t in reversed(range(T)):
        dh_next += dA[t]
        dA[t] = dh_next * (1 - hs[t + 1] ** 2)
        dh_next = dA[t] @ Wh.T
    dA2 = dA.reshape(T * B, H)
    return {"x": _batch_major((dA2 @ Wx.T).reshape(T, B, D)), "h0": dh_next,
            "Wx": x_tm.reshape(T * B, D).T @ dA2, "Wh": hs[:-1].reshape(T * B, H).T @ dA2,
            "b": dA2.sum(axis=0)}


# --------------------------------------------------------------------------- LSTM

def lstm_forward(x, Wx, Wh, b, h0=None, c0=None):
    """LSTM over a sequence (equations in `lstm_ref.cells.lstm_step_forward`).

    Inputs: x (B, T, D), Wx (D, 4H), Wh (H, 4H), b (4H,), h0 and c0 (B, H) or None (zeros).
    Returns: h (B, T, H), (h_T, c_T) each (B, H), cache for `lstm_backward`.
    """
    sz, dtype = check_arrays("lstm_forward", ("Wh", Wh, ("H", "4H")), ("Wx", Wx, ("D", "4H")),
                             ("b", b, ("4H",)), ("x", x, ("B", "T", "D")),
                             ("h0", h0, ("B", "H")), ("c0", c0, ("B", "H")))
    B, T, D, H = sz["B"], sz["T"], sz["D"], sz["H"]
    s = gate_slices(LSTM_GATES, H)
    # (3) One tanh for all four gates. sigmoid(a) = (1 + tanh(a/2)) / 2, so with the
    #     columns of the sigmoid gates i, f, o halved (exact: a power of two), one np.tanh
    #     over the whole contiguous (B, 4H) block activates every gate; i, f and o then
    #     need only t/2 + 1/2, one multiply and one add with a (4H,) vector of constants.
    #     (NumPy's float32 tanh is SIMD code, about twice as fast as its exp, and needs
    #     none of the +1 and 1/. that a sigmoid made of exp costs.)
    is_sigmoid = np.ones(4 * H, bool)
    is_sigmoid[s["g"]] = False
    half = np.where(is_sigmoid, 0.5, 1.0).astype(dtype)     # 1/2 for i, f, o; 1 for g
    shift = np.where(is_sigmoid, 0.5, 0.0).astype(dtype)    # 1/2 for i, f, o; 0 for g
    Wh_half = Wh * half
    # (1) The input projection of all T steps, in one product. After the loop,
    #     gates[t] holds the activated gates i, f, g, o of step t, which the backward needs.
    x_tm = _time_major(x)
    gates = (x_tm.reshape(T * B, D) @ (Wx * half)).reshape(T, B, 4 * H)
    gates += b * half
    hs = np.empty((T + 1, B, H), dtype)             # hs[t + 1] = h_t, hs[0] = h0
    cs = np.empty((T + 1, B, H), dtype)             # cs[t + 1] = c_t, cs[0] = c0
    tanh_cs = np.empty((T, B, H), dtype)
    hs[0] = _initial(h0, B, H, dtype)
    cs[0] = _initial(c0, B, H, dtype)
    hWh = np.empty((B, 4 * H), dtype)
    ig = np.empty((B, H), dtype)
    for t in range(T):
        a = gates[t]
        np.matmul(hs[t], Wh_half, out=hWh)          # (2) the only product left in the loop
        a += hWh
        np.tanh(a, out=a)
        a *= half                                   # i, f, o = tanh/2 + 1/2; g = tanh
        a += shift
        i, f, g, o = (a[:, s[name]] for name in LSTM_GATES)
        c = cs[t + 1]
        np.multiply(f, cs[t], out=c)                # c_t = f * c_{t-1} + i * g
        np.multiply(i, g, out=ig)
        c += ig
        np.tanh(c, out=tanh_cs[t])
        np.multiply(o, tanh_cs[t], out=hs[t + 1])   # h_t = o * tanh(c_t)
    cache = (x_tm, Wx, Wh, gates, hs, cs, tanh_cs)
    return _batch_major(hs[1:]), (hs[T].copy(), cs[T].copy()), cache


def lstm_backward(dh, cache, dh_T=None, dc_T=None):
    """Backward pass of `lstm_forward`.

    Inputs: dh (B, T, H); cache; dh_T and dc_T (B, H) or None: gradients with respect to
    the final states h_T and c_T (dh_T adds to dh[:, -1], since h_T is the same value).
    Returns: dict with x (B, T, D), h0 (B, H), c0 (B, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    """
    x_tm, Wx, Wh, gates, hs, cs, tanh_cs = cache
    T, B, D = x_tm.shape
    H = Wh.shape[0]
    check_arrays("lstm_backward", ("dh", dh, (B, T, H)), ("dh_T", dh_T, (B, H)),
                 ("dc_T", dc_T, (B, H)), ("Wx (in cache)", Wx, (D, 4 * H)))
    s = gate_slices(LSTM_GATES, H)
    dtype = dh.dtype
    dh_tm = _time_major(dh)
    dA = np.empty((T, B, 4 * H), dtype)             # d loss / d pre-activations, all steps
    dh_next = _initial(dh_T, B, H, dtype).copy()
    dc = _initial(dc_T, B, H, dtype).copy()
    slope = np.empty((B, 4 * H), dtype)             # derivative of each gate's nonlinearity
    tmp = np.empty((B, H), dtype)
    for t in reversed(range(T)):
        G, dG = gates[t], dA[t]
        i, f, g, o = (G[:, s[name]] for name in LSTM_GATES)
        da_i, da_f, da_g, da_o = (dG[:, s[name]] for name in LSTM_GATES)
        tc = tanh_cs[t]
        dh_next += dh_tm[t]
        # h_t = o * tanh(c_t); c_t also receives the gradient carried back from step t+1.
        np.multiply(dh_next, tc, out=da_o)          # d loss / d o
        np.multiply(tc, tc, out=tmp)
        np.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh_next
        dc += tmp                                   # d loss / d c_t
        np.multiply(dc, g, out=da_i)                # d loss / d i, f, g
        np.multiply(dc, cs[t], out=da_f)
        np.multiply(dc, i, out=da_g)
        dc *= f                                     # the cell path: dc_{t-1} = f * dc_t
        # Through the nonlinearities, whole block at once: sigmoid' = s (1 - s) for
        # i, f, o, then tanh' = 1 - g^2 written over the g block.
        np.subtract(1, G, out=slope)
        slope *= G
        sg = slope[:, s["g"]]
        np.multiply(g, g, out=sg)
        np.subtract(1, sg, out=sg)
        dG *= slope
        dh_next = dG @ Wh.T                         # (2) the only product left in the loop
    # (2) After the loop: weight and input gradients as three large products.
    dA2 = dA.reshape(T * B, 4 * H)
    return {"x": _batch_major((dA2 @ Wx.T).reshape(T, B, D)),
            "h0": dh_next, "c0": dc,
            "Wx": x_tm.reshape(T * B, D).T @ dA2,
            "Wh": hs[:-1].reshape(T * B, H).T @ dA2,
            "b": dA2.sum(axis=0)}


# ---------------------------------------------------------------------------- GRU

def gru_forward(x, Wx, Wh, bx, bh, h0=None, reset_after=True):
    """GRU over a sequence (equations and the two variants in `lstm_ref.cells.gru_step_forward`).

    Inputs: x (B, T, D), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,), h0 (B, H) or None.
    Returns: h (B, T, H), h_T (B, H), cache for `gru_backward`.
    """
    sz, dtype = check_arrays("gru_forward", ("Wh", Wh, ("H", "3H")), ("Wx", Wx, ("D", "3H")),
                             ("bx", bx, ("3H",)), ("bh", bh, ("3H",)),
                             ("x", x, ("B", "T", "D")), ("h0", h0, ("B", "H")))
    B, T, D, H = sz["B"], sz["T"], sz["D"], sz["H"]
    s = gate_slices(GRU_GATES, H)
    x_tm = _time_major(x)
    ax = (x_tm.reshape(T * B, D) @ Wx + bx).reshape(T, B, 3 * H)   # (1) hoisted
    hs = np.empty((T + 1, B, H), dtype)
    hs[0] = _initial(h0, B, H, dtype)
    gates = np.empty((T, B, 3 * H), dtype)          # r, z, n of every step
    rec_n = np.empty((T, B, H), dtype)              # h@Wh_n + bh_n, or r*h (reset_after=False)
    for t in range(T):
        h = hs[t]
        r, z, n = (gates[t][:, s[name]] for name in GRU_GATES)
        r[:] = ax[t][:, s["r"]] + h @ Wh[:, s["r"]] + bh[s["r"]]
        z[:] = ax[t][:, s["z"]] + h @ Wh[:, s["z"]] + bh[s["z"]]
        _sigmoid_(r)
        _sigmoid_(z)
        if reset_after:
            rec_n[t] = h @ Wh[:, s["n"]] + bh[s["n"]]
            n[:] = np.tanh(ax[t][:, s["n"]] + r * rec_n[t])
        else:
            rec_n[t] = r * h
            n[:] = np.tanh(ax[t][:, s["n"]] + rec_n[t] @ Wh[:, s["n"]] + bh[s["n"]])
        hs[t + 1] = n + z * (h - n)                 # (1 - z) * n + z * h
    cache = (x_tm, Wx, Wh, gates, rec_n, hs, reset_after)
    return _batch_major(hs[1:]), hs[T].copy(), cache


def gru_backward(dh, cache, dh_T=None):
    """Backward pass of `gru_forward`.

    Inputs: dh (B, T, H); cache; dh_T (B, H) or None, gradient with respect to h_T.
    Returns: dict with x (B, T, D), h0 (B, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,).
    """
    x_tm, Wx, Wh, gates, rec_n, hs, reset_after = cache
    T, B, D = x_tm.shape
    H = Wh.shape[0]
    check_arrays("gru_backward", ("dh", dh, (B, T, H)), ("dh_T", dh_T, (B, H)),
                 ("Wx (in cache)", Wx, (D, 3 * H)))
    s = gate_slices(GRU_GATES, H)
    dh_tm = _time_major(dh)
    dAx = np.empty((T, B, 3 * H), dh.dtype)         # d loss / d (x_t @ Wx + bx)
    dAh = np.empty((T, B, 3 * H), dh.dtype)         # d loss / d (recurrent term + bh)
    dh_next = _initial(dh_T, B, H, dh.dtype).copy()
    for t in reversed(range(T)):
        r, z, n = (gates[t][:, s[name]] for name in GRU_GATES)
        h_prev = hs[t]
        dh_next += dh_tm[t]
        da_n = dh_next * (1 - z) * (1 - n * n)
        dz = dh_next * (h_prev - n)
        dh_prev = dh_next * z
        if reset_after:
            dr = da_n * rec_n[t]
        else:
            drh = da_n @ Wh[:, s["n"]].T
            dr = drh * h_prev
            dh_prev += drh * r
        dAx[t][:, s["r"]] = dr * r * (1 - r)
        dAx[t][:, s["z"]] = dz * z * (1 - z)
        dAx[t][:, s["n"]] = da_n
        dAh[t] = dAx[t]
        if reset_after:
            dAh[t][:, s["n"]] *= r
            dh_prev += dAh[t] @ Wh.T
        else:
            for gate in ("r", "z"):
                dh_prev += dAh[t][:, s[gate]] @ Wh[:, s[gate]].T
        dh_next = dh_prev
    dAx2, dAh2 = dAx.reshape(T * B, 3 * H), dAh.reshape(T * B, 3 * H)
    H_prev = hs[:-1].reshape(T * B, H)
    dWh = H_prev.T @ dAh2
    if not reset_after:                             # the n block multiplies r * h, not h
        dWh[:, s["n"]] = rec_n.reshape(T * B, H).T @ dAh2[:, s["n"]]
    return {"x": _batch_major((dAx2 @ Wx.T).reshape(T, B, D)), "h0": dh_next,
            "Wx": x_tm.reshape(T * B, D).T @ dAx2, "Wh": dWh,
            "bx": dAx2.sum(axis=0), "bh": dAh2.sum(axis=0)}

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
    np.matmul(x_tm.reshape(T * B, D), Wx, out=hs[1:].reshape(T * B, H))    # (1) hoisted
    bias = np.broadcast_to(b, (B, H)).copy()        # b, once per row: a contiguous add
    hWh = np.empty((B, H), dtype)
    for t in range(T):
        np.matmul(hs[t], Wh, out=hWh)               # (2) the only product in the loop
        hWh += bias                                 # (the bias here, in cache, rather
        hs[t + 1] += hWh                            #  than in one more pass over all of hs)
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
    slope = np.empty((B, H), dh.dtype)
    for t in reversed(range(T)):
        dA[t] += dh_next
        np.multiply(hs[t + 1], hs[t + 1], out=slope)
        np.subtract(1, slope, out=slope)            # tanh' = 1 - h_t^2
        dA[t] *= slope
        np.matmul(dA[t], Wh.T, out=dh_next)         # (2) the only product in the loop
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
    #     need only t/2 + 1/2: one multiply and one add by the scalar 1/2, applied to the
    #     whole block, because one pass over a contiguous block costs less than a pass
    #     over a strided slice of it. That turns g's column block into (1 + g)/2 as well,
    #     so g = tanh(a_g) is first copied to an array of its own, `cands`.
    #     (NumPy's float32 tanh is SIMD code, about twice as fast as its exp, and needs
    #     none of the +1 and 1/. that a sigmoid made of exp costs.)
    half = np.full(4 * H, 0.5, dtype)
    half[s["g"]] = 1                                # 1/2 for i, f, o; 1 for g
    Wh_half = Wh * half
    # The bias is added at every step to the recurrent product, from a (B, 4H) block of
    # copies of b: adding it once to all T steps would be one more pass over the whole
    # (T, B, 4H) array, which lives in main memory; one step's block stays in cache.
    bias = np.broadcast_to(b * half, (B, 4 * H)).copy()
    # (1) The input projection of all T steps, in one product. After the loop,
    #     gates[t] holds the activated gates i, f, o of step t, which the backward needs.
    x_tm = _time_major(x)
    gates = (x_tm.reshape(T * B, D) @ (Wx * half)).reshape(T, B, 4 * H)
    cands = np.empty((T, B, H), dtype)              # cands[t] = g of step t
    hs = np.empty((T + 1, B, H), dtype)             # hs[t + 1] = h_t, hs[0] = h0
    cs = np.empty((T + 1, B, H), dtype)             # cs[t + 1] = c_t, cs[0] = c0
    tanh_cs = np.empty((T, B, H), dtype)
    hs[0] = _initial(h0, B, H, dtype)
    cs[0] = _initial(c0, B, H, dtype)
    hWh = np.empty((B, 4 * H), dtype)
    ig = np.empty((B, H), dtype)
    for t in range(T):
        a, g = gates[t], cands[t]
        np.matmul(hs[t], Wh_half, out=hWh)          # (2) the only product left in the loop
        hWh += bias
        a += hWh
        np.tanh(a, out=a)
        np.copyto(g, a[:, s["g"]])                  # g = tanh(a_g)
        a *= 0.5                                    # i, f, o = tanh/2 + 1/2
        a += 0.5
        i, f, o = a[:, s["i"]], a[:, s["f"]], a[:, s["o"]]
        c = cs[t + 1]
        np.multiply(f, cs[t], out=c)                # c_t = f * c_{t-1} + i * g
        np.multiply(i, g, out=ig)
        c += ig
        np.tanh(c, out=tanh_cs[t])
        np.multiply(o, tanh_cs[t], out=hs[t + 1])   # h_t = o * tanh(c_t)
    cache = (x_tm, Wx, Wh, gates, cands, hs, cs, tanh_cs)
    return _batch_major(hs[1:]), (hs[T].copy(), cs[T].copy()), cache


def lstm_backward(dh, cache, dh_T=None, dc_T=None):
    """Backward pass of `lstm_forward`.

    Inputs: dh (B, T, H); cache; dh_T and dc_T (B, H) or None: gradients with respect to
    the final states h_T and c_T (dh_T adds to dh[:, -1], since h_T is the same value).
    Returns: dict with x (B, T, D), h0 (B, H), c0 (B, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    """
    x_tm, Wx, Wh, gates, cands, hs, cs, tanh_cs = cache
    T, B, D = x_tm.shape
    H = Wh.shape[0]
    check_arrays("lstm_backward", ("dh", dh, (B, T, H)), ("dh_T", dh_T, (B, H)),
                 ("dc_T", dc_T, (B, H)), ("Wx (in cache)", Wx, (D, 4 * H)))
    s = gate_slices(LSTM_GATES, H)
    dtype = dh.dtype
    # The derivative of each gate's nonlinearity, as one pass over the whole block: the
    # block holds s = sigmoid(a) for i, f, o and (1 + g)/2 for g (see `lstm_forward`), and
    # both derivatives are s (1 - s) up to a power of two: sigmoid' = s (1 - s) and
    # tanh'(a_g) = 1 - g^2 = 4 s (1 - s). The loop leaves that 4 out of dA's g block;
    # multiplying g's columns of the weights by 4 instead (exact) puts it back in every
    # product that reads dA, and in the bias gradient.
    four = np.ones(4 * H, dtype)
    four[s["g"]] = 4
    Wh_four = Wh * four
    dh_tm = _time_major(dh)
    dA = np.empty((T, B, 4 * H), dtype)             # d loss / d pre-activations, all steps
    dh_next = _initial(dh_T, B, H, dtype).copy()
    dc = _initial(dc_T, B, H, dtype).copy()
    dh_t = np.empty((B, H), dtype)
    slope = np.empty((B, 4 * H), dtype)
    tmp = np.empty((B, H), dtype)
    for t in reversed(range(T)):
        G, dG = gates[t], dA[t]
        i, f, o, g = G[:, s["i"]], G[:, s["f"]], G[:, s["o"]], cands[t]
        tc = tanh_cs[t]
        np.add(dh_next, dh_tm[t], out=dh_t)
        # h_t = o * tanh(c_t); c_t also receives the gradient carried back from step t+1.
        np.multiply(dh_t, tc, out=dG[:, s["o"]])    # d loss / d o
        np.multiply(tc, tc, out=tmp)
        np.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh_t
        dc += tmp                                   # d loss / d c_t
        np.multiply(dc, g, out=dG[:, s["i"]])       # d loss / d i, f, g
        np.multiply(dc, cs[t], out=dG[:, s["f"]])
        np.multiply(dc, i, out=dG[:, s["g"]])
        dc *= f                                     # the cell path: dc_{t-1} = f * dc_t
        np.subtract(1, G, out=slope)                # through the nonlinearities
        slope *= G
        dG *= slope
        np.matmul(dG, Wh_four.T, out=dh_next)       # (2) the only product left in the loop
    # (2) After the loop: weight and input gradients as three large products.
    dA2 = dA.reshape(T * B, 4 * H)
    dWx = x_tm.reshape(T * B, D).T @ dA2
    dWh = hs[:-1].reshape(T * B, H).T @ dA2
    db = dA2.sum(axis=0)
    for grad in (dWx, dWh, db):
        grad *= four
    return {"x": _batch_major((dA2 @ (Wx * four).T).reshape(T, B, D)),
            "h0": dh_next, "c0": dc, "Wx": dWx, "Wh": dWh, "b": db}


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
    rz, n_ = slice(0, 2 * H), s["n"]                # r and z sit side by side
    # (3) as in `lstm_forward`: the columns of the sigmoid gates r and z halved (exact),
    #     so that one np.tanh and t/2 + 1/2 activate both.
    half = np.full(3 * H, 0.5, dtype)
    half[n_] = 1
    Wh_half = Wh * half
    # bx and bh add up for r and z; for n, bh_n sits inside r * (h @ Wh_n + bh_n).
    bias_x = np.broadcast_to(np.where(half == 1, bx, bx + bh) * half, (B, 3 * H)).copy()
    bias_h = np.broadcast_to(bh[n_], (B, H)).copy()
    x_tm = _time_major(x)
    gates = (x_tm.reshape(T * B, D) @ (Wx * half)).reshape(T, B, 3 * H)   # (1) hoisted
    hs = np.empty((T + 1, B, H), dtype)
    hs[0] = _initial(h0, B, H, dtype)
    rec_n = np.empty((T, B, H), dtype)              # h@Wh_n + bh_n, or r*h (reset_after=False)
    hWh = np.empty((B, 3 * H), dtype)
    tmp = np.empty((B, H), dtype)
    for t in range(T):
        h, a = hs[t], gates[t]                      # after the step: r, z, n of step t
        a += bias_x
        if reset_after:
            np.matmul(h, Wh_half, out=hWh)          # (2) the only product in the loop
            a[:, rz] += hWh[:, rz]
            np.add(hWh[:, n_], bias_h, out=rec_n[t])
        else:                                       # the n product needs r first
            a[:, rz] += h @ Wh_half[:, rz]
        np.tanh(a[:, rz], out=a[:, rz])
        a[:, rz] *= 0.5
        a[:, rz] += 0.5
        r, z, n = a[:, s["r"]], a[:, s["z"]], a[:, n_]
        if reset_after:
            np.multiply(r, rec_n[t], out=tmp)       # r * (h @ Wh_n + bh_n)
        else:
            np.multiply(r, h, out=rec_n[t])
            np.matmul(rec_n[t], Wh[:, n_], out=tmp)
            tmp += bias_h
        n += tmp
        np.tanh(n, out=n)
        np.subtract(h, n, out=tmp)                  # h_t = (1 - z) * n + z * h = n + z * (h - n)
        tmp *= z
        np.add(n, tmp, out=hs[t + 1])
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
    rz, n_ = slice(0, 2 * H), s["n"]
    dtype = dh.dtype
    dh_tm = _time_major(dh)
    dAx = np.empty((T, B, 3 * H), dtype)            # d loss / d (x_t @ Wx + bx)
    dAh = np.empty((T, B, 3 * H), dtype)            # d loss / d (recurrent term + bh)
    dh_next = _initial(dh_T, B, H, dtype).copy()
    dh_t = np.empty((B, H), dtype)
    dh_prev = np.empty((B, H), dtype)
    tmp = np.empty((B, H), dtype)
    slope = np.empty((B, 2 * H), dtype)
    for t in reversed(range(T)):
        G, dG, dGh = gates[t], dAx[t], dAh[t]
        r, z, n = G[:, s["r"]], G[:, s["z"]], G[:, n_]
        da_r, da_z, da_n = dG[:, s["r"]], dG[:, s["z"]], dG[:, n_]
        h_prev = hs[t]
        np.add(dh_next, dh_tm[t], out=dh_t)
        np.multiply(n, n, out=da_n)                 # da_n = dh * (1 - z) * (1 - n^2)
        np.subtract(1, da_n, out=da_n)
        np.subtract(1, z, out=tmp)
        da_n *= tmp
        da_n *= dh_t
        np.subtract(h_prev, n, out=da_z)            # dz = dh * (h_prev - n)
        da_z *= dh_t
        np.multiply(dh_t, z, out=dh_prev)           # the direct path h_prev -> h_t
        if reset_after:
            np.multiply(da_n, rec_n[t], out=da_r)   # dr = da_n * (h @ Wh_n + bh_n)
        else:
            drh = da_n @ Wh[:, n_].T
            np.multiply(drh, h_prev, out=da_r)
            drh *= r
            dh_prev += drh
        np.subtract(1, G[:, rz], out=slope)         # sigmoid' = s (1 - s), r and z at once
        slope *= G[:, rz]
        dG[:, rz] *= slope
        np.copyto(dGh, dG)
        if reset_after:
            dGh[:, n_] *= r
            np.matmul(dGh, Wh.T, out=dh_next)       # (2) the only product in the loop
        else:
            np.matmul(dGh[:, rz], Wh[:, rz].T, out=dh_next)
        dh_next += dh_prev
    dAx2, dAh2 = dAx.reshape(T * B, 3 * H), dAh.reshape(T * B, 3 * H)
    H_prev = hs[:-1].reshape(T * B, H)
    dWh = H_prev.T @ dAh2
    if not reset_after:                             # the n block multiplies r * h, not h
        dWh[:, n_] = rec_n.reshape(T * B, H).T @ dAh2[:, n_]
    return {"x": _batch_major((dAx2 @ Wx.T).reshape(T, B, D)), "h0": dh_next,
            "Wx": x_tm.reshape(T * B, D).T @ dAx2, "Wh": dWh,
            "bx": dAx2.sum(axis=0), "bh": dAh2.sum(axis=0)}

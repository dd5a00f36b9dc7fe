"""Additive attention (Bahdanau, Cho & Bengio 2015): forward and backward.

One decoder step looks at every position of the encoded source and takes a weighted
average of the encoder's hidden states. In the book's row-vector notation (x W, not W x):

    q       = s_prev @ Wq                         query,   (B, A)
    k_s     = h_s @ Wk                            keys,    (B, S, A)
    u_{t,s} = tanh(q + k_s)                                (B, S, A)
    e_{t,s} = u_{t,s} @ v                         scores,  (B, S)
    alpha   = masked softmax of e over s          weights, (B, S): 0 on padding, rows sum to 1
    context = sum_s alpha_s h_s                   (B, H)

Shapes: B sequences in the batch, S source positions (padded to the longest), H the
encoder's hidden size, Hq the decoder's hidden size (the query's width, often = H), A the
width of the attention layer. ``mask`` (B, S) is a boolean array, True at a real source
token and False at padding; every row needs at least one True.

The padded positions get weight exactly 0 (their scores are never exponentiated), so
they add nothing to the context and receive gradient exactly 0: padding a batch changes
no output and no gradient of the real positions.

As in `lstm_ref.cells`: the forward function returns ``(out, cache)``; the backward
function takes the upstream gradients and the cache and returns a dict of gradients,
keyed like the forward function's arguments.
"""
import numpy as np

from .checks import check_arrays


def _check_mask(where, mask, B, S):
    """mask must be a boolean (B, S) array with at least one True per row."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{where}: mask must be a NumPy array, got {type(mask).__name__}")
    if mask.dtype != np.bool_:
        raise TypeError(f"{where}: mask has dtype {mask.dtype}, expected bool "
                        f"(True at real tokens, False at padding)")
    if mask.shape != (B, S):
        raise ValueError(f"{where}: mask has shape {mask.shape}, expected (B, S) = "
                         f"({B}, {S}) from h")
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise ValueError(f"{where}: mask row {int(empty[0])} has no True entry; every "
                         f"sequence needs at least one real source position")


def masked_softmax(e, mask):
    """Softmax over the last axis, with the entries where mask is False left out.

    Inputs: e (B, S) float scores; mask (B, S) bool, at least one True per row.
    Returns: alpha (B, S) of e's dtype: exactly 0 where mask is False, and each row sums
    to 1 over the True entries. The largest unmasked score is subtracted before exp, so
    no score overflows.
    """
    sizes, _ = check_arrays("masked_softmax", ("e", e, ("B", "S")))
    _check_mask("masked_softmax", mask, sizes["B"], sizes["S"])
    shifted = np.where(mask, e, -np.inf)
    shifted = shifted - shifted.max(axis=1, keepdims=True)
    w = np.where(mask, np.exp(np.where(mask, shifted, 0.0)), 0.0)
    return (w / w.sum(axis=1, keepdims=True)).astype(e.dtype, copy=False)


def additive_attention_forward(s_prev, h, mask, Wq, Wk, v):
    """One step of additive attention (see the module docstring for the formulas).

    Inputs:
    - s_prev: (B, Hq) the decoder's previous hidden state, the query.
    - h: (B, S, H) the encoder's hidden states, the keys and values.
    - mask: (B, S) bool, True at real source tokens, False at padding.
    - Wq: (Hq, A) query weights; Wk: (H, A) key weights; v: (A,) score vector.

    Returns:
    - out: a pair (context, alpha): context (B, H), the weighted average of the h_s;
      alpha (B, S), the attention weights (0 at padding, rows sum to 1).
    - cache: what `additive_attention_backward` needs.
    """
    where = "additive_attention_forward"
    sizes, _ = check_arrays(where, ("Wq", Wq, ("Hq", "A")), ("Wk", Wk, ("H", "A")),
                            ("v", v, ("A",)), ("h", h, ("B", "S", "H")),
                            ("s_prev", s_prev, ("B", "Hq")))
    _check_mask(where, mask, sizes["B"], sizes["S"])
    q = s_prev @ Wq                                  # (B, A)
    u = np.tanh(q[:, None, :] + h @ Wk)              # (B, S, A)
    e = u @ v                                        # (B, S)
    alpha = masked_softmax(e, mask)                  # (B, S)
    context = np.einsum("bs,bsh->bh", alpha, h)      # (B, H)
    cache = (s_prev, h, mask, Wq, Wk, v, u, alpha)
    return (context, alpha), cache


def additive_attention_backward(dcontext, cache, dalpha=None):
    """Backward pass of `additive_attention_forward`.

    Inputs:
    - dcontext: (B, H) gradient of the loss with respect to the context.
    - cache: from the forward pass.
    - dalpha: optional (B, S) gradient with respect to the weights alpha (when the loss
      also reads them); None means 0.

    Returns: dict of gradients, keyed like the forward function's float arguments:
    "s_prev" (B, Hq), "h" (B, S, H), "Wq" (Hq, A), "Wk" (H, A), "v" (A,). The mask is
    not differentiable and has no entry. At padded positions "h" is exactly 0.

    The softmax's backward pass: d e_s = alpha_s (d alpha_s - sum_r alpha_r d alpha_r),
    which is 0 wherever alpha is 0, so padding gets no gradient through the scores.
    """
    s_prev, h, mask, Wq, Wk, v, u, alpha = cache
    where = "additive_attention_backward"
    sizes, _ = check_arrays(where, ("h", h, ("B", "S", "H")),
                            ("dcontext", dcontext, ("B", "H")),
                            ("dalpha", dalpha, ("B", "S")))
    # context = sum_s alpha_s h_s: gradient to the weights and to the values.
    dalpha_total = np.einsum("bh,bsh->bs", dcontext, h)              # (B, S)
    if dalpha is not None:
        dalpha_total = dalpha_total + dalpha
    dh = alpha[:, :, None] * dcontext[:, None, :]                     # (B, S, H)
    # Softmax over the real positions; 0 at padding (alpha is exactly 0 there).
    de = alpha * (dalpha_total - (alpha * dalpha_total).sum(axis=1, keepdims=True))
    de = np.where(mask, de, 0.0)
    # e = u @ v, u = tanh(q + h @ Wk)
    dv = np.einsum("bs,bsa->a", de, u)                                # (A,)
    da = de[:, :, None] * v * (1 - u**2)                              # (B, S, A)
    dq = da.sum(axis=1)                                               # (B, A)
    dWk = np.einsum("bsh,bsa->ha", h, da)                             # (H, A)
    dh = dh + da @ Wk.T
    dh = np.where(mask[:, :, None], dh, 0.0)
    dtype = h.dtype
    return {"s_prev": (dq @ Wq.T).astype(dtype, copy=False),
            "h": dh.astype(dtype, copy=False),
            "Wq": (s_prev.T @ dq).astype(dtype, copy=False),
            "Wk": dWk.astype(dtype, copy=False),
            "v": dv.astype(dtype, copy=False)}

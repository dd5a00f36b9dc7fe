"""A character-level language model in NumPy: the layers around the LSTM, the loss, the
optimiser step, sampling, and higher-order n-gram baselines (exercise 09, the capstone).

The model reads characters x (B, T) int64 in [0, V) and predicts the next ones:

    e = W_embed[x]                       (B, T, E)   `embedding_forward`
    h = LSTM(e, h0, c0)                  (B, T, H)   `lstm_ref.sequence.lstm_forward`
    z = h @ W_out + b_out                (B, T, V)   `temporal_affine_forward`
    loss = mean over scored (b, t) of -log softmax(z[b, t])[y[b, t]]
                                                     `temporal_softmax_loss`

with parameters W_embed (V, E), Wx (E, 4H), Wh (H, 4H), b (4H,), W_out (H, V),
b_out (V,) in one dict (`init_char_lm`, `CHAR_LM_PARAMS`). A target y[b, t] = -1 is not
scored (the layout of `lstm_ref.text.scoring_streams`); the loss is in nats per scored
character, so that `lstm_ref.text.bits_per_char` turns it into bits per character.

Training pieces: `clip_by_global_norm` (from `lstm_ref.train`, the one definition) and
`adam_step`, one Adam update of one array, computed by `lstm_ref.train.Adam`.
Sampling: `generate` draws with `lstm_ref.text.sample_with_temperature`.
Baselines of order 3 and more: `interpolated_ngram_nll` (absolute discounting,
interpolated down to the unigram) is `lstm_ref.text.interpolated_ngram_nll`, defined there
with the bigram and unigram and imported here, so that `charlm.interpolated_ngram_nll`,
the name exercise 09 gives, keeps working.

Only NumPy is imported.
"""
import numpy as np

from .init import init_lstm
from .sequence import lstm_backward, lstm_forward
from .text import interpolated_ngram_nll, sample_with_temperature, scoring_streams
from .train import Adam, clip_by_global_norm

__all__ = ["CHAR_LM_PARAMS", "embedding_forward", "embedding_backward",
           "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
           "init_char_lm", "char_lm_loss", "char_lm_nll", "adam_step",
           "clip_by_global_norm", "generate", "interpolated_ngram_nll"]

# The parameters of the model, in the order the layers use them.
CHAR_LM_PARAMS = ("W_embed", "Wx", "Wh", "b", "W_out", "b_out")


# ------------------------------------------------------------------ embedding

def embedding_forward(x, W):
    """Look up one row of W per character.

    x (B, T) integers in [0, V); W (V, D) -> out (B, T, D) with out[b, t] = W[x[b, t]]
    (the same as one_hot(x) @ W), and the cache (x, V) for `embedding_backward`.
    """
    x = np.asarray(x)
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"embedding_forward: x must be a (B, T) integer array, got shape "
                         f"{x.shape} dtype {x.dtype}")
    if W.ndim != 2 or (x.size and (x.min() < 0 or x.max() >= W.shape[0])):
        raise ValueError(f"embedding_forward: W must be (V, D) and x must lie in [0, V); "
                         f"got W {W.shape}, x in [{x.min()}, {x.max()}]")
    return W[x], (x.copy(), W.shape[0])


def embedding_backward(dout, cache):
    """Backward pass of `embedding_forward`: dout (B, T, D) -> dW (V, D).

    Row v of dW is the sum of dout[b, t] over every (b, t) with x[b, t] = v: a character
    that occurs k times receives k gradients. np.add.at adds them all; dW[x] += dout
    would keep only one of the repeated rows (a fancy-indexed += writes each row once).
    """
    x, V = cache
    dW = np.zeros((V, dout.shape[-1]), dout.dtype)
    np.add.at(dW, x, dout)
    return dW


# ------------------------------------------------------------------ read-out

def temporal_affine_forward(h, W, b):
    """h (B, T, H), W (H, V), b (V,) -> out (B, T, V) = h @ W + b, and the cache."""
    return h @ W + b, (h, W)


def temporal_affine_backward(dout, cache):
    """dout (B, T, V) -> dh (B, T, H), dW (H, V), db (V,): W and b are shared by every
    step and every row, so their gradients sum over both."""
    h, W = cache
    H, V = W.shape
    return dout @ W.T, h.reshape(-1, H).T @ dout.reshape(-1, V), dout.sum(axis=(0, 1))


# ------------------------------------------------------------------ loss

def temporal_softmax_loss(scores, y):
    """Cross-entropy of the next-character scores, in nats per scored character.

    scores (B, T, V) floats; y (B, T) integers in [0, V), or -1 where a step is not
    scored. Returns loss, a float, the mean of -log softmax(scores[b, t])[y[b, t]] over
    the N scored steps (N = number of entries of y >= 0), and dscores (B, T, V), its
    gradient: (softmax(scores[b, t]) - one_hot(y[b, t])) / N on a scored step, 0 on the
    others. The row maximum is subtracted before exp, so that no score overflows.
    """
    scores = np.asarray(scores)
    y = np.asarray(y)
    if scores.ndim != 3 or y.shape != scores.shape[:2]:
        raise ValueError(f"temporal_softmax_loss: scores must be (B, T, V) and y (B, T); got "
                         f"{scores.shape} and {y.shape}")
    scored = y >= 0
    N = int(scored.sum())
    if N == 0:
        raise ValueError("temporal_softmax_loss: no step is scored (every y is -1)")
    z = scores - scores.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    target = np.where(scored, y, 0)
    picked = np.take_along_axis(log_p, target[..., None], axis=-1)[..., 0]
    loss = float(-(picked * scored).sum() / N)
    dscores = np.exp(log_p)
    np.put_along_axis(dscores, target[..., None],
                      np.take_along_axis(dscores, target[..., None], axis=-1) - 1, axis=-1)
    dscores *= scored[..., None] / N
    return loss, dscores


# ------------------------------------------------------------------ the model

def init_char_lm(V, E, H, seed=0, dtype=np.float64):
    """Initial parameters of the character model, a dict keyed by CHAR_LM_PARAMS:
    W_embed (V, E) ~ 0.1 N(0, 1); Wx (E, 4H), Wh (H, 4H), b (4H,) from
    `lstm_ref.init.init_lstm` (forget-gate bias 1); W_out (H, V) Glorot-uniform;
    b_out (V,) zeros."""
    rng = np.random.default_rng(seed)
    lstm = init_lstm(E, H, seed=rng, dtype=dtype)
    limit = np.sqrt(6 / (H + V))
    return {"W_embed": (0.1 * rng.standard_normal((V, E))).astype(dtype), **lstm,
            "W_out": rng.uniform(-limit, limit, (H, V)).astype(dtype),
            "b_out": np.zeros(V, dtype)}


def char_lm_loss(params, x, y, h0=None, c0=None):
    """Loss and gradients of the model on one window.

    params: dict keyed by CHAR_LM_PARAMS; x (B, T) input characters; y (B, T) the next
    characters (-1: not scored); h0, c0 (B, H) or None (zeros), the state carried in.
    Returns loss (nats per scored character), grads (a dict keyed like params) and the
    final state (h_T, c_T), to carry into the next window (truncated BPTT: the gradient
    stops at the window's start, the state does not).
    """
    e, emb_cache = embedding_forward(x, params["W_embed"])
    h, final, lstm_cache = lstm_forward(e, params["Wx"], params["Wh"], params["b"], h0, c0)
    scores, aff_cache = temporal_affine_forward(h, params["W_out"], params["b_out"])
    loss, dscores = temporal_softmax_loss(scores, y)
    dh, dW_out, db_out = temporal_affine_backward(dscores, aff_cache)
    g = lstm_backward(dh, lstm_cache)
    grads = {"W_embed": embedding_backward(g["x"], emb_cache), "Wx": g["Wx"], "Wh": g["Wh"],
             "b": g["b"], "W_out": dW_out, "b_out": db_out}
    return loss, grads, final


def char_lm_nll(params, ids, start, stop, n_streams=64, context=100):
    """Mean negative log-likelihood (nats per character) of ids[start:stop] under the
    model, every character scored once, in n_streams parallel streams that each first
    read `context` characters before their piece (`lstm_ref.text.scoring_streams`)."""
    x, y = scoring_streams(ids, start, stop, n_streams, context)
    e, _ = embedding_forward(x, params["W_embed"])
    h, _, _ = lstm_forward(e, params["Wx"], params["Wh"], params["b"])
    scores, _ = temporal_affine_forward(h, params["W_out"], params["b_out"])
    return temporal_softmax_loss(scores, y)[0]


# ------------------------------------------------------------------ training steps

def adam_step(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam update (Kingma and Ba, 2015) of one array, without changing its inputs.

    w, dw, m, v: arrays of one shape (the parameter, its gradient, the running first and
    second moments); t >= 1, the number of this update. Returns (w, m, v) after it:

        m = beta1 m + (1 - beta1) dw           v = beta2 v + (1 - beta2) dw**2
        m_hat = m / (1 - beta1**t)             v_hat = v / (1 - beta2**t)
        w = w - lr m_hat / (sqrt(v_hat) + eps)

    Computed by `lstm_ref.train.Adam`, the optimiser of the book's NumPy training.
    """
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"adam_step: t must be an integer >= 1 (the first update is t = 1), "
                         f"got {t!r}")
    opt = Adam({"w": np.array(w, dtype=np.float64)}, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
    opt.m["w"], opt.v["w"], opt.t = np.array(m, dtype=np.float64), np.array(v, dtype=np.float64), t - 1
    opt.step({"w": np.asarray(dw, dtype=np.float64)})
    return opt.params["w"], opt.m["w"], opt.v["w"]


# ------------------------------------------------------------------ sampling

def generate(params, prime, n, temperature, rng):
    """Characters drawn from the model, one at a time, each fed back as the next input.

    prime: (P,) integers, P >= 1, read first (their predictions are not used except the
    last); n: how many characters to draw; temperature >= 0 (0: greedy, the argmax);
    rng: a numpy.random.Generator. Returns (n,) int64, the drawn characters.
    """
    prime = np.asarray(prime, dtype=np.int64)
    e, _ = embedding_forward(prime[None, :], params["W_embed"])
    h, (h_t, c_t), _ = lstm_forward(e, params["Wx"], params["Wh"], params["b"])
    out = np.empty(n, np.int64)
    scores = h[0, -1] @ params["W_out"] + params["b_out"]
    for k in range(n):
        out[k] = sample_with_temperature(scores, temperature, rng)
        e = params["W_embed"][out[k:k + 1]][None]
        h, (h_t, c_t), _ = lstm_forward(e, params["Wx"], params["Wh"], params["b"], h_t, c_t)
        scores = h[0, -1] @ params["W_out"] + params["b_out"]
    return out

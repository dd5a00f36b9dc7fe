"""Checks of exercise 09, the capstone: a character-level language model in NumPy, trained
with the student's own LSTM backward pass.

The layers are checked against `lstm_ref.charlm` on a hand-made case and seeded random
ones, each with the mistakes it is known for (repeated indices in the embedding's
backward pass, a softmax that overflows, a loss averaged another way, clipping tensor by
tensor, Adam without its bias correction). The trained model is measured by
`check_char_lm_model` with the reference's forward pass, on a piece of the held-out test
plays that the check loads itself, in bits per character, against the bigram model
counted on the same training text; its recurrent weights are then shuffled, which must
take the gain away.
"""
import numpy as np

from .. import charlm as reference
from .. import sequence, text
from ..train import clip_by_global_norm
from .backprop import LSTM_SEQUENCE_ARGS, _compare_gradients, _lstm_bptt
from .core import (GradingError, SHAPE_HINTS, _as_array, _case, _check_finite, _check_shape, _explain,
                   _forward_first, _outputs, _unchanged, check_array, drawn, run_student, sequence_cases)
from .rnn import _bptt_mistakes

# ------------------------------------------------------------------ constants

# The model the exercise trains (the release's sizes; the check accepts any E and H).
CHAR_LM_SIZES = {"E": 16, "H": 64}
# What train_char_lm may use from lstm_ref: the layout of the text into parallel streams
# (lstm_ref.text.stream_windows) and the initial parameters (lstm_ref.charlm.init_char_lm).
# Everything else (the LSTM, the layers, the loss, clipping, Adam) is the student's.
CHAR_LM_ALLOWED = ("stream_windows", "init_char_lm")
# The held-out text: a piece of CHAR_LM_PIECE characters of the test block (the last 5 %
# of the corpus, text.contiguous_split), starting at a position drawn from this seed.
CHAR_LM_TEST_SEED = 909
CHAR_LM_PIECE = 40_000
CHAR_LM_STREAMS = 64            # scored in parallel streams ...
CHAR_LM_CONTEXT = 100           # ... that each first read the 100 characters before them
# The model must need at least this many bits per character fewer than the bigram model
# (Kneser-Ney, counted on the training block) on the same characters.
CHAR_LM_MARGIN_BITS = 0.5
# With its recurrent weights Wh shuffled (seed below), the model must lose the gain: it
# must then need at least as many bits per character as the bigram model.
CHAR_LM_ABLATION_SEED = 919
# Sampling: draws per temperature, and the chi-square bound (4 degrees of freedom; a
# correct sampler exceeds 35 with probability about 4e-7).
SAMPLE_DRAWS = 20_000
# What generation reads first: a model trained with its state carried over is at its best
# after some text has warmed up its state (from zeros its first characters are poor).
GENERATE_PRIME = ("ROMEO:\nBut, soft! what light through yonder window breaks?\n"
                  "It is the east, and Juliet is the sun.\n\nJULIET:\n")
SAMPLE_CHI2 = 35.0

_DATA = {}


def char_lm_data():
    """The exercise's text: (vocab, train_ids). vocab, a str of the V distinct characters
    of the whole corpus (`lstm_ref.text.vocabulary`); train_ids (N,) int64, the training
    block (the first 90 %, `lstm_ref.text.contiguous_split`), encoded. The validation and
    test blocks are not returned: the check loads them itself."""
    vocab, ids, (train, _, _) = _corpus()
    return vocab, ids[train].copy()


def _corpus():
    if not _DATA:
        corpus = text.load_shakespeare()
        vocab = text.vocabulary(corpus)
        ids = text.encode(corpus, vocab)
        _DATA.update(vocab=vocab, ids=ids, split=text.contiguous_split(len(ids)))
    return _DATA["vocab"], _DATA["ids"], _DATA["split"]


# ------------------------------------------------------------------ part 1: the LSTM

def _check_char_lm_lstm_case(lstm_forward, lstm_backward, case):
    names = ("dx", "dh0", "dc0", "dWx", "dWh", "db")
    args = {k: case[k] for k in LSTM_SEQUENCE_ARGS}
    h_ref, (hT_ref, cT_ref), cache_ref = sequence.lstm_forward(**args)
    passed = {k: v.copy() for k, v in args.items()}
    result = run_student("lstm_forward", lstm_forward, *passed.values())
    h, final, cache = _outputs("lstm_forward", result, 3, ("h", "(h_T, c_T)", "cache"))
    h_T, c_T = _outputs("lstm_forward's final states", final, 2, ("h_T", "c_T"))

    def forward():
        check_array("h (every hidden state)", h, h_ref, hint=SHAPE_HINTS["h"])
        check_array("h_T (the final hidden state)", h_T, hT_ref)
        check_array("c_T (the final cell state, carried into the next window)", c_T, cT_ref)
    _forward_first("lstm_forward", "lstm_backward", forward)
    dh = case["dh"].copy()
    got = _outputs("lstm_backward", run_student("lstm_backward", lstm_backward, dh, cache), 6, names)
    _unchanged("lstm_backward", "dh", case["dh"], dh)
    for k in args:
        _unchanged("lstm_forward and lstm_backward", k, args[k], passed[k])
    e = sequence.lstm_backward(case["dh"], cache_ref)
    expected = tuple(e[k] for k in ("x", "h0", "c0", "Wx", "Wh", "b"))
    mistakes = [("the cell-state gradient is not carried between steps: pass the dc_prev of step t "
                 "as dc_next to step t-1", lambda: _lstm_bptt(**args, dh=case["dh"], carry_c=False))]
    mistakes += _bptt_mistakes(_lstm_bptt, args, case["dh"])
    _explain(lambda: _compare_gradients(names, got, expected), got, mistakes,
             note="Exercise 03's tests check the same function: your lstm_backward from there, "
                  "with its lstm_step_backward, passes here.")


def check_char_lm_lstm(lstm_forward, lstm_backward):
    """The student's own LSTM, which the model trains with: lstm_forward(x, Wx, Wh, b, h0,
    c0) -> (h, (h_T, c_T), cache) and lstm_backward(dh, cache) -> (dx, dh0, dc0, dWx, dWh,
    db), as in exercise 03, but with nothing of lstm_ref: the forward step is the
    student's too. Compared with lstm_ref.lstm_forward and lstm_backward on seeded cases
    (nonzero initial states: the state carried in from the previous window)."""
    for label, case in sequence_cases(4):
        _case("your LSTM", label, lambda case=case: _check_char_lm_lstm_case(lstm_forward, lstm_backward, case))


# ------------------------------------------------------------------ part 2: the embedding

def _embedding_cases():
    """(label, x (B, T) int64 with repeated characters, W (V, D), dout (B, T, D))."""
    x = np.array([[0, 2, 2, 1], [2, 3, 0, 2]])
    W = (np.arange(12).reshape(4, 3) - 5.0) / 10
    dout = (np.arange(24).reshape(2, 4, 3) % 5 - 2.0) / 10
    yield "the hand-made case (B=2, T=4, V=4, D=3; character 2 occurs 4 times)", x, W, dout
    for k, (B, T, V, D) in enumerate([(3, 7, 5, 2), (1, 1, 6, 4), (4, 9, 11, 3)]):
        seed = drawn(900 + k)
        rng = np.random.default_rng(seed)
        yield (f"a random case (seed {seed}, B={B}, T={T}, V={V}, D={D})", rng.integers(0, V, (B, T)),
               rng.standard_normal((V, D)), rng.standard_normal((B, T, D)))


def check_embedding_forward(embedding_forward):
    """embedding_forward(x, W) -> (out, cache): x (B, T) integers, W (V, D), out (B, T, D)
    with out[b, t] = W[x[b, t]]. x and W unchanged."""
    for label, x, W, _ in _embedding_cases():
        def body(x=x, W=W):
            xs, Ws = x.copy(), W.copy()
            out, _ = _outputs("embedding_forward", run_student("embedding_forward", embedding_forward, xs, Ws),
                              2, ("out", "cache"))
            expected, _ = reference.embedding_forward(x, W)
            check_array("out", out, expected, hint="out[b, t] is row x[b, t] of W: (B, T, D).")
            _unchanged("embedding_forward", "x", x, xs)
            _unchanged("embedding_forward", "W", W, Ws)
        _case("embedding_forward", label, body)


def check_embedding_backward(embedding_forward, embedding_backward):
    """embedding_backward(dout, cache) -> dW (V, D), with the cache of the student's own
    embedding_forward: dW[v] sums dout[b, t] over every (b, t) with x[b, t] = v."""
    for label, x, W, dout in _embedding_cases():
        def body(x=x, W=W, dout=dout):
            out, cache = _outputs("embedding_forward",
                                  run_student("embedding_forward", embedding_forward, x.copy(), W.copy()),
                                  2, ("out", "cache"))
            expected_out, ref_cache = reference.embedding_forward(x, W)
            _forward_first("embedding_forward", "embedding_backward",
                           lambda: check_array("out", out, expected_out))
            d = dout.copy()
            dW = run_student("embedding_backward", embedding_backward, d, cache)
            expected = reference.embedding_backward(dout, ref_cache)

            def last_write_wins():
                wrong = np.zeros_like(W)
                wrong[x] += dout            # each repeated row receives one of its gradients
                return (wrong,)
            _explain(lambda: check_array("dW", dW, expected, hint="dW is shaped like W, (V, D)."), (dW,),
                     [("dW[x] += dout: with fancy indexing, a row that x holds several times is written once, "
                       "so only one of its gradients is kept. A character that occurs k times must receive "
                       "all k: np.add.at(dW, x, dout) adds every one", last_write_wins),
                      ("dW is indexed by position instead of by character: row v of dW sums dout[b, t] over "
                       "the (b, t) where x[b, t] == v", lambda: (np.zeros_like(W),))])
            _unchanged("embedding_backward", "dout", dout, d)
        _case("embedding_backward", label, body)


# ------------------------------------------------------------------ part 3: the loss

def _softmax_cases():
    """(label, scores (B, T, V), y (B, T) with -1 where not scored)."""
    scores = (np.arange(2 * 3 * 4).reshape(2, 3, 4) % 7 - 3.0) / 2
    y = np.array([[1, 0, 3], [2, -1, 1]])
    yield "the hand-made case (B=2, T=3, V=4; y[1, 1] = -1 is not scored)", scores, y
    for k, (B, T, V, scale) in enumerate([(3, 5, 6, 1.0), (1, 1, 4, 1.0), (4, 6, 9, 3.0)]):
        seed = drawn(920 + k)
        rng = np.random.default_rng(seed)
        y = rng.integers(0, V, (B, T))
        if B * T > 1:
            y[rng.random((B, T)) < 0.3] = -1
            y[0, 0] = rng.integers(0, V)            # at least one step scored
        yield (f"a random case (seed {seed}, B={B}, T={T}, V={V}, some y = -1)",
               scale * rng.standard_normal((B, T, V)), y)
    seed = drawn(930)
    rng = np.random.default_rng(seed)
    yield (f"large scores, from 500 to 1000 (seed {seed}, B=2, T=3, V=5): exp(1000) overflows in "
           f"float64", rng.uniform(500, 1000, (2, 3, 5)), rng.integers(0, 5, (2, 3)))


def _softmax_mistakes(scores, y):
    scored = y >= 0
    B, T, _ = scores.shape
    N = int(scored.sum())
    loss, dscores = reference.temporal_softmax_loss(scores, y)
    V = scores.shape[-1]
    yield (f"the loss is averaged over the B = {B} sequences only (summed over the steps), as some courses "
           f"do; here it is the mean over the N = {N} scored characters (nats per character), so that "
           f"it reads directly as bits per character after / ln 2", lambda: (loss * N / B, dscores * N / B))
    if N < B * T:
        yield (f"the loss is averaged over all B*T = {B * T} steps; a step whose target is -1 is not scored, "
               f"so divide by the N = {N} scored ones", lambda: (loss * N / (B * T), dscores * N / (B * T)))
        everything = np.where(scored, y, V - 1)
        yield ("the targets y = -1 are used as indices (y = -1 picks the last character): they mark steps "
               "that are not scored, and must add nothing to the loss or to dscores",
               lambda: reference.temporal_softmax_loss(scores, everything))
    yield (f"dscores is not divided by N = {N}: the loss is a mean, so each step's gradient "
           f"softmax - one_hot is divided by the number of scored characters", lambda: (loss, dscores * N))


def check_temporal_softmax_loss(temporal_softmax_loss):
    """temporal_softmax_loss(scores, y) -> (loss, dscores): scores (B, T, V), y (B, T) integers
    in [0, V) or -1 (not scored); loss, the mean of -log softmax(scores[b, t])[y[b, t]] over the
    scored steps; dscores (B, T, V). Includes scores of up to 1000, which overflow exp."""
    for label, scores, y in _softmax_cases():
        def body(scores=scores, y=y):
            s, yy = scores.copy(), y.copy()
            with np.errstate(all="ignore"):
                result = run_student("temporal_softmax_loss", temporal_softmax_loss, s, yy)
            loss, dscores = _outputs("temporal_softmax_loss", result, 2, ("loss", "dscores"))
            loss_ref, d_ref = reference.temporal_softmax_loss(scores, y)
            loss = _as_array("loss", loss)
            if loss.shape != ():
                raise GradingError(f"loss: expected one number (a float), got an array of shape {loss.shape}: "
                                   f"average over the scored steps.")
            if not np.all(np.isfinite(loss)) or not np.all(np.isfinite(_as_array("dscores", dscores))):
                if scores.max() > 700:
                    raise GradingError(
                        f"loss or dscores is NaN or inf on scores as large as {scores.max():.0f}: exp overflows "
                        f"above about 709 in float64. Softmax does not change when a constant is subtracted "
                        f"from a row: subtract each row's maximum, scores - scores.max(axis=-1, keepdims=True), "
                        f"before exp.")

            def compare():
                check_array("loss", loss, np.float64(loss_ref))
                check_array("dscores", dscores, d_ref, hint="dscores is shaped like scores, (B, T, V).")
            _explain(compare, (loss, dscores), _softmax_mistakes(scores, y))
            _unchanged("temporal_softmax_loss", "scores", scores, s)
        _case("temporal_softmax_loss", label, body)


# ------------------------------------------------------------------ part 4: the model's loss

def _char_lm_case(seed, B=2, T=6, V=7, E=3, H=4):
    rng = np.random.default_rng(seed)
    params = reference.init_char_lm(V, E, H, seed=rng)
    params = {k: p + 0.3 * rng.standard_normal(p.shape) for k, p in params.items()}
    x = rng.integers(0, V, (B, T))
    x[:, 1] = x[:, 0]                               # repeated characters
    y = rng.integers(0, V, (B, T))
    return params, x, y, rng.standard_normal((B, H)), rng.standard_normal((B, H))


def check_char_lm_loss(char_lm_loss):
    """char_lm_loss(params, x, y, h0, c0) -> (loss, grads, (h_T, c_T)): the model's loss on
    one window and the gradient of every parameter (a dict keyed like params), with the
    state carried in (h0, c0) and out. Compared with lstm_ref.charlm.char_lm_loss."""
    for k, (B, T, V, E, H) in enumerate([(2, 6, 7, 3, 4), (3, 4, 5, 2, 3)]):
        seed = drawn(940 + k)
        label = f"a random case (seed {seed}, B={B}, T={T}, V={V}, E={E}, H={H})"

        def body(seed=seed, sizes=(B, T, V, E, H)):
            params, x, y, h0, c0 = _char_lm_case(seed, *sizes)
            passed = {k: v.copy() for k, v in params.items()}
            result = run_student("char_lm_loss", char_lm_loss, passed, x.copy(), y.copy(), h0.copy(), c0.copy())
            loss, grads, final = _outputs("char_lm_loss", result, 3, ("loss", "grads", "(h_T, c_T)"))
            h_T, c_T = _outputs("char_lm_loss's final state", final, 2, ("h_T", "c_T"))
            loss_ref, g_ref, (hT_ref, cT_ref) = reference.char_lm_loss(params, x, y, h0, c0)
            check_array("h_T (the final hidden state)", h_T, hT_ref)
            check_array("c_T (the final cell state)", c_T, cT_ref)
            check_array("loss", _as_array("loss", loss), np.float64(loss_ref))
            if not isinstance(grads, dict):
                raise GradingError(f"grads: expected a dict keyed like params, got {type(grads).__name__}")
            missing = [k for k in reference.CHAR_LM_PARAMS if k not in grads]
            if missing:
                raise GradingError(f"grads has no entry for {', '.join(missing)}: every parameter needs its "
                                   f"gradient (keys {', '.join(reference.CHAR_LM_PARAMS)}).")
            for name in reference.CHAR_LM_PARAMS:
                hint = f"d{name} is shaped like {name}, {params[name].shape}."
                if name == "W_embed":
                    def last_write_wins():
                        e, cache = reference.embedding_forward(x, params["W_embed"])
                        h, _, lc = sequence.lstm_forward(e, params["Wx"], params["Wh"], params["b"], h0, c0)
                        s, ac = reference.temporal_affine_forward(h, params["W_out"], params["b_out"])
                        dh = reference.temporal_affine_backward(reference.temporal_softmax_loss(s, y)[1], ac)[0]
                        wrong = np.zeros_like(params["W_embed"])
                        wrong[x] += sequence.lstm_backward(dh, lc)["x"]
                        return (wrong,)
                    _explain(lambda: check_array("grads['W_embed']", grads[name], g_ref[name], hint=hint),
                             (grads[name],), [("the repeated characters of x keep one gradient each: use "
                                               "np.add.at (your embedding_backward, which passed its test)",
                                               last_write_wins)])
                elif name in ("Wx", "Wh", "b"):
                    _compare_gradients(("d" + name,), (grads[name],), (g_ref[name],))
                else:
                    check_array(f"grads[{name!r}]", grads[name], g_ref[name], hint=hint)
            for name in params:
                _unchanged("char_lm_loss", f"params[{name!r}]", params[name], passed[name])
        _case("char_lm_loss", label, body)


# ------------------------------------------------------------------ part 5: clipping and Adam

def _grad_dicts():
    """(label, grads, max_norm): a norm above the bound, one below it, one tensor dominant."""
    rng = np.random.default_rng(drawn(950))
    big = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4), "U": 5 * rng.standard_normal((2, 2))}
    yield f"three gradients of joint norm {_norm(big):.2f} with max_norm 1 (seed {drawn(950)})", big, 1.0
    small = {"W": 0.1 * rng.standard_normal((3, 2)), "b": 0.1 * rng.standard_normal(2)}
    yield f"two gradients of joint norm {_norm(small):.3f} with max_norm 1: left as they are", small, 1.0
    skew = {"a": np.full((2, 2), 3.0), "b": np.array([0.5, -0.5])}
    yield f"two gradients of joint norm {_norm(skew):.3f} with max_norm 2, one of them within the bound", skew, 2.0


def _norm(grads):
    return float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


def check_clip_by_global_norm(clip_by_global_norm_fn):
    """clip_by_global_norm(grads, max_norm) -> (clipped, norm): grads a dict of arrays;
    norm = sqrt(sum of every squared entry of every array), before clipping; if norm >
    max_norm every array is scaled by max_norm / norm (one factor for all), else left as it
    is. Compared with lstm_ref.train.clip_by_global_norm."""
    for label, grads, max_norm in _grad_dicts():
        def body(grads=grads, max_norm=max_norm):
            passed = {k: v.copy() for k, v in grads.items()}
            result = run_student("clip_by_global_norm", clip_by_global_norm_fn, passed, max_norm)
            clipped, norm = _outputs("clip_by_global_norm", result, 2, ("clipped", "norm"))
            ref, ref_norm = clip_by_global_norm({k: v.copy() for k, v in grads.items()}, max_norm)
            if not isinstance(clipped, dict) or set(clipped) != set(grads):
                raise GradingError(f"clipped: expected a dict with the keys of grads ({', '.join(grads)}), got "
                                   f"{type(clipped).__name__}"
                                   + (f" with keys {', '.join(map(str, clipped))}" if isinstance(clipped, dict) else ""))
            keys = sorted(grads)
            got = tuple(clipped[k] for k in keys) + (norm,)

            def compare():
                check_array("norm (the global norm before clipping)", _as_array("norm", norm), np.float64(ref_norm))
                for k in keys:
                    check_array(f"clipped[{k!r}]", clipped[k], ref[k])

            def per_tensor():
                out = {k: g * min(1.0, max_norm / max(np.linalg.norm(g), 1e-300)) for k, g in grads.items()}
                return tuple(out[k] for k in keys) + (ref_norm,)
            factor = max_norm / ref_norm
            _explain(compare, got, [
                ("each array is clipped to max_norm on its own; clipping by the global norm scales all of them "
                 "by one factor, max_norm / sqrt(sum over all arrays of their squared entries), which keeps "
                 "the direction of the whole gradient", per_tensor),
                ("norm is measured after clipping; return the norm before it (training logs it to show how "
                 "often and how much the clip acts)", lambda: tuple(ref[k] for k in keys) + (min(ref_norm, max_norm),)),
                ("gradients below the bound are scaled up to it: scale only when norm > max_norm",
                 lambda: tuple(grads[k] * factor for k in keys) + (ref_norm,))])
        _case("clip_by_global_norm", label, body)


def _adam_cases():
    rng = np.random.default_rng(drawn(960))
    for t in (1, 2, 10, 1000):
        w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
        m = 0.0 * w if t == 1 else 0.1 * rng.standard_normal((3, 4))
        v = 0.0 * w if t == 1 else 0.01 * rng.random((3, 4))
        yield f"update t = {t} (seed {drawn(960)}, lr 0.01)", dict(w=w, dw=dw, m=m, v=v, t=t, lr=0.01)


def check_adam_step(adam_step):
    """adam_step(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8) -> (w, m, v) after one
    Adam update, t = 1 for the first; inputs unchanged. Compared with lstm_ref.train.Adam."""
    for label, case in _adam_cases():
        def body(case=case):
            passed = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in case.items()}
            with np.errstate(all="ignore"):
                result = run_student("adam_step", adam_step, passed["w"], passed["dw"], passed["m"], passed["v"],
                                     case["t"], case["lr"])
            got = _outputs("adam_step", result, 3, ("w", "m", "v"))
            expected = reference.adam_step(case["w"], case["dw"], case["m"], case["v"], case["t"], case["lr"])
            w, dw, m, v, t, lr = (case[k] for k in ("w", "dw", "m", "v", "t", "lr"))
            m1, v1 = 0.9 * m + 0.1 * dw, 0.999 * v + 0.001 * dw * dw

            def variant(c1, c2, eps_inside=False):
                denom = np.sqrt(v1 / c2 + 1e-8) if eps_inside else np.sqrt(v1 / c2) + 1e-8
                return (w - lr * (m1 / c1) / denom, m1, v1)

            def compare():
                for name, g, e in zip(("w", "m", "v"), got, expected):
                    check_array(name, g, e)
            mistakes = [
                ("no bias correction: m and v start at 0, so early on they are too small by factors "
                 "1 - beta1**t and 1 - beta2**t; divide by them: m_hat = m / (1 - beta1**t), "
                 "v_hat = v / (1 - beta2**t)", lambda: variant(1.0, 1.0)),
                ("the bias correction uses t - 1 (or counts from 0): the first update is t = 1, "
                 "m_hat = m / (1 - beta1**t)", lambda: variant(1 - 0.9 ** (t - 1), 1 - 0.999 ** (t - 1))),
                ("eps is added inside the square root; Adam divides by sqrt(v_hat) + eps",
                 lambda: variant(1 - 0.9 ** t, 1 - 0.999 ** t, eps_inside=True)),
                ("the moving averages weigh the wrong term: m = beta1 * m + (1 - beta1) * dw keeps 90 % of "
                 "the old average", lambda: (lambda m2, v2: (w - lr * (m2 / (1 - 0.9 ** t)) / (
                     np.sqrt(v2 / (1 - 0.999 ** t)) + 1e-8), m2, v2))(0.1 * m + 0.9 * dw, 0.001 * v + 0.999 * dw * dw)),
                ("the update is added: w moves along the gradient; subtract it, w - lr * m_hat / "
                 "(sqrt(v_hat) + eps)", lambda: (2 * w - expected[0], expected[1], expected[2]))]
            with np.errstate(all="ignore"):         # the t - 1 mistake divides by 0 at t = 1
                _explain(compare, got, mistakes)
            for k in ("w", "dw", "m", "v"):
                _unchanged("adam_step", k, case[k], passed[k],
                           fix="return new arrays (the training loop stores them) instead of writing into them")
        _case("adam_step", label, body)


# ------------------------------------------------------------------ part 6: training

def check_char_lm_training(train_char_lm):
    """Run the student's train_char_lm() -> params once (their training, with their own
    LSTM, layers, loss, clipping and Adam; of lstm_ref only CHAR_LM_ALLOWED), and measure
    what it returns with check_char_lm_model. The check trains nothing of its own and
    loads the held-out text only after training. Returns the parameters."""
    params = run_student("train_char_lm", train_char_lm, allowed=CHAR_LM_ALLOWED)
    check_char_lm_model(params)
    return params


def _checked_params(params):
    vocab, _, _ = _corpus()
    V = len(vocab)
    if isinstance(params, tuple):
        raise GradingError("expected the dict of trained parameters, got a tuple: return the dict itself "
                           f"(keys {', '.join(reference.CHAR_LM_PARAMS)}).")
    if not isinstance(params, dict):
        raise GradingError(f"expected a dict of the trained parameters (keys {', '.join(reference.CHAR_LM_PARAMS)}),"
                           f" got {type(params).__name__}. Did you forget `return params`?")
    missing = [k for k in reference.CHAR_LM_PARAMS if k not in params]
    if missing:
        raise GradingError(f"the parameters have no {', '.join(missing)} (keys needed: "
                           f"{', '.join(reference.CHAR_LM_PARAMS)}).")
    p = {k: _as_array(f"params[{k!r}]", params[k]).astype(np.float64) for k in reference.CHAR_LM_PARAMS}
    E = p["W_embed"].shape[-1] if p["W_embed"].ndim == 2 else -1
    H = p["Wh"].shape[0] if p["Wh"].ndim == 2 else -1
    want = {"W_embed": (V, E), "Wx": (E, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,), "W_out": (H, V), "b_out": (V,)}
    for k, shape in want.items():
        if p[k].shape != shape:
            raise GradingError(f"params[{k!r}] has shape {p[k].shape}; with V = {V} characters, E = {E} and H = {H} "
                               f"it must be {shape} (W_embed (V, E), Wx (E, 4H), Wh (H, 4H), b (4H,), "
                               f"W_out (H, V), b_out (V,)).")
        _check_finite(f"params[{k!r}]", p[k])
    return p


def _held_out():
    """The piece of the test block scored, drawn from drawn(CHAR_LM_TEST_SEED): a slice."""
    _, _, (_, _, test) = _corpus()
    rng = np.random.default_rng(drawn(CHAR_LM_TEST_SEED))
    start = test.start + int(rng.integers(0, test.stop - test.start - CHAR_LM_PIECE))
    return slice(start, start + CHAR_LM_PIECE)


def _baselines(piece):
    """Bits per character of the bigram (Kneser-Ney) and the interpolated trigram on piece."""
    vocab, ids, (train, _, _) = _corpus()
    V = len(vocab)
    if "bigram" not in _DATA:
        _DATA["bigram"] = text.bigram_log_probs(ids[train], V, smoothing="kneser-ney")
    bigram = text.ngram_nll(_DATA["bigram"], ids[piece], ids[piece.start - 1:piece.stop - 1])
    trigram = text.interpolated_ngram_nll(ids, train, piece, 3, V)
    return text.bits_per_char(bigram), text.bits_per_char(trigram)


def _bits(params, piece):
    _, ids, _ = _corpus()
    return text.bits_per_char(reference.char_lm_nll(params, ids, piece.start, piece.stop,
                                                    CHAR_LM_STREAMS, CHAR_LM_CONTEXT))


def check_char_lm_model(params):
    """The trained parameters (a dict keyed by lstm_ref.charlm.CHAR_LM_PARAMS), measured with
    the reference's forward pass on CHAR_LM_PIECE characters of the test plays (a piece of
    the test block drawn from CHAR_LM_TEST_SEED), which training never saw: the model must
    need at least CHAR_LM_MARGIN_BITS bits per character fewer than the bigram model
    (Kneser-Ney, counted on the training block) on the same characters; and with its
    recurrent weights Wh shuffled, it must lose that gain (need at least the bigram's
    bits per character): the gain comes from what the LSTM carries from step to step.
    Prints the bits per character of the model, the bigram and an interpolated trigram."""
    p = _checked_params(params)
    piece = _held_out()
    model = _bits(p, piece)
    bigram, trigram = _baselines(piece)
    report = (f"held-out {model:.3f} bits per character on {CHAR_LM_PIECE:,} characters of the test plays "
              f"(positions {piece.start:,} to {piece.stop:,}, seed {drawn(CHAR_LM_TEST_SEED)}; loaded by the "
              f"check); on the same characters the bigram model (Kneser-Ney) needs {bigram:.3f} and an "
              f"interpolated trigram {trigram:.3f}.")
    if not model <= bigram - CHAR_LM_MARGIN_BITS:
        cause = ""
        if model > bigram - 0.1:
            cause = ("\nThat is no better than one character of context: check that the state is carried "
                     "from one window to the next, that the targets are the inputs shifted by one, and that "
                     "your training loss falls well below 2.5 nats per character.")
        raise GradingError(f"{report}\nNeeded: at most the bigram's {bigram:.3f} - {CHAR_LM_MARGIN_BITS} = "
                           f"{bigram - CHAR_LM_MARGIN_BITS:.3f} bits per character.{cause}")
    rng = np.random.default_rng(drawn(CHAR_LM_ABLATION_SEED))
    ablated = dict(p, Wh=p["Wh"].ravel()[rng.permutation(p["Wh"].size)].reshape(p["Wh"].shape))
    shuffled = _bits(ablated, piece)
    if shuffled < bigram:
        raise GradingError(
            f"{report}\nBut with its recurrent weights Wh shuffled the model still needs only {shuffled:.3f} "
            f"bits per character (needed: at least the bigram's {bigram:.3f}): its gain does not come from "
            f"what the LSTM passes from one step to the next. Train Wh as every other parameter.")
    print(f"Passed: {report} Needed: at most {bigram - CHAR_LM_MARGIN_BITS:.3f}. With Wh shuffled: "
          f"{shuffled:.3f} bits per character (the gain comes from the recurrence).")


# ------------------------------------------------------------------ part 7: sampling

def _chi2(draws, probs):
    counts = np.bincount(draws, minlength=len(probs)).astype(float)
    expected = probs * len(draws)
    keep = expected > 0
    if (counts[~keep] > 0).any():
        return np.inf
    return float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum())


def check_sample_next(sample_next):
    """sample_next(scores, temperature, rng) -> (B,) int64: one index per row of scores
    (B, V) drawn from softmax(scores / temperature) with the generator rng; temperature 0
    gives each row's argmax. Checked exactly at temperature 0 (with scores too large for a
    naive exp), and statistically at 0.5, 1 and 2 on SAMPLE_DRAWS draws (chi-square test;
    the draws must come from rng: the same seed gives the same draws)."""
    seed = drawn(970)
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((6, 8)) * 300
    label = f"temperature 0 on scores of up to {np.abs(scores).max():.0f} (seed {seed}, B=6, V=8)"

    def greedy():
        got = run_student("sample_next", sample_next, scores.copy(), 0, np.random.default_rng(0))
        got = _as_array("sample_next's draws", got)
        _check_shape("sample_next's draws", got, np.zeros(6), "One index per row of scores: (B,).")
        if not np.array_equal(got, np.argmax(scores, axis=1)):
            raise GradingError(f"at temperature 0 the draw must be each row's argmax {np.argmax(scores, axis=1)}, "
                               f"got {got.astype(int)}: temperature 0 is the limit in which all the mass goes to "
                               f"the largest score (do not divide by 0: treat it apart, with np.argmax).")
    _case("sample_next", label, greedy)
    row = np.array([1.0, 0.5, -0.5, 2.0, 0.0])
    for tau in (1.0, 0.5, 2.0):
        label = f"temperature {tau:g}: {SAMPLE_DRAWS:,} draws from the scores {row.tolist()} (generator seed {seed})"

        def stats(tau=tau):
            scores = np.tile(row, (SAMPLE_DRAWS, 1))
            draws = [run_student("sample_next", sample_next, scores.copy(), tau, np.random.default_rng(seed))
                     for _ in range(2)]
            got = [_as_array("sample_next's draws", d) for d in draws]
            _check_shape("sample_next's draws", got[0], np.zeros(SAMPLE_DRAWS), "One index per row: (B,).")
            d = got[0]
            if not (np.all(d == np.round(d)) and d.min() >= 0 and d.max() < len(row)):
                raise GradingError(f"the draws must be integer indices in [0, {len(row)}), got values from "
                                   f"{d.min()} to {d.max()}.")
            if not np.array_equal(got[0], got[1]):
                raise GradingError("two calls with generators of the same seed gave different draws: draw with "
                                   "the rng you are given (rng.random, rng.choice), not np.random's global "
                                   "generator, so that a seeded run is reproducible.")
            d = d.astype(np.int64)
            want = text.softmax_with_temperature(row, tau)
            chi2 = _chi2(d, want)
            if chi2 <= SAMPLE_CHI2:
                return
            freq = np.bincount(d, minlength=len(row)) / len(d)
            msg = (f"the frequencies of the draws {np.round(freq, 3).tolist()} do not match softmax(scores / "
                   f"{tau:g}) = {np.round(want, 3).tolist()} (chi-square {chi2:.1f} with {len(row) - 1} degrees "
                   f"of freedom; a correct sampler stays below {SAMPLE_CHI2:g} but with probability about 4e-7).")
            for cause, probs in ((f"the scores are multiplied by the temperature; divide them: softmax(scores / "
                                  f"{tau:g})", text.softmax_with_temperature(row * tau * tau, tau)),
                                 ("the temperature is not used: softmax(scores / temperature)",
                                  text.softmax_with_temperature(row, 1.0)),
                                 ("every draw is the argmax: at a temperature above 0, draw at random from the "
                                  "distribution (e.g. rng.choice(V, p=p) for each row)", np.eye(len(row))[3])):
                if tau != 1.0 or "multiplied" not in cause:
                    if _chi2(d, probs) <= SAMPLE_CHI2 or (probs.max() == 1 and np.all(d == 3)):
                        raise GradingError(f"{msg}\nLikely cause: {cause}.")
            raise GradingError(msg)
        _case("sample_next", label, stats)


def _generate_cases():
    """(label, params, prime): small seeded models (scaled so that the greedy choices are
    clear) and one prime each."""
    for k, (V, E, H, P) in enumerate([(11, 4, 8, 5), (7, 3, 5, 1)]):
        seed = drawn(980 + k)
        rng = np.random.default_rng(seed)
        params = {name: 1.5 * p + rng.standard_normal(p.shape)
                  for name, p in reference.init_char_lm(V, E, H, seed=rng).items()}
        yield (f"a random model (seed {seed}, V={V}, E={E}, H={H}) and a prime of {P} characters",
               params, rng.integers(0, V, P))


def check_generate(generate):
    """generate(params, prime, n, temperature, rng) -> (n,) int64 characters, each drawn from
    the model's prediction after the prime and the characters drawn before it (fed back as
    the next input, the state carried). Checked at temperature 0 (greedy, so exact) on small
    seeded models, against lstm_ref.charlm.generate with the reference forward pass; the
    arguments unchanged."""
    n = 40
    for label, params, prime in _generate_cases():
        def body(params=params, prime=prime):
            passed = {k: v.copy() for k, v in params.items()}
            got = run_student("generate", generate, passed, prime.copy(), n, 0, np.random.default_rng(0))
            got = _as_array("generate's characters", got)
            expected = reference.generate(params, prime, n, 0, np.random.default_rng(0))
            _check_shape("generate's characters", got, expected, f"n = {n} characters: ({n},).")
            if not np.array_equal(got, expected):
                k = int(np.argmax(got != expected))
                cause = ("" if k else " The very first one differs: it is drawn from the scores after the "
                         "last character of the prime, with the state after reading all of it.")
                raise GradingError(
                    f"the greedy characters differ from the reference's from character {k} on: you generated "
                    f"{got.astype(int).tolist()}, the reference {expected.tolist()}.{cause} Read the whole "
                    f"prime first, carry (h, c) from step to step, and feed each drawn character back as "
                    f"the next input.")
            for k in params:
                _unchanged("generate", f"params[{k!r}]", params[k], passed[k])
        _case("generate", label, body)

"""Exercise 09 (the character-level language model): the reference layers are right
(gradient-checked), the solution's answers pass every check, and each catalogued mistake
fails with a message that names it. Training is kept out of all tests but one."""
import time
from pathlib import Path

import numpy as np
import pytest

import lstm_ref as L
from lstm_ref import charlm, text
from lstm_ref import grading as G
from lstm_ref.grading import charlm as GC
from lstm_ref.gradcheck import numerical_gradient, rel_error
from lstm_ref.tolerances import GRADCHECK_NORMWISE
from submissions import solution_answers

ROOT = Path(__file__).resolve().parents[1]
CELLS = ("lstm", "embedding", "softmax_loss", "char_lm_loss", "optimiser", "sampling")


@pytest.fixture(scope="module")
def sol():
    """The solution notebook's functions (all but the training), run as a student's."""
    (source,) = (ROOT / "solutions" / "09_char_lm").glob("*.ipynb")
    answers = solution_answers(source)
    space = {"np": np, "time": time, "charlm": charlm, "text": text, "grading": G}
    exec("\n\n".join(answers[c] for c in CELLS), space)
    space["answers"] = answers
    return space


def fails(check, *args, fragments=()):
    with pytest.raises(G.GradingError) as err:
        check(*args)
    for fragment in fragments:
        assert fragment in str(err.value), f"{fragment!r} not in:\n{err.value}"
    return str(err.value)


# ------------------------------------------------------------------ the reference

def test_reference_layers_gradient_check():
    rng = np.random.default_rng(0)
    B, T, V, E, H = 2, 5, 6, 3, 4
    x = rng.integers(0, V, (B, T))
    x[:, 1] = x[:, 0]
    W = rng.standard_normal((V, E))
    R = rng.standard_normal((B, T, E))
    _, cache = charlm.embedding_forward(x, W)
    num = numerical_gradient(lambda: float(np.sum(R * charlm.embedding_forward(x, W)[0])), W)
    assert rel_error(charlm.embedding_backward(R, cache), num) < GRADCHECK_NORMWISE

    h, Wo, bo = rng.standard_normal((B, T, H)), rng.standard_normal((H, V)), rng.standard_normal(V)
    R = rng.standard_normal((B, T, V))
    dh, dW, db = charlm.temporal_affine_backward(R, charlm.temporal_affine_forward(h, Wo, bo)[1])
    f = lambda: float(np.sum(R * charlm.temporal_affine_forward(h, Wo, bo)[0]))
    for analytic, arr in ((dh, h), (dW, Wo), (db, bo)):
        assert rel_error(analytic, numerical_gradient(f, arr)) < GRADCHECK_NORMWISE

    scores = 3 * rng.standard_normal((B, T, V))
    y = rng.integers(0, V, (B, T))
    y[0, 2] = -1
    loss, dscores = charlm.temporal_softmax_loss(scores, y)
    num = numerical_gradient(lambda: charlm.temporal_softmax_loss(scores, y)[0], scores)
    assert rel_error(dscores, num) < GRADCHECK_NORMWISE
    assert np.all(dscores[0, 2] == 0)
    # The loss is the mean over the scored steps of -log p(target).
    p = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    b, t = np.nonzero(y >= 0)
    assert loss == pytest.approx(-np.log(p[b, t, y[b, t]]).mean(), rel=1e-12)
    # No overflow for scores near 1000: the same loss as for the shifted scores.
    big, _ = charlm.temporal_softmax_loss(scores + 1000, y)
    assert big == pytest.approx(loss, rel=1e-9)


def test_reference_model_gradient_check():
    params, x, y, h0, c0 = GC._char_lm_case(5)
    loss, grads, _ = charlm.char_lm_loss(params, x, y, h0, c0)
    for name in charlm.CHAR_LM_PARAMS:
        num = numerical_gradient(lambda: charlm.char_lm_loss(params, x, y, h0, c0)[0], params[name])
        assert rel_error(grads[name], num) < GRADCHECK_NORMWISE, name


def test_reference_adam_and_clip():
    rng = np.random.default_rng(1)
    w, dw, m, v = (rng.standard_normal(4) for _ in range(4))
    v = np.abs(v)
    t, lr = 3, 0.01
    m1, v1 = 0.9 * m + 0.1 * dw, 0.999 * v + 0.001 * dw**2
    want = w - lr * (m1 / (1 - 0.9**t)) / (np.sqrt(v1 / (1 - 0.999**t)) + 1e-8)
    got = charlm.adam_step(w, dw, m, v, t, lr)
    np.testing.assert_allclose(got[0], want, rtol=1e-12)
    np.testing.assert_allclose(got[1], m1, rtol=1e-12)
    with pytest.raises(ValueError, match="t must be an integer >= 1"):
        charlm.adam_step(w, dw, m, v, 0, lr)
    clipped, norm = charlm.clip_by_global_norm({"a": np.full(4, 3.0), "b": np.full(2, 4.0)}, 1.0)
    assert norm == pytest.approx(np.sqrt(36 + 32))
    assert np.sqrt(sum(np.sum(g**2) for g in clipped.values())) == pytest.approx(1.0)


def test_interpolated_ngram_is_a_distribution():
    rng = np.random.default_rng(2)
    V = 4
    train = rng.integers(0, V, 300)
    for order in (1, 2, 3, 4):
        total = 0.0
        for c in range(V):
            ids = np.concatenate([train, [1, 2, c]])
            n = len(ids)
            total += np.exp(-charlm.interpolated_ngram_nll(ids, slice(0, 300), slice(n - 1, n), order, V))
        assert total == pytest.approx(1.0, abs=1e-12), order
    # Order 1 is the add-one unigram of lstm_ref.text.
    ids = np.concatenate([train, rng.integers(0, V, 50)])
    want = text.ngram_nll(text.unigram_log_probs(train, V), ids[300:])
    assert charlm.interpolated_ngram_nll(ids, slice(0, 300), slice(300, 350), 1, V) == pytest.approx(want)


def test_reference_generate_is_greedy_at_zero():
    _, params, prime = next(GC._generate_cases())
    out = charlm.generate(params, prime, 5, 0, np.random.default_rng(0))
    seq = list(prime)
    for k in range(5):
        e, _ = charlm.embedding_forward(np.array([seq]), params["W_embed"])
        h, _, _ = L.lstm_forward(e, params["Wx"], params["Wh"], params["b"])
        assert out[k] == np.argmax(h[0, -1] @ params["W_out"] + params["b_out"])
        seq.append(out[k])


# ------------------------------------------------------------------ the solution passes

def test_solution_passes_the_layer_checks(sol):
    G.check_char_lm_lstm(sol["lstm_forward"], sol["lstm_backward"])
    G.check_embedding_forward(sol["embedding_forward"])
    G.check_embedding_backward(sol["embedding_forward"], sol["embedding_backward"])
    G.check_temporal_softmax_loss(sol["temporal_softmax_loss"])
    G.check_char_lm_loss(sol["char_lm_loss"])
    G.check_clip_by_global_norm(sol["clip_by_global_norm"])
    G.check_adam_step(sol["adam_step"])
    G.check_sample_next(sol["sample_next"])
    G.check_generate(sol["generate"])
    G.hidden(123, G.check_embedding_backward, sol["embedding_forward"], sol["embedding_backward"])


# ------------------------------------------------------------------ mistakes are named

def test_lstm_mistakes(sol):
    fails(G.check_char_lm_lstm, L.lstm_forward, sol["lstm_backward"],
          fragments=["calls lstm_ref.sequence.lstm_forward", "earns no points"])
    space = dict(sol)
    exec(sol["answers"]["lstm"].replace("dc_carried, cache[t])", "np.zeros((B, H)), cache[t])"), space)
    fails(G.check_char_lm_lstm, space["lstm_forward"], space["lstm_backward"],
          fragments=["Likely cause: the cell-state gradient is not carried"])


def test_embedding_mistakes(sol):
    def forward_cols(x, W):
        return W[x] + 1, (x, W.shape[0])
    def last_write_wins(dout, cache):
        x, V = cache
        dW = np.zeros((V, dout.shape[-1]))
        dW[x] += dout
        return dW
    fails(G.check_embedding_backward, sol["embedding_forward"], last_write_wins,
          fragments=["hand-made case", "dW: wrong values", "Likely cause: dW[x] += dout", "np.add.at"])
    fails(G.check_embedding_forward, forward_cols, fragments=["out: wrong values"])
    fails(G.check_embedding_backward, forward_cols, sol["embedding_backward"],
          fragments=["embedding_forward is not right yet"])


def softmax(scores, y, shift=True, average="N", use_mask=True, divide=True):
    """A student's temporal_softmax_loss with one mistake switched on."""
    scored = y >= 0 if use_mask else np.ones(y.shape, bool)
    yy = np.where(y >= 0, y, scores.shape[-1] - 1)
    z = scores - scores.max(-1, keepdims=True) if shift else scores
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    b, t = np.nonzero(scored)
    n = {"N": scored.sum(), "B": y.shape[0], "BT": y.size}[average]
    d = p * scored[..., None]
    d[b, t, yy[b, t]] -= 1
    return -np.log(p[b, t, yy[b, t]]).sum() / n, d / (n if divide else n / scored.sum())


def test_softmax_mistakes():
    G.check_temporal_softmax_loss(softmax)
    check = G.check_temporal_softmax_loss
    fails(check, lambda s, y: softmax(s, y, shift=False), fragments=["exp overflows", "subtract each row's maximum"])
    fails(check, lambda s, y: softmax(s, y, average="B"), fragments=["averaged over the B = 2 sequences only"])
    fails(check, lambda s, y: softmax(s, y, average="BT"), fragments=["averaged over all B*T = 6 steps"])
    fails(check, lambda s, y: softmax(s, y, use_mask=False), fragments=["targets y = -1 are used as indices"])
    fails(check, lambda s, y: softmax(s, y, divide=False), fragments=["dscores is not divided by N"])
    fails(check, lambda s, y: (softmax(s, y)[0] * np.ones(2), softmax(s, y)[1]), fragments=["expected one number"])


def test_char_lm_loss_mistakes(sol):
    space = dict(sol)
    exec(sol["answers"]["embedding"].replace("np.add.at(dW, x, dout)", "dW[x] += dout"), space)
    exec(sol["answers"]["char_lm_loss"], space)
    fails(G.check_char_lm_loss, space["char_lm_loss"], fragments=["grads['W_embed']", "repeated characters"])
    exec(sol["answers"]["char_lm_loss"].replace('params["b"], h0, c0)', 'params["b"], 0 * h0, 0 * c0)'), space)
    fails(G.check_char_lm_loss, space["char_lm_loss"], fragments=["h_T (the final hidden state): wrong values"])


def test_clip_mistakes(sol):
    def per_tensor(grads, max_norm):
        norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        return {k: g * min(1, max_norm / np.linalg.norm(g)) for k, g in grads.items()}, norm
    fails(G.check_clip_by_global_norm, per_tensor, fragments=["Likely cause: each array is clipped to max_norm on its own"])

    def norm_after(grads, max_norm):
        clipped, norm = sol["clip_by_global_norm"](grads, max_norm)
        return clipped, min(norm, max_norm)
    fails(G.check_clip_by_global_norm, norm_after, fragments=["Likely cause: norm is measured after clipping"])

    def always(grads, max_norm):
        norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        return {k: g * max_norm / norm for k, g in grads.items()}, norm
    fails(G.check_clip_by_global_norm, always, fragments=["Likely cause: gradients below the bound are scaled up"])


def adam(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, correct=True, eps_inside=False, sign=-1):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    mh, vh = (m / (1 - beta1**t), v / (1 - beta2**t)) if correct else (m, v)
    denom = np.sqrt(vh + eps) if eps_inside else np.sqrt(vh) + eps
    return w + sign * lr * mh / denom, m, v


def test_adam_mistakes(sol):
    G.check_adam_step(adam)
    fails(G.check_adam_step, lambda *a: adam(*a, correct=False), fragments=["Likely cause: no bias correction"])
    fails(G.check_adam_step, lambda *a: adam(*a, eps_inside=True), fragments=["eps is added inside the square root"])
    fails(G.check_adam_step, lambda *a: adam(*a, sign=1), fragments=["the update is added"])
    fails(G.check_adam_step, lambda w, dw, m, v, t, lr: adam(w, dw, m, v, t - 1, lr),
          fragments=["update t = 1", "NaN or inf"])

    def in_place(w, dw, m, v, t, lr):
        m *= 0.9
        m += 0.1 * dw
        v2 = 0.999 * v + 0.001 * dw * dw
        return w - lr * (m / (1 - 0.9**t)) / (np.sqrt(v2 / (1 - 0.999**t)) + 1e-8), m, v2
    fails(G.check_adam_step, in_place, fragments=["adam_step changed its argument m in place"])


def test_sampling_mistakes(sol):
    def sampler(mult=False, ignore=False, global_rng=False, greedy=False):
        def sample_next(scores, temperature, rng):
            if temperature == 0 or greedy:
                return np.argmax(scores, axis=1)
            z = scores * temperature if mult else scores / (1 if ignore else temperature)
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            u = (np.random.random if global_rng else rng.random)((len(p), 1))
            return (p.cumsum(1) < u).sum(1)
        return sample_next
    fails(G.check_sample_next, sampler(mult=True), fragments=["temperature 0.5", "Likely cause: the scores are multiplied"])
    fails(G.check_sample_next, sampler(ignore=True), fragments=["Likely cause: the temperature is not used"])
    fails(G.check_sample_next, sampler(global_rng=True), fragments=["same seed gave different draws"])
    fails(G.check_sample_next, sampler(greedy=True), fragments=["temperature 1", "every draw is the argmax"])
    def divides_by_zero(scores, temperature, rng):
        with np.errstate(all="ignore"):
            z = scores / temperature
        return sampler()(z, 1.0, rng) if temperature else np.zeros(len(scores), int)
    fails(G.check_sample_next, divides_by_zero, fragments=["temperature 0", "argmax"])


def test_generate_mistakes(sol):
    space = dict(sol)
    no_state = sol["answers"]["sampling"].replace(
        "h, state, _ = lstm_forward(params[\"W_embed\"][out[k:k + 1]][None]",
        "h, _, _ = lstm_forward(params[\"W_embed\"][out[k:k + 1]][None]")
    assert no_state != sol["answers"]["sampling"]
    exec(no_state, space)
    fails(G.check_generate, space["generate"], fragments=["greedy characters differ", "carry (h, c)"])


# ------------------------------------------------------------------ the trained model

def test_model_check_rejects_bad_parameters():
    vocab, _ = G.char_lm_data()
    params = charlm.init_char_lm(len(vocab), 4, 8, seed=0)
    fails(G.check_char_lm_model, (params,), fragments=["got a tuple"])
    fails(G.check_char_lm_model, {k: v for k, v in params.items() if k != "b_out"}, fragments=["no b_out"])
    fails(G.check_char_lm_model, dict(params, W_out=params["W_out"].T), fragments=["params['W_out'] has shape (79, 8)"])
    msg = fails(G.check_char_lm_model, params, fragments=["held-out", "bigram model (Kneser-Ney) needs",
                                                           "Needed: at most", "no better than one character"])
    assert "seed 909" in msg


def test_training_that_delegates_earns_nothing():
    vocab, train_ids = G.char_lm_data()

    def train_char_lm():
        params = charlm.init_char_lm(len(vocab), 4, 8, seed=0)       # allowed
        x, _ = text.stream_windows(train_ids[:1000], 2, 5)         # allowed
        charlm.char_lm_loss(params, x[0], x[0], None, None)         # not allowed
        return params
    fails(G.check_char_lm_training, train_char_lm, fragments=["calls lstm_ref.charlm.char_lm_loss", "earns no points"])


def test_ablation_refuses_a_gain_that_is_not_recurrent(monkeypatch):
    """A model that beats the bar but whose Wh shuffled changes nothing (Wh = 0) fails the
    ablation. The bigram's number is raised so that a briefly trained model beats it."""
    vocab, train_ids = G.char_lm_data()
    params = charlm.init_char_lm(len(vocab), 8, 16, seed=0)
    x, y = text.stream_windows(train_ids[:200_000], 16, 32)
    m = {k: np.zeros_like(p) for k, p in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    for step in range(60):
        params["Wh"][:] = 0
        _, grads, _ = charlm.char_lm_loss(params, x[step], y[step])
        for k in params:
            params[k], m[k], v[k] = charlm.adam_step(params[k], grads[k], m[k], v[k], step + 1, 2e-2)
    params["Wh"][:] = 0
    monkeypatch.setattr(GC, "_baselines", lambda piece: (5.0, 4.0))
    fails(G.check_char_lm_model, params, fragments=["with its recurrent weights Wh shuffled", "does not come from"])

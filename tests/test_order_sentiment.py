"""The reviews whose label depends on word order (lstm_ref.datasets.order_reviews): the
label rule, the pairs with equal word (and, past the gap, n-gram) counts and opposite
labels, shapes, and clear errors on bad input."""
import subprocess
import sys

import numpy as np
import pytest

from lstm_ref import datasets as D


def balanced(features, y):
    """Every distinct row of features has as many labels 1 as 0."""
    inverse = np.unique(features, axis=0, return_inverse=True)[1].ravel()
    return np.array_equal(2 * np.bincount(inverse, weights=y), np.bincount(inverse))


def features(x, n):
    """Counts of every 1-gram up to n-gram of x, side by side."""
    return np.concatenate([D.ngram_counts(x, k)[0] for k in range(1, n + 1)], axis=1)


@pytest.mark.parametrize("text, label", [
    ("the movie was not good but bad", 0),
    ("the movie was not bad but good", 1),
    ("the movie was good but not bad", 1),
    ("the movie was bad but not good", 0),
    ("it felt not really very dull to me but really very moving to me", 1),
    ("it felt really very dull to me but not really very moving to me", 0),
])
def test_label_rule(text, label):
    assert D.order_label(text) == label
    assert D.encode_order_reviews([text]).shape == (1, D.ORDER_LEN)


def test_label_rule_needs_one_not_and_an_opinion_after_it():
    with pytest.raises(ValueError, match='"not" exactly once'):
        D.order_label("the movie was good but bad")
    with pytest.raises(ValueError, match='"not" exactly once'):
        D.order_label("not good but not bad")
    with pytest.raises(ValueError, match='no opinion word after "not"'):
        D.order_label("the movie was good but not")


def test_reviews_follow_the_rule_and_come_in_swapped_pairs():
    reviews = D.order_reviews(400, seed=3)
    assert len(reviews) == 400
    for (t1, y1, g1), (t2, y2, g2) in zip(reviews[::2], reviews[1::2]):
        assert y1 == D.order_label(t1) and y2 == D.order_label(t2) and y1 != y2
        assert g1 == g2 and sorted(t1.split()) == sorted(t2.split()) and t1 != t2
        w1, w2 = t1.split(), t2.split()
        opinions = [w for w in w1 if w in D.POSITIVE_WORDS + D.NEGATIVE_WORDS]
        assert len(opinions) == 2 and (opinions[0] in D.POSITIVE_WORDS) != (
            opinions[1] in D.POSITIVE_WORDS)
        # the partner swaps exactly the two opinion words
        assert [b for a, b in zip(w1, w2) if a != b] == opinions[::-1]
    assert {g for _, _, g in reviews} == set(D.ORDER_GAPS)
    assert np.mean([y for _, y, _ in reviews]) == 0.5
    texts = [t for t, _, _ in reviews]
    assert any(" but not " in t for t in texts)                 # both templates
    assert any(" not " in t and " but not " not in t for t in texts)


def test_order_data_shapes_dtypes_and_seeds():
    x, y, gap = D.order_data(64, seed=5)
    assert x.shape == (64, D.ORDER_LEN) and x.dtype == np.int32
    assert y.shape == (64,) and y.dtype == np.float32 and set(y) == {0.0, 1.0}
    assert gap.shape == (64,) and set(gap) <= set(D.ORDER_GAPS)
    assert x.max() < len(D.ORDER_WORDS) and (x[:, -1] > 0).all()   # front padding
    texts = [t for t, _, _ in D.order_reviews(64, seed=5)]
    assert np.array_equal(x, D.encode_order_reviews(texts))
    again = D.order_data(64, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip((x, y, gap), again))
    assert not np.array_equal(x, D.order_data(64, seed=6)[0])
    lengths = [len(t.split()) for t, _, _ in D.order_reviews(200, 0, gaps=(2,))]
    assert max(lengths) == D.ORDER_LEN                  # the longest reviews fill a row


def test_vocabulary_extends_the_sentiment_reviews_without_moving_an_index():
    assert D.ORDER_WORDS[:len(D.SENTIMENT_WORDS)] == D.SENTIMENT_WORDS
    assert D.ORDER_WORDS[len(D.SENTIMENT_WORDS):] == ("but",)


@pytest.mark.parametrize("seed", [0, 1, 13])
def test_every_word_multiset_has_both_labels_equally_often(seed):
    x, y, gap = D.order_data(1000, seed)
    assert balanced(features(x, 1), y)


@pytest.mark.parametrize("n", [2, 3])
def test_ngrams_are_blind_exactly_where_the_gap_is_at_least_n_minus_1(n):
    x, y, gap = D.order_data(2000, seed=7)
    blind = gap >= n - 1
    assert balanced(features(x[blind], n), y[blind])
    # and not blind where the gap is shorter: "not good" gives the label away
    assert not balanced(features(x[~blind], n), y[~blind])


def test_ngram_counts():
    x = np.array([[0, 0, 3, 4, 3, 4], [5, 3, 4, 0, 0, 0]], np.int32)
    counts, grams = D.ngram_counts(x, 2)
    assert grams == [(3, 4), (4, 3), (5, 3)]
    assert counts.dtype == np.float32 and counts.tolist() == [[2, 1, 0], [1, 0, 1]]
    test_counts, _ = D.ngram_counts(np.array([[3, 4, 9, 9]]), 2, grams)
    assert test_counts.tolist() == [[1, 0, 0]]          # unknown bigrams are not counted
    assert D.ngram_counts(x, 6)[0].shape == (2, 0)       # no row has 6 words


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="n must be even"):
        D.order_reviews(3, 0)
    with pytest.raises(ValueError, match="n must be >= 0"):
        D.order_reviews(-2, 0)
    with pytest.raises(TypeError, match="n must be an int"):
        D.order_reviews(4.0, 0)
    with pytest.raises(ValueError, match=r"gaps must be a non-empty subset of \(0, 1, 2\)"):
        D.order_reviews(4, 0, gaps=(3,))
    with pytest.raises(ValueError, match="gaps must be a non-empty subset"):
        D.order_reviews(4, 0, gaps=())
    with pytest.raises(ValueError, match=r"outside the vocabulary \['superbly'\]"):
        D.encode_order_reviews(["it was not superbly bad but good"])
    with pytest.raises(ValueError, match="more than 15 words"):
        D.encode_order_reviews(["it " * 16])
    with pytest.raises(ValueError, match=r"2-D \(N, T\) array of int"):
        D.ngram_counts(np.zeros(5, np.int32), 2)
    with pytest.raises(ValueError, match="2-D"):
        D.ngram_counts(np.zeros((2, 5)), 2)
    with pytest.raises(ValueError, match="n must be >= 1"):
        D.ngram_counts(np.zeros((2, 5), np.int32), 0)
    with pytest.raises(ValueError, match="every gram must have n=2 words"):
        D.ngram_counts(np.zeros((2, 5), np.int32), 2, [(1, 2, 3)])


def test_module_imports_with_numpy_alone():
    code = ("import sys; import lstm_ref.datasets as D; D.order_data(4, 0); "
            "D.ngram_counts(D.order_data(4, 0)[0], 2); "
            "bad = {'pandas', 'statsmodels', 'tensorflow', 'keras', 'torch'} & set(sys.modules);"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)

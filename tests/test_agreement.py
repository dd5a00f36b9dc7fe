"""The generated "i grew up in ... i speak fluent" task of chapter 13 does what it says."""
import numpy as np
import pytest

from lstm_ref import agreement as A

COUNTRY_IDS = np.array([A.WORD_ID[c] for c in A.COUNTRIES])


def test_shapes_padding_and_the_words_of_every_sentence():
    lags = np.array([4, 5, 9, 17, 40, 4])
    d = A.fluent_sentences(len(lags), lags, seed=0)
    n, T = d["x"].shape
    assert (n, T) == (6, 44) and all(d[k].dtype == np.int64 for k in d)
    for row, y, lag, cue, length in zip(d["x"], d["y"], d["lag"], d["cue"], d["length"]):
        words = A.decode(row).split()
        assert len(words) == length == lag + 4
        assert np.all(row[:T - length] == A.PAD) and np.all(row[T - length:] != A.PAD)
        assert tuple(words[:4]) == A.PREFIX and tuple(words[-3:]) == A.SUFFIX
        assert words[4] == A.COUNTRIES[y] and A.VOCAB[row[cue]] == A.COUNTRIES[y]
        # The blank is at index len(words): lag words after the cue, as chapter 1 counts.
        assert len(words) - 4 == lag


def test_lags_exactly_as_requested():
    rng = np.random.default_rng(1)
    lags = rng.integers(4, 61, size=500)
    d = A.fluent_sentences(500, lags, seed=2)
    np.testing.assert_array_equal(d["lag"], lags)
    np.testing.assert_array_equal(d["length"], lags + 4)
    d = A.fluent_sentences(7, 12, seed=3)
    assert np.all(d["lag"] == 12) and d["x"].shape == (7, 16)


def test_the_cue_determines_the_answer_and_the_distractors_do_not():
    n = 40_000
    d = A.fluent_sentences(n, 30, seed=4, distractor_rate=0.3)
    x, y = d["x"], d["y"]
    np.testing.assert_array_equal(x[:, 4], COUNTRY_IDS[y])    # the cue names the class
    filler = x[:, 5:-3]
    is_country = np.isin(filler, COUNTRY_IDS)
    assert abs(is_country.mean() - 0.3) < 0.01             # distractors at the given rate
    # Each distractor is uniform over all countries, whatever the answer: the share of
    # distractors equal to the cue is 1/K, not more (it would help) nor 0 (absence would).
    same = (filler == COUNTRY_IDS[y][:, None]) & is_country
    assert abs(same.sum() / is_country.sum() - 1 / len(A.COUNTRIES)) < 0.01
    # The last country mentioned is right at about chance, not more.
    last = A.last_country_predict(x)
    assert abs(np.mean(last == y) - 1 / len(A.COUNTRIES)) < 0.02
    assert np.bincount(y, minlength=5).min() > n / 5 * 0.95   # classes balanced


def test_last_k_baseline_beats_chance_within_k_and_is_at_chance_beyond():
    train = A.fluent_sentences(20_000, np.random.default_rng(5).integers(4, 41, 20_000),
                               seed=6)
    log_probs = A.last_k_counts(train["x"], train["y"], k=8)
    assert log_probs.shape == (8, len(A.VOCAB), 5)
    test = A.fluent_sentences(2_000, 4, seed=7)             # the only country in view
    assert np.mean(A.last_k_predict(test["x"], log_probs) == test["y"]) > 0.99
    test = A.fluent_sentences(2_000, 8, seed=7)             # in view, among distractors
    assert np.mean(A.last_k_predict(test["x"], log_probs) == test["y"]) > 0.5
    test = A.fluent_sentences(20_000, 9, seed=8)             # one word out of reach
    assert abs(np.mean(A.last_k_predict(test["x"], log_probs) == test["y"]) - 0.2) < 0.02


def test_seeded_and_distractor_rate_extremes():
    a, b = A.fluent_sentences(20, 10, seed=9), A.fluent_sentences(20, 10, seed=9)
    c = A.fluent_sentences(20, 10, seed=10)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["x"], c["x"])
    none = A.fluent_sentences(200, 20, seed=0, distractor_rate=0.0)["x"][:, 5:-3]
    every = A.fluent_sentences(200, 20, seed=0, distractor_rate=1.0)["x"][:, 5:-3]
    assert not np.isin(none, COUNTRY_IDS).any() and np.isin(every, COUNTRY_IDS).all()
    assert len(A.VOCAB) == len(set(A.VOCAB)) and A.VOCAB[A.PAD] == "<pad>"


@pytest.mark.parametrize("kwargs,match", [
    ({"n": 0, "lags": 5}, "n must be an integer >= 1"),
    ({"n": 2.0, "lags": 5}, "n must be an integer >= 1"),
    ({"n": 3, "lags": [5, 6]}, "lags must be one int or 3 ints"),
    ({"n": 2, "lags": [5.0, 6.0]}, "lags must be integers"),
    ({"n": 2, "lags": [3, 6]}, "every lag must be >= 4"),
    ({"n": 2, "lags": 5, "distractor_rate": 1.5}, r"distractor_rate must be in \[0, 1\]"),
])
def test_bad_input_is_refused_with_a_clear_message(kwargs, match):
    with pytest.raises(ValueError, match=match):
        A.fluent_sentences(**kwargs)


def test_last_k_refuses_a_window_longer_than_the_sentences():
    d = A.fluent_sentences(4, 6, seed=0)
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 10\]"):
        A.last_k_counts(d["x"], d["y"], k=11)

"""The data sets of the book and the exercises, made here or shipped inside a PyPI package:
nothing is downloaded. One definition each; chapters, exercises and tests import them.

- Generated movie reviews for binary sentiment (`sentiment_reviews`, `sentiment_data`):
  short reviews with one opinion word, negated by "not" half of the time, so that a model
  must tie "not" to the word after it.
- Generated reviews whose label depends on word order (`order_reviews`, `order_data`):
  two opinion words and one "not", made in pairs with the same words and opposite labels,
  so that no function of word counts (and, for gaps of n - 1 words or more, of n-gram
  counts) does better than chance.
- Monthly CO2 concentration at Mauna Loa (`co2_monthly`) and yearly sunspot numbers
  (`sunspots_yearly`), real series that ship inside statsmodels, and the sliding `windows`
  that turn a series into (input, target) pairs.

pandas and statsmodels are imported inside the loaders only, so that this module imports
with NumPy alone.
"""
import numpy as np

from .forecasting import _int

# ------------------------------------------------------------------ generated reviews
#
# The label is positive when the opinion word is positive and not negated, or negative and
# negated: "the movie was not bad at all" is positive, "the movie was bad" negative. The
# words of "not bad" and "bad" differ only in "not", which by itself says nothing about the
# label: a bag of words cannot tell them apart, an LSTM reading in order can.
SENTIMENT_LEN = 10                    # reviews are left-padded with 0 to this many words
_SUBJECTS = ("the movie", "the film", "this movie", "the plot", "the acting", "the story",
             "the ending", "it")
_VERBS = ("was", "is", "felt", "seemed")
_ADVERBS = ("", "", "really", "very", "quite")
_TAILS = ("", "", "to me", "overall", "in the end")       # a negated opinion may end in "at all"
POSITIVE_WORDS = ("good", "great", "fun", "brilliant", "moving", "funny", "clever", "superb")
NEGATIVE_WORDS = ("bad", "boring", "awful", "dull", "poor", "weak", "silly", "terrible")
# Index 0 is padding; every other word of the generator has one index.
SENTIMENT_WORDS = ("<pad>",) + tuple(sorted(
    {w for phrase in _SUBJECTS + _VERBS + _ADVERBS + _TAILS + ("at all",) for w in phrase.split()}
    | set(POSITIVE_WORDS) | set(NEGATIVE_WORDS) | {"not"}))
SENTIMENT_EXAMPLE = "the movie was not bad at all"         # the syllabus' example: positive


def sentiment_reviews(n, seed):
    """n generated reviews as a list of (text, label) pairs, label 1 positive, 0 negative."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        positive, negated = rng.random() < 0.5, rng.random() < 0.5
        word = rng.choice(POSITIVE_WORDS if positive else NEGATIVE_WORDS)
        parts = (rng.choice(_SUBJECTS), rng.choice(_VERBS), "not" if negated else "",
                 rng.choice(_ADVERBS), word, rng.choice(_TAILS + (("at all",) if negated else ())))
        out.append((" ".join(p for p in parts if p), int(positive != negated)))
    return out


def encode_reviews(texts):
    """Texts -> (len(texts), SENTIMENT_LEN) int32 word indices into SENTIMENT_WORDS, each
    review left-padded with 0 so that its last word is the last step the LSTM reads."""
    return _left_padded("encode_reviews", texts, SENTIMENT_WORDS, SENTIMENT_LEN)


def _left_padded(where, texts, vocabulary, length):
    """Texts -> (len(texts), length) int32 indices into vocabulary, left-padded with 0;
    a clear error naming `where` for a word outside the vocabulary or a text too long."""
    index = {w: k for k, w in enumerate(vocabulary)}
    x = np.zeros((len(texts), length), np.int32)
    for row, text in enumerate(texts):
        words = text.split()
        unknown = [w for w in words if w not in index]
        if unknown or len(words) > length:
            raise ValueError(f"{where}: {text!r} has words outside the vocabulary {unknown} or more "
                             f"than {length} words")
        x[row, length - len(words):] = [index[w] for w in words]
    return x


def sentiment_data(n, seed):
    """n generated reviews: x (n, SENTIMENT_LEN) int32 word indices, y (n,) float32 labels."""
    reviews = sentiment_reviews(n, seed)
    return encode_reviews([t for t, _ in reviews]), np.array([y for _, y in reviews], np.float32)



# ------------------------------------------------------------------ reviews where order matters
#
# Two opinion words of opposite polarity and one "not", in one of two templates:
#   "S V not F O1 G but F O2 G"   ("the film was not really good to me but really bad to me")
#   "S V F O1 G but not F O2 G"   ("the film was really good to me but not really bad to me")
# "not" applies to the first opinion word after it, and the label is the polarity of the
# other one. Reviews are made in pairs that differ only by swapping O1 and O2: the same
# words in another order, with the opposite label. So every multiset of words occurs with
# both labels equally often, and any function of word counts is right on exactly half of a
# set of whole pairs. F (gap words before each opinion word) and G (after it) have `gap`
# words each, the same F and G in both places; when gap >= n - 1 the swap also leaves the
# multiset of n-grams (n consecutive words) unchanged, so any function of n-gram counts is
# at chance on those pairs too. With gap 0, "not good" is a bigram that gives the label away.
ORDER_GAPS = (0, 1, 2)
_ORDER_BEFORE = {0: ("",), 1: ("really", "very", "quite"),
                 2: ("really very", "really quite", "very very")}
_ORDER_AFTER = {0: ("",), 1: ("overall",), 2: ("to me",)}
# The words of the sentiment reviews with the same indices, and "but" appended.
ORDER_WORDS = SENTIMENT_WORDS + ("but",)
ORDER_LEN = 15                        # the longest review: 2 + 1 + 1 + 2 * (2 + 1 + 2) + 1


def order_label(text):
    """The rule of `order_reviews`: 1 (positive) when the opinion word that "not" applies to
    (the first one after "not") is negative, else 0. Needs one "not" and, after it, an
    opinion word."""
    words = text.split()
    if words.count("not") != 1:
        raise ValueError(f"order_label: {text!r} must contain \"not\" exactly once")
    after = [w for w in words[words.index("not") + 1:]
             if w in POSITIVE_WORDS or w in NEGATIVE_WORDS]
    if not after:
        raise ValueError(f"order_label: {text!r} has no opinion word after \"not\"")
    return int(after[0] in NEGATIVE_WORDS)


def order_reviews(n, seed, gaps=ORDER_GAPS):
    """n generated reviews whose label depends on word order, as a list of (text, label,
    gap) triples: label 1 positive, 0 negative; gap the number of words between "not" (or
    "but") and the opinion word after it, drawn uniformly from `gaps` (a subset of
    ORDER_GAPS). n must be even: rows 2k and 2k + 1 are a pair, the same words with the two
    opinion words swapped, and opposite labels."""
    n = _int("order_reviews", "n", n, 0)
    if n % 2:
        raise ValueError(f"order_reviews: n must be even (reviews come in pairs), got {n}")
    gaps = tuple(gaps)
    if not gaps or any(g not in ORDER_GAPS for g in gaps):
        raise ValueError(f"order_reviews: gaps must be a non-empty subset of {ORDER_GAPS}, "
                         f"got {gaps}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n // 2):
        gap = gaps[rng.integers(len(gaps))]
        subject, verb = rng.choice(_SUBJECTS), rng.choice(_VERBS)
        before, after = rng.choice(_ORDER_BEFORE[gap]), rng.choice(_ORDER_AFTER[gap])
        negated_first = rng.random() < 0.5          # template "not O1 but O2"
        pos, neg = rng.choice(POSITIVE_WORDS), rng.choice(NEGATIVE_WORDS)
        pair = [(pos, neg), (neg, pos)]
        if rng.random() < 0.5:
            pair.reverse()
        for first, second in pair:
            parts = ((subject, verb, "not", before, first, after, "but", before, second, after)
                     if negated_first else
                     (subject, verb, before, first, after, "but", "not", before, second, after))
            text = " ".join(p for p in parts if p)
            out.append((text, order_label(text), int(gap)))
    return out


def encode_order_reviews(texts):
    """Texts -> (len(texts), ORDER_LEN) int32 word indices into ORDER_WORDS, each review
    left-padded with 0 (as `encode_reviews` does)."""
    return _left_padded("encode_order_reviews", texts, ORDER_WORDS, ORDER_LEN)


def order_data(n, seed, gaps=ORDER_GAPS):
    """n reviews of `order_reviews`: x (n, ORDER_LEN) int32 word indices (front padding),
    y (n,) float32 labels, gap (n,) int64 gaps; rows 2k and 2k + 1 are a swapped pair."""
    reviews = order_reviews(n, seed, gaps)
    return (encode_order_reviews([t for t, _, _ in reviews]),
            np.array([y for _, y, _ in reviews], np.float32),
            np.array([g for _, _, g in reviews], np.int64))


def ngram_counts(x, n, grams=None):
    """The features of a bag of n-grams: how often each run of n consecutive words occurs.

    x: (N, T) int word indices, 0 for padding (not a word, on either side). grams: the
    n-grams to count, tuples of n indices; None: every n-gram that occurs in x, sorted
    (pass a training set's to a test set: n-grams it lacks are not counted). Returns
    (counts (N, len(grams)) float32, grams as a list of tuples)."""
    x = np.asarray(x)
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"ngram_counts: x must be a 2-D (N, T) array of int word indices, "
                         f"got shape {x.shape} of {x.dtype}")
    n = _int("ngram_counts", "n", n, 1)
    rows = [[tuple(w) for w in np.lib.stride_tricks.sliding_window_view(seq[seq != 0], n)]
            if np.count_nonzero(seq) >= n else [] for seq in x]
    if grams is None:
        grams = sorted({g for r in rows for g in r})
    grams = [tuple(int(w) for w in g) for g in grams]
    if any(len(g) != n for g in grams):
        raise ValueError(f"ngram_counts: every gram must have n={n} words")
    column = {g: k for k, g in enumerate(grams)}
    counts = np.zeros((len(x), len(grams)), np.float32)
    for row, r in enumerate(rows):
        for g in r:
            if g in column:
                counts[row, column[g]] += 1
    return counts, grams

# ------------------------------------------------------------------ CO2 at Mauna Loa

_CO2 = {}                       # co2_monthly's series, loaded once per process


def co2_monthly():
    """Monthly mean CO2 concentration at Mauna Loa (ppm), March 1958 to December 2001, as a
    pandas Series of float64 with a monthly DatetimeIndex (526 months).

    Source: statsmodels.datasets.co2, weekly values from air samples at Mauna Loa Observatory,
    Hawaii (Keeling and Whorf, Scripps Institution of Oceanography, via CDIAC; public domain).
    The weekly values are averaged per calendar month; the five months without a single
    sample (1958-06, 1958-10 and 1964-02 to 1964-04) are filled by linear interpolation in time.
    """
    if "monthly" not in _CO2:
        try:
            from statsmodels.datasets import co2
        except ImportError as err:
            raise ImportError("co2_monthly needs statsmodels, which ships the data (pip install "
                              "statsmodels; the course pins it in pyproject.toml)") from err
        weekly = co2.load_pandas().data["co2"]
        _CO2["monthly"] = weekly.resample("MS").mean().interpolate(method="time")
    return _CO2["monthly"].copy()


def windows(series, lookback, horizon):
    """Every (input, target) window of a 1-D series: X[k] = series[k:k + lookback] as
    (lookback, 1), y[k] = series[k + lookback:k + lookback + horizon].

    series: (N,) numbers. Returns X (N - lookback - horizon + 1, lookback, 1) and
    y (N - lookback - horizon + 1, horizon), float64 copies (never views of the series).
    """
    series = np.asarray(series, dtype=float)
    if series.ndim != 1:
        raise ValueError(f"windows: series must be 1-D (N,), got shape {series.shape}")
    lookback = _int("windows", "lookback", lookback, 1)
    horizon = _int("windows", "horizon", horizon, 1)
    if len(series) < lookback + horizon:
        raise ValueError(f"windows: need len(series) >= lookback + horizon, got "
                         f"lookback={lookback}, horizon={horizon}, "
                         f"len(series)={len(series)}")
    w = np.lib.stride_tricks.sliding_window_view(series, lookback + horizon)
    return w[:, :lookback, None].copy(), w[:, lookback:].copy()


# ------------------------------------------------------------------ sunspots

def sunspots_yearly():
    """Yearly mean sunspot number, 1700 to 2008, as a pandas Series of float64 indexed by
    the year (int), 309 values.

    Source: statsmodels.datasets.sunspots, from the National Geophysical Data Center of
    NOAA (public domain). A series with cycles of about 11 years and no trend.
    """
    try:
        from statsmodels.datasets import sunspots
    except ImportError as err:
        raise ImportError("sunspots_yearly needs statsmodels, which ships the data (pip install "
                          "statsmodels; the course pins it in pyproject.toml)") from err
    data = sunspots.load_pandas().data
    return data["SUNACTIVITY"].astype(float).set_axis(data["YEAR"].astype(int)).rename("sunspots")

"""The data sets of the book and the exercises, made here or shipped inside a PyPI package:
nothing is downloaded. One definition each; chapters, exercises and tests import them.

- Generated movie reviews for binary sentiment (`sentiment_reviews`, `sentiment_data`):
  short reviews with one opinion word, negated by "not" half of the time, so that a model
  must tie "not" to the word after it.
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
    index = {w: k for k, w in enumerate(SENTIMENT_WORDS)}
    x = np.zeros((len(texts), SENTIMENT_LEN), np.int32)
    for row, text in enumerate(texts):
        words = text.split()
        unknown = [w for w in words if w not in index]
        if unknown or len(words) > SENTIMENT_LEN:
            raise ValueError(f"encode_reviews: {text!r} has words outside the vocabulary {unknown} or more "
                             f"than {SENTIMENT_LEN} words")
        x[row, SENTIMENT_LEN - len(words):] = [index[w] for w in words]
    return x


def sentiment_data(n, seed):
    """n generated reviews: x (n, SENTIMENT_LEN) int32 word indices, y (n,) float32 labels."""
    reviews = sentiment_reviews(n, seed)
    return encode_reviews([t for t, _ in reviews]), np.array([y for _, y in reviews], np.float32)


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

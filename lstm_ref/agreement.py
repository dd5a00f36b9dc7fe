"""The running example of chapter 1, generated: "i grew up in <country> ... i speak fluent".

Every sentence is

    i grew up in COUNTRY  w_1 ... w_m  i speak fluent  ___

and the word in the blank, the class to predict, is the language of COUNTRY, the *cue*,
the fifth word (index 4). The m filler words w_1 ... w_m are drawn independently of the
cue: each is, with probability `distractor_rate`, a country drawn uniformly from all of
COUNTRIES (the *distractors*, which may or may not equal the cue), and otherwise a word
drawn uniformly from FILLER. So everything after the cue is independent of the answer:
a classifier that sees only the words after the cue, or only the last k words when the
cue lies further back than that, is at chance (1 / len(COUNTRIES)) by construction, and
a "language of the last country mentioned" rule is fooled by the distractors.

The *lag* is counted as chapter 1 counts it: the index of the blank minus the index of
the cue, so the filler has lag - 4 words (the suffix "i speak fluent" takes three) and
the smallest lag is 4. A sentence has lag + 4 words before the blank.

Arrays (`fluent_sentences`):
- x (n, T) int64 word ids into VOCAB, T = 4 + max(lag); sentences shorter than T are
  padded on the *left* with PAD = 0, so that every sentence ends at the last column and a
  network's final state is the state after "fluent".
- y (n,) int64 class ids into LANGUAGES (and COUNTRIES: class k is COUNTRIES[k]).
- lag (n,) int64, cue (n,) int64 the column of the cue in x, length (n,) int64.

Only NumPy is imported.
"""
import numpy as np

COUNTRIES = ("france", "germany", "spain", "italy", "poland")
LANGUAGES = ("french", "german", "spanish", "italian", "polish")
PREFIX = ("i", "grew", "up", "in")
SUFFIX = ("i", "speak", "fluent")
FILLER = ("and", "then", "we", "moved", "to", "a", "small", "town", "near", "the", "sea",
          "my", "father", "mother", "worked", "at", "school", "for", "many", "years",
          "later", "visited", "friends", "lived", "big", "city", "after", "that", "with",
          "our", "family", "often", "travelled", "but", "now")
PAD = 0
VOCAB = ("<pad>",) + tuple(dict.fromkeys(PREFIX + SUFFIX + COUNTRIES + FILLER))
WORD_ID = {w: i for i, w in enumerate(VOCAB)}
CUE_INDEX = len(PREFIX)                     # the cue is word 4 of every sentence
MIN_LAG = len(SUFFIX) + 1                   # no filler: "... france i speak fluent ___"


def fluent_sentences(n, lags, seed=None, distractor_rate=0.2):
    """n sentences "i grew up in C ... i speak fluent", their classes and their lags.

    n: number of sentences (int >= 1). lags: one int (every sentence gets that lag) or a
    sequence of n ints, one per sentence; each >= MIN_LAG = 4 (see the module docstring).
    seed: an int, None or a np.random.Generator. distractor_rate: the probability, in
    [0, 1], that a filler word is a country (a distractor) rather than a FILLER word.
    Returns a dict of x (n, T), y (n,), lag (n,), cue (n,) and length (n,), all int64.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"fluent_sentences: n must be an integer >= 1, got {n!r}")
    lag = np.asarray(lags)
    if lag.ndim == 0:
        lag = np.full(n, lag)
    if lag.ndim != 1 or lag.shape[0] != n:
        raise ValueError(f"fluent_sentences: lags must be one int or {n} ints (one per "
                         f"sentence), got shape {np.shape(lags)}")
    if lag.dtype.kind not in "iu":
        raise ValueError(f"fluent_sentences: lags must be integers, got dtype {lag.dtype}")
    if lag.min() < MIN_LAG:
        raise ValueError(f"fluent_sentences: every lag must be >= {MIN_LAG} (the suffix "
                         f"'{' '.join(SUFFIX)}' lies between cue and blank), got "
                         f"{int(lag.min())}")
    if not 0.0 <= float(distractor_rate) <= 1.0:
        raise ValueError(f"fluent_sentences: distractor_rate must be in [0, 1], got "
                         f"{distractor_rate!r}")
    rng = np.random.default_rng(seed)    # a Generator passed in comes back as it is
    lag = lag.astype(np.int64)
    K = len(COUNTRIES)
    length = lag + len(PREFIX)                           # words before the blank
    T = int(length.max())
    m = lag - len(SUFFIX) - 1                            # filler words per sentence
    y = rng.integers(0, K, size=n)
    country_ids = np.array([WORD_ID[c] for c in COUNTRIES])
    filler_ids = np.array([WORD_ID[w] for w in FILLER])
    # Filler for the longest sentence, cut per row: independent of y by construction.
    M = int(m.max())
    is_distractor = rng.random((n, M)) < distractor_rate
    fill = np.where(is_distractor, country_ids[rng.integers(0, K, size=(n, M))],
                    filler_ids[rng.integers(0, len(filler_ids), size=(n, M))])
    x = np.full((n, T), PAD, dtype=np.int64)
    start = T - length                                   # left padding
    prefix = np.array([WORD_ID[w] for w in PREFIX])
    suffix = np.array([WORD_ID[w] for w in SUFFIX])
    cols = np.arange(T)
    rel = cols[None, :] - start[:, None]                 # position within the sentence
    for j, w in enumerate(prefix):
        x[rel == j] = w
    x[rel == CUE_INDEX] = country_ids[y]
    in_fill = (rel > CUE_INDEX) & (rel <= CUE_INDEX + m[:, None])
    fill_col = np.clip(rel - CUE_INDEX - 1, 0, max(M - 1, 0))
    if M > 0:
        x[in_fill] = np.take_along_axis(fill, fill_col, axis=1)[in_fill]
    for j, w in enumerate(suffix):
        x[rel == length[:, None] - len(SUFFIX) + j] = w
    return {"x": x, "y": y.astype(np.int64), "lag": lag, "cue": start + CUE_INDEX,
            "length": length}


def decode(x_row):
    """The words of one row of x, padding dropped."""
    return " ".join(VOCAB[i] for i in np.asarray(x_row) if i != PAD)


def last_k_counts(x, y, k, n_classes=len(COUNTRIES), alpha=1.0):
    """Fit the last-k-words baseline by counting: log P(word at distance j | class).

    Distance j = 1..k counts back from the blank (j = 1 is "fluent"). Naive Bayes with
    add-`alpha` smoothing; returns log-probabilities (k, len(VOCAB), n_classes).
    """
    if not isinstance(k, (int, np.integer)) or k < 1 or k > x.shape[1]:
        raise ValueError(f"last_k_counts: k must be an integer in [1, {x.shape[1]}], "
                         f"got {k!r}")
    counts = np.full((k, len(VOCAB), n_classes), float(alpha))
    for j in range(1, k + 1):
        np.add.at(counts[j - 1], (x[:, -j], y), 1.0)
    return np.log(counts / counts.sum(axis=1, keepdims=True))


def last_k_predict(x, log_probs):
    """Classes predicted by the last-k-words baseline (uniform prior over classes)."""
    k = log_probs.shape[0]
    scores = sum(log_probs[j - 1][x[:, -j]] for j in range(1, k + 1))
    return scores.argmax(axis=1)


def last_country_predict(x):
    """The rule a distractor fools: the language of the last country in the sentence."""
    class_of = np.full(len(VOCAB), -1)
    class_of[[WORD_ID[c] for c in COUNTRIES]] = np.arange(len(COUNTRIES))
    cls = class_of[x]                                     # (n, T): -1 where no country
    last = x.shape[1] - 1 - np.argmax(cls[:, ::-1] >= 0, axis=1)
    return cls[np.arange(len(x)), last]

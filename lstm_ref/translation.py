"""A toy translation task: numbers written in English words -> the same number in digits.

    "three hundred forty two thousand seven"  ->  "342007"

The source is a sequence of words, the target a sequence of digits; both are generated,
seeded, and exact, so every error is the model's. What the task shares with translation:
the output's length differs from the input's and depends on it, the alignment between
them is mostly monotone but not one to one (one word can make one digit, two digits
("twenty" in "twenty" -> "20") or none at all, and "thousand" makes zeros that no word
spells), and the whole source must be read before the first digit is known ("five" is
"5", "5000" or "5000000" depending on what follows).

Numbers are written in American style without "and" ("one hundred five"), with the
tens and units as two words ("forty two", not "forty-two"), from 0 to 999,999,999.

Vocabularies (index 0 is padding in both, so a zero-padded batch needs no other value):
- `SOURCE_VOCAB`: "<pad>" and the 31 number words, 32 entries.
- `TARGET_VOCAB`: "<pad>", "<s>" (start: the decoder's first input), "</s>" (end), and
  the digits 0-9, 13 entries.

Functions:
- `number_to_words(n)`, `words_to_number(words)`: the generator's rule and its inverse;
  `words_to_number` is the exact hand-written baseline.
- `sample_numbers(n, seed, max_digits, exclude)`: numbers with a number of digits drawn
  uniformly, optionally disjoint from a set of other numbers (a held-out split).
- `encode_pairs(numbers)`: padded id arrays and masks for a batch of numbers.
- `decode_target(ids)`: digits back to a string, up to the first end token.
- `beam_search(step, state, batch, beam, max_len)`: beam-search decoding for any model
  that gives log-probabilities one step at a time.

Only NumPy is imported.
"""
import numpy as np

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen").split()
TENS = (None, None, "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
        "ninety")
SCALES = ((1_000_000, "million"), (1_000, "thousand"))

PAD, BOS, EOS = 0, 1, 2                           # in TARGET_VOCAB; PAD is 0 in both
SOURCE_VOCAB = ("<pad>", *ONES, *TENS[2:], "hundred", "thousand", "million")
TARGET_VOCAB = ("<pad>", "<s>", "</s>", *"0123456789")
SOURCE_INDEX = {w: k for k, w in enumerate(SOURCE_VOCAB)}
TARGET_INDEX = {w: k for k, w in enumerate(TARGET_VOCAB)}
MAX_NUMBER = 999_999_999


def _below_thousand(n):
    """Words of 1 <= n <= 999."""
    words = []
    if n >= 100:
        words += [ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(TENS[n // 10])
        n %= 10
    if n:
        words.append(ONES[n])
    return words


def number_to_words(n):
    """The English words of an integer 0 <= n <= 999,999,999, as a list of strings.

    >>> " ".join(number_to_words(342007))
    'three hundred forty two thousand seven'
    """
    if not isinstance(n, (int, np.integer)) or not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"number_to_words: n must be an integer in [0, {MAX_NUMBER:,}], "
                         f"got {n!r}")
    n = int(n)
    if n == 0:
        return ["zero"]
    words = []
    for scale, name in SCALES:
        if n >= scale:
            words += _below_thousand(n // scale) + [name]
            n %= scale
    return words + (_below_thousand(n) if n else [])


def words_to_number(words):
    """The inverse of `number_to_words`: a list of words (or one string) -> the integer.

    The exact rule a person would write in a few lines: add up units and tens, multiply
    by a hundred, and close a group at "thousand" or "million". Raises ValueError for a
    word outside `SOURCE_VOCAB`.
    """
    if isinstance(words, str):
        words = words.split()
    total, group = 0, 0
    for w in words:
        if w in ONES:
            group += ONES.index(w)
        elif w in TENS[2:]:
            group += 10 * TENS.index(w)
        elif w == "hundred":
            group *= 100
        elif w in ("thousand", "million"):
            total += group * (1000 if w == "thousand" else 1_000_000)
            group = 0
        else:
            raise ValueError(f"words_to_number: {w!r} is not a number word "
                             f"(expected one of SOURCE_VOCAB)")
    return total + group


def sample_numbers(n, seed=None, max_digits=9, exclude=()):
    """n distinct integers whose number of digits is uniform on 1..max_digits.

    Inputs: n, how many; seed, an int or np.random.Generator; max_digits, 1 to 9;
    exclude, numbers that must not be drawn (the training set, to draw a disjoint
    held-out set).
    Returns: (n,) int64 array, in the order drawn. Raises ValueError when fewer than n
    numbers are available.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"sample_numbers: n must be an integer >= 1, got {n!r}")
    if not isinstance(max_digits, (int, np.integer)) or not 1 <= max_digits <= 9:
        raise ValueError(f"sample_numbers: max_digits must be an integer in 1..9, "
                         f"got {max_digits!r}")
    available = 10**max_digits - len(set(int(x) for x in exclude))
    if n > available:
        raise ValueError(f"sample_numbers: {n} distinct numbers asked for, only "
                         f"{available} available")
    rng = np.random.default_rng(seed)    # a Generator passed in comes back as it is
    excluded = set(int(x) for x in exclude)
    seen, out = set(), []
    while len(out) < n:
        digits = rng.integers(1, max_digits + 1, size=n)
        low = np.where(digits == 1, 0, 10 ** (digits - 1))
        draws = rng.integers(low, 10**digits)
        for x in draws.tolist():
            if x not in seen and x not in excluded:
                seen.add(x)
                out.append(x)
                if len(out) == n:
                    break
    return np.array(out, dtype=np.int64)


def encode_pairs(numbers):
    """Source and target id arrays for a batch of numbers, padded with 0.

    Input: numbers, (N,) integers in [0, 999,999,999].
    Returns a dict:
    - "src": (N, S) int64 word ids (SOURCE_VOCAB), S the longest source; 0 after the end.
    - "src_mask": (N, S) bool, True at real words.
    - "src_len": (N,) int64 number of words.
    - "tgt_in": (N, T) int64 decoder inputs: BOS then the digits (teacher forcing).
    - "tgt_out": (N, T) int64 targets: the digits then EOS; T = longest + 1; 0 after EOS.
    """
    numbers = np.asarray(numbers)
    if numbers.ndim != 1 or numbers.size == 0:
        raise ValueError(f"encode_pairs: numbers must be a non-empty 1-D array, got shape "
                         f"{numbers.shape}")
    words = [number_to_words(int(x)) for x in numbers]
    digits = [str(int(x)) for x in numbers]
    N, S, T = len(words), max(map(len, words)), max(map(len, digits)) + 1
    src = np.zeros((N, S), np.int64)
    tgt_in = np.zeros((N, T), np.int64)
    tgt_out = np.zeros((N, T), np.int64)
    for k, (ws, ds) in enumerate(zip(words, digits)):
        src[k, :len(ws)] = [SOURCE_INDEX[w] for w in ws]
        ids = [TARGET_INDEX[d] for d in ds]
        tgt_in[k, :len(ids) + 1] = [BOS, *ids]
        tgt_out[k, :len(ids) + 1] = [*ids, EOS]
    return {"src": src, "src_mask": src != PAD, "src_len": (src != PAD).sum(axis=1),
            "tgt_in": tgt_in, "tgt_out": tgt_out}


def decode_target(ids):
    """Target ids -> the digit string, stopping at the first EOS (or PAD)."""
    out = []
    for k in np.asarray(ids).tolist():
        if k in (EOS, PAD):
            break
        out.append(TARGET_VOCAB[k] if k != BOS else "")
    return "".join(out)


def beam_search(step, state, batch, beam=4, max_len=11):
    """Beam-search decoding of `batch` sequences at once, `beam` hypotheses each.

    Every hypothesis starts with BOS. At each step every unfinished hypothesis is
    extended by every token; of the beam * V extensions of one sequence the `beam` with
    the highest total log-probability are kept. A hypothesis that emits EOS is finished:
    it keeps its score and is extended only by PAD at no cost. After max_len steps (or
    when all are finished) the best hypothesis of each sequence is returned. beam=1 is
    greedy decoding. Scores are not normalised by length.

    Inputs:
    - step: a function (tokens (batch * beam,) int64, state) -> (log_probs
      (batch * beam, V) float, new state); `state` is a tuple of arrays whose first axis
      is batch * beam (hypothesis j of sequence b at row b * beam + j), reordered here
      with `np.take` along that axis.
    - state: the initial state, a tuple of arrays with first axis batch * beam (repeat
      each sequence's state `beam` times).
    - batch, beam, max_len: ints.
    Returns: tokens (batch, max_len) int64, the best hypothesis of each sequence
    without BOS (PAD after its EOS), and its total log-probability, (batch,) float64.
    """
    rows = batch * beam
    tokens = np.full(rows, BOS, np.int64)
    # Only the first hypothesis of each sequence is live at the start: the others are
    # copies, and would fill the beam with duplicates.
    score = np.tile(np.r_[0.0, np.full(beam - 1, -np.inf)], batch)        # (rows,)
    done = np.zeros(rows, bool)
    history = np.zeros((rows, 0), np.int64)
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        log_probs = np.asarray(log_probs, np.float64)
        V = log_probs.shape[1]
        finished = np.full(V, -np.inf)
        finished[PAD] = 0.0                                  # a finished one only pads
        log_probs = np.where(done[:, None], finished, log_probs)
        total = (score[:, None] + log_probs).reshape(batch, beam * V)
        best = np.argsort(-total, axis=1, kind="stable")[:, :beam]         # (batch, beam)
        parent = (best // V + np.arange(batch)[:, None] * beam).ravel()    # (rows,)
        tokens = (best % V).ravel()
        score = np.take_along_axis(total, best, axis=1).ravel()
        done = done[parent] | (tokens == EOS) | (tokens == PAD)
        history = np.concatenate([history[parent], tokens[:, None]], axis=1)
        state = tuple(np.take(s, parent, axis=0) for s in state)
        if done.all():
            break
    top = score.reshape(batch, beam).argmax(axis=1) + np.arange(batch) * beam
    out = np.zeros((batch, max_len), np.int64)
    out[:, :history.shape[1]] = history[top]
    return out, score[top]

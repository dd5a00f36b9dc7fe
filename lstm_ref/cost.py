"""What a recurrent layer and a Transformer encoder layer cost: parameters, FLOPs and
the state they keep.

Closed formulas, written once, for the chapter "LSTMs today" and for anyone who wants
to size a model before building it. Pure integer arithmetic: the module imports nothing.

Conventions (the book's, see `lstm_ref.cells`):

- A recurrent layer maps x_t (B, D) to h_t (B, H). Its fused pre-activation
  a_t = x_t @ Wx + h_{t-1} @ Wh + b has k*H columns: k = 1 for the tanh RNN, 3 for the
  GRU (blocks r, z, n) and 4 for the LSTM (blocks i, f, g, o). `GATE_BLOCKS` holds k.
- A Transformer encoder layer is PyTorch's ``nn.TransformerEncoderLayer``: width d,
  feed-forward width F, multi-head self-attention (the number of heads changes neither
  the parameters nor the FLOPs), two LayerNorms, biases everywhere.
- FLOPs count the matrix products only, two FLOPs (a multiply and an add) per
  multiply-add, as ``torch.utils.flop_counter`` does. Elementwise work (activations,
  gate products, softmax, LayerNorm, residual sums) is left out: it is O(T*H) per layer
  against O(T*H*(D+H)) for the products, a fraction of order 1/(D+H) of the total,
  small for wide layers (of order 1 % at D = H = 128) but not for tiny ones.
- A backward pass costs twice its forward pass: every product Y = X @ W of the forward
  pass needs dX = dY @ W.T and dW = X.T @ dY, each as large as the product itself. So
  forward + backward = 3 x forward. This counts the gradients for the layer's input
  and initial state too; a framework skips them when nothing needs them (the data
  entering the first layer, a zero initial state), so its count can be a little lower.

Every function returns a Python int (exact, never overflows) and raises TypeError or
ValueError, naming the argument, for a size that is not a positive integer.
"""

GATE_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}

# How many bias vectors of length k*H each layout keeps. The book keeps one for the RNN
# and the LSTM (a_t has one b) and two for the GRU (its reset gate multiplies bh_n, so
# bx and bh are not interchangeable). PyTorch always keeps two, bias_ih and bias_hh;
# for the RNN and the LSTM only their sum matters, so H or 4H of its numbers are
# redundant. Keras keeps one, except for its GRU with reset_after=True (the default),
# whose bias has shape (2, 3H): the same counts as the book.
BIAS_VECTORS = {
    "book": {"rnn": 1, "gru": 2, "lstm": 1},
    "keras": {"rnn": 1, "gru": 2, "lstm": 1},
    "pytorch": {"rnn": 2, "gru": 2, "lstm": 2},
}


def _size(where, name, value, minimum=1):
    """Check that a size is an integer >= minimum; return it as a Python int."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{where}: {name} must be an integer, got {value!r} "
                        f"of type {type(value).__name__}")
    value = int(value.__index__())
    if value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}, "
                         f"got {value}")
    return value


def _cell(where, cell):
    if cell not in GATE_BLOCKS:
        names = ", ".join(map(repr, GATE_BLOCKS))
        raise ValueError(f"{where}: cell must be one of {names}, got {cell!r}")
    return GATE_BLOCKS[cell]


def _layer_inputs(D, H, num_layers):
    """Input width of each layer of a stack: D for the first, H for the others."""
    return [D] + [H] * (num_layers - 1)


def recurrent_params(cell, D, H, *, num_layers=1, convention="book"):
    """Number of learned numbers in a (stacked) recurrent layer.

    One layer with input width D has k*H*(D + H + n_b) of them: Wx (D, kH), Wh (H, kH)
    and n_b bias vectors of length kH, where k = GATE_BLOCKS[cell] and n_b =
    BIAS_VECTORS[convention][cell]. Layer 2 and above read the H outputs of the layer
    below, so their D is H.

    Inputs: cell "rnn", "gru" or "lstm"; D, H, num_layers positive ints; convention
    "book" (= Keras) or "pytorch".
    Returns: int. Example: an LSTM with D=8, H=32 has 4*32*(8+32+1) = 5,248 (book) and
    4*32*(8+32+2) = 5,376 (PyTorch) parameters.
    """
    where = "recurrent_params"
    k = _cell(where, cell)
    D, H = _size(where, "D", D), _size(where, "H", H)
    num_layers = _size(where, "num_layers", num_layers)
    if convention not in BIAS_VECTORS:
        raise ValueError(f"{where}: convention must be one of "
                         f"{', '.join(map(repr, BIAS_VECTORS))}, got {convention!r}")
    n_b = BIAS_VECTORS[convention][cell]
    return sum(k * H * (d_in + H + n_b) for d_in in _layer_inputs(D, H, num_layers))


def recurrent_flops(cell, T, D, H, *, B=1, num_layers=1, backward=False):
    """FLOPs of the matrix products of a (stacked) recurrent layer over B sequences.

    Each step of each layer computes x_t @ Wx, (B, D_in) @ (D_in, kH), and
    h_{t-1} @ Wh, (B, H) @ (H, kH): 2*k*B*H*(D_in + H) FLOPs. Over T steps:

        forward  = 2 * k * T * B * H * (D_in + H)     summed over the layers
        backward = 2 * forward

    The GRU's reset gate does not change this: with reset_after=True (PyTorch) or False
    (Cho et al.) it multiplies a vector of H numbers, elementwise. T=1 is the cost of
    one streaming step.

    Inputs: cell; T, D, H, B, num_layers positive ints; backward: False for the forward
    pass, True for forward + backward (3 x forward).
    Returns: int.
    """
    where = "recurrent_flops"
    k = _cell(where, cell)
    T, D, H = _size(where, "T", T), _size(where, "D", D), _size(where, "H", H)
    B, num_layers = _size(where, "B", B), _size(where, "num_layers", num_layers)
    forward = sum(2 * k * T * B * H * (d_in + H)
                  for d_in in _layer_inputs(D, H, num_layers))
    return 3 * forward if backward else forward


def recurrent_state_size(cell, H, *, num_layers=1):
    """Numbers a recurrent layer carries from one step to the next, per sequence.

    H for the RNN and the GRU (h_t), 2H for the LSTM (h_t and c_t), per layer. It does
    not depend on how many steps have been read: this is all the memory of the past.
    """
    where = "recurrent_state_size"
    _cell(where, cell)
    H, num_layers = _size(where, "H", H), _size(where, "num_layers", num_layers)
    return (2 if cell == "lstm" else 1) * H * num_layers


def transformer_params(d, F, *, num_layers=1):
    """Number of learned numbers in PyTorch's nn.TransformerEncoderLayer (bias=True).

    Per layer: attention in_proj (3d, d) + 3d and out_proj (d, d) + d, i.e. 4d^2 + 4d;
    feed-forward linear1 (F, d) + F and linear2 (d, F) + d, i.e. 2dF + F + d; two
    LayerNorms with a weight and a bias of d each, 4d. Total 4d^2 + 2dF + 9d + F. The
    number of heads does not enter: the heads split the d columns of one projection.
    Positional encodings (sinusoidal in Vaswani et al. 2017) and embeddings are outside
    the layer and not counted.

    Inputs: d (model width), F (feed-forward width), num_layers: positive ints.
    """
    where = "transformer_params"
    d, F = _size(where, "d", d), _size(where, "F", F)
    num_layers = _size(where, "num_layers", num_layers)
    return num_layers * (4 * d * d + 2 * d * F + 9 * d + F)


def transformer_flops(T, d, F, *, B=1, num_layers=1, backward=False):
    """FLOPs of the matrix products of a Transformer encoder layer over B sequences.

    Per sequence of T positions and per layer:

        Q, K, V projections   (T, d) @ (d, 3d)                  6 T d^2
        scores Q K^T          per head (T, d/h) @ (d/h, T)       2 T^2 d  (all heads)
        weights @ V           per head (T, T) @ (T, d/h)         2 T^2 d
        output projection     (T, d) @ (d, d)                    2 T d^2
        feed-forward          (T, d) @ (d, F), (T, F) @ (F, d)   4 T d F

        forward = 8 T d^2 + 4 T d F + 4 T^2 d,   backward = 2 * forward

    The T^2 terms are attention: every position is compared with every other. An
    encoder computes all T x T scores even under a causal mask (the mask only sets some
    to -inf), so the count is the same with and without one.

    Inputs: T, d, F, B, num_layers positive ints; backward as in `recurrent_flops`.
    Returns: int.
    """
    where = "transformer_flops"
    T, d, F = _size(where, "T", T), _size(where, "d", d), _size(where, "F", F)
    B, num_layers = _size(where, "B", B), _size(where, "num_layers", num_layers)
    forward = num_layers * B * (8 * T * d * d + 4 * T * d * F + 4 * T * T * d)
    return 3 * forward if backward else forward


def transformer_step_flops(t, d, F, *, num_layers=1):
    """FLOPs of one streaming step of a causal Transformer layer with a key-value cache.

    The new position t (1-based) is projected to q, k, v (6 d^2); k and v join the
    cache of the t - 1 earlier positions; q is compared with all t keys (2 t d) and the
    weights average the t values (2 t d); the output projection (2 d^2) and the
    feed-forward block (4 d F) cost what they cost at any position:

        step(t) = 8 d^2 + 4 d F + 4 t d

    which grows with t, where a recurrent step (`recurrent_flops` with T=1) does not.
    Summed over t = 1..T it is the cost of a causal pass that skips the masked scores:
    T (8 d^2 + 4 d F) + 2 T (T + 1) d, about half the attention work of
    `transformer_flops`.

    Inputs: t (position of the new step, >= 1), d, F, num_layers: positive ints.
    """
    where = "transformer_step_flops"
    t, d, F = _size(where, "t", t), _size(where, "d", d), _size(where, "F", F)
    num_layers = _size(where, "num_layers", num_layers)
    return num_layers * (8 * d * d + 4 * d * F + 4 * t * d)


def kv_cache_size(t, d, *, num_layers=1):
    """Numbers a causal Transformer keeps per sequence after t positions: the keys and
    values of every position in every layer, 2 t d per layer. It grows with t; compare
    `recurrent_state_size`, which does not.

    Inputs: t (positions read; 0 is allowed, an empty cache), d, num_layers.
    """
    where = "kv_cache_size"
    t = _size(where, "t", t, minimum=0)
    d, num_layers = _size(where, "d", d), _size(where, "num_layers", num_layers)
    return 2 * t * d * num_layers

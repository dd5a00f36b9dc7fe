"""Where each gate lives inside a fused pre-activation block. Defined here, and only here.

Every cell computes all of its gate pre-activations with one matrix product, so the
weights of the gates sit side by side in one matrix:

    a = x @ Wx + h_prev @ Wh + b        # (B, 4H) for the LSTM, (B, 3H) for the GRU

and block k (columns k*H to (k+1)*H) belongs to gate ``order[k]``. The orders below
are the course's; they happen to equal PyTorch's for both cells and Keras' for the
LSTM, which is why `lstm_ref.convert` has so little to do for those. The letters are
the book's symbols:

    LSTM   i  input gate       sigma
           f  forget gate      sigma
           g  candidate c~_t   tanh    (the book's \\tilde c_t; PyTorch also calls it g)
           o  output gate      sigma
    GRU    r  reset gate       sigma
           z  update gate      sigma
           n  candidate h~_t   tanh
"""

LSTM_GATES = ("i", "f", "g", "o")
GRU_GATES = ("r", "z", "n")


def gate_slices(order, H):
    """Column slice of each gate in a fused block of ``len(order) * H`` columns.

    >>> gate_slices(LSTM_GATES, 3)["f"]
    slice(3, 6, None)
    """
    return {name: slice(k * H, (k + 1) * H) for k, name in enumerate(order)}

"""lstm_ref.cost: parameter formulas against real PyTorch modules and the book's
initialisers, FLOP formulas against hand-worked cases and torch's own FLOP counter, and
clear errors for bad sizes."""
import re
from pathlib import Path

import numpy as np
import pytest

import lstm_ref as L
from lstm_ref import cost as C

import torch
from torch.utils.flop_counter import FlopCounterMode

torch.set_num_threads(1)
TORCH_LAYERS = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}
TORCH_CELLS = {"rnn": torch.nn.RNNCell, "gru": torch.nn.GRUCell,
               "lstm": torch.nn.LSTMCell}
SIZES = [(1, 1), (3, 5), (8, 32), (128, 128), (300, 7)]


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def counted_flops(fn):
    """Matrix-product FLOPs that torch executes in fn(), by its own counter."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


# ------------------------------------------------------------------------ parameters

@pytest.mark.parametrize("cell", C.GATE_BLOCKS)
@pytest.mark.parametrize("D,H", SIZES)
@pytest.mark.parametrize("num_layers", [1, 3])
def test_recurrent_params_match_torch(cell, D, H, num_layers):
    torch.manual_seed(0)
    m = TORCH_LAYERS[cell](D, H, num_layers=num_layers, batch_first=True)
    assert C.recurrent_params(cell, D, H, num_layers=num_layers, convention="pytorch") \
        == n_params(m)
    if num_layers == 1:
        assert C.recurrent_params(cell, D, H, convention="pytorch") == \
            n_params(TORCH_CELLS[cell](D, H))


@pytest.mark.parametrize("D,H", SIZES)
def test_recurrent_params_match_the_books_initialisers(D, H):
    for cell, init in (("rnn", L.init_rnn), ("gru", L.init_gru), ("lstm", L.init_lstm)):
        params = init(D, H, seed=0)
        n_book = sum(v.size for v in params.values())
        assert C.recurrent_params(cell, D, H) == n_book, cell


def test_recurrent_params_closed_forms():
    # The book's formulas: LSTM 4H(D+H+1), GRU 3H(D+H+2), RNN H(D+H+1).
    assert C.recurrent_params("lstm", 8, 32) == 4 * 32 * (8 + 32 + 1) == 5248
    assert C.recurrent_params("gru", 8, 32) == 3 * 32 * (8 + 32 + 2)
    assert C.recurrent_params("rnn", 8, 32) == 32 * (8 + 32 + 1)
    # PyTorch's second bias: exactly k*H more numbers, and Keras counts as the book.
    for cell, k in C.GATE_BLOCKS.items():
        extra = C.recurrent_params(cell, 8, 32, convention="pytorch") \
            - C.recurrent_params(cell, 8, 32)
        assert extra == (0 if cell == "gru" else k * 32)
        assert C.recurrent_params(cell, 8, 32, convention="keras") == \
            C.recurrent_params(cell, 8, 32)


def test_recurrent_params_match_keras():
    # Keras keeps one bias for SimpleRNN and LSTM and, for its default GRU
    # (reset_after=True), a (2, 3H) bias: the book's counts. (tests/frameworks.py sets
    # up Keras on TensorFlow, as the framework tests do; importing it takes seconds.)
    from frameworks import KERAS_LAYERS, keras
    for cell, layer_class in KERAS_LAYERS.items():
        for D, H in [(3, 5), (8, 32)]:
            layer = layer_class(H)
            layer.build((None, None, D))
            assert C.recurrent_params(cell, D, H, convention="keras") == \
                layer.count_params(), (cell, D, H)
    assert keras.layers.GRU(4).reset_after is True      # the default the counts assume


@pytest.mark.parametrize("d,nhead,F", [(8, 2, 16), (64, 4, 256), (128, 8, 96)])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_transformer_params_match_torch(d, nhead, F, num_layers):
    layer = torch.nn.TransformerEncoderLayer(d, nhead, F, batch_first=True)
    enc = torch.nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
    assert C.transformer_params(d, F, num_layers=num_layers) == n_params(enc)


def test_heads_change_no_count():
    counts = {n_params(torch.nn.TransformerEncoderLayer(64, h, 128))
              for h in (1, 2, 8, 64)}
    assert counts == {C.transformer_params(64, 128)}


# ----------------------------------------------------------------------------- FLOPs

def test_flops_hand_worked():
    # LSTM, T=2, D=1, H=1: per step x@Wx is 1x4 and h@Wh is 1x4: 8 multiply-adds,
    # 16 FLOPs; two steps 32, and forward + backward 96.
    assert C.recurrent_flops("lstm", 2, 1, 1) == 32
    assert C.recurrent_flops("lstm", 2, 1, 1, backward=True) == 96
    # GRU and RNN at D=2, H=3, T=1: 2*k*3*(2+3) = 30k.
    assert C.recurrent_flops("gru", 1, 2, 3) == 90
    assert C.recurrent_flops("rnn", 1, 2, 3) == 30
    # Batch and layers: two layers of an RNN, D=2, H=3, T=4, B=5: layer 1 reads 2
    # inputs, layer 2 reads 3: 2*4*5*3*((2+3) + (3+3)) = 1320.
    assert C.recurrent_flops("rnn", 4, 2, 3, B=5, num_layers=2) == 1320
    # Transformer layer, T=2, d=2, F=4, in multiply-adds: QKV 2*2*6 = 24, scores
    # 2*2*2 = 8, weights @ V 8, output 2*2*2 = 8, feed-forward 2*(2*2*4) = 32: 80,
    # i.e. 160 FLOPs.
    assert C.transformer_flops(2, 2, 4) == 160
    assert C.transformer_flops(2, 2, 4, B=3, num_layers=2, backward=True) == 160 * 6 * 3
    # One cached step at position t=3, d=2, F=4: 8*4 + 4*2*4 + 4*3*2 = 88.
    assert C.transformer_step_flops(3, 2, 4) == 88


def test_streaming_steps_sum_to_a_causal_pass():
    T, d, F = 50, 16, 64
    steps = sum(C.transformer_step_flops(t, d, F) for t in range(1, T + 1))
    assert steps == T * (8 * d * d + 4 * d * F) + 2 * T * (T + 1) * d
    full = C.transformer_flops(T, d, F)
    attention_full = 4 * T * T * d
    assert full - steps == attention_full - 2 * T * (T + 1) * d   # about half is saved
    # A recurrent layer: T steps of one step each, exactly.
    assert sum(C.recurrent_flops("lstm", 1, 3, 5) for _ in range(T)) == \
        C.recurrent_flops("lstm", T, 3, 5)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
@pytest.mark.parametrize("B,T,D,H", [(2, 4, 3, 5), (1, 7, 16, 8)])
def test_recurrent_flops_match_torch_counter(cell, B, T, D, H):
    # nn.RNN and nn.GRU run as matrix products torch can count, forward and backward.
    # The formula's backward includes the gradients for the input and the initial
    # state; torch computes them only when they are asked for, so ask.
    m = TORCH_LAYERS[cell](D, H, batch_first=True)
    x = torch.randn(B, T, D, requires_grad=True)
    h0 = torch.zeros(1, B, H, requires_grad=True)
    assert counted_flops(lambda: m(x, h0)) == C.recurrent_flops(cell, T, D, H, B=B)
    out, _ = m(x, h0)
    backward = counted_flops(lambda: out.sum().backward())
    total = C.recurrent_flops(cell, T, D, H, B=B) + backward
    assert total == C.recurrent_flops(cell, T, D, H, B=B, backward=True)


@pytest.mark.parametrize("cell", C.GATE_BLOCKS)
def test_recurrent_step_flops_match_torch_cells(cell):
    # nn.LSTM runs as one fused kernel the counter cannot see into; its cell, one step
    # at a time, runs as counted products. T steps of the cell = the formula for T.
    B, T, D, H = 3, 6, 4, 5
    m = TORCH_CELLS[cell](D, H)
    x = torch.randn(T, B, D)

    def run():
        state = None
        for t in range(T):
            state = m(x[t], state)
    assert counted_flops(run) == C.recurrent_flops(cell, T, D, H, B=B)


@pytest.mark.parametrize("B,T,d,nhead,F", [(2, 6, 8, 2, 16), (1, 33, 32, 4, 48)])
def test_transformer_flops_match_torch_counter(B, T, d, nhead, F):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    layer = torch.nn.TransformerEncoderLayer(d, nhead, F, dropout=0.0, batch_first=True)
    x = torch.randn(B, T, d, requires_grad=True)
    # The math backend runs attention as two batched products the counter sees.
    with sdpa_kernel(SDPBackend.MATH):
        assert counted_flops(lambda: layer(x)) == C.transformer_flops(T, d, F, B=B)
        y = layer(x)
        backward = counted_flops(lambda: y.sum().backward())
    assert backward == 2 * C.transformer_flops(T, d, F, B=B)


def test_state_sizes():
    assert C.recurrent_state_size("lstm", 128) == 256
    assert C.recurrent_state_size("gru", 128, num_layers=2) == 256
    assert C.recurrent_state_size("rnn", 7) == 7
    assert C.kv_cache_size(0, 64) == 0
    assert C.kv_cache_size(1000, 64, num_layers=2) == 2 * 1000 * 64 * 2


def test_results_are_python_ints_even_from_numpy_sizes():
    for value in (C.recurrent_params("lstm", np.int64(3), np.int32(4)),
                  C.recurrent_flops("gru", np.int64(10**6), 10**4, 10**4, B=10**3),
                  C.transformer_flops(np.int64(10**6), 4096, 16384, B=512)):
        assert type(value) is int and value > 0
    # No overflow where int64 would wrap.
    assert C.transformer_flops(10**6, 4096, 16384, B=2048) > 2**63


# ---------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call,exc,pattern", [
    (lambda: C.recurrent_params("transformer", 3, 4), ValueError,
     r"recurrent_params: cell must be one of 'rnn', 'gru', 'lstm', got 'transformer'"),
    (lambda: C.recurrent_params("LSTM", 3, 4), ValueError, r"cell must be one of"),
    (lambda: C.recurrent_params("lstm", 3, 4, convention="tf"), ValueError,
     r"convention must be one of 'book', 'keras', 'pytorch', got 'tf'"),
    (lambda: C.recurrent_params("lstm", 0, 4), ValueError,
     r"recurrent_params: D must be an integer >= 1, got 0"),
    (lambda: C.recurrent_flops("lstm", -5, 3, 4), ValueError,
     r"recurrent_flops: T must be an integer >= 1, got -5"),
    (lambda: C.recurrent_flops("gru", 10, 3, 4.0), TypeError,
     r"recurrent_flops: H must be an integer, got 4.0 of type float"),
    (lambda: C.recurrent_flops("gru", 10, 3, 4, B=True), TypeError,
     r"B must be an integer, got True of type bool"),
    (lambda: C.recurrent_state_size("lstm", "128"), TypeError,
     r"recurrent_state_size: H must be an integer, got '128' of type str"),
    (lambda: C.transformer_params(128, 0), ValueError,
     r"transformer_params: F must be an integer >= 1, got 0"),
    (lambda: C.transformer_flops(32, np.float32(8), 16), TypeError,
     r"transformer_flops: d must be an integer"),
    (lambda: C.transformer_flops(32, 8, 16, num_layers=0), ValueError,
     r"num_layers must be an integer >= 1, got 0"),
    (lambda: C.transformer_step_flops(0, 8, 16), ValueError,
     r"transformer_step_flops: t must be an integer >= 1, got 0"),
    (lambda: C.kv_cache_size(-1, 8), ValueError,
     r"kv_cache_size: t must be an integer >= 0, got -1"),
])
def test_bad_input_is_named(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_module_imports_no_framework(imported_after):
    source = Path(C.__file__).read_text()
    assert not re.search(r"^\s*(import|from)\s", source, flags=re.M)
    assert imported_after("import lstm_ref.cost", ("torch", "tensorflow", "keras")) == []

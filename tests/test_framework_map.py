"""The framework map (`lstm_ref.convert.LAYOUTS` and `CONVENTIONS`, rendered by
`layout_table`) states facts about PyTorch and Keras. Each test checks one kind of fact
against the frameworks themselves, and against what `to_torch` and `to_keras` do, so that
the table in the book cannot drift from either."""
import inspect
import re

import numpy as np
import pytest

from frameworks import KERAS_LAYERS, TORCH_LAYERS, keras, torch
from lstm_ref import init_gru, init_lstm, init_rnn, lstm_forward
from lstm_ref.convert import (CONVENTIONS, LAYOUTS, from_torch, layout_table, markdown_table,
                              probe_gate_order, to_keras, to_torch)
from lstm_ref.gates import LSTM_GATES, gate_slices

FRAMEWORKS = ("lstm_ref", "torch", "keras")
CELLS = ("lstm", "gru", "rnn")
INIT = {"lstm": init_lstm, "gru": init_gru, "rnn": init_rnn}
# Sizes that keep every stated dimension apart: D, H, 3H, 4H, layers*dirs all differ.
SIZES = {"B": 2, "T": 5, "D": 3, "H": 4, "layers": 2, "dirs": 2}
NAMED_SHAPE = re.compile(r"([A-Za-z_][\w{}]*) \(([^()]*)\)")


def dim(text, sizes):
    """One stated dimension, e.g. "4H", "dirs*H", "2", as an int."""
    value = 1
    for factor in text.split("*"):
        m = re.fullmatch(r"(\d*)([A-Za-z_]*)", factor.strip())
        assert m, f"cannot read the stated dimension {text!r}"
        value *= int(m.group(1) or 1) * (sizes[m.group(2)] if m.group(2) else 1)
    return value


def stated(text, k=0, reverse=False, **sizes):
    """Every ``name (dims)`` in a stated string, as {name: shape}, with {k} filled in."""
    sizes = {**SIZES, **sizes}
    out = {}
    for name, dims in NAMED_SHAPE.findall(text):
        name = name.replace("{k}", str(k)) + ("_reverse" if reverse else "")
        out[name] = tuple(dim(d, sizes) for d in dims.split(",") if d.strip())
    assert out, f"no 'name (dims)' in {text!r}"
    return out


def stated_forget_bias(text):
    """The number a forget_bias string starts with, or None for "none ..."."""
    if text.startswith("none"):
        return None
    return float(text.split()[0])


def torch_lstm(**options):
    torch.manual_seed(0)
    return torch.nn.LSTM(SIZES["D"], SIZES["H"], batch_first=True, **options).double()


# --------------------------------------------------------------------- the table

@pytest.mark.parametrize("cell", CELLS)
def test_table_rows_come_from_the_definitions(cell):
    rows = {r["property"]: r for r in layout_table(cell)}
    for fw in FRAMEWORKS:
        lay, conv = LAYOUTS[(fw, cell)], CONVENTIONS[fw]
        assert lay.framework == conv.framework
        name = conv.framework
        assert rows["input weights"][name] == lay.input_weight
        assert rows["recurrent weights"][name] == lay.recurrent_weight
        assert rows["gate blocks, in order"][name].startswith(", ".join(lay.gate_names))
        assert rows["bias vectors"][name] == f"{lay.bias_vectors}: {lay.bias}"
        assert rows["default initialisers"][name] == lay.init
        if cell == "lstm":
            assert rows["forget-gate bias at start"][name] == lay.forget_bias
            assert rows["fast GPU path"][name] == conv.fast_path


def test_table_renames_only_where_the_letters_differ():
    rows = {r["property"]: r for r in layout_table("lstm")}
    assert rows["gate blocks, in order"]["PyTorch"] == "i, f, g, o"
    assert (rows["gate blocks, in order"]["Keras"]
            == "i, f, c, o (= i, f, g, o in the book's letters)")


def test_markdown_table_escapes_and_counts():
    text = markdown_table([{"a": "x | y", "b": "2*H"}, {"a": "z", "b": "w"}])
    lines = text.splitlines()
    assert lines[0] == "| a | b |" and lines[1] == "|---|---|"
    assert lines[2] == "| x \\| y | 2\\*H |" and len(lines) == 4
    with pytest.raises(ValueError, match="rows is empty"):
        markdown_table([])
    with pytest.raises(ValueError, match="cell must be one of"):
        layout_table("transformer")


# ------------------------------------------------------------------ gate order

def test_probe_outcomes_are_distinct():
    """The probe can tell the four gates apart: their (c_1, h_1) differ by at least 0.05."""
    from lstm_ref.convert import _probe_expectations
    outcomes = list(_probe_expectations().values())
    gaps = [np.abs(np.subtract(a, b)).max()
            for i, a in enumerate(outcomes) for b in outcomes[i + 1:]]
    assert min(gaps) > 0.05


def test_probe_refuses_an_unknown_framework():
    with pytest.raises(ValueError, match="framework must be one of .* got 'jax'"):
        probe_gate_order("jax")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_stated_lstm_gate_order_is_the_measured_one(framework):
    """Each framework's own layer, probed block by block, has the order the table states."""
    assert probe_gate_order(framework) == LAYOUTS[(framework, "lstm")].gates


def test_stated_gate_names_are_the_frameworks_names():
    """PyTorch's docstring names its blocks (W_ii|W_if|W_ig|W_io); Keras' cell splits its
    kernel into k_i, k_f, k_c, k_o; the table's gate_names are those letters."""
    doc = torch.nn.LSTM.__doc__
    torch_blocks = re.search(r"\(W_ii\|W_if\|W_ig\|W_io\)", doc)
    assert torch_blocks and LAYOUTS[("torch", "lstm")].gate_names == ("i", "f", "g", "o")
    from keras.src.layers.rnn import lstm as keras_lstm
    src = inspect.getsource(keras_lstm.LSTMCell)
    assert "k_i, k_f, k_c, k_o" in src
    assert LAYOUTS[("keras", "lstm")].gate_names == ("i", "f", "c", "o")


def blocks_marked(cell, D, H):
    """lstm_ref parameters whose every gate block holds its own constant: gate number j
    (in the book's order) is j + 1 in Wx, 10 (j + 1) in Wh and 100 (j + 1) in the biases."""
    p = INIT[cell](D, H, seed=0)
    order = LAYOUTS[("lstm_ref", cell)].gates
    for name, scale in (("Wx", 1), ("Wh", 10), ("b", 100), ("bx", 100), ("bh", 1000)):
        if name in p:
            for j, gate in enumerate(order):
                p[name][..., gate_slices(order, H)[gate]] = scale * (j + 1)
    return p, order


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_converters_put_each_gate_in_the_stated_block(framework, cell):
    """After to_torch / to_keras, block j of the framework's fused weights holds the book's
    gate LAYOUTS[(framework, cell)].gates[j]: the order the table states is the one used."""
    D, H = SIZES["D"], SIZES["H"]
    p, ours = blocks_marked(cell, D, H)
    theirs = LAYOUTS[(framework, cell)].gates
    number = {g: j + 1 for j, g in enumerate(ours)}
    if framework == "torch":
        m = TORCH_LAYERS[cell](D, H).double()
        to_torch(m, p)
        fused = {"Wx": m.weight_ih_l0.detach().numpy().T, "Wh": m.weight_hh_l0.detach().numpy().T}
        bias = {"b": m.bias_ih_l0, "bx": m.bias_ih_l0, "bh": m.bias_hh_l0}
        fused.update({k: bias[k].detach().numpy() for k in p if k.startswith("b")})
    else:
        layer = KERAS_LAYERS[cell](H, dtype="float64")
        to_keras(layer, p)
        c = layer.cell
        fused = {"Wx": c.kernel.numpy(), "Wh": c.recurrent_kernel.numpy()}
        if cell == "lstm":
            fused["b"] = c.bias.numpy()
        else:                      # reset_after=True: bias (2, 3H) = [bx; bh]
            fused["bx"], fused["bh"] = c.bias.numpy()
    for name, arr in fused.items():
        scale = {"Wx": 1, "Wh": 10, "b": 100, "bx": 100, "bh": 1000}[name]
        for j, gate in enumerate(theirs):
            block = arr[..., j * H:(j + 1) * H]
            assert np.all(block == scale * number[gate]), (
                f"{framework} {cell} {name}: block {j} should hold gate {gate!r}")


# ---------------------------------------------------------------------- shapes

def real_torch_shapes(cell):
    m = TORCH_LAYERS[cell](SIZES["D"], SIZES["H"], num_layers=2, bidirectional=True)
    return {n: tuple(p.shape) for n, p in m.named_parameters()}


def real_keras_shapes(cell, D):
    layer = KERAS_LAYERS[cell](SIZES["H"])
    layer.build((None, None, D))
    c = layer.cell
    return {"kernel": tuple(c.kernel.shape), "recurrent_kernel": tuple(c.recurrent_kernel.shape),
            "bias": tuple(c.bias.shape)}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_stated_weight_shapes_are_the_real_ones(framework, cell):
    """Every stated ``name (dims)`` is a real parameter of that shape; in a stack, D is the
    layer's input size (dirs*H above layer 0). The stated bias count is the real one."""
    lay = LAYOUTS[(framework, cell)]
    texts = (lay.input_weight, lay.recurrent_weight, lay.bias)
    if framework == "torch":
        real = real_torch_shapes(cell)
        want = {}
        for k in range(2):
            for reverse in (False, True):
                D = SIZES["D"] if k == 0 else SIZES["dirs"] * SIZES["H"]
                for text in texts:
                    want.update(stated(text, k=k, reverse=reverse, D=D))
        assert want == real
        assert sum(n.startswith("bias") for n in stated(lay.bias)) == lay.bias_vectors
    elif framework == "keras":
        real = real_keras_shapes(cell, SIZES["D"])
        want = {}
        for text in texts:
            name, shape = next(iter(stated(text).items()))   # the first form: the default
            want[name] = shape
        assert want == real
        bias = real["bias"]
        assert (bias[0] if len(bias) == 2 else 1) == lay.bias_vectors
    else:
        p = INIT[cell](SIZES["D"], SIZES["H"], seed=0)
        want = {}
        for text in texts:
            want.update(stated(text))
        assert want == {k: v.shape for k, v in p.items()}
        assert sum(k.startswith("b") for k in p) == lay.bias_vectors


def test_stated_returns_are_the_real_shapes():
    B, T, D, H = (SIZES[k] for k in "BTDH")
    x = np.random.default_rng(0).standard_normal((B, T, D))
    m = torch_lstm(num_layers=SIZES["layers"], bidirectional=True)
    out, (h_n, c_n) = m(torch.tensor(x))
    real = {"output": tuple(out.shape), "h_n": tuple(h_n.shape), "c_n": tuple(c_n.shape)}
    want = {}
    for text in CONVENTIONS["torch"].returns:
        want.update(stated(text))
    assert real == want

    layer = keras.layers.LSTM(H, return_sequences=True, return_state=True, dtype="float64")
    real = dict(zip(("output", "h", "c"), (tuple(v.shape) for v in layer(x))))
    want = {}
    for text in CONVENTIONS["keras"].returns:
        want.update(stated(text, dirs=1))
    assert real == want

    h, (h_T, c_T), _ = lstm_forward(x, **init_lstm(D, H, seed=0))
    want = {}
    for text in CONVENTIONS["lstm_ref"].returns:
        want.update(stated(text))
    assert {"h": h.shape, "h_T": h_T.shape, "c_T": c_T.shape} == want


def test_torch_h_n_index_is_layer_times_two_plus_direction():
    """The table's h_n[2*k + d]: the top layer's entries are the ends of output's halves,
    and layer 0's are those of a one-layer module holding layer 0's weights."""
    assert "h_n[2*k + d] is layer k, direction d" in CONVENTIONS["torch"].returns_note
    H = SIZES["H"]
    x = torch.tensor(np.random.default_rng(1).standard_normal((2, 5, SIZES["D"])))
    m = torch_lstm(num_layers=2, bidirectional=True)
    out, (h_n, _) = m(x)
    torch.testing.assert_close(h_n[2 * 1 + 0], out[:, -1, :H])    # forward ends at t = T-1
    torch.testing.assert_close(h_n[2 * 1 + 1], out[:, 0, H:])     # backward ends at t = 0
    first = to_torch(torch_lstm(bidirectional=True), from_torch(m)[:1])
    _, (h_first, _) = first(x)
    torch.testing.assert_close(h_n[0:2], h_first)


# ------------------------------------------------------------ initial values

@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_stated_forget_bias_default_is_the_real_one(framework):
    H = 64                                          # enough units for the statistics below
    value = stated_forget_bias(LAYOUTS[(framework, "lstm")].forget_bias)
    f = gate_slices(LSTM_GATES, H)["f"]
    if framework == "lstm_ref":
        b = init_lstm(3, H, seed=0)["b"]
    elif framework == "keras":
        layer = keras.layers.LSTM(H)
        layer.build((None, None, 3))
        b = layer.cell.bias.numpy()
    else:
        torch.manual_seed(0)
        m = torch.nn.LSTM(3, H)
        b = (m.bias_ih_l0 + m.bias_hh_l0).detach().numpy()
    others = np.delete(b, np.arange(H, 2 * H))
    if value is None:
        # no special value: the forget block is drawn like the rest, centred on 0
        assert np.ptp(b[f]) > 0.1 and abs(b[f].mean()) < 0.1
        assert abs(b[f].mean() - others.mean()) < 0.1
    else:
        np.testing.assert_array_equal(b[f], value)
        np.testing.assert_array_equal(others, 0.0)


def test_stated_initialisers_are_the_real_ones():
    D, H = 3, 16
    assert LAYOUTS[("torch", "lstm")].init == "every weight and bias U(-1/sqrt(H), 1/sqrt(H))"
    torch.manual_seed(0)
    bound = 1 / np.sqrt(H)
    for name, p in torch.nn.LSTM(D, H).named_parameters():
        w = p.detach().numpy()
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound, name

    assert LAYOUTS[("keras", "lstm")].init == (
        "kernel Glorot uniform, recurrent_kernel orthogonal, bias zeros")
    layer = keras.layers.LSTM(H)
    layer.build((None, None, D))
    kernel, rec = layer.cell.kernel.numpy(), layer.cell.recurrent_kernel.numpy()
    limit = np.sqrt(6 / (D + 4 * H))                    # Glorot uniform, fan_out = 4H
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    np.testing.assert_allclose(rec @ rec.T, np.eye(H), atol=1e-5)   # orthonormal rows

    assert "Wh orthogonal per gate" in LAYOUTS[("lstm_ref", "lstm")].init
    Wh = init_lstm(D, H, seed=0)["Wh"]
    for gate, cols in gate_slices(LSTM_GATES, H).items():
        np.testing.assert_allclose(Wh[:, cols].T @ Wh[:, cols], np.eye(H), atol=1e-12,
                                   err_msg=gate)


# ------------------------------------------------------------- the fast path

def test_stated_keras_cudnn_conditions_are_keras_own():
    """The options the table names are the defaults of keras.layers.LSTM, and each one,
    changed, makes Keras' own cuDNN predicate refuse."""
    text = CONVENTIONS["keras"].fast_path
    defaults = {k: v.default for k, v in inspect.signature(keras.layers.LSTM).parameters.items()}
    for option in ("activation", "recurrent_activation", "recurrent_dropout", "unroll",
                   "use_bias", "use_cudnn"):
        assert option + "=" in text, option
    for option, value in (("activation", "tanh"), ("recurrent_activation", "sigmoid"),
                          ("recurrent_dropout", 0), ("unroll", False), ("use_bias", True),
                          ("use_cudnn", "auto")):
        assert f"{option}={value!r}" in text or f"{option}={value}" in text, option
        assert defaults[option] == value, option
    from keras.src import activations
    from keras.src.backend.tensorflow.rnn import _do_lstm_arguments_support_cudnn as ok
    base = {"activation": activations.tanh, "recurrent_activation": activations.sigmoid,
            "unroll": False, "use_bias": True}
    assert ok(**base)
    for option, bad in (("activation", activations.relu),
                        ("recurrent_activation", activations.hard_sigmoid),
                        ("unroll", True), ("use_bias", False)):
        assert not ok(**{**base, option: bad}), option


def test_stated_torch_cudnn_conditions_are_torch_own():
    text = CONVENTIONS["torch"].fast_path
    assert "float16, 32 or 64" in text and "torch.backends.cudnn.enabled (the default)" in text
    from torch.backends import cudnn
    assert cudnn.CUDNN_TENSOR_DTYPES == {torch.float16, torch.float32, torch.float64}
    assert cudnn.enabled is True
    assert not cudnn.is_acceptable(torch.zeros(1))          # a CPU tensor: never cuDNN


def _keras_tf_rnn():
    """Keras 3's TensorFlow RNN backend module (internal: the cuDNN path lives there)."""
    import importlib
    return importlib.import_module("keras.src.backend.tensorflow.rnn")


def test_stated_keras_mask_conditions_are_keras_own():
    """The row says a mask must be right-padded, and what happens when it is not: an
    eager call falls back to the loop, fit/evaluate/predict (a traced graph) raise
    InvalidArgumentError. Checked on Keras' own check: it raises at once when run eagerly
    (and keras' lstm() turns that into the fallback), and only when the graph runs when
    traced, after the choice of kernel was made."""
    import tensorflow as tf
    text = CONVENTIONS["keras"].fast_path
    for phrase in ("right-padded", "eager call", "InvalidArgumentError",
                   "fit, evaluate and predict", "ValueError (True)",
                   "use_cudnn=False: always the generic loop"):
        assert phrase in text, phrase
    rnn = _keras_tf_rnn()
    front = tf.constant([[False, False, True, True], [False, True, True, True]])
    end = tf.constant([[True, True, False, False], [True, True, True, False]])
    empty = tf.constant([[True, True, False, False], [False, False, False, False]])
    assert not bool(rnn._is_sequence_right_padded(front))
    assert bool(rnn._is_sequence_right_padded(end))
    for bad in (front, empty):                       # eager: raises at once
        with pytest.raises(tf.errors.InvalidArgumentError, match="right-padded"):
            rnn._assert_valid_mask(bad)
    rnn._assert_valid_mask(end)
    source = inspect.getsource(rnn.lstm)              # ... which lstm() turns into the
    assert "except tf.errors.InvalidArgumentError" in source     # fallback
    assert "raise NotImplementedError" in source
    check = tf.function(rnn._assert_valid_mask)       # traced, as fit traces a model
    check.get_concrete_function(tf.TensorSpec((None, 4), tf.bool))   # tracing passes
    with pytest.raises(tf.errors.InvalidArgumentError, match="right-padded"):
        check(front)                                  # the run raises
    check(end)


def test_keras_lstm_with_a_left_padded_mask_eagerly(monkeypatch):
    """With a GPU pretended (so that Keras tries cuDNN), an eager call with padding at the
    front falls back to the generic loop under use_cudnn='auto' and raises ValueError
    under use_cudnn=True; use_cudnn=False never tries cuDNN."""
    import tensorflow as tf
    x = np.array([[0, 0, 3, 4], [0, 5, 6, 7]])         # padded at the front
    embed = keras.layers.Embedding(9, 2, mask_zero=True)
    vectors, mask = embed(x), embed.compute_mask(x)
    loop = keras.layers.LSTM(3, use_cudnn=False)
    expected = np.asarray(loop(vectors, mask=mask))
    if not tf.config.list_logical_devices("GPU"):
        with pytest.raises(ValueError, match="use_cudnn=True"):    # no GPU: True refuses
            keras.layers.LSTM(3, use_cudnn=True)(vectors, mask=mask)
    monkeypatch.setattr(_keras_tf_rnn(), "_is_gpu_available", lambda: True)
    auto = keras.layers.LSTM(3)
    auto.build(vectors.shape)
    auto.set_weights(loop.get_weights())
    np.testing.assert_allclose(np.asarray(auto(vectors, mask=mask)), expected, atol=1e-6)
    strict = keras.layers.LSTM(3, use_cudnn=True)
    with pytest.raises(ValueError, match="use_cudnn=True"):
        strict(vectors, mask=mask)

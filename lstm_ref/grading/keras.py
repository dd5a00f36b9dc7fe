"""Checks of exercise 04: the Keras sentiment model, and moving weights between Keras and NumPy:
the LSTM, which Keras stores as the course does, and the GRU, which it does not.
"""
import warnings

import numpy as np

from .. import sequence
from ..datasets import (SENTIMENT_EXAMPLE, SENTIMENT_LEN, SENTIMENT_WORDS, encode_reviews,
                        sentiment_data)
from ..gates import GRU_GATES, LSTM_GATES, gate_slices
from .core import (drawn, GradingError, _as_array, _case, _check_finite, _check_shape, _outputs, _params,
                   _same, check_array, check_gate_blocks, run_student)

# ------------------------------------------------------------- exercise 04: Keras
#
# Keras (and, in exercise 05, PyTorch) is imported inside the checks that use it, never at
# the top of this module: lstm_ref imports with NumPy alone. The notebook chooses the
# backend (KERAS_BACKEND) before it imports Keras.

def _keras():
    import keras
    return keras


# The sizes of the exercise's model; build_model is also checked with _OTHER_SIZES, so that
# numbers written into the function for these sizes do not pass.
KERAS_MODEL_SIZES = {"vocab_size": len(SENTIMENT_WORDS), "embed_dim": 16, "units": 32,
                     "seq_len": SENTIMENT_LEN}
_OTHER_SIZES = {"vocab_size": 50, "embed_dim": 8, "units": 5, "seq_len": 7}
SENTIMENT_TEST_SEED = 3               # the notebook trains on seed 1 and validates on seed 2
SENTIMENT_TEST_SIZE = 1000
SENTIMENT_MIN_ACCURACY = 0.9
# A model whose answers come from its LSTM loses them when the LSTM's trained weights are
# shuffled: its accuracy must then fall to at most this (chance is 0.5; a model that reads
# the words some other way keeps its accuracy).
SENTIMENT_ABLATED_ACCURACY = 0.75


def _sizes_label(sizes):
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def _built_model(build_model, sizes):
    """The student's model for these sizes, called once on a batch so that every layer is built."""
    keras = _keras()
    model = run_student("build_model", build_model, **sizes)
    if not isinstance(model, keras.Model):
        raise GradingError(f"build_model returned {type(model).__name__}; return the Keras model itself "
                           f"(e.g. model = keras.Sequential([...]); ...; return model)")
    try:
        with warnings.catch_warnings():         # a wrong layer may warn; its check says why
            warnings.simplefilter("ignore")
            model(np.zeros((2, sizes["seq_len"]), np.int32))
    except Exception as err:
        raise GradingError(f"Calling your model on a batch of 2 reviews of seq_len={sizes['seq_len']} word "
                           f"indices failed with {type(err).__name__}: {err}") from err
    return model


def _layer_summary(layers):
    return ", ".join(f"{type(l).__name__}" for l in layers) or "no layers"


def _check_keras_architecture(model, sizes):
    keras = _keras()
    V, E, H, T = (sizes[k] for k in ("vocab_size", "embed_dim", "units", "seq_len"))
    layers = [l for l in model.layers if not isinstance(l, keras.layers.InputLayer)]
    kinds = (keras.layers.Embedding, keras.layers.LSTM, keras.layers.Dense)
    if len(layers) != 3 or not all(isinstance(l, k) for l, k in zip(layers, kinds)):
        msg = (f"the model should have exactly three layers, Embedding, LSTM, Dense, in this order; "
               f"yours has {_layer_summary(layers)}.")
        names = [type(l).__name__ for l in layers]
        if any(n in ("GRU", "SimpleRNN") for n in names):
            msg += " This exercise asks for an LSTM (keras.layers.LSTM)."
        if "Bidirectional" in names:
            msg += " A Bidirectional wrapper reads the review both ways; this model reads it once, forwards."
        if any(n in ("Dropout", "SpatialDropout1D", "Flatten", "GlobalAveragePooling1D") for n in names):
            msg += " Leave out the extra layers: the checks count every layer's parameters."
        raise GradingError(msg)
    emb, lstm, dense = layers
    z = np.zeros((2, T), np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_e = emb(z)
        out_l = lstm(out_e)
        if isinstance(out_l, (list, tuple)):
            raise GradingError("the LSTM layer returns a list (its output and its states): leave "
                               "return_state=False, so that it returns only its last hidden state.")
        out_d = dense(out_l)
    shapes = [tuple(int(n) for n in o.shape) for o in (out_e, out_l, out_d)]
    expected = [(2, T, E), (2, H), (2, 1)]
    if shapes[0] != expected[0]:
        raise GradingError(f"Embedding output: for a batch of 2 reviews of {T} words expected shape "
                           f"(2, seq_len, embed_dim) = {expected[0]}, got {shapes[0]}. Embedding(input_dim="
                           f"vocab_size, output_dim=embed_dim) turns each word index into a vector of "
                           f"embed_dim numbers.")
    if shapes[1] != expected[1]:
        hint = (" The LSTM returns every step's state (return_sequences=True); one label per review "
                "needs only the last one: leave return_sequences=False (the default)."
                if len(shapes[1]) == 3 else " The LSTM's units is the hidden size H = units.")
        raise GradingError(f"LSTM output: expected shape (2, units) = {expected[1]}, got {shapes[1]}.{hint}")
    if shapes[2] != expected[2]:
        raise GradingError(f"Dense output: expected shape (2, 1) = one number per review, the "
                           f"probability that it is positive; got {shapes[2]}. Use Dense(1, ...).")
    act = getattr(dense.activation, "__name__", str(dense.activation))
    if act != "sigmoid":
        why = {"softmax": "a softmax over a single unit is always 1, whatever the input",
               "linear": "a linear output is any real number, not a probability"}.get(
                   act, "binary cross-entropy expects a probability in (0, 1)")
        raise GradingError(f"Dense activation is {act!r}; use activation='sigmoid': {why}.")
    for name, want in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
        got = getattr(getattr(lstm, name), "__name__", "?")
        if got != want:
            raise GradingError(f"the LSTM's {name} is {got!r}; the course's LSTM (and Keras' default) uses "
                               f"{want!r}: leave it at its default.")
    counts = [
        ("Embedding", emb, V * E, f"vocab_size * embed_dim = {V} * {E}: one vector per word index "
                                  f"0..vocab_size-1 (check input_dim=vocab_size)"),
        ("LSTM", lstm, 4 * H * (E + H + 1), f"4 gate blocks * (D + H + 1) * H = 4 * ({E} + {H} + 1) * {H}: "
                                            f"kernel (D, 4H), recurrent_kernel (H, 4H) and bias (4H,), "
                                            f"with D = embed_dim"),
        ("Dense", dense, H + 1, f"H + 1 = {H} + 1: one weight per hidden unit and a bias")]
    for name, layer, want, formula in counts:
        got = layer.count_params()
        if got != want:
            raise GradingError(f"{name} has {got} parameters; expected {want} = {formula}.")


def check_keras_model(build_model):
    """build_model(vocab_size, embed_dim, units, seq_len) -> a Keras model Embedding -> LSTM ->
    Dense(1, sigmoid): layer types and order, each layer's output shape for a batch of 2,
    the sigmoid output, and each layer's parameter count against the formula, for the
    exercise's sizes and for other sizes."""
    for label, sizes in (("the exercise's sizes", KERAS_MODEL_SIZES), ("other sizes", _OTHER_SIZES)):
        _case("build_model", f"{label} ({_sizes_label(sizes)})",
              lambda sizes=sizes: _check_keras_architecture(_built_model(build_model, sizes), sizes))


def _binary_crossentropy(loss):
    """None if loss is Keras' binary cross-entropy on probabilities, else what it is instead."""
    keras = _keras()
    if isinstance(loss, str):
        return None if loss in ("binary_crossentropy", "bce") else repr(loss)
    if isinstance(loss, keras.losses.BinaryCrossentropy):
        if loss.get_config().get("from_logits"):
            return ("BinaryCrossentropy(from_logits=True), which expects scores before the sigmoid; "
                    "the model's output is already a probability (from_logits=False)")
        return None
    name = getattr(loss, "__name__", type(loss).__name__)
    return None if name == "binary_crossentropy" else name


def check_keras_compile(build_model):
    """The model that build_model returns is compiled with the Adam optimizer and binary
    cross-entropy (on probabilities: the model ends in a sigmoid)."""
    sizes = KERAS_MODEL_SIZES
    model = _built_model(build_model, sizes)
    optimizer = getattr(model, "optimizer", None)
    if not getattr(model, "compiled", False) or optimizer is None:
        raise GradingError("build_model returns a model that is not compiled: call model.compile(optimizer="
                           "'adam', loss='binary_crossentropy', metrics=['accuracy']) before returning it.")
    if type(optimizer).__name__ != "Adam":
        raise GradingError(f"the model is compiled with the {type(optimizer).__name__} optimizer; the exercise "
                           f"asks for Adam (optimizer='adam' or keras.optimizers.Adam(learning_rate=...)).")
    wrong = _binary_crossentropy(model.loss)
    if wrong is not None and "from_logits" in wrong:
        raise GradingError(f"the model is compiled with the loss {wrong}.")
    if wrong is not None:
        raise GradingError(f"the model is compiled with the loss {wrong}; a yes/no label with a sigmoid "
                           f"output takes binary cross-entropy: loss='binary_crossentropy'.")


# Weight transfer. The cases: H != D (a swapped Wx and Wh has the wrong shape), B = 1 and
# T = 1, and H = D (where only the values tell Wx from Wh).
def keras_transfer_cases():
    """(label, dict with x (B, T, D), Wx, Wh, b) in float32, biases non-zero."""
    for seed, (B, T, D, H) in enumerate([(2, 5, 3, 4), (1, 1, 2, 3), (3, 6, 4, 4)]):
        rng = np.random.default_rng(drawn(900 + seed))
        case = {"x": rng.standard_normal((B, T, D)), **_params(rng, D, H, 4)}
        yield (f"a random case (seed {900 + seed}, B={B}, T={T}, D={D}, H={H})",
               {k: v.astype(np.float32) for k, v in case.items()})


_KERAS_VARIABLES = (("kernel", "Wx", "(D, 4H)"), ("recurrent_kernel", "Wh", "(H, 4H)"), ("bias", "b", "(4H,)"))


def _keras_lstm_layer(D, H, fill=None):
    """A built Keras LSTM layer (outputs, h_T and c_T), its weights set to fill if given."""
    keras = _keras()
    layer = keras.layers.LSTM(H, return_sequences=True, return_state=True)
    layer.build((None, None, D))
    if fill is not None:
        for name, _, _ in _KERAS_VARIABLES:
            var = getattr(layer.cell, name)
            var.assign(np.full(var.shape, fill, np.float32))
    return layer


def _keras_variables(layer):
    return {name: np.array(getattr(layer.cell, name).numpy()) for name, _, _ in _KERAS_VARIABLES}


def _keras_layout():
    from ..convert import LAYOUTS
    lay = LAYOUTS[("keras", "lstm")]
    return (f"Keras stores {lay.input_weight} = Wx, {lay.recurrent_weight} = Wh and {lay.bias} = b, "
            f"gate blocks in the order {', '.join(lay.gate_names)}, which is the course's "
            f"{', '.join(lay.gates)} (c is g): no transpose and no reordering")


def _copied_exactly(what, got, expected):
    """A weight moved between Keras and NumPy must be the same float32 numbers, bit for bit."""
    got = np.asarray(got)
    if not np.array_equal(got, expected):
        k = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
        raise GradingError(f"{what}: entry {tuple(int(i) for i in k)} is {got[k]:.9g}, not exactly {expected[k]:.9g}. "
                           f"Moving weights copies numbers: no arithmetic, no rounding beyond float32.")


def _check_stored(what, got, expected, p):
    """A weight that the student stored in (or read from) Keras: gate block by gate block,
    then exactly (the numbers are only copied, at float32)."""
    H = p["Wh"].shape[0]
    f = gate_slices(LSTM_GATES, H)["f"]
    shifted = p["b"].copy()
    shifted[f] += 1
    mistakes = [("it holds Wh; Wx (D, 4H) multiplies the input x_t and goes into the kernel, Wh (H, 4H) "
                 "multiplies h_{t-1} and goes into the recurrent_kernel", p["Wh"]),
                ("it holds Wx; Wh multiplies h_{t-1} and goes into the recurrent_kernel", p["Wx"]),
                ("the forget-gate block holds b_f + 1. unit_forget_bias=True only sets the initial bias; "
                 "Keras adds nothing at run time, so store b as it is", shifted)]
    try:
        check_gate_blocks(what, got, expected, every=" Every block differs: is it another array (Wh for "
                                                       "Wx), or its entries in another order?")
    except GradingError as err:
        for cause, value in mistakes:
            if value is not expected and _same((got,), (value,), rtol=1e-6, atol=1e-6):
                raise GradingError(f"{err}\nLikely cause: {cause}.") from None
        raise GradingError(f"{err}\n{_keras_layout()}.") from None
    _copied_exactly(what, got, expected)


def _write(fn, name, layer, arrays, layout):
    """Run the student's writer fn(layer, *copies of arrays); a shape error from Keras is
    answered with how Keras lays the weights out (layout(), a sentence)."""
    try:
        run_student(name, fn, layer, *(a.copy() for a in arrays))
    except GradingError as err:
        if isinstance(err.__cause__, ValueError) and "shape" in str(err.__cause__):
            raise GradingError(f"{err}\n{layout()}.") from err.__cause__
        raise


def _check_to_keras_case(to_keras_lstm, p):
    from ..convert import to_keras
    D, H = p["Wx"].shape[0], p["Wh"].shape[0]
    layer = _keras_lstm_layer(D, H, fill=0.0)
    _write(to_keras_lstm, "to_keras_lstm", layer, [p[k] for k in ("Wx", "Wh", "b")], _keras_layout)
    reference = to_keras(_keras_lstm_layer(D, H), p)        # lstm_ref's own conversion
    got, expected = _keras_variables(layer), _keras_variables(reference)
    for name, arg, shape in _KERAS_VARIABLES:
        if not got[name].any() and expected[name].any():
            raise GradingError(f"the layer's {name} is unchanged (still the zeros the check put there): "
                               f"to_keras_lstm must write {arg} into the layer it is given, e.g. with "
                               f"layer.set_weights([...]) or layer.cell.{name}.assign(...), not into a new layer.")
        _check_stored(f"the layer's {name} {shape}, which should hold {arg}", got[name], expected[name], p)
    out, h_T, c_T = (np.asarray(o) for o in layer(p["x"]))
    h_ref, (hT_ref, cT_ref), _ = sequence.lstm_forward(p["x"], p["Wx"], p["Wh"], p["b"])
    check_array("the Keras layer's output (every step's h) after loading", out, h_ref)
    check_array("the Keras layer's final cell state c_T after loading", c_T, cT_ref)


def check_to_keras_lstm(to_keras_lstm):
    """to_keras_lstm(layer, Wx, Wh, b) writes the course's weights into a built Keras LSTM
    layer: its kernel, recurrent_kernel and bias equal Wx, Wh, b (at float32, exactly), and
    the layer's outputs then equal lstm_ref.lstm_forward's at the float32 tolerances."""
    for label, p in keras_transfer_cases():
        _case("to_keras_lstm", label, lambda p=p: _check_to_keras_case(to_keras_lstm, p))


def _read_keras(from_keras_lstm, layer):
    """The student's (Wx, Wh, b) read from layer, as NumPy arrays (copies)."""
    result = run_student("from_keras_lstm", from_keras_lstm, layer)
    got = _outputs("from_keras_lstm", result, 3, ("Wx", "Wh", "b"))
    for name, value in zip(("Wx", "Wh", "b"), got):
        if not isinstance(value, np.ndarray):
            raise GradingError(f"from_keras_lstm returned {name} as a {type(value).__name__}; return NumPy "
                               f"arrays: layer.get_weights() gives them, or variable.numpy().")
    return got


def _check_from_keras_case(from_keras_lstm, p):
    from ..convert import to_keras
    D, H = p["Wx"].shape[0], p["Wh"].shape[0]
    layer = to_keras(_keras_lstm_layer(D, H), p)
    got = _read_keras(from_keras_lstm, layer)
    stored = _keras_variables(layer)
    hints = {"Wx": "Wx is the kernel, (D, 4H); Keras, unlike PyTorch, does not transpose it.",
             "Wh": "Wh is the recurrent_kernel, (H, 4H).", "b": "b is the bias, (4H,): Keras has only one."}
    for name, value in zip(("Wx", "Wh", "b"), got):
        _check_shape(name, value, p[name], hints[name])
        _check_stored(name, value, p[name], p)
    for name, _, _ in _KERAS_VARIABLES:
        if not np.array_equal(stored[name], _keras_variables(layer)[name]):
            raise GradingError(f"from_keras_lstm changed the layer's {name}: reading must leave the layer as it was.")
    for var in layer.cell.weights:
        var.assign(np.zeros(var.shape, np.float32))
    for name, value in zip(("Wx", "Wh", "b"), got):
        if not np.array_equal(value, p[name]):
            raise GradingError(f"the {name} that from_keras_lstm returned changed when the layer's weights were "
                               f"set to zero afterwards: it shares memory with the layer. Return copies "
                               f"(np.array(...)), which stay as they were when the layer trains on.")


def check_from_keras_lstm(from_keras_lstm):
    """from_keras_lstm(layer) -> (Wx (D, 4H), Wh (H, 4H), b (4H,)): the weights of a Keras LSTM
    layer in the course's layout, as NumPy arrays that do not share memory with the layer,
    exactly the stored float32 numbers; the layer is left unchanged."""
    for label, p in keras_transfer_cases():
        _case("from_keras_lstm", label, lambda p=p: _check_from_keras_case(from_keras_lstm, p))


def check_keras_round_trip(to_keras_lstm, from_keras_lstm):
    """Both ways, exactly: from_keras_lstm(to_keras_lstm(layer, Wx, Wh, b)) gives back Wx, Wh,
    b (float32), and writing what from_keras_lstm read from one layer into another makes the
    two layers' weights equal."""
    for label, p in keras_transfer_cases():
        def body(p=p):
            D, H = p["Wx"].shape[0], p["Wh"].shape[0]
            layer = _keras_lstm_layer(D, H, fill=0.0)
            run_student("to_keras_lstm", to_keras_lstm, layer, p["Wx"].copy(), p["Wh"].copy(), p["b"].copy())
            back = _read_keras(from_keras_lstm, layer)
            for name, value in zip(("Wx", "Wh", "b"), back):
                _check_shape(f"{name} after the round trip", value, p[name])
                if not np.array_equal(value, p[name]):
                    k = np.unravel_index(np.argmax(np.abs(value - p[name])), value.shape)
                    raise GradingError(
                        f"from_keras_lstm(to_keras_lstm(layer, Wx, Wh, b)) does not give back {name} exactly: "
                        f"entry {tuple(int(i) for i in k)} went in as {p[name][k]:.9g} and came back as "
                        f"{value[k]:.9g}. Make each function pass its own test first.")
            source = _keras_lstm_layer(D, H)                  # Keras' own random initial weights
            target = _keras_lstm_layer(D, H, fill=0.0)
            run_student("to_keras_lstm", to_keras_lstm, target, *_read_keras(from_keras_lstm, source))
            for name, want in _keras_variables(source).items():
                if not np.array_equal(_keras_variables(target)[name], want):
                    raise GradingError(f"to_keras_lstm(other_layer, *from_keras_lstm(layer)) does not copy the "
                                       f"{name} of layer exactly into other_layer.")
        _case("the round trip", label, body)


# ------------------------------------------------------ the GRU, stored differently

GRU_KERAS_PARAMS = ("Wx", "Wh", "bx", "bh")


def keras_gru_cases():
    """(label, dict with x (B, T, D), Wx (D, 3H), Wh (H, 3H), bx, bh (3H,)) in float32."""
    for seed, (B, T, D, H) in enumerate([(2, 5, 3, 4), (1, 1, 2, 3), (3, 6, 4, 2)]):
        seed = drawn(950 + seed)
        rng = np.random.default_rng(seed)
        case = {"x": rng.standard_normal((B, T, D)), **_params(rng, D, H, 3)}
        case["bx"], case["bh"] = case.pop("b"), 0.5 * rng.standard_normal(3 * H)
        yield (f"a random case (seed {seed}, B={B}, T={T}, D={D}, H={H})",
               {k: v.astype(np.float32) for k, v in case.items()})


def _keras_gru_layer(D, H, fill=None):
    """A built Keras GRU layer (reset_after=True, the default; outputs and h_T), its weights
    set to fill if given."""
    keras = _keras()
    layer = keras.layers.GRU(H, return_sequences=True, return_state=True)
    layer.build((None, None, D))
    if fill is not None:
        for var in layer.cell.weights:
            var.assign(np.full(var.shape, fill, np.float32))
    return layer


def _keras_gru_layout():
    from ..convert import LAYOUTS
    lay = LAYOUTS[("keras", "gru")]
    return (f"Keras stores the GRU as {lay.input_weight}, {lay.recurrent_weight} and {lay.bias}, gate "
            f"blocks in the order {', '.join(lay.gate_names)}, which is the course's "
            f"{', '.join(lay.gates)} (h is n): the course's order is r, z, n, so the first two blocks "
            f"swap places, and bx and bh are the bias's two rows")


def _check_gru_stored(what, got, expected, order, hint=""):
    """A GRU weight stored in (or read from) Keras: gate block by gate block in order (the
    course's names of the blocks, in the order they stand in expected), then exactly."""
    try:
        check_gate_blocks(what, got, expected, order=order, hint=hint,
                          every=" Every block differs: is it another array, or transposed?")
    except GradingError as err:
        raise GradingError(f"{err}\n{_keras_gru_layout()}.") from None
    _copied_exactly(what, got, expected)


def _check_to_keras_gru_case(to_keras_gru, p):
    from ..convert import LAYOUTS, to_keras
    D, H = p["Wx"].shape[0], p["Wh"].shape[0]
    layer = _keras_gru_layer(D, H, fill=0.0)
    _write(to_keras_gru, "to_keras_gru", layer, [p[k] for k in GRU_KERAS_PARAMS], _keras_gru_layout)
    reference = to_keras(_keras_gru_layer(D, H), {k: p[k] for k in GRU_KERAS_PARAMS})
    order = LAYOUTS[("keras", "gru")].gates
    for name, arg in (("kernel", "Wx"), ("recurrent_kernel", "Wh"), ("bias", "bx and bh")):
        got, want = (np.array(getattr(l.cell, name).numpy()) for l in (layer, reference))
        if not got.any():
            raise GradingError(f"the layer's {name} is unchanged (still the zeros the check put there): "
                               f"to_keras_gru must write {arg} into the layer it is given, e.g. with "
                               f"layer.set_weights([...]) or layer.cell.{name}.assign(...).")
        if name == "bias":
            if got.shape != want.shape:
                raise GradingError(f"the layer's bias has shape {got.shape}, but with reset_after=True Keras "
                                   f"keeps two rows, (2, 3H) = {want.shape}: row 0 the input bias bx, row 1 the "
                                   f"recurrent bias bh, each in Keras's gate order. They cannot be added: the reset "
                                   f"gate multiplies bh_n.")
            if _same((got,), (want[::-1],)):
                raise GradingError("the layer's bias holds bh in row 0 and bx in row 1: Keras's row 0 is the "
                                   "input bias (bx), row 1 the recurrent bias (bh).")
            for row, which in enumerate(("bx", "bh")):
                _check_gru_stored(f"the layer's bias, row {row} ({which})", got[row], want[row], order)
        else:
            _check_gru_stored(f"the layer's {name}, which should hold {arg}", got, want, order,
                              hint=f"Keras's {name} is {'(D, 3H)' if arg == 'Wx' else '(H, 3H)'}, like {arg}: no transpose.")
    out, h_T = (np.asarray(o) for o in layer(p["x"]))
    h_ref, _, _ = sequence.gru_forward(p["x"], *(p[k] for k in GRU_KERAS_PARAMS))
    check_array("the Keras GRU's output (every step's h) after loading", out, h_ref)


def check_to_keras_gru(to_keras_gru):
    """to_keras_gru(layer, Wx, Wh, bx, bh) writes the course's GRU weights (blocks r, z, n,
    reset after the product) into a built keras.layers.GRU (reset_after=True): kernel and
    recurrent_kernel in Keras's block order z, r, h, bias (2, 3H) = [bx; bh] reordered the
    same way, exactly; the layer's outputs then equal lstm_ref.gru_forward's (float32)."""
    for label, p in keras_gru_cases():
        _case("to_keras_gru", label, lambda p=p: _check_to_keras_gru_case(to_keras_gru, p))


def _check_from_keras_gru_case(from_keras_gru, p):
    from ..convert import to_keras
    D, H = p["Wx"].shape[0], p["Wh"].shape[0]
    layer = to_keras(_keras_gru_layer(D, H), {k: p[k] for k in GRU_KERAS_PARAMS})
    stored = [np.array(v.numpy()) for v in layer.cell.weights]
    result = run_student("from_keras_gru", from_keras_gru, layer)
    got = _outputs("from_keras_gru", result, 4, GRU_KERAS_PARAMS)
    hints = {"Wx": "Wx is the kernel, (D, 3H).", "Wh": "Wh is the recurrent_kernel, (H, 3H).",
             "bx": "bx is row 0 of the bias (2, 3H), (3H,).", "bh": "bh is row 1 of the bias, (3H,)."}
    for name, value in zip(GRU_KERAS_PARAMS, got):
        if not isinstance(value, np.ndarray):
            raise GradingError(f"from_keras_gru returned {name} as a {type(value).__name__}; return NumPy "
                               f"arrays: layer.get_weights() gives them, or variable.numpy().")
        _check_shape(name, value, p[name], hints[name])
        if name in ("bx", "bh") and _same((value,), (p["bh" if name == "bx" else "bx"],)):
            raise GradingError(f"{name}: it holds {'bh' if name == 'bx' else 'bx'}. Keras's bias row 0 is the "
                               f"input bias bx, row 1 the recurrent bias bh.")
        _check_gru_stored(name, value, p[name], GRU_GATES)
    if any(not np.array_equal(a, np.array(v.numpy())) for a, v in zip(stored, layer.cell.weights)):
        raise GradingError("from_keras_gru changed the layer's weights: reading must leave the layer as it was.")
    for var in layer.cell.weights:
        var.assign(np.zeros(var.shape, np.float32))
    for name, value in zip(GRU_KERAS_PARAMS, got):
        if not np.array_equal(value, p[name]):
            raise GradingError(f"the {name} that from_keras_gru returned changed when the layer's weights were "
                               f"set to zero afterwards: it shares memory with the layer. Return copies.")


def check_from_keras_gru(from_keras_gru):
    """from_keras_gru(layer) -> (Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,)): a Keras GRU's
    weights in the course's layout (blocks r, z, n), as NumPy arrays of their own, exactly
    the stored float32 numbers; the layer is left unchanged."""
    for label, p in keras_gru_cases():
        _case("from_keras_gru", label, lambda p=p: _check_from_keras_gru_case(from_keras_gru, p))


def check_keras_gru(to_keras_gru, from_keras_gru):
    """Both GRU checks, on the cases a hidden test draws: what the hidden test of exercise 04
    runs."""
    check_to_keras_gru(to_keras_gru)
    check_from_keras_gru(from_keras_gru)


def check_sentiment_training(train_sentiment_model):
    """Run the student's train_sentiment_model(x_train, y_train, x_val, y_val) -> (model,
    history) once, on the notebook's sets (sentiment_data(2000, seed=1) and (500, seed=2)),
    and measure the model it returns with check_sentiment_model. The check trains nothing of
    its own, and the test reviews never reach the training function. Returns the model.
    The training function may use anything (lstm_ref cannot train a Keras model)."""
    data = [*sentiment_data(2000, 1), *sentiment_data(500, 2)]
    # lstm_ref has nothing that trains a Keras model: no call to refuse, so no watch.
    result = run_student("train_sentiment_model", train_sentiment_model, *data, watch=False)
    model, _ = _outputs("train_sentiment_model", result, 2, ("model", "history"))
    check_sentiment_model(model)
    return model


def check_sentiment_model(model):
    """A trained model (Embedding -> LSTM -> Dense(sigmoid)) on SENTIMENT_TEST_SIZE reviews
    the check draws itself (seed SENTIMENT_TEST_SEED; training used other seeds): its
    accuracy at threshold 0.5 is at least SENTIMENT_MIN_ACCURACY, it calls
    SENTIMENT_EXAMPLE positive, and its skill is its LSTM's: with the LSTM's trained
    weights shuffled, its accuracy falls to at most SENTIMENT_ABLATED_ACCURACY. Prints the
    accuracy, the majority-class baseline, the example's probability and the accuracy
    without the LSTM's training."""
    keras = _keras()
    if isinstance(model, tuple):
        raise GradingError("expected the trained Keras model, got a tuple: train_sentiment_model returns "
                           "(model, history); pass model.")
    if not isinstance(model, keras.Model):
        raise GradingError(f"expected the trained Keras model, got {type(model).__name__}")
    x, y = sentiment_data(SENTIMENT_TEST_SIZE, drawn(SENTIMENT_TEST_SEED))
    p = _as_array("your model's predictions", run_student("model.predict", model.predict, x, verbose=0))
    _check_shape("your model's predictions", p, np.zeros((len(y), 1)),
                 "One probability per review, from Dense(1, activation='sigmoid').")
    _check_finite("your model's predictions", p)
    accuracy = float(np.mean((p[:, 0] > 0.5) == (y > 0.5)))
    majority = float(max(y.mean(), 1 - y.mean()))
    example = float(np.asarray(run_student("model.predict", model.predict, encode_reviews([SENTIMENT_EXAMPLE]),
                                           verbose=0)).ravel()[0])
    report = (f"held-out accuracy {accuracy:.3f} on {len(y)} reviews that the check draws itself (seed "
              f"{drawn(SENTIMENT_TEST_SEED)}; your model never saw them); always answering the majority class "
              f"scores {majority:.3f}. P(positive | {SENTIMENT_EXAMPLE!r}) = {example:.3f}.")
    if accuracy < SENTIMENT_MIN_ACCURACY:
        cause = ("Your model gives (almost) every review the same answer: it has not learned yet. "
                 if accuracy <= majority + 0.02 else "")
        raise GradingError(f"{report}\nNeeded: accuracy >= {SENTIMENT_MIN_ACCURACY}. {cause}Look at the "
                           f"validation accuracy per epoch in history.history: train longer, or with a larger "
                           f"learning rate (Adam at 5e-3 learns this task in a few epochs).")
    if example <= 0.5:
        raise GradingError(f"{report}\nNeeded: {SENTIMENT_EXAMPLE!r} comes out positive (probability > 0.5): "
                           f"'not' turns 'bad' around, which only a model that reads the words in order can tell.")
    ablated = _accuracy_without_lstm(model, x, y)
    if ablated is None:
        raise GradingError(f"{report}\nBut your model has no trained keras.layers.LSTM layer (with weights): the "
                           f"exercise asks for Embedding -> LSTM -> Dense(1, sigmoid), trained with fit.")
    if ablated > SENTIMENT_ABLATED_ACCURACY:
        raise GradingError(
            f"{report}\nBut with the trained weights of its LSTM shuffled, the model still scores {ablated:.3f} "
            f"(needed: at most {SENTIMENT_ABLATED_ACCURACY}): its answers do not come from its LSTM. The "
            f"exercise asks for Embedding -> LSTM -> Dense, the LSTM reading each review in order.")
    print(f"Passed: {report} With its LSTM's weights shuffled: accuracy {ablated:.3f} (its skill comes "
          f"from the LSTM).")


def _lstm_layers(layer):
    """The keras.layers.LSTM layers in layer and its sublayers, at any depth."""
    keras = _keras()
    found = [layer] if isinstance(layer, keras.layers.LSTM) else []
    for sub in getattr(layer, "layers", None) or []:
        found += _lstm_layers(sub)
    return list(dict.fromkeys(found))


def _accuracy_without_lstm(model, x, y):
    """The model's accuracy on (x, y) with every LSTM layer's trained weights shuffled (each
    array keeps its values, in a random order), the weights put back afterwards; None
    when the model has no LSTM layer with weights."""
    lstms = [layer for layer in _lstm_layers(model) if layer.get_weights()]
    if not lstms:
        return None
    rng = np.random.default_rng(drawn(910))
    saved = [layer.get_weights() for layer in lstms]
    try:
        for layer, weights in zip(lstms, saved):
            layer.set_weights([rng.permutation(w.ravel()).reshape(w.shape) for w in weights])
        p = _as_array("your model's predictions", run_student("model.predict", model.predict, x, verbose=0))
    finally:
        for layer, weights in zip(lstms, saved):
            layer.set_weights(weights)
    return float(np.mean((p.reshape(len(y), -1)[:, 0] > 0.5) == (y > 0.5)))



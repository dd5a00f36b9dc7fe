"""Exact conversion of weights between `lstm_ref` and PyTorch / Keras recurrent layers.

The three store the same numbers in different places. `LAYOUTS` below is the one
definition of how each framework lays them out; the functions only follow it.

    lstm_ref   Wx (D, kH), Wh (H, kH)      rows are examples: a = x @ Wx + h @ Wh + b
    PyTorch    weight_ih (kH, D)           = Wx transposed (PyTorch computes W x)
               weight_hh (kH, H)           = Wh transposed
               bias_ih, bias_hh (kH,)      LSTM/RNN: only their sum acts, b = bias_ih + bias_hh;
                                           GRU: bx = bias_ih, bh = bias_hh
    Keras      kernel (D, kH)              = Wx
               recurrent_kernel (H, kH)    = Wh
               bias (kH,)                  LSTM/RNN: b;  GRU reset_after=True: (2, 3H) = [bx; bh];
                                           GRU reset_after=False: (3H,) = bx + bh

Gate order (k blocks of H columns): lstm_ref and PyTorch put the LSTM's gates as i, f, g, o
and Keras as i, f, c, o (c is g under another name), so no LSTM needs reordering; the GRU
is r, z, n in lstm_ref and PyTorch but z, r, h in Keras, so its blocks are permuted.

Parameters of a multi-layer or bidirectional network are a nested list,
``params[layer][direction]`` (direction 0 reads the sequence forwards, 1 backwards),
each entry a dict as returned by `lstm_ref.init`. A single dict stands for one layer, one
direction. PyTorch and Keras are imported only when these functions run.

    to_torch(module, params)        load lstm_ref parameters into nn.LSTM / nn.GRU / nn.RNN
    from_torch(module, grad=False)  read them (or, with grad=True, their .grad) back
    to_keras(layer, params)         load into keras LSTM / GRU / SimpleRNN, or Bidirectional
                                    of one, or a list of those (a stack)
    from_keras(layer, grads=None)   read them back, or read the gradients that
                                    tape.gradient(loss, layer.trainable_weights) returned
"""
from dataclasses import dataclass

import numpy as np

from .gates import GRU_GATES, LSTM_GATES


@dataclass(frozen=True)
class Layout:
    """How one framework stores one kind of recurrent layer."""
    framework: str
    cell: str              # "rnn", "lstm" or "gru"
    gates: tuple           # order of the gate blocks, in the course's letters
    gate_names: tuple      # the same blocks in the framework's own names
    input_weight: str      # name and shape of the input-to-hidden weights
    recurrent_weight: str
    bias: str
    init: str              # the framework's default initialisers
    forget_bias: str       # the LSTM's default forget-gate bias
    bias_vectors: int = 1  # bias vectors added into each pre-activation block


_TORCH_INIT = "every weight and bias U(-1/sqrt(H), 1/sqrt(H))"
_KERAS_INIT = "kernel Glorot uniform, recurrent_kernel orthogonal, bias zeros"

LAYOUTS = {
    ("lstm_ref", "lstm"): Layout("lstm_ref", "lstm", LSTM_GATES, LSTM_GATES,
                                 "Wx (D, 4H)", "Wh (H, 4H)", "b (4H,)",
                                 "Wx Glorot uniform, Wh orthogonal per gate, b zeros", "1.0 (init_lstm)"),
    ("lstm_ref", "gru"): Layout("lstm_ref", "gru", GRU_GATES, GRU_GATES,
                                "Wx (D, 3H)", "Wh (H, 3H)", "bx (3H,), bh (3H,)",
                                "Wx Glorot uniform, Wh orthogonal per gate, biases zeros", "-",
                                bias_vectors=2),
    ("lstm_ref", "rnn"): Layout("lstm_ref", "rnn", ("h",), ("h",), "Wx (D, H)", "Wh (H, H)", "b (H,)",
                                "Wx Glorot uniform, Wh orthogonal, b zeros", "-"),
    ("torch", "lstm"): Layout("PyTorch", "lstm", ("i", "f", "g", "o"), ("i", "f", "g", "o"),
                              "weight_ih_l{k} (4H, D)", "weight_hh_l{k} (4H, H)",
                              "bias_ih_l{k} (4H,) + bias_hh_l{k} (4H,)", _TORCH_INIT,
                              "none (drawn like the other biases)", bias_vectors=2),
    ("torch", "gru"): Layout("PyTorch", "gru", ("r", "z", "n"), ("r", "z", "n"),
                             "weight_ih_l{k} (3H, D)", "weight_hh_l{k} (3H, H)",
                             "bias_ih_l{k} (3H,), bias_hh_l{k} (3H,)", _TORCH_INIT, "-",
                             bias_vectors=2),
    ("torch", "rnn"): Layout("PyTorch", "rnn", ("h",), ("h",), "weight_ih_l{k} (H, D)",
                             "weight_hh_l{k} (H, H)", "bias_ih_l{k} (H,) + bias_hh_l{k} (H,)",
                             _TORCH_INIT, "-", bias_vectors=2),
    ("keras", "lstm"): Layout("Keras", "lstm", ("i", "f", "g", "o"), ("i", "f", "c", "o"),
                              "kernel (D, 4H)", "recurrent_kernel (H, 4H)", "bias (4H,)",
                              _KERAS_INIT, "1.0 (unit_forget_bias=True)"),
    ("keras", "gru"): Layout("Keras", "gru", ("z", "r", "n"), ("z", "r", "h"),
                             "kernel (D, 3H)", "recurrent_kernel (H, 3H)",
                             "bias (2, 3H) = [input; recurrent] (reset_after=True), else (3H,)",
                             _KERAS_INIT, "-", bias_vectors=2),
    ("keras", "rnn"): Layout("Keras", "rnn", ("h",), ("h",), "kernel (D, H)", "recurrent_kernel (H, H)",
                             "bias (H,)", _KERAS_INIT, "-"),
}

_PARAM_NAMES = {"lstm": ("Wx", "Wh", "b"), "rnn": ("Wx", "Wh", "b"), "gru": ("Wx", "Wh", "bx", "bh")}


@dataclass(frozen=True)
class Conventions:
    """What holds for every recurrent layer of one framework (with `LAYOUTS`, the map).

    Shapes are written ``name (dims)`` with the book's letters B, T, D, H, plus ``layers``
    and ``dirs`` (1, or 2 for a bidirectional network), so that tests can check them.
    The sources are the frameworks' LSTM pages, `pytorch_docs_lstm` and `keras_docs_lstm`
    in references.bib.
    """
    framework: str
    product: str           # how the input and the state meet the weights
    input: str             # the input tensor's layout
    returns: tuple         # what an LSTM call returns: ``name (dims)`` strings
    returns_note: str      # which options give those
    stacking: str          # how layers and directions are built and named
    fast_path: str         # when a fused GPU kernel (cuDNN) runs


CONVENTIONS = {
    "lstm_ref": Conventions(
        "lstm_ref", "x @ Wx and h @ Wh: columns are gate units", "x (B, T, D)",
        ("h (B, T, H)", "h_T (B, H)", "c_T (B, H)"), "from lstm_forward",
        "params[layer][direction], run by stacked_forward",
        "none: NumPy on the CPU"),
    "torch": Conventions(
        "PyTorch", "x @ weight_ih.T and h @ weight_hh.T: rows are gate units",
        "input (T, B, D), or (B, T, D) with batch_first=True",
        ("output (B, T, dirs*H)", "h_n (layers*dirs, B, H)", "c_n (layers*dirs, B, H)"),
        "with batch_first=True, which does not apply to h_n and c_n; "
        "h_n[2*k + d] is layer k, direction d",
        "num_layers and bidirectional=True in one module; names _l{k}, _l{k}_reverse",
        "cuDNN for nn.LSTM whenever the input is on a CUDA device in float16, 32 or 64 "
        "and torch.backends.cudnn.enabled (the default); on the CPU, one call into "
        "compiled code for the whole recurrence"),
    "keras": Conventions(
        "Keras", "x @ kernel and h @ recurrent_kernel: columns are gate units",
        "inputs (B, T, D)",
        ("output (B, T, H)", "h (B, H)", "c (B, H)"),
        "with return_sequences=True (else output (B, H)) and return_state=True",
        "one layer per LSTM, stacked in a list or Sequential; Bidirectional(LSTM(...)) "
        "with forward_layer and backward_layer",
        "cuDNN on the TensorFlow backend with a GPU, if use_cudnn='auto' (default) or True, "
        "activation='tanh', recurrent_activation='sigmoid', recurrent_dropout=0, "
        "unroll=False and use_bias=True; otherwise the generic loop ('auto') or a "
        "ValueError (True). A mask must be right-padded (padding at the end, no empty "
        "sequence): padding at the front falls back to the loop in an eager call, but "
        "raises InvalidArgumentError inside fit, evaluate and predict. use_cudnn=False: "
        "always the generic loop"),
}

_FRAMEWORK_ORDER = ("lstm_ref", "torch", "keras")


def reorder_gates(W, src, dst):
    """Permute the gate blocks along W's last axis from order ``src`` to order ``dst``.

    W: (..., kH) with k = len(src). Returns a new array of the same shape.
    """
    if sorted(src) != sorted(dst) or len(set(src)) != len(src):
        raise ValueError(f"reorder_gates: src and dst must name the same distinct gates, "
                         f"got {tuple(src)} and {tuple(dst)}")
    if np.ndim(W) == 0 or np.shape(W)[-1] % len(src):
        raise ValueError(f"reorder_gates: W's last axis must hold {len(src)} equal gate "
                         f"blocks (kH columns, k = {len(src)}), got shape {np.shape(W)}")
    blocks = dict(zip(src, np.split(W, len(src), axis=-1)))
    return np.concatenate([blocks[g] for g in dst], axis=-1)


def _nested(where, params, num_layers, num_dirs, cell):
    if isinstance(params, dict):
        params = [[params]]
    if len(params) != num_layers or any(len(layer) != num_dirs for layer in params):
        got = [len(layer) for layer in params]
        raise ValueError(f"{where}: params must be nested as params[layer][direction] with "
                         f"{num_layers} layer(s) of {num_dirs} direction(s), got {len(params)} "
                         f"layer(s) with {got} direction(s)")
    for k, layer in enumerate(params):
        for d, p in enumerate(layer):
            missing = set(_PARAM_NAMES[cell]) - set(p)
            if missing:
                raise ValueError(f"{where}: params[{k}][{d}] lacks {sorted(missing)} for a {cell.upper()}; "
                                 f"expected keys {list(_PARAM_NAMES[cell])}, got {sorted(p)}")
    return params


def _put(where, target_shape, arr, what):
    if tuple(arr.shape) != tuple(target_shape):
        raise ValueError(f"{where}: {what} has shape {tuple(target_shape)} in the framework, but the "
                         f"lstm_ref parameters give {tuple(arr.shape)}; check input size D and hidden size H")
    return arr


# ------------------------------------------------------------------------- PyTorch

def _torch_cell(where, module):
    import torch
    for cls, cell in ((torch.nn.LSTM, "lstm"), (torch.nn.GRU, "gru"), (torch.nn.RNN, "rnn")):
        if isinstance(module, cls):
            break
    else:
        raise TypeError(f"{where}: expected a torch.nn.LSTM, GRU or RNN, got {type(module).__name__}")
    if getattr(module, "proj_size", 0):
        raise ValueError(f"{where}: LSTM with proj_size={module.proj_size} has no lstm_ref counterpart")
    if cell == "rnn" and module.nonlinearity != "tanh":
        raise ValueError(f"{where}: lstm_ref's RNN uses tanh, the module uses {module.nonlinearity!r}")
    return cell


def _torch_names(k, d):
    suffix = f"_l{k}" + ("_reverse" if d else "")
    return {n: n + suffix for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}


def to_torch(module, params):
    """Copy lstm_ref parameters into a torch.nn.LSTM, GRU or RNN, in place.

    params: dict or params[layer][direction], sizes matching the module.
    LSTM/RNN: bias_ih receives b and bias_hh zeros (only their sum acts).
    Values are cast to the module's dtype. Returns the module.
    """
    import torch
    where = "to_torch"
    cell = _torch_cell(where, module)
    lay = LAYOUTS[("torch", cell)]
    ours = LAYOUTS[("lstm_ref", cell)].gates
    params = _nested(where, params, module.num_layers, 2 if module.bidirectional else 1, cell)
    with torch.no_grad():
        for k, layer in enumerate(params):
            for d, p in enumerate(layer):
                names = _torch_names(k, d)
                if cell == "gru":
                    bias_ih, bias_hh = p["bx"], p["bh"]
                else:
                    bias_ih, bias_hh = p["b"], np.zeros_like(p["b"])
                arrays = {"weight_ih": reorder_gates(p["Wx"], ours, lay.gates).T,
                          "weight_hh": reorder_gates(p["Wh"], ours, lay.gates).T,
                          "bias_ih": reorder_gates(bias_ih, ours, lay.gates),
                          "bias_hh": reorder_gates(bias_hh, ours, lay.gates)}
                for short, arr in arrays.items():
                    if not module.bias and short.startswith("bias"):
                        if np.any(arr != 0):
                            raise ValueError(f"{where}: the module has bias=False but params[{k}][{d}] "
                                             f"has non-zero biases")
                        continue
                    target = getattr(module, names[short])
                    _put(where, target.shape, arr, names[short])
                    target.copy_(torch.from_numpy(np.ascontiguousarray(arr)))
    return module


def from_torch(module, grad=False):
    """Read a torch.nn.LSTM, GRU or RNN's parameters (or, with grad=True, their gradients)
    as lstm_ref parameters: params[layer][direction], float64 or float32 like the module.

    LSTM/RNN: b = bias_ih + bias_hh. With grad=True, db = bias_ih.grad (which equals
    bias_hh.grad, since both enter only through their sum).
    """
    where = "from_torch"
    cell = _torch_cell(where, module)
    lay = LAYOUTS[("torch", cell)]
    ours = LAYOUTS[("lstm_ref", cell)].gates

    def read(name):
        t = getattr(module, name)
        if grad:
            if t.grad is None:
                raise ValueError(f"{where}: {name}.grad is None; call loss.backward() before "
                                 f"reading gradients")
            t = t.grad
        return t.detach().cpu().numpy().copy()

    out = []
    for k in range(module.num_layers):
        layer = []
        for d in range(2 if module.bidirectional else 1):
            names = _torch_names(k, d)
            p = {"Wx": reorder_gates(read(names["weight_ih"]).T, lay.gates, ours),
                 "Wh": reorder_gates(read(names["weight_hh"]).T, lay.gates, ours)}
            H = p["Wh"].shape[0]
            zeros = np.zeros(len(ours) * H, dtype=p["Wx"].dtype)
            b_ih = read(names["bias_ih"]) if module.bias else zeros
            b_hh = read(names["bias_hh"]) if module.bias else zeros
            if cell == "gru":
                p["bx"] = reorder_gates(b_ih, lay.gates, ours)
                p["bh"] = reorder_gates(b_hh, lay.gates, ours)
            else:
                p["b"] = reorder_gates(b_ih if grad else b_ih + b_hh, lay.gates, ours)
            layer.append(p)
        out.append(layer)
    return out


# --------------------------------------------------------------------------- Keras

def _keras_directions(where, layer):
    """The unidirectional Keras RNN layers inside `layer`, as (cell kind, [directions])."""
    import keras
    rnn = layer
    dirs = [layer]
    if isinstance(layer, keras.layers.Bidirectional):
        dirs = [layer.forward_layer, layer.backward_layer]
        rnn = layer.forward_layer
    for cls, cell in ((keras.layers.LSTM, "lstm"), (keras.layers.GRU, "gru"), (keras.layers.SimpleRNN, "rnn")):
        if isinstance(rnn, cls):
            break
    else:
        raise TypeError(f"{where}: expected a keras LSTM, GRU or SimpleRNN layer (or Bidirectional of "
                        f"one), got {type(layer).__name__}")
    for d in dirs:
        act = d.cell.activation.__name__
        rec = getattr(d.cell, "recurrent_activation", None)
        if act != "tanh" or (rec is not None and rec.__name__ != "sigmoid"):
            raise ValueError(f"{where}: lstm_ref computes tanh/sigmoid; layer {d.name} has activation "
                             f"{act!r}" + (f" and recurrent_activation {rec.__name__!r}" if rec else ""))
    return cell, dirs


def _as_layers(layer):
    return list(layer) if isinstance(layer, (list, tuple)) else [layer]


def to_keras(layer, params):
    """Copy lstm_ref parameters into a Keras LSTM, GRU or SimpleRNN layer, a Bidirectional
    wrapper of one, or a list of such layers (a stack, params[k] going to layer k).
    An unbuilt layer is built for the input size D of params. Returns the layer.

    GRU: reset_after=True stores bias (2, 3H) = [bx; bh]; reset_after=False stores only
    bx + bh, which is exact because that variant adds both biases outside the reset gate.
    """
    where = "to_keras"
    layers = _as_layers(layer)
    kinds = [_keras_directions(where, l) for l in layers]
    cell = kinds[0][0]
    params = _nested(where, params, len(layers), len(kinds[0][1]), cell)
    lay, ours = LAYOUTS[("keras", cell)], LAYOUTS[("lstm_ref", cell)].gates
    for k, (l, (kind, dirs)) in enumerate(zip(layers, kinds)):
        if kind != cell or len(dirs) != len(params[k]):
            raise ValueError(f"{where}: every layer of a stack must be the same kind and direction count")
        if not l.built:
            l.build((None, None, params[k][0]["Wx"].shape[0]))
        for d, (rnn, p) in enumerate(zip(dirs, params[k])):
            c = rnn.cell
            values = {"kernel": reorder_gates(p["Wx"], ours, lay.gates),
                      "recurrent_kernel": reorder_gates(p["Wh"], ours, lay.gates)}
            if cell != "gru":
                values["bias"] = reorder_gates(p["b"], ours, lay.gates)
            elif c.reset_after:
                values["bias"] = np.stack([reorder_gates(p["bx"], ours, lay.gates),
                                           reorder_gates(p["bh"], ours, lay.gates)])
            else:
                values["bias"] = reorder_gates(p["bx"] + p["bh"], ours, lay.gates)
            for name, arr in values.items():
                var = getattr(c, name, None) if (name != "bias" or c.use_bias) else None
                if var is None:
                    if np.any(arr != 0):
                        raise ValueError(f"{where}: layer {rnn.name} has use_bias=False but "
                                         f"params[{k}][{d}] has non-zero biases")
                    continue
                _put(where, var.shape, arr, f"{rnn.name}.{name}")
                var.assign(arr.astype(var.dtype))
    return layer


def from_keras(layer, grads=None):
    """Read a Keras layer's parameters (see `to_keras` for which layers) as lstm_ref
    parameters, params[layer][direction].

    grads: None to read the weights, or the list that
    ``tape.gradient(loss, trainable_weights)`` returned for the trainable weights of the
    layer(s) in order, to read the gradients instead. GRU with reset_after=False: the
    weights give bx = bias and bh = 0; the gradients give dbx = dbh = d bias.
    """
    where = "from_keras"
    layers = _as_layers(layer)
    lookup = None
    if grads is not None:
        variables = [w for l in layers for w in l.trainable_weights]
        if len(grads) != len(variables):
            raise ValueError(f"{where}: grads has {len(grads)} entries, but the layer(s) have "
                             f"{len(variables)} trainable weights")
        lookup = {id(v): g for v, g in zip(variables, grads)}

    def read(var):
        if lookup is None:
            return np.array(var.numpy())
        if lookup[id(var)] is None:
            raise ValueError(f"{where}: the gradient of {var.path} is None; it did not affect the loss")
        return np.array(lookup[id(var)])

    out = []
    for l in layers:
        cell, dirs = _keras_directions(where, l)
        if not l.built:
            raise ValueError(f"{where}: layer {l.name} is not built yet; call it on an input first")
        lay, ours = LAYOUTS[("keras", cell)], LAYOUTS[("lstm_ref", cell)].gates
        entry = []
        for rnn in dirs:
            c = rnn.cell
            p = {"Wx": reorder_gates(read(c.kernel), lay.gates, ours),
                 "Wh": reorder_gates(read(c.recurrent_kernel), lay.gates, ours)}
            H = p["Wh"].shape[0]
            bias = read(c.bias) if c.use_bias else np.zeros((2, len(ours) * H) if cell == "gru" and c.reset_after
                                                            else len(ours) * H, p["Wx"].dtype)
            if cell != "gru":
                p["b"] = reorder_gates(bias, lay.gates, ours)
            elif c.reset_after:
                p["bx"] = reorder_gates(bias[0], lay.gates, ours)
                p["bh"] = reorder_gates(bias[1], lay.gates, ours)
            else:
                p["bx"] = reorder_gates(bias, lay.gates, ours)
                p["bh"] = p["bx"].copy() if lookup is not None else np.zeros_like(p["bx"])
            entry.append(p)
        out.append(entry)
    return out


# ----------------------------------------------------------- the map, as a table

def _gate_cell(lay):
    order = ", ".join(lay.gate_names)
    if lay.gate_names != lay.gates:
        order += f" (= {', '.join(lay.gates)} in the book's letters)"
    return order


def layout_table(cell="lstm"):
    """The cross-framework map of one cell kind, built from `LAYOUTS` and `CONVENTIONS`.

    cell: "lstm", "gru" or "rnn". Returns a list of rows, each a dict with the key
    "property" and one key per framework ("lstm_ref", "PyTorch", "Keras"), values str.
    Nothing in it is typed twice: change a fact in `LAYOUTS` or `CONVENTIONS` and the
    table, the converters and the tests follow.
    """
    if cell not in _PARAM_NAMES:
        raise ValueError(f"layout_table: cell must be one of {sorted(_PARAM_NAMES)}, got {cell!r}")
    lays = [LAYOUTS[(fw, cell)] for fw in _FRAMEWORK_ORDER]
    convs = [CONVENTIONS[fw] for fw in _FRAMEWORK_ORDER]
    rows = [
        ("gate blocks, in order", [_gate_cell(lay) for lay in lays]),
        ("input weights", [lay.input_weight for lay in lays]),
        ("recurrent weights", [lay.recurrent_weight for lay in lays]),
        ("product", [c.product for c in convs]),
        ("bias vectors", [f"{lay.bias_vectors}: {lay.bias}" for lay in lays]),
        ("default initialisers", [lay.init for lay in lays]),
    ]
    if cell == "lstm":
        rows += [
            ("forget-gate bias at start", [lay.forget_bias for lay in lays]),
            ("input", [c.input for c in convs]),
            ("returns", [f"{', '.join(c.returns)}, {c.returns_note}" for c in convs]),
            ("layers and directions", [c.stacking for c in convs]),
            ("fast GPU path", [c.fast_path for c in convs]),
        ]
    names = [c.framework for c in convs]
    return [{"property": label, **dict(zip(names, values))} for label, values in rows]


def markdown_table(rows):
    """A list of dicts with the same keys (e.g. from `layout_table`) as a Markdown pipe
    table, the keys as the header. Pipes and asterisks in values are escaped."""
    if not rows:
        raise ValueError("markdown_table: rows is empty")
    keys = list(rows[0])

    def cell(v):
        return str(v).replace("|", "\\|").replace("*", "\\*")
    lines = ["| " + " | ".join(cell(k) for k in keys) + " |",
             "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


# ------------------------------------------- the gate order, measured, not assumed

_PROBE_C0 = 0.8       # the cell state before the probed step
_PROBE_BIG = 30.0     # pre-activation that saturates a gate: sigma(30) = 1 - 9e-14


def _probe_expectations():
    """(c_1, h_1) after one step with zero weights, h0 = 0, c0 = _PROBE_C0 and one gate's
    pre-activation at +_PROBE_BIG, all others at 0 (sigmoid gates 1/2, candidate 0).
    The four outcomes differ, so (c_1, h_1) tells which gate was saturated."""
    out = {}
    for gate in LSTM_GATES:
        v = {"i": 0.5, "f": 0.5, "g": 0.0, "o": 0.5}
        v[gate] = 1.0
        c = v["f"] * _PROBE_C0 + v["i"] * v["g"]
        out[gate] = (c, v["o"] * np.tanh(c))
    return out


def _probe_step(framework, bias):
    """One LSTM step of `framework` with zero weights, bias `bias` (4,) in the framework's
    own block order (H = D = 1), h0 = 0 and c0 = _PROBE_C0. Returns (c_1, h_1) floats."""
    x = np.zeros((1, 1, 1))
    h0, c0 = np.zeros((1, 1)), np.full((1, 1), _PROBE_C0)
    if framework == "lstm_ref":
        from .sequence import lstm_forward
        zeros = np.zeros((1, len(bias)))
        _, (h1, c1), _ = lstm_forward(x, zeros, zeros, bias, h0=h0, c0=c0)
        return float(c1[0, 0]), float(h1[0, 0])
    if framework == "torch":
        import torch
        m = torch.nn.LSTM(1, 1, batch_first=True).double()
        with torch.no_grad():
            for w in m.parameters():
                w.zero_()
            m.bias_ih_l0.copy_(torch.from_numpy(bias))
            _, (h1, c1) = m(torch.from_numpy(x), (torch.from_numpy(h0[None]),
                                                   torch.from_numpy(c0[None])))
        return float(c1[0, 0, 0]), float(h1[0, 0, 0])
    if framework == "keras":
        import keras
        layer = keras.layers.LSTM(1, return_state=True, dtype="float64")
        layer.build((None, None, 1))
        layer.cell.kernel.assign(np.zeros((1, len(bias))))
        layer.cell.recurrent_kernel.assign(np.zeros((1, len(bias))))
        layer.cell.bias.assign(bias)
        _, h1, c1 = layer(x, initial_state=[h0, c0])
        return (float(keras.ops.convert_to_numpy(c1)[0, 0]),
                float(keras.ops.convert_to_numpy(h1)[0, 0]))
    raise ValueError(f"probe_gate_order: framework must be one of {list(_FRAMEWORK_ORDER)}, "
                     f"got {framework!r}")


def probe_gate_order(framework):
    """Which gate each of the four blocks of `framework`'s LSTM bias drives, measured.

    For block k, run one step of the framework's own layer with every weight zero and
    only block k of the bias large, and see what the step did to the cell state:
    kept it (forget gate), halved it and wrote nothing (input gate), wrote +1 into it
    (candidate), or passed it to h_1 unhalved (output gate). Uses nothing from
    `LAYOUTS`, so it can check them. framework: "lstm_ref", "torch" or "keras".
    Returns a tuple of four of the book's letters, e.g. ("i", "f", "g", "o").
    """
    expected = _probe_expectations()
    order = []
    for k in range(len(LSTM_GATES)):
        bias = np.zeros(len(LSTM_GATES))
        bias[k] = _PROBE_BIG
        got = np.array(_probe_step(framework, bias))
        gate, dist = min(((g, np.abs(got - np.array(e)).max()) for g, e in expected.items()),
                         key=lambda item: item[1])
        if dist > 1e-6:
            raise RuntimeError(f"probe_gate_order: block {k} of {framework} gave (c, h) = "
                               f"{tuple(got)}, which matches no LSTM gate")
        order.append(gate)
    return tuple(order)

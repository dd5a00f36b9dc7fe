"""LSTM variants for a gate ablation in the spirit of Greff et al. (2017), "LSTM: A Search
Space Odyssey": forward and backward over whole sequences, in the course's notation.

Every variant changes one thing in the LSTM of `lstm_ref.cells.lstm_step_forward`:

    a_t = x_t @ Wx + h_{t-1} @ Wh + b                     (B, 4H), blocks i, f, g, o
    i_t = sigmoid(a_i)   f_t = sigmoid(a_f)   g_t = tanh(a_g)   o_t = sigmoid(a_o)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

    "vanilla"   the equations above: the same numbers as `lstm_ref.lstm_forward`
    "NIG"       no input gate:           i_t = 1
    "NFG"       no forget gate:          f_t = 1   (the cell only adds: the 1997 LSTM)
    "NOG"       no output gate:          o_t = 1
    "NOAF"      no output activation:    h_t = o_t * c_t
    "CIFG"      coupled input and forget gate:  i_t = 1 - f_t
    "peephole"  the gates also see the cell (Gers & Schmidhuber 2000; Gers et al. 2002):
                    a_i += c_{t-1} * p_i,   a_f += c_{t-1} * p_f,   a_o += c_t * p_o
                with p_i, p_f, p_o of shape (H,): one weight per cell ("diagonal"),
                and o_t reads the new cell c_t, since it is computed after c_t.

Names follow Greff et al., with one difference to keep in mind: their "vanilla" LSTM has
peepholes and their "NP" variant removes them. Here "vanilla" is the course's (and
PyTorch's and Keras') LSTM without peepholes, which is their NP, and "peephole" is their
vanilla.

All variants keep the parameter layout of `lstm_ref.init_lstm`: Wx (D, 4H), Wh (H, 4H),
b (4H,), gate blocks where `lstm_ref.gates` puts them. A variant that does not use a block
(the i block in NIG and CIFG, f in NFG, o in NOG) simply leaves it unused: those columns
get a gradient of exactly zero, and Adam then never moves them. "peephole" adds the keys
p_i, p_f, p_o. So every variant starts from the same weights as the vanilla LSTM, and an
ablation compares architectures, not initialisations.

This is the readable version, in the style of `lstm_ref.cells`: one loop over time that
follows the equations line by line, one gate at a time, with every matrix product inside the
loop and the weight gradients summed step by step (`lstm_ref.sequence` instead hoists the
products that do not depend on the previous step out of the loop, which pays off for large
layers). At the small sizes of a gate ablation the per-step products are too small for BLAS
to run them on several threads, which keeps this code's speed steady on a busy machine.
"""
import numpy as np

from .checks import check_arrays
from .gates import LSTM_GATES, gate_slices
from .init import init_lstm
from .train import Regressor

VARIANTS = ("vanilla", "NIG", "NFG", "NOG", "NOAF", "CIFG", "peephole")
PEEPHOLES = ("p_i", "p_f", "p_o")

# What each variant switches off (or on). Everything else is the vanilla LSTM.
_SPECS = {
    "vanilla": {},
    "NIG": {"input_gate": False},
    "NFG": {"forget_gate": False},
    "NOG": {"output_gate": False},
    "NOAF": {"output_activation": False},
    "CIFG": {"coupled": True},
    "peephole": {"peepholes": True},
}
_DEFAULTS = {"input_gate": True, "forget_gate": True, "output_gate": True,
             "output_activation": True, "coupled": False, "peepholes": False}


def _sigmoid(a):
    """1 / (1 + exp(-a)), a new array. exp(-a) overflows to inf where a is very negative
    (a < -88 in float32), and 1 / (1 + inf) = 0 is then the right value, so callers run it
    under np.errstate(over="ignore"). (`lstm_ref.sigmoid` avoids the overflow instead, at
    three times the cost, which matters in a loop over time.)"""
    return 1 / (1 + np.exp(-a))


def _spec(where, variant):
    if variant not in _SPECS:
        raise ValueError(f"{where}: variant must be one of {VARIANTS}, got {variant!r}")
    return {**_DEFAULTS, **_SPECS[variant]}


def init_peepholes(H, seed=None, dtype=np.float64, scale=0.0):
    """Peephole weights p_i, p_f, p_o, each of shape (H,).

    The default is zero, so that a peephole LSTM starts as exactly the LSTM without
    peepholes and has to learn to use its cell's value; scale > 0 draws them from
    U(-scale, scale) instead (useful for gradient checks, where zeros would hide bugs).
    Returns: dict with keys p_i, p_f, p_o.
    """
    if not isinstance(H, (int, np.integer)) or H < 1:
        raise ValueError(f"init_peepholes: H must be a positive integer, got {H!r}")
    if scale == 0:
        return {k: np.zeros(H, dtype) for k in PEEPHOLES}
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return {k: rng.uniform(-scale, scale, size=H).astype(dtype) for k in PEEPHOLES}


def init_lstm_variant(variant, D, H, seed=None, dtype=np.float64, forget_bias=1.0):
    """Parameters of an LSTM variant: those of `lstm_ref.init_lstm` (the same numbers for
    the same seed), plus zero peepholes p_i, p_f, p_o (H,) for "peephole".

    forget_bias is set for every variant: NFG never reads the f block, and CIFG reads it
    for both gates, so that its i = 1 - f starts near 1 - sigmoid(1) = 0.27.
    """
    spec = _spec("init_lstm_variant", variant)
    params = init_lstm(D, H, seed=seed, dtype=dtype, forget_bias=forget_bias)
    if spec["peepholes"]:
        params.update(init_peepholes(H, dtype=dtype))
    return params


def lstm_variant_forward(x, Wx, Wh, b, h0=None, c0=None, p_i=None, p_f=None, p_o=None,
                         variant="vanilla"):
    """Run one LSTM variant over a sequence (equations in the module docstring).

    Inputs:
    - x: (B, T, D) inputs.
    - Wx (D, 4H), Wh (H, 4H), b (4H,): as for `lstm_ref.lstm_forward`, gate blocks i, f, g, o.
    - h0, c0: (B, H) initial states, or None for zeros.
    - p_i, p_f, p_o: (H,) peephole weights; required for "peephole", refused otherwise
      (a variant that silently ignored them would make an ablation lie).
    - variant: one of `VARIANTS`.

    Returns:
    - h: (B, T, H), the hidden state of every step.
    - (h_T, c_T): the final states, each (B, H).
    - cache: a dict for `lstm_variant_backward`. Its entries "i", "f", "g", "o", each
      (T, B, H), are the gate values of every step (ones where the variant removes a gate),
      and "c" (T + 1, B, H) the cell states c_0 ... c_T, for a reader who wants to look.
    """
    where = "lstm_variant_forward"
    spec = _spec(where, variant)
    peep = {"p_i": p_i, "p_f": p_f, "p_o": p_o}
    given = [k for k, v in peep.items() if v is not None]
    if spec["peepholes"] and len(given) < 3:
        missing = [k for k in PEEPHOLES if k not in given]
        raise ValueError(f"{where}: variant 'peephole' needs p_i, p_f and p_o, each (H,); "
                         f"missing {missing} (see init_lstm_variant)")
    if not spec["peepholes"] and given:
        raise ValueError(f"{where}: variant {variant!r} has no peepholes, but {given} were "
                         f"given; use variant='peephole' or drop them")
    sz, dtype = check_arrays(where, ("Wh", Wh, ("H", "4H")), ("Wx", Wx, ("D", "4H")),
                             ("b", b, ("4H",)), *((k, v, ("H",)) for k, v in peep.items()),
                             ("x", x, ("B", "T", "D")), ("h0", h0, ("B", "H")),
                             ("c0", c0, ("B", "H")))
    B, T, D, H = sz["B"], sz["T"], sz["D"], sz["H"]
    s = gate_slices(LSTM_GATES, H)
    x_tm = x.transpose(1, 0, 2).copy()                       # (T, B, D): step t is one block
    hs = np.empty((T + 1, B, H), dtype)                      # hs[t + 1] = h_t, hs[0] = h0
    cs = np.empty((T + 1, B, H), dtype)                      # cs[t + 1] = c_t, cs[0] = c0
    hs[0] = np.zeros((B, H), dtype) if h0 is None else h0
    cs[0] = np.zeros((B, H), dtype) if c0 is None else c0
    gates = {name: np.ones((T, B, H), dtype) for name in LSTM_GATES}   # 1 = gate removed
    squashed = np.empty((T, B, H), dtype)                    # tanh(c_t), or c_t for NOAF
    with np.errstate(over="ignore"):                         # see _sigmoid
        for t in range(T):
            c_prev = cs[t]
            a = x_tm[t] @ Wx + hs[t] @ Wh + b                # (B, 4H), every gate at once
            a_i, a_f, a_o = a[:, s["i"]], a[:, s["f"]], a[:, s["o"]]
            if spec["peepholes"]:                            # i and f peek at c_{t-1}
                a_i = a_i + c_prev * p_i
                a_f = a_f + c_prev * p_f
            f = gates["f"][t]
            if spec["forget_gate"]:
                f[:] = _sigmoid(a_f)
            i = gates["i"][t]
            if spec["coupled"]:
                i[:] = 1 - f                                 # write exactly what is forgotten
            elif spec["input_gate"]:
                i[:] = _sigmoid(a_i)
            g = gates["g"][t]
            g[:] = np.tanh(a[:, s["g"]])
            cs[t + 1] = f * c_prev + i * g                   # additive: erase, then write
            if spec["peepholes"]:                            # o peeks at the new c_t
                a_o = a_o + cs[t + 1] * p_o
            o = gates["o"][t]
            if spec["output_gate"]:
                o[:] = _sigmoid(a_o)
            squashed[t] = np.tanh(cs[t + 1]) if spec["output_activation"] else cs[t + 1]
            hs[t + 1] = o * squashed[t]                      # read
    cache = {"variant": variant, "spec": spec, "x": x_tm, "Wx": Wx, "Wh": Wh, "peep": peep,
             "h": hs, "c": cs, "squashed": squashed, **gates}
    h = hs[1:].transpose(1, 0, 2).copy()
    return h, (hs[T].copy(), cs[T].copy()), cache


def lstm_variant_backward(dh, cache, dh_T=None, dc_T=None):
    """Backward pass of `lstm_variant_forward` (the variant is read from the cache).

    Inputs: dh (B, T, H), gradient of the loss with respect to every h_t; cache;
    dh_T and dc_T (B, H) or None: gradients with respect to the final states.
    Returns: dict with x (B, T, D), h0 (B, H), c0 (B, H), Wx (D, 4H), Wh (H, 4H), b (4H,),
    and for "peephole" also p_i, p_f, p_o (H,). Columns of a gate that the variant does
    not use get exactly zero.
    """
    spec, x_tm, Wx, Wh = cache["spec"], cache["x"], cache["Wx"], cache["Wh"]
    hs, cs, squashed, peep = cache["h"], cache["c"], cache["squashed"], cache["peep"]
    T, B, D = x_tm.shape
    H = Wh.shape[0]
    check_arrays("lstm_variant_backward", ("dh", dh, (B, T, H)), ("dh_T", dh_T, (B, H)),
                 ("dc_T", dc_T, (B, H)), ("Wx (in cache)", Wx, (D, 4 * H)))
    s = gate_slices(LSTM_GATES, H)
    dtype = dh.dtype
    dh_tm = dh.transpose(1, 0, 2)
    grads = {"x": np.empty((T, B, D), dtype), "Wx": np.zeros_like(Wx), "Wh": np.zeros_like(Wh),
             "b": np.zeros(4 * H, dtype)}
    dpeep = {k: np.zeros(H, dtype) for k in PEEPHOLES}
    dh_next = np.zeros((B, H), dtype) if dh_T is None else dh_T.copy()
    dc = np.zeros((B, H), dtype) if dc_T is None else dc_T.copy()   # d loss / d c_t, from t+1
    for t in reversed(range(T)):
        i, f, g, o = (cache[name][t] for name in LSTM_GATES)
        c_prev, c, sq = cs[t], cs[t + 1], squashed[t]
        da = np.zeros((B, 4 * H), dtype)                     # d loss / d a_t; 0 = unused block
        dh_t = dh_next + dh_tm[t]                            # from the loss and from step t+1
        # h_t = o * squash(c_t): c_t gets gradient through h_t as well as from the future.
        dsq = dh_t * o
        dc = dc + (dsq * (1 - sq**2) if spec["output_activation"] else dsq)
        if spec["output_gate"]:
            da[:, s["o"]] = dh_t * sq * o * (1 - o)          # sigmoid' = o (1 - o)
            if spec["peepholes"]:                            # a_o read c_t through p_o
                dc += da[:, s["o"]] * peep["p_o"]
                dpeep["p_o"] += np.sum(da[:, s["o"]] * c, axis=0)
        # c_t = f * c_{t-1} + i * g
        di, df, dg = dc * g, dc * c_prev, dc * i
        dc_prev = dc * f                                     # the cell path: no matrix at all
        if spec["coupled"]:
            df = df - di                                     # i = 1 - f: f also pays for i
        elif spec["input_gate"]:
            da[:, s["i"]] = di * i * (1 - i)
        if spec["forget_gate"]:
            da[:, s["f"]] = df * f * (1 - f)
        da[:, s["g"]] = dg * (1 - g**2)                      # tanh' = 1 - g^2
        if spec["peepholes"]:                                # a_i and a_f read c_{t-1}
            dc_prev += da[:, s["i"]] * peep["p_i"] + da[:, s["f"]] * peep["p_f"]
            dpeep["p_i"] += np.sum(da[:, s["i"]] * c_prev, axis=0)
            dpeep["p_f"] += np.sum(da[:, s["f"]] * c_prev, axis=0)
        # a_t = x_t @ Wx + h_{t-1} @ Wh + b: the weights are shared by every step, so their
        # gradients are sums over the steps.
        grads["x"][t] = da @ Wx.T
        grads["Wx"] += x_tm[t].T @ da
        grads["Wh"] += hs[t].T @ da
        grads["b"] += da.sum(axis=0)
        dh_next = da @ Wh.T
        dc = dc_prev
    grads["x"] = grads["x"].transpose(1, 0, 2).copy()       # back to (B, T, D)
    grads["h0"], grads["c0"] = dh_next, dc
    if spec["peepholes"]:
        grads.update(dpeep)
    return grads


def variant_functions(variant):
    """(forward, backward) of one variant, with the calling convention of the functions in
    `lstm_ref.sequence`: forward(x, **params) -> (h, (h_T, c_T), cache) and
    backward(dh, cache) -> dict of gradients. This is what `lstm_ref.train.Regressor` calls.
    """
    _spec("variant_functions", variant)

    def forward(x, **params):
        return lstm_variant_forward(x, **params, variant=variant)

    forward.__name__ = f"lstm_variant_forward[{variant}]"
    return forward, lstm_variant_backward


class VariantRegressor(Regressor):
    """`lstm_ref.train.Regressor` with an LSTM variant as its cell; train it with `fit`.

        model = VariantRegressor("CIFG", D=2, H=16, seed=0, dtype=np.float32)
        history = fit(model, batch, steps=500)

    The initial weights are those of Regressor("lstm", D, H, seed, dtype, forget_bias=...)
    (same seed, same numbers; "peephole" adds zero peepholes), so that variants trained
    with the same seed differ only in their architecture.
    """

    def __init__(self, variant, D, H, seed=None, dtype=np.float64, forget_bias=1.0):
        spec = _spec("VariantRegressor", variant)
        super().__init__("lstm", D, H, seed=seed, dtype=dtype, forget_bias=forget_bias)
        if spec["peepholes"]:
            self.params.update(init_peepholes(H, dtype=dtype))
        self._forward, self._backward = variant_functions(variant)
        self.cell = variant          # the name `fit` prints
        self.variant = variant

"""Checks of exercise 05: an LSTM module in PyTorch, weights to and from PyTorch's own nn.LSTM,
and the module's training on the adding problem.
"""
from contextlib import contextmanager

import numpy as np

from .. import sequence
from .core import (drawn, GradingError, SHAPE_HINTS, _as_array, _case, _check_finite, _check_shape,
                   _explain, _outputs, _params, _same, check_array, check_gate_blocks, run_student,
                   sequence_cases)
from .backprop import LSTM_SEQUENCE_ARGS
from .lstm_cell import _lstm_mistakes, _lstm_step

# ------------------------------------------------------------ exercise 05: PyTorch
#
# The student's LSTM is a torch.nn.Module with its own parameters, stepping through time in
# a Python loop: with torch operations on its own weights, or with nn.LSTMCell one step at a
# time. torch.nn.LSTM (and the fused kernel torch.lstm that it runs) would do the whole
# recurrence for them, so a module that contains or calls it earns no points.

def _torch():
    import torch
    return torch


FUSED_RECURRENCES = ("lstm", "gru", "rnn_tanh", "rnn_relu")     # what nn.LSTM/GRU/RNN run
# The adding problem (lstm_ref.tasks, variant le2015) that exercise 05's model is trained on,
# and the held-out set on which the check measures it. A model that carries only one of the
# two marked values gets MSE Var(X1) = 1/12, half the baseline; so the bar is well below that.
ADDING_T = 30
ADDING_MARGIN = 0.1
ADDING_TEST_SEED = 7
ADDING_TEST_SIZE = 1000
# A model whose skill comes from its LSTM loses it when the LSTM's trained parameters are
# shuffled: its MSE must then be at least this times the baseline (a model that computes
# the sum without its LSTM stays near 0).
ADDING_ABLATED = 0.5
# What exercise 05 may use from lstm_ref outside the LSTM's forward: the task, its baseline,
# and the course's initial weights.
ADDING_ALLOWED = ("adding_problem", "adding_baseline_mse", "init_lstm")

_NO_FUSED = ("This exercise asks you to write the loop over time yourself (with your own "
             "parameters, or nn.LSTMCell one step at a time), so a module built on nn.LSTM "
             "earns no points for it.")


@contextmanager
def _watch_fused_recurrence():
    """Record the calls of PyTorch's fused recurrences (torch.lstm, which nn.LSTM runs, and
    those of nn.GRU and nn.RNN) while the block runs; nn.LSTMCell's lstm_cell is not one."""
    from torch.overrides import TorchFunctionMode

    class Watch(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.calls = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            if name in FUSED_RECURRENCES:
                self.calls.append(f"torch.{name}")
            return func(*args, **(kwargs or {}))
    with Watch() as watch:
        yield watch.calls


def _no_framework_recurrence(name, module):
    """Refuse a module that contains torch.nn.LSTM (or GRU or RNN)."""
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise GradingError(f"{name}: expected a torch.nn.Module, got {type(module).__name__}")
    found = [f"{path or 'the module itself'} ({type(m).__name__})" for path, m in module.named_modules()
             if isinstance(m, torch.nn.RNNBase)]
    if found:
        raise GradingError(f"{name} contains {', '.join(found)}: torch.nn.LSTM runs the whole recurrence "
                           f"in one call. {_NO_FUSED}")


def _run_module(name, module, *args):
    """Call a student's module (its forward), refusing lstm_ref and the fused recurrences."""
    with _watch_fused_recurrence() as fused:
        result = run_student(name, module, *args)
    if fused:
        raise GradingError(f"{name} calls {', '.join(dict.fromkeys(fused))}, the fused recurrence that "
                           f"torch.nn.LSTM runs. {_NO_FUSED}")
    return result


def _numpy(what, value):
    """A tensor (or array) as a NumPy array, or a GradingError that says what came instead."""
    torch = _torch()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return _as_array(what, value)


def _tensor(a):
    return None if a is None else _torch().from_numpy(np.ascontiguousarray(a))


def torch_lstm_cases():
    """(label, dict with x (B, T, D), Wx, Wh, b, h0, c0) in float32: the sequence cases
    (initial states given) and one that starts from zeros (h0 = c0 = None)."""
    for label, case in sequence_cases(4):
        yield label, {k: v.astype(np.float32) for k, v in case.items() if k in LSTM_SEQUENCE_ARGS}
    rng = np.random.default_rng(drawn(240))
    B, T, D, H = 2, 6, 3, 5
    case = {"x": rng.standard_normal((B, T, D)), **_params(rng, D, H, 4)}
    yield (f"a random case without initial states (seed {drawn(240)}, B={B}, T={T}, D={D}, H={H}; h0 = c0 = None, "
           f"so both start at zero)", {**{k: v.astype(np.float32) for k, v in case.items()}, "h0": None, "c0": None})


def _lstm_states(x, Wx, Wh, b, h0, c0, **options):
    """Every h and the final c of _lstm_step (a known mistake switched on), in float64."""
    B, H = x.shape[0], Wh.shape[0]
    h = np.zeros((B, H)) if h0 is None else h0.astype(float)
    c = np.zeros((B, H)) if c0 is None else c0.astype(float)
    states = []
    for t in range(x.shape[1]):
        h, c = _lstm_step(x[:, t].astype(float), h, c, Wx.astype(float), Wh.astype(float), b.astype(float),
                          **options)
        states.append(h)
    return np.stack(states, axis=1), c


def _torch_lstm_mistakes(case):
    for cause, options in _lstm_mistakes():
        yield cause, lambda options=options: (_lstm_states(**case, **options)[0],)
    yield ("the bias is counted twice: nn.LSTMCell adds bias_ih and bias_hh, so put b into one of them "
           "and zeros into the other", lambda: (_lstm_states(**{**case, "b": 2 * case["b"]})[0],))
    if case["h0"] is not None:
        yield ("h0 and c0 are not used: the first step must start from the initial states given",
               lambda: (_lstm_states(**{**case, "h0": None, "c0": None})[0],))


def _torch_layout_hint(err):
    """Add the layouts to an error raised while loading weights (a size mismatch)."""
    from ..convert import LAYOUTS
    lay = LAYOUTS[("torch", "lstm")]
    return GradingError(f"{err}\nYour parameters in the course's layout hold Wx (D, 4H), Wh (H, 4H) and b "
                        f"(4H,) as they are; nn.LSTM and nn.LSTMCell store weight_ih (4H, D) = Wx.T, weight_hh (4H, H) = "
                        f"Wh.T and two biases whose sum is b ({lay.bias.replace('_l{k}', '')}), gate order "
                        f"{', '.join(lay.gates)}.")


def _loaded_torch_lstm(LSTM, D, H, p):
    """The student's LSTM(D, H), loaded with p through its load method."""
    module = run_student("LSTM(input_size, hidden_size)", LSTM, D, H, allowed=ADDING_ALLOWED)
    _no_framework_recurrence("your LSTM", module)
    if not callable(getattr(module, "load", None)):
        raise GradingError("your LSTM has no method load(Wx, Wh, b): write it, so that the check can give "
                           "your module the weights that lstm_ref uses.")
    try:
        with _torch().no_grad():
            run_student("LSTM.load", module.load, p["Wx"].copy(), p["Wh"].copy(), p["b"].copy())
    except GradingError as err:
        if isinstance(err.__cause__, RuntimeError):
            raise _torch_layout_hint(err) from err.__cause__
        raise
    return module


def _torch_forward(module, case):
    args = [_tensor(case["x"])] + ([_tensor(case["h0"]), _tensor(case["c0"])] if case["h0"] is not None else [])
    result = _run_module("LSTM.forward", module, *args)
    h, final = _outputs("LSTM.forward", result, 2, ("h", "(h_T, c_T)"))
    h_T, c_T = _outputs("LSTM.forward's final states", final, 2, ("h_T", "c_T"))
    return h, h_T, c_T


def _check_torch_lstm_case(LSTM, case):
    D, H = case["Wx"].shape[0], case["Wh"].shape[0]
    module = _loaded_torch_lstm(LSTM, D, H, case)
    h, h_T, c_T = (_numpy(what, v) for what, v in zip(("h", "h_T", "c_T"), _torch_forward(module, case)))
    h_ref, (hT_ref, cT_ref), _ = sequence.lstm_forward(**case)

    def compare():
        check_array("h (every hidden state)", h, h_ref, hint=SHAPE_HINTS["h"])
        check_array("h_T (final hidden state)", h_T, hT_ref)
        check_array("c_T (final cell state)", c_T, cT_ref)
    _explain(compare, (h,), _torch_lstm_mistakes(case), rtol=1e-4, atol=1e-5)


def check_torch_lstm(LSTM):
    """LSTM(input_size, hidden_size), a torch.nn.Module with load(Wx, Wh, b) taking the
    course's float32 weights and forward(x, h0=None, c0=None) -> (h, (h_T, c_T)): x (B, T, D),
    h0 and c0 (B, H) or None for zeros, h (B, T, H). Compared with lstm_ref.lstm_forward at the
    float32 tolerances, on sequences with and without initial states; torch.nn.LSTM refused."""
    for label, case in torch_lstm_cases():
        _case("your LSTM", label, lambda case=case: _check_torch_lstm_case(LSTM, case))


def check_torch_lstm_parameters(LSTM):
    """The module trains: its parameters are registered (4H(D + H + 1) numbers, or
    4H(D + H + 2) with nn.LSTMCell's two biases), every one of them receives a gradient, and
    autograd's gradients for the input and the initial states equal lstm_ref.lstm_backward's."""
    torch = _torch()
    label, case = list(torch_lstm_cases())[0]
    D, H = case["Wx"].shape[0], case["Wh"].shape[0]

    def body():
        module = _loaded_torch_lstm(LSTM, D, H, case)
        named = [(n, tuple(p.shape)) for n, p in module.named_parameters()]
        count = sum(int(np.prod(shape)) for _, shape in named)
        own, cell = 4 * H * (D + H + 1), 4 * H * (D + H + 2)
        if count not in (own, cell):
            listed = ", ".join(f"{n} {s}" for n, s in named) or "none"
            raise GradingError(
                f"your LSTM(D={D}, H={H}) has {count} trainable numbers (parameters: {listed}); an LSTM has "
                f"4H(D + H + 1) = {own}: Wx (D, 4H), Wh (H, 4H) and b (4H,) (or {cell} with nn.LSTMCell's two "
                f"biases). Weights must be torch.nn.Parameter attributes of the module (or of a submodule), "
                f"or the optimizer never sees them.")
        x, h0, c0 = (_tensor(case[k]).clone().requires_grad_() for k in ("x", "h0", "c0"))
        result = _run_module("LSTM.forward", module, x, h0, c0)
        h, final = _outputs("LSTM.forward", result, 2, ("h", "(h_T, c_T)"))
        _, c_T = _outputs("LSTM.forward's final states", final, 2, ("h_T", "c_T"))
        if not (isinstance(h, torch.Tensor) and h.requires_grad):
            raise GradingError("the h that your forward returns is not connected to the parameters (it does not "
                               "require a gradient): a forward that goes through NumPy, .detach() or "
                               "torch.no_grad() cuts autograd's graph, and nothing can be trained.")
        rng = np.random.default_rng(drawn(250))
        dh, dc = rng.standard_normal(h.shape).astype(np.float32), rng.standard_normal(c_T.shape).astype(np.float32)
        (h * _tensor(dh)).sum().add((c_T * _tensor(dc)).sum()).backward()
        missing = [n for n, p in module.named_parameters() if p.grad is None]
        if missing:
            raise GradingError(f"the parameters {', '.join(missing)} receive no gradient: forward does not use "
                               f"them, so training would never change them.")
        _, _, cache = sequence.lstm_forward(**case)
        ref = sequence.lstm_backward(dh, cache, dc_T=dc)
        for what, t, key in (("dx, the gradient with respect to x", x, "x"), ("dh0", h0, "h0"), ("dc0", c0, "c0")):
            if t.grad is None:
                raise GradingError(f"{what} is None: your forward does not use {key}.")
            check_array(f"autograd's {what}", t.grad.numpy(), ref[key])
    _case("your LSTM", label, body)


# ------------------------------------------- PyTorch's own nn.LSTM, and its layout

_TORCH_NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _torch_nn_lstm(D, H, fill=None):
    """A torch.nn.LSTM(D, H, batch_first=True), its parameters set to fill if given."""
    torch = _torch()
    module = torch.nn.LSTM(D, H, batch_first=True)
    if fill is not None:
        with torch.no_grad():
            for p in module.parameters():
                p.fill_(fill)
    return module


def _torch_parameters(module):
    return {name: getattr(module, name).detach().numpy().copy() for name in _TORCH_NAMES}


def _check_to_torch_case(to_torch_lstm, case):
    torch = _torch()
    D, H = case["Wx"].shape[0], case["Wh"].shape[0]
    module = _torch_nn_lstm(D, H, fill=0.0)
    tensors = {name: getattr(module, name) for name in _TORCH_NAMES}
    try:
        with torch.no_grad():
            run_student("to_torch_lstm", to_torch_lstm, module, *(case[k].copy() for k in ("Wx", "Wh", "b")),
                        allowed=ADDING_ALLOWED)
    except GradingError as err:
        if isinstance(err.__cause__, RuntimeError):
            raise _torch_layout_hint(err) from err.__cause__
        raise
    replaced = [name for name, t in tensors.items() if getattr(module, name) is not t]
    if replaced:
        raise GradingError(f"to_torch_lstm replaced the parameter{'s' if len(replaced) > 1 else ''} "
                           f"{', '.join(replaced)} with new ones: an optimiser made before the call would "
                           f"still train the old tensors. Copy into them in place, inside torch.no_grad(): "
                           f"lstm.weight_ih_l0.copy_(...).")
    got = _torch_parameters(module)
    for name, want, arg in (("weight_ih_l0", case["Wx"].T, "Wx.T"), ("weight_hh_l0", case["Wh"].T, "Wh.T")):
        if got[name].shape == want.T.shape and got[name].shape != want.shape:
            raise GradingError(f"nn.LSTM's {name} has shape {got[name].shape}, the course's layout: PyTorch "
                               f"computes W x with column vectors, so {name} is {arg}, "
                               f"({want.shape[0]}, {want.shape[1]}).")
        check_gate_blocks(f"nn.LSTM's {name}, which should hold {arg}", got[name].T, want.T,
                          every=" Every block differs: is it the other weight, or not transposed?")
    bias = got["bias_ih_l0"] + got["bias_hh_l0"]
    if np.allclose(bias, 2 * case["b"], rtol=1e-6, atol=1e-6) and np.abs(case["b"]).max() > 0:
        raise GradingError("bias_ih_l0 + bias_hh_l0 is 2b: nn.LSTM adds both biases, so put b into one "
                           "of them and zeros into the other (only their sum acts).")
    check_gate_blocks("nn.LSTM's bias_ih_l0 + bias_hh_l0, which should add up to b", bias, case["b"])
    x = _tensor(case["x"])
    args = (x,) if case["h0"] is None else (x, (_tensor(case["h0"])[None], _tensor(case["c0"])[None]))
    with torch.no_grad():
        out, (h_T, c_T) = module(*args)
    h_ref, (_, cT_ref), _ = sequence.lstm_forward(**case)
    check_array("nn.LSTM's output (every step's h) after loading", out.numpy(), h_ref)
    check_array("nn.LSTM's final cell state c_T after loading", c_T[0].numpy(), cT_ref)


def check_to_torch_lstm(to_torch_lstm):
    """to_torch_lstm(lstm, Wx, Wh, b) writes the course's weights into torch.nn.LSTM(D, H,
    batch_first=True), in place: weight_ih_l0 = Wx.T (4H, D), weight_hh_l0 = Wh.T (4H, H),
    bias_ih_l0 + bias_hh_l0 = b, gate order i, f, g, o; the module's outputs then equal
    lstm_ref.lstm_forward's (float32)."""
    for label, case in torch_lstm_cases():
        _case("to_torch_lstm", label, lambda case=case: _check_to_torch_case(to_torch_lstm, case))


def _check_from_torch_case(from_torch_lstm, case):
    from ..convert import to_torch
    D, H = case["Wx"].shape[0], case["Wh"].shape[0]
    module = _torch_nn_lstm(D, H)
    torch = _torch()
    with torch.no_grad():                      # b split unevenly: the sum is what counts
        to_torch(module, {k: case[k] for k in ("Wx", "Wh", "b")})
        module.bias_hh_l0.copy_(_tensor(case["b"][::-1].copy()))
        module.bias_ih_l0.copy_(_tensor(case["b"] - case["b"][::-1]))
    stored = _torch_parameters(module)
    result = run_student("from_torch_lstm", from_torch_lstm, module, allowed=ADDING_ALLOWED)
    raw = _outputs("from_torch_lstm", result, 3, ("Wx", "Wh", "b"))
    for name, value in zip(("Wx", "Wh", "b"), raw):
        if not isinstance(value, np.ndarray):
            raise GradingError(f"from_torch_lstm returned {name} as a {type(value).__name__}; return NumPy "
                               f"arrays of their own, e.g. lstm.weight_ih_l0.detach().numpy().T.copy().")
    got = [_numpy(name, v) for name, v in zip(("Wx", "Wh", "b"), raw)]
    want = (stored["weight_ih_l0"].T, stored["weight_hh_l0"].T, stored["bias_ih_l0"] + stored["bias_hh_l0"])
    hints = {"Wx": "Wx is weight_ih_l0 transposed: (D, 4H).", "Wh": "Wh is weight_hh_l0 transposed: (H, 4H).",
             "b": "b is bias_ih_l0 + bias_hh_l0, (4H,)."}
    for name, value, w in zip(("Wx", "Wh", "b"), got, want):
        _check_shape(name, value, w, hints[name])
        if name == "b" and _same((value,), (stored["bias_ih_l0"],)):
            raise GradingError("b holds bias_ih_l0 only: nn.LSTM adds bias_hh_l0 too, so b is their sum.")
        check_gate_blocks(name, value, w)
    now = _torch_parameters(module)
    if any(not np.array_equal(now[k], stored[k]) for k in _TORCH_NAMES):
        raise GradingError("from_torch_lstm changed the module's parameters: reading must leave it as it was.")
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
    for name, value, w in zip(("Wx", "Wh", "b"), raw, want):
        if not np.array_equal(value, w):
            raise GradingError(f"the {name} that from_torch_lstm returned changed when the module's parameters "
                               f"were set to zero afterwards: it shares memory with the module. Return copies "
                               f"(.detach().numpy().copy()).")


def check_from_torch_lstm(from_torch_lstm):
    """from_torch_lstm(lstm) -> (Wx (D, 4H), Wh (H, 4H), b (4H,)): a torch.nn.LSTM's weights in
    the course's layout, as NumPy arrays of their own (b = bias_ih_l0 + bias_hh_l0); the module
    is left unchanged."""
    for label, case in torch_lstm_cases():
        _case("from_torch_lstm", label, lambda case=case: _check_from_torch_case(from_torch_lstm, case))


def check_torch_layout(to_torch_lstm, from_torch_lstm):
    """Both conversions: what the hidden test of exercise 05 runs, on cases drawn for it."""
    check_to_torch_lstm(to_torch_lstm)
    check_from_torch_lstm(from_torch_lstm)


def check_adding_training(train_adding_model, LSTM):
    """Run the student's train_adding_model() -> model once (their training, with their
    batches), and measure the model it returns with check_adding_model on held-out sequences
    that the training function never sees. The check trains nothing of its own. Returns the
    model."""
    model = run_student("train_adding_model", train_adding_model, allowed=ADDING_ALLOWED)
    check_adding_model(model, LSTM)
    return model


def _adding_mse(model, x, y):
    """The MSE of model's predictions for x (a float32 array) against y, checked."""
    torch = _torch()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            pred = _numpy("your model's predictions", _run_module("your model", model, _tensor(x)))
    finally:
        model.train(was_training)
    _check_shape("your model's predictions", pred, y, f"One prediction per sequence: ({len(y)}, 1), like y.")
    _check_finite("your model's predictions", pred)
    return float(np.mean((pred - y) ** 2))


def _shuffled_lstms(model, LSTM, seed):
    """A copy of model in which the parameters of every LSTM submodule (an instance of the
    student's class LSTM) hold their own values in a random order: the same sizes of
    weights, none of what training put where."""
    import copy
    torch = _torch()
    ablated = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in ablated.modules():
            if isinstance(module, LSTM):
                for p in module.parameters():
                    p.copy_(p.flatten()[torch.randperm(p.numel(), generator=generator)].reshape(p.shape))
    return ablated


def check_adding_model(model, LSTM):
    """A trained model (x (N, ADDING_T, 2) float32 tensor -> (N, 1)) built on the student's
    LSTM (the class LSTM, checked by check_torch_lstm), measured on ADDING_TEST_SIZE
    held-out sequences of the adding problem that the check draws itself (seed
    ADDING_TEST_SEED): its MSE must be at most ADDING_MARGIN times the trivial baseline
    lstm_ref.adding_baseline_mse; and its skill must come from its LSTM: with the LSTM's
    trained parameters shuffled, its MSE must rise to at least ADDING_ABLATED times the
    baseline (a model that computes the sum some other way keeps its skill). The check
    trains nothing; it prints the MSE, the baseline and their ratios."""
    from ..tasks import adding_baseline_mse, adding_problem
    torch = _torch()
    if isinstance(model, tuple):
        raise GradingError("expected the trained model, got a tuple: return (or pass) the model itself.")
    _no_framework_recurrence("your model", model)
    if not isinstance(LSTM, type) or not issubclass(LSTM, torch.nn.Module):
        raise GradingError(f"expected your LSTM class (a torch.nn.Module subclass) as the second argument, "
                           f"got {LSTM!r}")
    lstms = [path or "the model itself" for path, m in model.named_modules() if isinstance(m, LSTM)]
    if not lstms:
        found = ", ".join(f"{path} ({type(m).__name__})" for path, m in model.named_modules() if path) or "none"
        raise GradingError(f"your model has no submodule of your class {LSTM.__name__} (its submodules: {found}). "
                           f"The exercise asks for a model built on your LSTM, e.g. self.lstm = LSTM(2, H) in "
                           f"its __init__, read out by a linear layer.")
    x, y = adding_problem(ADDING_TEST_SIZE, ADDING_T, seed=drawn(ADDING_TEST_SEED), dtype=np.float32)
    mse = _adding_mse(model, x, y)
    baseline = adding_baseline_mse(ADDING_T)
    ratio = mse / baseline
    report = (f"held-out MSE {mse:.4f} on {len(y)} sequences of the adding problem (T = {ADDING_T}, "
              f"le2015, seed {drawn(ADDING_TEST_SEED)}; drawn by the check); the trivial baseline, always "
              f"predicting the mean target 1.0, has MSE {baseline:.4f}: ratio {ratio:.3f}.")
    if ratio > ADDING_MARGIN:
        cause = ""
        if ratio > 0.8:
            cause = ("\nThat is about the baseline: the model predicts little more than the mean. Train for "
                     "more steps or with a larger learning rate, and start the forget-gate bias at 1.")
        elif 0.35 < ratio < 0.65:
            cause = ("\nThat is about half the baseline, what a model that remembers only one of the two marked "
                     "values gets (the error is then the other value's variance, 1/12): train for longer.")
        raise GradingError(f"{report}\nNeeded: at most {ADDING_MARGIN} times the baseline, i.e. MSE <= "
                           f"{ADDING_MARGIN * baseline:.4f}.{cause}")
    ablated = _adding_mse(_shuffled_lstms(model, LSTM, drawn(260)), x, y) / baseline
    if ablated < ADDING_ABLATED:
        raise GradingError(
            f"{report}\nBut with the parameters of its LSTM ({', '.join(lstms)}) shuffled, the model still has "
            f"MSE {ablated:.3f} times the baseline (needed: at least {ADDING_ABLATED}): its skill does not come "
            f"from its LSTM. The exercise asks for a model whose LSTM reads the sequence and whose read-out "
            f"turns the LSTM's last state into the sum.")
    print(f"Passed: {report} Needed: at most {ADDING_MARGIN}. With its LSTM's parameters shuffled: "
          f"ratio {ablated:.3f} (its skill comes from the LSTM).")



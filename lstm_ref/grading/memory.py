"""Checks of exercise 08: a tanh RNN against an LSTM on the adding problem, measured.

The student builds both models with PyTorch's own layers (nn.RNN and nn.LSTM are allowed
here: exercise 05 had them write the LSTM), sets the forget-gate bias by hand, writes one
clipped training step and a seeded training function, and runs the experiment: every
run of MEMORY_RUNS (the RNN; the LSTM with forget bias 0 and 1) on every seed of
MEMORY_SEEDS, each reported with its MSE on a validation set. The pieces are checked
exactly (the model against lstm_ref's forward, the bias block by block, the step against
a reference step on a crafted case); the experiment is checked by what it measured: the
check evaluates the returned models on held-out sequences it draws itself, compares
what the student reported with what it measures on the student's validation set, and
shuffles the LSTMs' trained weights to see that their skill is theirs.

Every number a check uses is a constant of this module, the notebook reads them from
here (grading.MEMORY_T, ...), and benchmarks/grading_seeds_08.py measures how the
course's solution fares against them over 20 sets of seeds.
"""
import numpy as np

from .. import sequence
from ..convert import LAYOUTS, from_torch
from ..gates import gate_slices
from ..tasks import adding_baseline_mse, adding_problem
from ..tolerances import FLOAT32
from .core import GradingError, _case, _check_finite, _explain, _outputs, check_array, drawn, run_student


# ------------------------------------------------------------------ the experiment
#
# The adding problem of lstm_ref.tasks (variant le2015): the first marked value lies 25 to
# 49 steps before the end at T = 50. Trained as below (one thread: about 3 ms a step on an
# idle core, so the nine runs take about 30 s), over 20 sets of 3 seeds
# (benchmarks/grading_seeds_08.py, test set and hidden test set alike) the LSTM with forget
# bias 1 got below a tenth of the baseline on 60 of 60 runs (ratio 0.001 to 0.014), the LSTM
# with forget bias 0 on 59 of 60 (0.003 to 0.013; one run stayed at 0.92), the tanh RNN
# stayed at 0.93 or above on 60 of 60, and a shuffled LSTM scored 0.99 or more: all 20 sets
# pass both checks.
MEMORY_T = 50
MEMORY_H = 32
MEMORY_BATCH = 64
MEMORY_STEPS = 1000
MEMORY_LR = 1e-2
MEMORY_CLIP = 1.0
MEMORY_SEEDS = (0, 1, 2)
MEMORY_RUNS = (("rnn", None), ("lstm", 0.0), ("lstm", 1.0))     # (cell, forget-gate bias)
# The student's validation set (they report each model's MSE on it) and the check's own
# held-out test set (drawn again, from the hidden seed, by the hidden test).
MEMORY_VAL_SEED, MEMORY_VAL_SIZE = 8000, 1000
MEMORY_TEST_SEED, MEMORY_TEST_SIZE = 8001, 1000
# The measured outcome, as MSE / baseline on the test set. An LSTM has learned the task when
# its ratio is at most MEMORY_LSTM_BAR: well below 1/2, what remembering only the later
# value gives, so it carries both. The RNN has not when its ratio is at least
# MEMORY_RNN_FLOOR: it does no better than remembering one value. Each must hold on at least
# MEMORY_MOST of the seeds, so that one unlucky run does not decide a grade.
MEMORY_LSTM_BAR = 0.1
MEMORY_RNN_FLOOR = 0.5
MEMORY_MOST = 2
# With the trained parameters of its nn.LSTM shuffled, a model whose skill is its LSTM's
# falls back to at least this ratio (a model that adds the marked values another way would not).
MEMORY_ABLATED = 0.5
# What the exercise may use from lstm_ref: the task and its baseline (the models are
# PyTorch's own layers).
MEMORY_ALLOWED = ("adding_problem", "adding_baseline_mse")
# How much the reported validation MSE may differ from the check's measurement of it:
# float32 rounding of the same mean (evaluated in one batch or several).
MEMORY_AGREE = {"rtol": 1e-4, "atol": 1e-6}
# check_seeded_training: the short runs it compares.
MEMORY_SHORT_STEPS = 20

_CELLS = ("rnn", "lstm")
_FORGET = "f"


def _torch():
    import torch
    return torch


def _name(cell, forget_bias):
    return "RNN (tanh)" if cell == "rnn" else f"LSTM, forget bias {forget_bias:g}"


def _numpy(what, value):
    torch = _torch()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise GradingError(f"{what}: expected a tensor of numbers, got {type(value).__name__}") from None


def _scalar(what, value):
    """A returned number (a float, or a tensor or array with one element) as a float."""
    torch = _torch()
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise GradingError(f"{what}: expected one number, got a tensor of shape {tuple(value.shape)}")
        return float(value.detach())
    try:
        out = float(np.asarray(value, dtype=float).reshape(()))
    except (TypeError, ValueError):
        raise GradingError(f"{what}: expected a number, got {type(value).__name__}") from None
    if not np.isfinite(out):
        raise GradingError(f"{what}: is {out}, not a finite number")
    return out


# ------------------------------------------------------------------- the model

def _recurrent_class(cell):
    nn = _torch().nn
    return nn.RNN if cell == "rnn" else nn.LSTM


def _structure(what, model, cell, H):
    """The one recurrent layer and the one linear read-out of a model for `cell` of hidden
    size H, or a GradingError that says what differs. Returns (recurrent, head)."""
    torch = _torch()
    nn = torch.nn
    if not isinstance(model, nn.Module):
        raise GradingError(f"{what}: expected a torch.nn.Module, got {type(model).__name__}")
    layers = [(path, m) for path, m in model.named_modules() if isinstance(m, nn.RNNBase)]
    want = _recurrent_class(cell).__name__
    if len(layers) != 1:
        found = ", ".join(f"{p or 'the model itself'} ({type(m).__name__})" for p, m in layers) or "none"
        raise GradingError(f"{what}: expected exactly one recurrent layer, an nn.{want}; found {found}.")
    path, rec = layers[0]
    if type(rec) is not _recurrent_class(cell):
        raise GradingError(f"{what}: its recurrent layer {path} is an {type(rec).__name__}; for cell {cell!r} it "
                           f"must be an nn.{want}, so that the comparison is the one the chapter makes.")
    if cell == "rnn" and rec.nonlinearity != "tanh":
        raise GradingError(f"{what}: its nn.RNN uses nonlinearity={rec.nonlinearity!r}; the exercise compares "
                           f"the tanh RNN (nn.RNN's default).")
    sizes = {"input_size": (rec.input_size, 2), "hidden_size": (rec.hidden_size, H),
             "num_layers": (rec.num_layers, 1), "bidirectional": (rec.bidirectional, False),
             "bias": (rec.bias, True), "proj_size": (getattr(rec, "proj_size", 0), 0),
             "dropout": (rec.dropout, 0.0)}
    wrong = [f"{k}={got!r} (needed {need!r})" for k, (got, need) in sizes.items() if got != need]
    if wrong:
        raise GradingError(f"{what}: its nn.{want} ({path}) has {', '.join(wrong)}. The models compared are one "
                           f"layer, one direction, input size 2 (value and marker), hidden size {H}.")
    heads = [(p, m) for p, m in model.named_modules() if isinstance(m, nn.Linear)]
    rec_count = sum(p.numel() for p in rec.parameters())
    total = sum(p.numel() for p in model.parameters())
    fits = [(p, m) for p, m in heads if m.in_features == H and m.out_features == 1 and m.bias is not None]
    if len(heads) != 1 or len(fits) != 1 or total != rec_count + H + 1:
        listed = ", ".join(f"{n} {tuple(p.shape)}" for n, p in model.named_parameters())
        raise GradingError(f"{what}: expected the nn.{want} and one linear read-out nn.Linear({H}, 1) of its last "
                           f"hidden state, and no other parameters ({rec_count} + {H + 1} = {rec_count + H + 1} "
                           f"numbers); the model has {total}: {listed}.")
    return rec, fits[0][1]


def _final_hidden(rec, x):
    """The last hidden state of the recurrent layer rec over x (B, T, 2), as PyTorch computes it."""
    _, state = rec(x if rec.batch_first else x.transpose(0, 1))
    return (state[0] if isinstance(state, tuple) else state)[-1]


def _reference_predictions(rec, head, cell, x):
    """What the model should predict, from lstm_ref's forward with the layer's own weights
    (float64): head(h_T) with h_T its last hidden state."""
    p = {k: v.astype(np.float64) for k, v in from_torch(rec)[0][0].items()}
    forward = sequence.rnn_forward if cell == "rnn" else sequence.lstm_forward
    h, final, _ = forward(x.astype(np.float64), **p)
    W, b = (t.detach().double().numpy() for t in (head.weight, head.bias))
    return {"last": (final if cell == "rnn" else final[0]) @ W.T + b, "h": h, "W": W, "b": b}


def _time_major_h(rec, cell, x):
    """Every hidden state when (B, T, 2) is read as time-major: T sequences of B steps."""
    p = {k: v.astype(np.float64) for k, v in from_torch(rec)[0][0].items()}
    forward = sequence.rnn_forward if cell == "rnn" else sequence.lstm_forward
    h, _, _ = forward(np.ascontiguousarray(x.transpose(1, 0, 2)).astype(np.float64), **p)
    return h                                   # (T, B, H): h[t, s] after s steps of "sequence" t


def _model_mistakes(ref, tm_h):
    read = lambda h: (h @ ref["W"].T + ref["b"],)
    yield ("the read-out reads the first step's hidden state, output[:, 0]; the target is known only at "
           "the end, so read the last one (output[:, -1], or h_n[-1])"), lambda: read(ref["h"][:, 0])
    yield "the read-out reads the mean of the hidden states over time; read the last one", \
        lambda: read(ref["h"].mean(axis=1))
    yield ("the recurrent layer reads x (B, T, 2) as time-major (T, B, 2): PyTorch's nn.RNN and nn.LSTM take "
           "the first axis for time unless created with batch_first=True"), lambda: read(tm_h[-1])


def _check_cell_model_case(AddingModel, cell, H, B, T, seed):
    torch = _torch()
    what = f"AddingModel({cell!r}, {H})"
    torch.manual_seed(seed)
    model = run_student(what, AddingModel, cell, H, allowed=MEMORY_ALLOWED)
    rec, head = _structure(what, model, cell, H)
    x = np.random.default_rng(seed).standard_normal((B, T, 2)).astype(np.float32)
    with torch.no_grad():
        got = _numpy(f"{what}'s predictions", run_student(f"{what}.forward", model, torch.from_numpy(x),
                                                          allowed=MEMORY_ALLOWED))
    ref = _reference_predictions(rec, head, cell, x)
    hint = (f"One prediction per sequence: ({B}, 1)."
            + (f" ({T}, ...) is the number of steps: the recurrent layer read the first axis of x as time; "
               f"create it with batch_first=True." if got.shape[:1] == (T,) else ""))

    def compare():
        check_array(f"{what}'s predictions", got, ref["last"], tol=FLOAT32, hint=hint)
    _explain(compare, (got,), _model_mistakes(ref, _time_major_h(rec, cell, x)), rtol=1e-4, atol=1e-5,
             note=f"The prediction must be the linear read-out of the last hidden state of the nn."
                  f"{_recurrent_class(cell).__name__}, h_T, after reading all {T} steps of each sequence.")


def check_cell_model(AddingModel):
    """AddingModel(cell, hidden_size), cell "rnn" or "lstm": a torch.nn.Module holding one
    nn.RNN (tanh) or nn.LSTM (input size 2, one layer, one direction) and one nn.Linear
    (hidden_size -> 1) and nothing else, whose forward(x (B, T, 2)) -> (B, 1) is the read-out
    of the last hidden state. Compared with lstm_ref's forward on the layer's own weights."""
    cases = [(cell, H, B, T) for cell in _CELLS for (H, B, T) in ((4, 3, 7), (6, 5, 1))]
    for k, (cell, H, B, T) in enumerate(cases):
        seed = drawn(800 + k)
        _case(f"AddingModel({cell!r}, {H})", f"a random batch (seed {seed}, B={B}, T={T})",
              lambda: _check_cell_model_case(AddingModel, cell, H, B, T, seed))


# -------------------------------------------------------- the forget-gate bias

_BIAS_CASES = ((3, 4, 1, False, 1.0), (2, 5, 2, True, 1.0), (2, 3, 1, False, 0.0), (2, 3, 2, True, -2.5))


def _pairs(lstm):
    """(label, bias_ih name, bias_hh name) for every layer and direction of an nn.LSTM."""
    out = []
    for k in range(lstm.num_layers):
        for d in range(2 if lstm.bidirectional else 1):
            s = f"_l{k}" + ("_reverse" if d else "")
            out.append((f"layer {k}, {'backward' if d else 'forward'} direction", "bias_ih" + s, "bias_hh" + s))
    return out


def _bias_diagnosis(value, blocks, before, after, label, ih, hh):
    """Why the forget block of the summed bias is not `value` (None if nothing known)."""
    f = blocks[_FORGET]
    b_sum, a_sum = before[ih] + before[hh], after[ih] + after[hh]
    close = lambda a, v: np.allclose(a, v, rtol=0, atol=1e-6 * (1 + abs(value)))
    moved = [g for g, s in blocks.items() if g != _FORGET and close(a_sum[s], value)
             and not close(b_sum[s], value)]
    if close(a_sum[f], b_sum[f]) and moved:
        rows = blocks[moved[0]]
        return (f"the value went into the gate {moved[0]} block (rows {rows.start} to {rows.stop}). PyTorch's "
                f"gate order is i, f, g, o: the forget gate is the second block, rows H to 2H "
                f"({f.start} to {f.stop} here).")
    if close(a_sum[f], b_sum[f]):
        return (f"{label} is unchanged ({ih} and {hh} hold PyTorch's random values): every layer and direction "
                f"has its own pair of biases, so set them all, e.g. by looping over lstm.named_parameters().")
    if value != 0 and close(a_sum[f], 2 * value):
        return (f"the sum is {2 * value:g}: both {ih} and {hh} were set to {value:g}. Only their sum acts, so put "
                f"the value into one and 0 into the other.")
    if close(after[ih][f], value) and close(after[hh][f], before[hh][f]):
        return (f"{ih} holds {value:g} but {hh} still holds its random values, and the bias that acts is their "
                f"sum: set the forget block of {hh} to 0.")
    return None


def _check_bias_case(set_forget_bias, D, H, layers, bidirectional, value, seed):
    torch = _torch()
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(D, H, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    params = dict(lstm.named_parameters())
    before = {n: p.detach().double().numpy().copy() for n, p in params.items()}
    what = f"set_forget_bias(lstm, {value:g})"
    try:
        result = run_student(what, set_forget_bias, lstm, value, allowed=MEMORY_ALLOWED)
    except GradingError as err:
        if "in-place operation" in str(err) or "leaf Variable" in str(err):
            raise GradingError(f"{err}\nA parameter that requires a gradient can be written in place only where "
                               f"autograd is not recording: do it inside `with torch.no_grad():`.") from err.__cause__
        raise
    if result is not lstm:
        got = "None" if result is None else f"a {type(result).__name__}"
        raise GradingError(f"{what} returned {got}: return the module it was given (after changing it in place), "
                           f"so that it can be used as self.rnn = set_forget_bias(nn.LSTM(...), 1.0).")
    now = dict(lstm.named_parameters())
    replaced = [n for n in params if now.get(n) is not params[n]]
    if replaced or set(now) != set(params):
        raise GradingError(f"{what} replaced the parameters {', '.join(replaced) or sorted(set(now) ^ set(params))} "
                           f"with new tensors: an optimizer made before the call would still train the old ones. "
                           f"Change the values in place, e.g. p[H:2 * H] = value inside torch.no_grad().")
    frozen = [n for n, p in now.items() if not p.requires_grad]
    if frozen:
        raise GradingError(f"{what} left {', '.join(frozen)} without requires_grad: they would no longer train.")
    after = {n: p.detach().double().numpy().copy() for n, p in now.items()}
    for n in after:
        if n.startswith("weight") and not np.array_equal(after[n], before[n]):
            k = tuple(int(i) for i in np.argwhere(after[n] != before[n])[0])
            raise GradingError(f"{what} changed {n} (entry {k}: {before[n][k]:.6g} -> {after[n][k]:.6g}); only the "
                               f"forget gate's bias may change.")
    blocks = gate_slices(LAYOUTS[("torch", "lstm")].gates, H)
    f = blocks[_FORGET]
    for label, ih, hh in _pairs(lstm):
        total = after[ih] + after[hh]
        err = np.abs(total[f] - value)
        if (err > 1e-6 * (1 + abs(value))).any():
            r = int(np.argmax(err))
            cause = _bias_diagnosis(value, blocks, before, after, label, ih, hh)
            raise GradingError(
                f"{what}, on an nn.LSTM({D}, {H}, num_layers={layers}, bidirectional={bidirectional}): in {label}, "
                f"the forget gate's bias {ih} + {hh} (rows {f.start} to {f.stop}) should be {value:g} everywhere; "
                f"row {f.start + r} is {total[f][r]:.6g}."
                + (f"\nLikely cause: {cause}" if cause else ""))
        old = before[ih] + before[hh]
        for gate, s in blocks.items():
            if gate != _FORGET and not np.allclose(total[s], old[s], rtol=0, atol=1e-6):
                r = int(np.argmax(np.abs(total[s] - old[s])))
                raise GradingError(
                    f"{what}: in {label}, the gate {gate} block of {ih} + {hh} (rows {s.start} to {s.stop}) changed "
                    f"(row {s.start + r}: {old[s][r]:.6g} -> {total[s][r]:.6g}); only the forget block may change. "
                    f"PyTorch's gate order is i, f, g, o: the forget gate is rows H to 2H.")


def check_set_forget_bias(set_forget_bias):
    """set_forget_bias(lstm, value) -> lstm: in every layer and direction of an nn.LSTM,
    the forget gate's block (rows H to 2H, gate order i, f, g, o) of bias_ih + bias_hh
    becomes exactly value; every other bias block, every weight and the parameter
    tensors themselves (changed in place) stay as they were."""
    for k, (D, H, layers, bidirectional, value) in enumerate(_BIAS_CASES):
        seed = drawn(820 + k)
        _case("set_forget_bias", f"an nn.LSTM({D}, {H}, num_layers={layers}, bidirectional={bidirectional}) "
              f"initialised with seed {seed}, value {value:g}",
              lambda: _check_bias_case(set_forget_bias, D, H, layers, bidirectional, value, seed))


# ------------------------------------------------------------ one clipped step

def _probe_model(seed):
    """The check's own small model for train_step: an nn.LSTM(2, 3) and a linear read-out."""
    torch = _torch()
    nn = torch.nn

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(2, 3, batch_first=True)
            self.head = nn.Linear(3, 1)

        def forward(self, x):
            return self.head(_final_hidden(self.rnn, x))
    torch.manual_seed(seed)
    return Probe()


def _flat(model):
    torch = _torch()
    return torch.cat([p.detach().flatten() for p in model.parameters()]).double().numpy()


def _reference_steps(model, batches, clip, how="right"):
    """(loss, norm, update) of each step of SGD(lr=1) from a copy of model: how="right" zeroes,
    back-propagates, clips the norm and steps; the others are known mistakes."""
    import copy
    torch = _torch()
    m = copy.deepcopy(model)
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    out = []
    for x, y in batches:
        start = _flat(m)
        loss = ((m(x) - y) ** 2).mean()
        if how != "no zero_grad" or not out:
            opt.zero_grad()
        loss.backward()
        unclipped = how in ("no clipping", "clip values")
        norm = torch.nn.utils.clip_grad_norm_(m.parameters(), float("inf") if unclipped else clip)
        if how == "clip values":
            torch.nn.utils.clip_grad_value_(m.parameters(), clip)
        opt.step()
        out.append((loss.item(), norm.item(), _flat(m) - start))
    return out


def _check_step_case(train_step, label, scale, clip, seed):
    """Two calls of the student's train_step with SGD(lr=1), on batches whose targets are
    `scale` away from the predictions, against the reference steps."""
    torch = _torch()
    model = _probe_model(seed)
    rng = np.random.default_rng(seed)
    batches = []
    for n in (8, 5):
        x, y = adding_problem(n, 6, seed=rng, dtype=np.float32)
        x = torch.from_numpy(x)
        with torch.no_grad():
            y = model(x) + scale * torch.from_numpy(rng.choice([-1.0, 1.0], size=(n, 1)).astype(np.float32))
        batches.append((x, y))
    refs = {how: _reference_steps(model, batches, clip, how)
            for how in ("right", "no clipping", "clip values", "no zero_grad")}
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    for k, (x, y) in enumerate(batches):
        start = _flat(model)
        what = f"train_step, call {k + 1} of 2"
        result = run_student(what, train_step, model, optimizer, x.clone(), y.clone(), clip, allowed=MEMORY_ALLOWED)
        loss, norm = _outputs(what, result, 2, ("the batch's loss", "the gradient norm before clipping"))
        loss, norm = _scalar(f"{what}: the loss it returned", loss), _scalar(f"{what}: the norm it returned", norm)
        update = _flat(model) - start
        r_loss, r_norm, r_update = refs["right"][k]
        if not np.isclose(loss, r_loss, rtol=1e-4, atol=1e-7):
            raise GradingError(f"{what}: returned loss {loss:.6g}; the batch's mean squared error before the step is "
                               f"{r_loss:.6g}. Return loss.item() of ((model(x) - y) ** 2).mean(), computed before "
                               f"optimizer.step().")
        moved = float(np.linalg.norm(update))
        state = (f"The check runs your train_step with torch.optim.SGD(lr=1), so each step moves the parameters by "
                 f"minus the gradient that is left after clipping. The gradient's norm before clipping was "
                 f"{r_norm:.4g}, {'above' if r_norm > clip else 'below'} max_norm = {clip:g}, so the step should "
                 f"have norm {min(r_norm, clip):.4g}; yours moved them by {moved:.4g}.")
        mistakes = [("the gradients were not clipped (or clipped after optimizer.step()): call "
                     "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm) between loss.backward() and "
                     "optimizer.step()", refs["no clipping"][k][2]),
                    ("clip_grad_value_ caps each entry; the exercise clips the norm of all gradients together "
                     "with clip_grad_norm_", refs["clip values"][k][2]),
                    ("the gradients were not set to zero before loss.backward(), so this step's gradient was "
                     "added to the last one's: call optimizer.zero_grad() first", refs["no zero_grad"][k][2])]
        if moved == 0:
            mistakes.insert(0, ("the parameters did not move: call optimizer.step() after clipping, and "
                                "optimizer.zero_grad() before loss.backward(), not between it and the step",
                                np.zeros_like(update)))
        if not np.allclose(update, r_update, rtol=1e-4, atol=1e-7 + 1e-4 * np.abs(r_update).max()):
            for cause, alt in mistakes:
                if np.allclose(update, alt, rtol=1e-4, atol=1e-7 + 1e-4 * np.abs(alt).max()):
                    raise GradingError(f"{what}, {label}: wrong step. {state}\nLikely cause: {cause}.")
            raise GradingError(f"{what}, {label}: wrong step. {state}\nThe step is: optimizer.zero_grad(), "
                               f"loss.backward(), clip_grad_norm_(model.parameters(), max_norm), optimizer.step().")
        if not np.isclose(norm, r_norm, rtol=1e-4, atol=1e-7):
            cause = (" That is the norm after clipping: return what clip_grad_norm_ returns, the norm before it."
                     if np.isclose(norm, min(r_norm, clip), rtol=1e-4) else "")
            raise GradingError(f"{what}, {label}: returned gradient norm {norm:.6g}; the gradient's norm before "
                               f"clipping was {r_norm:.6g}.{cause}")


def check_clipped_step(train_step):
    """train_step(model, optimizer, x, y, max_norm) -> (loss, norm): one training step on the
    batch (x, y) with the mean squared error, gradients set to zero first and their global
    norm clipped at max_norm; returns the loss and the norm before clipping. Run twice in a
    row on the check's own model with SGD(lr=1), whose step is minus the clipped gradient:
    once with a gradient far above max_norm, once with one below it."""
    for k, (label, scale, clip) in enumerate((("a gradient far above max_norm", 20.0, 0.5),
                                              ("a gradient below max_norm", 0.01, 0.5))):
        seed = drawn(840 + k)
        _case("train_step", f"{label} (seed {seed})", lambda: _check_step_case(train_step, label, scale, clip, seed))


# ----------------------------------------------------------- seeded training

def _forget_sum(rec):
    H = rec.hidden_size
    f = gate_slices(LAYOUTS[("torch", "lstm")].gates, H)[_FORGET]
    return (rec.bias_ih_l0 + rec.bias_hh_l0).detach().double().numpy()[f]


def check_seeded_training(train_model):
    """train_model(cell, forget_bias, seed, steps=MEMORY_STEPS) -> a trained AddingModel of
    hidden size MEMORY_H. With steps=0 it returns the model as initialised (the LSTM's
    forget bias set to forget_bias); MEMORY_SHORT_STEPS steps change it; the same seed
    gives the same model again, and another seed another model."""
    seed = drawn(860)

    def run(cell, forget_bias, s, steps):
        what = f"train_model({cell!r}, {forget_bias!r}, seed={s}, steps={steps})"
        model = run_student(what, train_model, cell, forget_bias, s, steps=steps, allowed=MEMORY_ALLOWED)
        rec, _ = _structure(what, model, cell, MEMORY_H)
        return what, rec, _flat(model)

    for cell, forget_bias in MEMORY_RUNS:
        what, rec, _ = run(cell, forget_bias, seed, 0)
        if cell == "lstm":
            got = _forget_sum(rec)
            if not np.allclose(got, forget_bias, rtol=0, atol=1e-6):
                raise GradingError(f"{what}: the untrained LSTM's forget-gate bias (bias_ih_l0 + bias_hh_l0, "
                                   f"rows H to 2H) ranges from {got.min():.4g} to {got.max():.4g}; it must be "
                                   f"{forget_bias:g}: call your set_forget_bias on the model's nn.LSTM before "
                                   f"training.")
    short = MEMORY_SHORT_STEPS
    _, _, initial = run("lstm", 1.0, seed, 0)
    what, _, first = run("lstm", 1.0, seed, short)
    if np.array_equal(first, initial):
        raise GradingError(f"{what} returned the model as it was initialised: {short} steps of training changed no "
                           f"parameter. Train for `steps` steps.")
    _, _, second = run("lstm", 1.0, seed, short)
    diff = float(np.abs(first - second).max())
    if diff > 1e-6:
        raise GradingError(f"{what}, called twice, gave two different models (parameters differ by up to "
                           f"{diff:.3g}): the seed must fix everything random, the initial weights "
                           f"(torch.manual_seed(seed)) and the batches (np.random.default_rng(seed)), so that a run "
                           f"can be repeated and the grader measures what you measured.")
    other, _, third = run("lstm", 1.0, seed + 1, short)
    if np.array_equal(third, first):
        raise GradingError(f"{other} gave the same model as seed={seed}: the seed argument must set the initial "
                           f"weights and the batches; a fixed seed inside the function makes every run the same.")


# ----------------------------------------------------------- the experiment

def _records(records):
    """The student's records as {(cell, forget_bias, seed): (model, reported val MSE)}."""
    if not isinstance(records, (list, tuple)):
        raise GradingError(f"run_experiment: expected a list of records (dicts), got {type(records).__name__}")
    keys = ("cell", "forget_bias", "seed", "model", "val_mse")
    out = {}
    for k, rec in enumerate(records):
        if not isinstance(rec, dict) or any(key not in rec for key in keys):
            got = sorted(rec) if isinstance(rec, dict) else type(rec).__name__
            raise GradingError(f"run_experiment: record {k} should be a dict with the keys {', '.join(keys)}; got "
                               f"{got}")
        cell, fb, seed = rec["cell"], rec["forget_bias"], rec["seed"]
        fb = None if fb is None else _scalar(f"record {k}'s forget_bias", fb)
        key = (cell, fb, seed)
        if key in out:
            raise GradingError(f"run_experiment: two records for cell {cell!r}, forget_bias {fb!r}, seed {seed!r}")
        out[key] = (rec["model"], _scalar(f"record {k}'s val_mse", rec["val_mse"]))
    want = [(cell, fb, s) for cell, fb in MEMORY_RUNS for s in MEMORY_SEEDS]
    missing = [k for k in want if k not in out]
    extra = [k for k in out if k not in want]
    if missing or extra:
        show = lambda ks: "; ".join(f"({c!r}, {f!r}, seed {s!r})" for c, f, s in ks)
        raise GradingError(f"run_experiment: expected one record for every (cell, forget_bias) of "
                           f"grading.MEMORY_RUNS and every seed of grading.MEMORY_SEEDS, {len(want)} in all."
                           + (f" Missing: {show(missing)}." if missing else "")
                           + (f" Not asked for: {show(extra)}." if extra else ""))
    models = [m for m, _ in out.values()]
    if len({id(m) for m in models}) != len(models):
        raise GradingError("run_experiment: several records hold the same model object; every run trains a model "
                           "of its own.")
    return {k: out[k] for k in want}


def _predict(model, x):
    """The model's predictions for x, checked to be head(last hidden state) of its own layers."""
    torch = _torch()
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            xt = torch.from_numpy(x)
            pred = run_student("your model", model, xt, allowed=MEMORY_ALLOWED)
    finally:
        model.train(was)
    return pred


def _mse(what, model, rec, head, x, y):
    torch = _torch()
    pred = _predict(model, x)
    got = _numpy(f"{what}'s predictions", pred)
    if got.shape != y.shape:
        raise GradingError(f"{what}'s predictions have shape {got.shape}; expected {y.shape}, one per sequence.")
    _check_finite(f"{what}'s predictions", got)
    with torch.no_grad():
        own = head(_final_hidden(rec, torch.from_numpy(x))).double().numpy()
    if not np.allclose(got, own, rtol=1e-4, atol=1e-5):
        raise GradingError(f"{what}: its predictions are not the linear read-out of its {type(rec).__name__}'s last "
                           f"hidden state (largest difference {np.abs(got - own).max():.3g}). The experiment compares "
                           f"the two cells, so the model must be the cell and its read-out, nothing else.")
    return float(np.mean((got - y) ** 2))


def _shuffled(model, rec, seed):
    """A copy of model whose recurrent layer's parameters hold their own values in a random
    order: the same sizes of weights, none of what training put where."""
    import copy
    torch = _torch()
    path = next(p for p, m in model.named_modules() if m is rec)
    ablated = copy.deepcopy(model)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in ablated.get_submodule(path).parameters():
            p.copy_(p.flatten()[torch.randperm(p.numel(), generator=g)].reshape(p.shape))
    return ablated


def check_rnn_vs_lstm(run_experiment):
    """Run the student's run_experiment() once (their training, every run of MEMORY_RUNS on
    every seed of MEMORY_SEEDS) and check what it returns with check_rnn_vs_lstm_models.
    Returns the records."""
    records = run_student("run_experiment", run_experiment, allowed=MEMORY_ALLOWED)
    check_rnn_vs_lstm_models(records)
    return records


def check_rnn_vs_lstm_models(records):
    """The experiment's records, [{"cell", "forget_bias", "seed", "model", "val_mse"}], one per
    run of MEMORY_RUNS and seed of MEMORY_SEEDS. Each model is its cell's layer and a linear
    read-out (hidden size MEMORY_H); each reported val_mse is that model's MSE on the
    validation set (MEMORY_VAL_SIZE sequences, seed MEMORY_VAL_SEED) to MEMORY_AGREE. On
    MEMORY_TEST_SIZE held-out sequences that the check draws itself (seed
    MEMORY_TEST_SEED), as MSE / baseline: the LSTM of each forget bias at most
    MEMORY_LSTM_BAR, and the RNN at least MEMORY_RNN_FLOOR, on at least MEMORY_MOST seeds
    each; and every LSTM that passed falls to at least MEMORY_ABLATED with its nn.LSTM's
    trained parameters shuffled. The check trains nothing; it prints what it measured."""
    runs = _records(records)
    baseline = adding_baseline_mse(MEMORY_T)
    x_val, y_val = adding_problem(MEMORY_VAL_SIZE, MEMORY_T, seed=MEMORY_VAL_SEED, dtype=np.float32)
    test_seed = drawn(MEMORY_TEST_SEED)
    x, y = adding_problem(MEMORY_TEST_SIZE, MEMORY_T, seed=test_seed, dtype=np.float32)
    measured, layers, disagree = {}, {}, []
    for (cell, fb, seed), (model, reported) in runs.items():
        what = f"the model of run ({cell!r}, {fb!r}, seed {seed})"
        rec, head = _structure(what, model, cell, MEMORY_H)
        layers[(cell, fb, seed)] = (rec, head)
        val = _mse(what, model, rec, head, x_val, y_val)
        if abs(reported - val) > MEMORY_AGREE["atol"] + MEMORY_AGREE["rtol"] * abs(val):
            disagree.append(f"{_name(cell, fb)}, seed {seed}: reported {reported:.6g}, measured {val:.6g}")
        measured[(cell, fb, seed)] = _mse(what, model, rec, head, x, y) / baseline
    if disagree:
        raise GradingError(
            "run_experiment: the validation MSE it reports is not what its models score on the validation set "
            f"(grading.MEMORY_VAL_SIZE = {MEMORY_VAL_SIZE} sequences drawn with seed grading.MEMORY_VAL_SEED = "
            f"{MEMORY_VAL_SEED}, measured by the check):\n  " + "\n  ".join(disagree)
            + "\nval_mse must be the mean squared error of the record's own model on those sequences.")
    ablated = {}
    for key, ratio in measured.items():
        if key[0] == "lstm" and ratio <= MEMORY_LSTM_BAR:
            what = f"the model of run ({key[0]!r}, {key[1]!r}, seed {key[2]}) with its LSTM shuffled"
            copy = _shuffled(runs[key][0], layers[key][0], drawn(880))
            ablated[key] = _mse(what, copy, *_structure(what, copy, "lstm", MEMORY_H), x, y) / baseline

    lines = [f"Measured by the check on {MEMORY_TEST_SIZE} held-out sequences (T = {MEMORY_T}, seed {test_seed}); "
             f"the trivial baseline (predict 1) has MSE {baseline:.4f}; ratio = MSE / baseline:"]
    for cell, fb in MEMORY_RUNS:
        cells = []
        for s in MEMORY_SEEDS:
            shuffled = f" (shuffled LSTM: {ablated[(cell, fb, s)]:.2f})" if (cell, fb, s) in ablated else ""
            cells.append(f"seed {s}: {measured[(cell, fb, s)]:.3f}{shuffled}")
        lines.append(f"  {_name(cell, fb):22s} " + ";  ".join(cells))
    report = "\n".join(lines)

    failures = []
    for cell, fb in MEMORY_RUNS:
        ratios = [measured[(cell, fb, s)] for s in MEMORY_SEEDS]
        listed = ", ".join(f"{r:.3f}" for r in ratios)
        if cell == "lstm":
            good = sum(r <= MEMORY_LSTM_BAR for r in ratios)
            if good < MEMORY_MOST:
                median = float(np.median(ratios))
                settings = ("check train_model against the exercise's settings (grading.MEMORY_STEPS steps, "
                            "learning rate grading.MEMORY_LR, clipping at grading.MEMORY_CLIP, batches of "
                            "grading.MEMORY_BATCH)")
                cause = (f"worse than the baseline: their predictions are off even on average, as an untrained "
                         f"model's are. Did training run? Then {settings}" if median > 1.25 else
                         f"about the baseline: they predict little more than the mean; {settings}"
                         if median > 0.8 else
                         "about half the baseline, what remembering only the later marked value gives: train for "
                         "the exercise's number of steps" if 0.35 < median < 0.65 else "")
                failures.append(f"The {_name(cell, fb)} reached ratio <= {MEMORY_LSTM_BAR} on {good} of "
                                f"{len(ratios)} seeds (ratios {listed}); needed on at least {MEMORY_MOST}."
                                + (f" Most are {cause}." if cause else ""))
        else:
            stuck = sum(r >= MEMORY_RNN_FLOOR for r in ratios)
            if stuck < MEMORY_MOST:
                failures.append(f"The RNN reached ratios {listed}: below {MEMORY_RNN_FLOOR} on "
                                f"{len(ratios) - stuck} of {len(ratios)} seeds, so it carried both marked values "
                                f"across up to {MEMORY_T - 1} steps. Trained as the exercise says, the tanh RNN "
                                f"stays at the baseline here (ratio 0.93 or more on 60 of 60 runs of the course's "
                                f"measurement): is it trained exactly as the LSTMs are, from the seeds of "
                                f"grading.MEMORY_SEEDS, with the exercise's settings?")
    for key, ratio in ablated.items():
        if ratio < MEMORY_ABLATED:
            failures.append(f"With the parameters of its nn.LSTM shuffled, the {_name(key[0], key[1])} of seed "
                            f"{key[2]} still has ratio {ratio:.3f} (needed: at least {MEMORY_ABLATED}): its skill "
                            f"does not come from its LSTM.")
    if failures:
        raise GradingError(report + "\n" + "\n".join(failures))
    print(f"Passed. {report}\nNeeded: the LSTMs at most {MEMORY_LSTM_BAR}, the RNN at least {MEMORY_RNN_FLOOR}, "
          f"each on at least {MEMORY_MOST} of {len(MEMORY_SEEDS)} seeds; a shuffled LSTM at least {MEMORY_ABLATED}.")

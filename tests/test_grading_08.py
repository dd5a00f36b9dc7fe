"""Exercise 08 (an RNN against an LSTM, measured): the checks pass the course's solution,
and fail typical wrong answers with a message that names the problem.

The pieces are checked with the solution notebook's own code and with wrong versions of
it. The experiment's check is exercised on hand-made records (a hand-set LSTM that adds
the marked values, untrained RNNs: no training, so these tests are fast) and, once per
module, on the solution's real experiment (nine trainings, about 30 s).
"""
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from submissions import solution_answers
from torch import nn

import lstm_ref as L
from lstm_ref import grading as G
from lstm_ref.grading import memory as M

SOURCE = Path(__file__).resolve().parents[1] / "solutions" / "08_rnn_vs_lstm" / "rnn_vs_lstm.ipynb"
torch.set_num_threads(1)


def fails(check, arg, *fragments):
    with pytest.raises(G.GradingError) as err:
        check(arg)
    for fragment in fragments:
        assert fragment in str(err.value), f"{fragment!r} not in:\n{err.value}"


@pytest.fixture(scope="module")
def solution():
    """The solution notebook's answers, run: {name: object} (AddingModel, set_forget_bias, ...)."""
    space = {"np": np, "torch": torch, "nn": nn, "L": L, "grading": G, "time": time}
    for code in solution_answers(SOURCE).values():
        exec(code, space)
    return space


@pytest.fixture(scope="module")
def experiment(solution):
    """The solution's records, from its real experiment, run once through the visible check."""
    return G.check_rnn_vs_lstm(solution["run_experiment"])


# ----------------------------------------------------------------- the model

def test_solution_pieces_pass(solution):
    G.check_cell_model(solution["AddingModel"])
    G.check_set_forget_bias(solution["set_forget_bias"])
    G.check_clipped_step(solution["train_step"])
    G.check_seeded_training(solution["train_model"])


def model_class(layer=None, batch_first=True, read="last", head=None, **options):
    """An AddingModel with one mistake: the recurrent layer's class or options, how forward
    reads its states ("last", "first", "mean", "h_n", "rule"), or an extra read-out."""
    class Model(nn.Module):
        def __init__(self, cell, hidden_size):
            super().__init__()
            cls = layer or {"rnn": nn.RNN, "lstm": nn.LSTM}[cell]
            self.rnn = cls(2, hidden_size, batch_first=batch_first, **options)
            self.head = head(hidden_size) if head else nn.Linear(hidden_size, 1)

        def forward(self, x):
            output, state = self.rnn(x)
            h_n = state[0] if isinstance(state, tuple) else state
            if read == "rule":
                return (x[..., 0] * x[..., 1]).sum(1, keepdim=True)
            h = {"last": output[:, -1], "first": output[:, 0], "mean": output.mean(1), "h_n": h_n[-1]}[read]
            return self.head(h)
    return Model


def test_model_mistakes_are_named():
    check = G.check_cell_model
    fails(check, model_class(batch_first=False, read="h_n"), "wrong shape", "batch_first=True")
    fails(check, model_class(batch_first=False), "Likely cause", "time-major", "batch_first=True")
    fails(check, model_class(read="first"), "Likely cause: the read-out reads the first step's hidden state")
    fails(check, model_class(read="mean"), "Likely cause: the read-out reads the mean")
    fails(check, model_class(read="rule"), "wrong values", "linear read-out of the last hidden state")
    fails(check, model_class(layer=nn.GRU), "AddingModel('rnn', 4)", "is an GRU", "must be an nn.RNN")
    fails(check, model_class(nonlinearity="relu"), "nonlinearity='relu'", "tanh")
    fails(check, model_class(bidirectional=True), "bidirectional=True (needed False)")
    fails(check, model_class(num_layers=2), "num_layers=2 (needed 1)")
    fails(check, model_class(head=lambda H: nn.Sequential(nn.Linear(H, H), nn.Tanh(), nn.Linear(H, 1))),
          "one linear read-out nn.Linear(4, 1)", "no other parameters")

    class Stub(nn.Module):
        def __init__(self, cell, hidden_size):
            super().__init__()
            raise NotImplementedError()
    fails(check, Stub, "AddingModel('rnn', 4): not implemented yet")


# -------------------------------------------------------------- the forget-gate bias

def bias_setter(block=1, ih=True, hh=0.0, only_first=False, returns=True, no_grad=True, replace=False,
                weight=False):
    """A set_forget_bias with one mistake: which block (0 i, 1 f, 2 g, 3 o) gets the value,
    whether bias_ih gets it, what bias_hh's block gets (None: left alone), only layer 0's
    forward pair, no return, outside torch.no_grad, new Parameters, a weight changed too."""
    def set_forget_bias(lstm, value):
        H = lstm.hidden_size
        rows = slice(block * H, (block + 1) * H)
        with (torch.no_grad() if no_grad else torch.enable_grad()):
            for name, p in list(lstm.named_parameters()):
                if only_first and not name.endswith("_l0"):
                    continue
                if replace and name.startswith("bias"):
                    new = p.detach().clone()
                    new[rows] = value if name.startswith("bias_ih") else 0.0
                    setattr(lstm, name, nn.Parameter(new))
                elif name.startswith("bias_ih") and ih:
                    p[rows] = value
                elif name.startswith("bias_hh") and hh is not None:
                    p[rows] = value if hh == "value" else hh
                elif weight and name.startswith("weight_ih"):
                    p[0, 0] = 0.0
        return lstm if returns else None
    return set_forget_bias


def test_forget_bias_mistakes_are_named():
    check = G.check_set_forget_bias
    check(bias_setter())
    fails(check, bias_setter(block=0), "should be 1 everywhere", "Likely cause: the value went into the gate i block",
          "forget gate is the second block")
    fails(check, bias_setter(block=3), "the gate o block")
    fails(check, bias_setter(hh="value"), "Likely cause: the sum is 2", "put the value into one and 0 into the other")
    fails(check, bias_setter(hh=None), "bias_hh_l0 still holds its random values")
    fails(check, bias_setter(only_first=True), "num_layers=2", "layer 0, backward direction",
          "every layer and direction")
    fails(check, bias_setter(returns=False), "returned None", "return the module")
    fails(check, bias_setter(no_grad=False), "raised RuntimeError", "torch.no_grad()")
    fails(check, bias_setter(replace=True), "replaced the parameters bias_ih_l0, bias_hh_l0", "in place")
    fails(check, bias_setter(weight=True), "changed weight_ih_l0", "only the forget gate's bias")


# ------------------------------------------------------------------- the step

def stepper(clip="norm", zero=True, when="before step", returned="before", loss_of="mean", step=True):
    """A train_step with one mistake: how it clips ("norm", "value", None), whether it zeroes
    the gradients, whether it clips before or after the optimizer's step, which norm it
    returns, its loss (mean or sum), whether it steps at all."""
    def train_step(model, optimizer, x, y, max_norm):
        if zero:
            optimizer.zero_grad()
        err = (model(x) - y) ** 2
        loss = err.mean() if loss_of == "mean" else err.sum()
        loss.backward()
        if when == "after step" and step:
            optimizer.step()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm if clip == "norm" else float("inf"))
        if clip == "value":
            nn.utils.clip_grad_value_(model.parameters(), max_norm)
        if when == "before step" and step:
            optimizer.step()
        if returned == "after":
            norm = min(norm.item(), max_norm)
        return loss.item(), float(norm)
    return train_step


def test_clipped_step_mistakes_are_named():
    check = G.check_clipped_step
    check(stepper())
    fails(check, stepper(clip=None), "a gradient far above max_norm", "should have norm 0.5",
          "Likely cause: the gradients were not clipped")
    fails(check, stepper(when="after step"), "Likely cause: the gradients were not clipped (or clipped after")
    fails(check, stepper(clip="value"), "Likely cause: clip_grad_value_ caps each entry")
    fails(check, stepper(zero=False), "call 2 of 2", "Likely cause: the gradients were not set to zero")
    fails(check, stepper(returned="after"), "returned gradient norm 0.5", "That is the norm after clipping")
    fails(check, stepper(loss_of="sum"), "returned loss", "the batch's mean squared error")
    fails(check, stepper(step=False), "Likely cause: the parameters did not move")

    def one_value(model, optimizer, x, y, max_norm):
        return stepper()(model, optimizer, x, y, max_norm)[0]
    fails(check, one_value, "expected a tuple of 2 values")


# ---------------------------------------------------------------- seeded training

def trainer(solution, seeded_batches=True, fixed_seed=None, forget=True, train=True):
    """The solution's train_model with one mistake: unseeded batches, a fixed seed inside,
    no forget bias set, or no training at all."""
    A, set_forget_bias, train_step = solution["AddingModel"], solution["set_forget_bias"], solution["train_step"]

    def train_model(cell, forget_bias, seed, steps=G.MEMORY_STEPS):
        seed = seed if fixed_seed is None else fixed_seed
        torch.manual_seed(seed)
        model = A(cell, G.MEMORY_H)
        if cell == "lstm" and forget:
            set_forget_bias(model.rnn, forget_bias)
        optimizer = torch.optim.Adam(model.parameters(), lr=G.MEMORY_LR)
        rng = np.random.default_rng(seed if seeded_batches else None)
        for _ in range(steps if train else 0):
            x, y = (torch.from_numpy(a) for a in L.adding_problem(G.MEMORY_BATCH, G.MEMORY_T, seed=rng,
                                                                  dtype=np.float32))
            train_step(model, optimizer, x, y, G.MEMORY_CLIP)
        return model
    return train_model


def test_seeded_training_mistakes_are_named(solution):
    check = G.check_seeded_training
    check(trainer(solution))
    fails(check, trainer(solution, seeded_batches=False), "called twice, gave two different models",
          "np.random.default_rng(seed)")
    fails(check, trainer(solution, fixed_seed=0), "gave the same model as seed=", "a fixed seed inside")
    fails(check, trainer(solution, forget=False), "train_model('lstm', 0.0, seed=", "forget-gate bias",
          "must be 0: call your set_forget_bias")
    fails(check, trainer(solution, train=False), "changed no parameter")


# ------------------------------------------------------------------ the experiment

def summing_lstm(solution):
    """An AddingModel('lstm', H) set by hand to add the marked values: unit 0's input gate
    opens on the marker and writes 0.1 x value into a cell that never forgets; read out x 10."""
    model = solution["AddingModel"]("lstm", G.MEMORY_H)
    H, lstm = G.MEMORY_H, model.rnn
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        lstm.weight_ih_l0[0, 1] = 20.0              # i: opened by the marker
        lstm.bias_ih_l0[0] = -10.0
        lstm.weight_ih_l0[2 * H, 0] = 0.1           # g: 0.1 x the value
        lstm.bias_ih_l0[H] = 20.0                   # f: never forgets
        lstm.bias_ih_l0[3 * H] = 20.0               # o: always open
        model.head.weight[0, 0] = 10.0
    return model


def val_mse(model):
    x, y = (torch.from_numpy(a) for a in L.adding_problem(G.MEMORY_VAL_SIZE, G.MEMORY_T, seed=G.MEMORY_VAL_SEED,
                                                          dtype=np.float32))
    with torch.no_grad():
        return ((model(x) - y) ** 2).mean().item()


def hand_made_records(solution, lstm=None, rnn=None):
    """Records of the experiment's shape: hand-set summing LSTMs (both biases), untrained RNNs."""
    records = []
    for cell, fb in G.MEMORY_RUNS:
        for seed in G.MEMORY_SEEDS:
            torch.manual_seed(seed)
            if cell == "lstm":
                model = lstm(seed) if lstm else summing_lstm(solution)
            else:
                model = rnn(seed) if rnn else solution["AddingModel"]("rnn", G.MEMORY_H)
            records.append({"cell": cell, "forget_bias": fb, "seed": seed, "model": model,
                            "val_mse": val_mse(model)})
    return records


def test_experiment_check_on_hand_made_models(solution, capsys):
    records = hand_made_records(solution)
    returned = G.check_rnn_vs_lstm(lambda: records)
    assert all(a["model"] is b["model"] for a, b in zip(returned, records, strict=True))
    out = capsys.readouterr().out
    assert "Passed. Measured by the check on 1000 held-out sequences" in out and "shuffled LSTM" in out
    G.hidden(7, G.check_rnn_vs_lstm_models, records)
    hidden = capsys.readouterr().out
    assert f"seed {G.drawn(G.MEMORY_TEST_SEED)})" in out and f"seed {G.MEMORY_TEST_SEED})" not in hidden

    check = G.check_rnn_vs_lstm_models
    wrong = [dict(r) for r in records]
    wrong[4]["val_mse"] = 0.5
    fails(check, wrong, "the validation MSE it reports is not what its models score",
          "LSTM, forget bias 0, seed 1: reported 0.5, measured")
    fails(check, records[:-1], "Missing: ('lstm', 1.0, seed 2)")
    fails(check, records + [dict(records[0], seed=7)], "Not asked for: ('rnn', None, seed 7)")
    fails(check, [dict(r, model=records[3]["model"]) if r["cell"] == "lstm" else r for r in records],
          "several records hold the same model object")
    fails(check, {"rnn": records}, "expected a list of records")
    fails(check, [{k: v for k, v in records[0].items() if k != "val_mse"}] + records[1:],
          "record 0 should be a dict with the keys cell, forget_bias, seed, model, val_mse")
    order = [6, 7, 8, 3, 4, 5, 0, 1, 2]           # the RNNs' models and the bias-1 LSTMs' swapped
    swapped = [dict(r, model=records[order[k]]["model"]) for k, r in enumerate(records)]
    fails(check, swapped, "the model of run ('rnn', None, seed 0)", "is an LSTM; for cell 'rnn' it must be an nn.RNN")


def test_experiment_outcomes_are_checked(solution, monkeypatch):
    check = G.check_rnn_vs_lstm_models
    untrained = hand_made_records(solution, lstm=lambda seed: solution["AddingModel"]("lstm", G.MEMORY_H))
    fails(check, untrained, "LSTM, forget bias 0 reached ratio <= 0.1 on 0 of 3 seeds",
          "needed on at least 2", "worse than the baseline", "Did training run?")

    class Rule(nn.Module):
        """The rule that made the targets, with an LSTM and a read-out that it never uses."""
        def __init__(self):
            super().__init__()
            self.rnn, self.head = nn.LSTM(2, G.MEMORY_H, batch_first=True), nn.Linear(G.MEMORY_H, 1)

        def forward(self, x):
            return (x[..., 0] * x[..., 1]).sum(1, keepdim=True)
    fails(check, hand_made_records(solution, lstm=lambda seed: Rule()),
          "are not the linear read-out of its LSTM's last hidden state")

    class Shortcut(nn.Module):
        """A read-out that sees the whole input, and an LSTM beside it: not the cell."""
        def __init__(self):
            super().__init__()
            self.rnn, self.head = nn.LSTM(2, G.MEMORY_H, batch_first=True), nn.Linear(2 * G.MEMORY_T, 1)

        def forward(self, x):
            return self.head(x.flatten(1))
    fails(check, hand_made_records(solution, lstm=lambda seed: Shortcut()),
          "one linear read-out nn.Linear(32, 1)", "no other parameters")

    # The two branches that the course's models never reach, reached by moving their bars.
    records = hand_made_records(solution)
    monkeypatch.setattr(M, "MEMORY_RNN_FLOOR", 100.0)
    fails(check, records, "The RNN reached ratios", "below 100.0 on 3 of 3 seeds")
    monkeypatch.setattr(M, "MEMORY_RNN_FLOOR", 0.5)
    monkeypatch.setattr(M, "MEMORY_ABLATED", 1e6)
    fails(check, records, "With the parameters of its nn.LSTM shuffled", "its skill does not come from its LSTM")


def test_experiment_stubs_and_delegation(solution):
    def stub():
        raise NotImplementedError()
    fails(G.check_rnn_vs_lstm, stub, "run_experiment: not implemented yet")

    def delegating():
        L.train.fit(None, None, 1)
    fails(G.check_rnn_vs_lstm, delegating, "run_experiment calls lstm_ref.train.fit")


def test_the_solution_experiment_passes(experiment, capsys):
    """The solution's real experiment (trained once for this module) passes the visible check
    (in the fixture) and the hidden one; reporting another model's numbers does not."""
    G.hidden(3, G.check_rnn_vs_lstm_models, experiment)
    assert "Passed." in capsys.readouterr().out
    mixed = [dict(r, val_mse=experiment[(k + 3) % len(experiment)]["val_mse"]) for k, r in enumerate(experiment)]
    fails(G.check_rnn_vs_lstm_models, mixed, "the validation MSE it reports is not what its models score",
          "RNN (tanh), seed 0: reported")

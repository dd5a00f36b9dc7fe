"""Feedback that says where an error is: every catalogued mistake of exercise 07 (the GRU)
and the near-misses of exercise 03's step backward fail with a message that names the gate
block or the term, the normwise relative error and the likely cause; the questions' checks
say what a wrong choice gets wrong and where the book answers it.

Each wrong answer is the solution notebook's own code with one slip written into it, the
way a student would make it.
"""
from pathlib import Path

import numpy as np
import pytest

import lstm_ref as L
from lstm_ref import grading as G
from submissions import solution_answers

ROOT = Path(__file__).resolve().parents[1]
GRU = solution_answers(ROOT / "solutions" / "07_gru" / "gru.ipynb")
BACKPROP = solution_answers(ROOT / "solutions" / "03_backprop" / "backprop.ipynb")


def student(answers, slips=(), *names):
    """The functions names of the solution cells, with each slip (old, new) written in."""
    space = {"np": np, "sigmoid": L.sigmoid, "L": L}
    for gid in answers:
        code = answers[gid]
        for old, new in slips:
            if old in code:
                code = code.replace(old, new)
        exec(code, space)
    for old, _ in slips:
        assert any(old in code for code in answers.values()), f"slip {old!r} matches no solution code"
    return [space[n] for n in names]


def fails(check, *fragments):
    with pytest.raises(G.GradingError) as err:
        check()
    for fragment in fragments:
        assert fragment in str(err.value), f"{fragment!r} not in:\n{err.value}"
    return str(err.value)


def gru(*slips):
    return student({k: v for k, v in GRU.items() if not k.startswith("answer")}, slips,
                   "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward")


# ------------------------------------------------------------------------- exercise 07

def test_gru_solution_passes_every_check_and_hidden_one():
    fwd, bwd, seq_fwd, seq_bwd = gru()
    G.check_gru_step_forward(fwd)
    G.check_gru_step_backward(fwd, bwd)
    G.check_gru_backward(seq_fwd, seq_bwd)
    G.hidden(12345, G.check_gru_step_backward, fwd, bwd)
    G.hidden(12345, G.check_gru_backward_many_to_one, seq_fwd, seq_bwd)


FORWARD_SLIPS = {
    "gate order": ((("r = sigmoid(ax[:, :H] + ah[:, :H])", "r = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])"),
                    ("z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])", "z = sigmoid(ax[:, :H] + ah[:, :H])")),
                   "you read the gate blocks in the order z, r, n"),
    "z swapped": ((("h_next = (1 - z) * n + z * h_prev", "h_next = z * n + (1 - z) * h_prev"),),
                  "z and 1 - z are swapped"),
    "reset before": ((("n = np.tanh(ax[:, 2 * H:] + r * ah_n)",
                       "n = np.tanh(ax[:, 2 * H:] + (r * h_prev) @ Wh[:, 2 * H:] + bh[2 * H:])"),),
                     "the reset gate multiplies h_prev before the product"),
    "bias outside": ((("n = np.tanh(ax[:, 2 * H:] + r * ah_n)",
                       "n = np.tanh(ax[:, 2 * H:] + r * (h_prev @ Wh[:, 2 * H:]) + bh[2 * H:])"),),
                     "bh_n is added outside the reset gate"),
}


@pytest.mark.parametrize("slip", FORWARD_SLIPS)
def test_gru_forward_mistakes_are_named(slip):
    slips, cause = FORWARD_SLIPS[slip]
    fwd, *_ = gru(*slips)
    fails(lambda: G.check_gru_step_forward(fwd), "h_next: wrong values", "normwise relative error",
          f"Likely cause: {cause}")


BACKWARD_SLIPS = {
    "dz sign": ((("dz = dh_next * (h_prev - n)", "dz = dh_next * (n - h_prev)"),),
                ("dx", "dh_prev"), "Likely cause: dz has the wrong sign"),
    "no r on the recurrent candidate": ((("d_pre_n * r], axis=1)", "d_pre_n], axis=1)"),),
                                        ("dWx", "dWh", "dbx", "dbh"), "is multiplied by r"),
    "tanh slope on the gates": ((("dr * r * (1 - r), dz * z * (1 - z)", "dr * (1 - r**2), dz * (1 - z**2)"),),
                                ("dx", "dh_prev"), "use tanh's slope"),
    "sigmoid slope on n": ((("d_pre_n = dn * (1 - n**2)", "d_pre_n = dn * n * (1 - n)"),),
                           ("dWx", "dWh", "dbx", "dbh"), "the candidate n uses the sigmoid's slope"),
    "no direct path": ((("dh_prev = dh_next * z + dah @ Wh.T", "dh_prev = dah @ Wh.T"),),
                       ("dx", "dh_prev"), "dh_prev misses the direct path"),
    # Not catalogued: the message must still say where, measured.
    "wrong r slope": ((("dr * r * (1 - r)", "dr * r"),), ("dx", "dh_prev"),
                      "Where the error sits: dWx = x.T @ dax shows that dax is wrong in the block r:"),
    "dh_prev from dax": ((("dh_prev = dh_next * z + dah @ Wh.T", "dh_prev = dh_next * z + dax @ Wh.T"),),
                         ("dx", "dh_prev"), "is multiplied by r"),
}


@pytest.mark.parametrize("slip", BACKWARD_SLIPS)
def test_gru_backward_mistakes_are_named(slip):
    slips, outputs, fragment = BACKWARD_SLIPS[slip]
    fwd, bwd, *_ = gru(*slips)
    fails(lambda: G.check_gru_step_backward(fwd, bwd, outputs=outputs), "wrong values",
          "normwise relative error", fragment)


def test_gru_sequence_mistakes_are_named():
    *_, seq_fwd, seq_bwd = gru(("dh[:, t] + dh_carried", "dh[:, t]"))
    fails(lambda: G.check_gru_backward(seq_fwd, seq_bwd), "the gradient carried back from step t+1 is not added")
    *_, seq_fwd, seq_bwd = gru(("grads = [g + s for g, s in zip(grads, step)]", "grads = step"))
    fails(lambda: G.check_gru_backward(seq_fwd, seq_bwd), "the weight gradients are those of a single step")
    *_, seq_fwd, seq_bwd = gru(("dx[:, t], dh_carried, *step = gru_step_backward(dh[:, t] + dh_carried, cache[t])",
                                "dx[:, t], dh_carried, *step = gru_step_backward(dh[:, t] + dh_carried, cache[t])\n"
                                "        dh[:, t] = 0"))
    fails(lambda: G.hidden(7, G.check_gru_backward_many_to_one, seq_fwd, seq_bwd), "changed its argument dh in place")


def test_gru_delegation_earns_nothing():
    fwd, *_ = gru()
    fails(lambda: G.check_gru_step_forward(lambda *a: L.cells.gru_step_forward(*a)), "earns no points")
    fails(lambda: G.check_gru_step_backward(fwd, lambda dh, cache: L.cells.gru_step_backward(dh, cache)),
          "earns no points")


# ------------------------------------------------------------- exercise 03's near-misses

def lstm_step_backward(*slips):
    (fn,) = student({"lstm_step_backward": BACKPROP["lstm_step_backward"]}, slips, "lstm_step_backward")
    return fn


NEAR_MISSES = {
    # The example: dc without tanh′ got "dx: wrong values" and nothing more.
    "tanh′ left out of dc": (("dh_next * o * (1 - tanh_c**2)", "dh_next * o"), ("dx", "dh_prev", "dc_prev"),
                             ["Likely cause: the term that h_next adds to dc lacks tanh's slope"]),
    # Not catalogued: where it sits, measured (the gates that read dc, only when dh_next flows in).
    "tanh′ squared": (("dh_next * o * (1 - tanh_c**2)", "dh_next * o * (1 - tanh_c**2)**2"),
                      ("dx", "dh_prev", "dc_prev"), ["gate blocks i, f, g and right in o", "(1 - tanh(c_next)**2)"]),
    "output gate slope": (("do * o * (1 - o)", "do * o"), ("dWx", "dWh", "db"),
                          ["only dh_next takes", "gate block o and right in i, f, g"]),
    "forget gate": (("dc * c_prev * f * (1 - f)", "dc * f * (1 - f)"), ("dx", "dh_prev", "dc_prev"),
                    ["gate block f and right in i, g, o", "da_f = dc * c_prev * f * (1 - f)"]),
    "bias averaged": (("da.sum(axis=0)", "da.mean(axis=0)"), ("dWx", "dWh", "db"),
                      ["Likely cause: db averages da over the batch"]),
    "dx doubled": (("da @ Wx.T, da @ Wh.T", "2 * da @ Wx.T, da @ Wh.T"), ("dx", "dh_prev", "dc_prev"),
                   ["dWx is right, so your da is right"]),
    "float32 drift": (("return da @ Wx.T", "da = da.astype(np.float32)\n    return da @ Wx.T"),
                      ("dx", "dh_prev", "dc_prev"), ["agree with the reference only to single precision"]),
}


@pytest.mark.parametrize("slip", NEAR_MISSES)
def test_lstm_step_backward_near_misses_say_where(slip):
    change, outputs, fragments = NEAR_MISSES[slip]
    message = fails(lambda: G.check_lstm_step_backward(L.lstm_step_forward, lstm_step_backward(change),
                                                       outputs=outputs),
                    "normwise relative error", *fragments)
    if slip == "float32 drift":
        assert "Where the error sits" not in message


# -------------------------------------------------------------------------- questions

def solution_answer(notebook, name):
    space = {"np": np}
    exec(solution_answers(ROOT / "solutions" / notebook)[f"answer_{name}"], space)
    return space[f"answer_{name}"]


def test_every_question_is_asked_once_and_answered_right_by_its_solution():
    asked = {}
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for gid in solution_answers(path):
            if gid.startswith("answer_"):
                asked.setdefault(gid[len("answer_"):], []).append(path.parent.name + "/" + path.name)
    assert sorted(asked) == sorted(G.QUESTIONS), "each question is asked in a notebook, and only those"
    for name, (where,) in asked.items():
        G.check_answer(name, solution_answer(where, name))


def test_choices_named_in_the_notebook_are_the_catalogued_ones():
    import nbformat
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        for k, cell in enumerate(cells):
            gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if gid.startswith("answer_") and G.QUESTIONS[gid[7:]]["kind"] == "choice":
                q = G.QUESTIONS[gid[7:]]
                asked = cells[k - 1].source
                for letter in sorted([q["answer"], *q["why"]]):
                    assert f"- ({letter}) " in asked, (path.name, gid, letter)


def test_wrong_answers_are_explained_and_point_to_the_book():
    fails(lambda: G.check_answer("gru_history", "a"), "(a) is not right", "seventeen years", "chapter 5")
    fails(lambda: G.check_answer("gru_history", "e"), "expected one of the letters 'a', 'b', 'c', 'd'")
    fails(lambda: G.check_answer("gru_history", None), "not answered yet")
    fails(lambda: G.check_answer("gru_params", 1860), "Likely cause: the book's GRU keeps two bias vectors")
    fails(lambda: G.check_answer("gru_params", 1234), "1234 parameters is not right", "chapter 5")
    fails(lambda: G.check_answer("gru_params", "1920"), "expected a number")
    fails(lambda: G.check_answer("vanishing_rate", 45), "the factors multiply, they do not add")
    fails(lambda: G.check_answer("forget_gate_memory", 0.665), "first-order approximation")
    fails(lambda: G.check_answer("no_such_question", "a"), "no question called")
    G.check_answer("forget_gate_memory", 0.72)          # rounded to two digits: accepted
    G.check_answer("gru_history", " (B) ")
    fails(lambda: G.check_answer("clipping", "b"), "clip_grad_value_", "chapter 2")
    fails(lambda: G.check_answer("torch_params", 2480), "PyTorch keeps two")
    fails(lambda: G.check_answer("forget_bias_start", 1), "the bias is not the gate's value")


# ---------------------------------------------------- exercise 03: the peephole variant

def peephole(*slips):
    given = {"given": BACKPROP_GIVEN, "peephole_step_backward": BACKPROP["peephole_step_backward"]}
    return student(given, slips, "peephole_step_forward", "peephole_step_backward")


BACKPROP_GIVEN = next(c.source for c in __import__("nbformat").read(
    ROOT / "solutions" / "03_backprop" / "backprop.ipynb", as_version=4).cells
    if c.metadata.get("nbgrader", {}).get("grade_id") == "given_peephole_forward")

PEEPHOLE_SLIPS = {
    "o's peephole left out of dc": (("(1 - tanh_c**2) + da_o * p_o", "(1 - tanh_c**2)"), ("dx", "dh_prev", "dc_prev"),
                                    "Likely cause: dc misses the path through the output gate's peephole"),
    "peepholes left out of dc_prev": (("dc * f + da_i * p_i + da_f * p_f", "dc * f"), ("dx", "dh_prev", "dc_prev"),
                                      "Likely cause: dc_prev misses the peepholes of i and f"),
    "dp_o from c_prev": (("(da_o * c_next).sum(axis=0)", "(da_o * c_prev).sum(axis=0)"),
                         ("dWx", "dWh", "db", "dp_i", "dp_f", "dp_o"), "Likely cause: dp_o uses c_prev"),
    "dp_i not summed": (("(da_i * c_prev).sum(axis=0)", "(da_i * c_prev)"), ("dWx", "dWh", "db", "dp_i", "dp_f", "dp_o"),
                        "dp_i: wrong shape"),
}


def test_peephole_solution_passes():
    fwd, bwd = peephole()
    G.check_peephole_step_backward(fwd, bwd)
    G.hidden(99, G.check_peephole_step_backward, fwd, bwd)


@pytest.mark.parametrize("slip", PEEPHOLE_SLIPS)
def test_peephole_mistakes_are_named(slip):
    change, outputs, fragment = PEEPHOLE_SLIPS[slip]
    fwd, bwd = peephole(change)
    fails(lambda: G.check_peephole_step_backward(fwd, bwd, outputs=outputs), fragment)

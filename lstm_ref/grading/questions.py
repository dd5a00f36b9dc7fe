"""Questions on the ideas: short multiple-choice and numeric questions on what the course
corrects (the GRU's history, "a few steps", the "context window", online learning, what
clipping does) and on shapes, sizes and gate roles, each answered in one notebook cell and checked by one call:

    answer_context_window = "c"
    grading.check_answer("context_window", answer_context_window)

A notebook's markdown states the question and its choices (a), (b), ...; this module holds,
for each question, the right answer, what each wrong choice (or each usual slip of a numeric
answer) gets wrong, and the section of the book that answers it. A numeric answer is
computed here from lstm_ref, never typed in.
"""
import math

from ..cells import sigmoid
from ..cost import recurrent_params
from .core import GradingError


def _choice(answer, why, read):
    """A multiple-choice question: answer, a letter; why: {letter: what that choice gets
    wrong} for every other letter; read: where the book answers it."""
    return {"kind": "choice", "answer": answer, "why": why, "read": read}


def _number(value, rtol, slips, read, unit=""):
    """A numeric question: value, the right number (computed); rtol, the relative error
    accepted (rounding); slips: [(a wrong number a usual slip gives, the slip)]."""
    return {"kind": "number", "answer": float(value), "rtol": rtol, "slips": slips, "read": read,
            "unit": unit}


_KEEP_STEPS = 1000                          # question forget_gate_memory: a forget gate
_KEEP = float(sigmoid(8.0))                  # held at sigmoid(8) for 1,000 steps
_LAG, _RHO = 50, 0.9                        # the gradient of question vanishing_rate
_GRU_D, _GRU_H = 10, 20                     # the GRU of question gru_params
_TORCH_D, _TORCH_H = 10, 20                 # the nn.LSTM of question torch_params

QUESTIONS = {
    # ----------------------------------------------------------- exercise 01 (chapters 1, 2)
    "context_window": _choice("c", {
        "a": "an RNN has no window of H steps: H is how many numbers its state holds, not how "
             "many steps it reads. Every step's input enters h_T through the chain of states",
        "b": "the state is not reset every few steps: h_t = tanh(x_t Wx + h_(t-1) Wh + b) "
             "carries h_(t-1), and with it everything read before",
        "d": "x_1 reaches h_T through every state in between, so it can change h_T; what fades "
             "is how much it changes it (the gradient), not whether it can"},
        "chapter 1, 'The long-range problem, measured' (the box 'A common claim, corrected')"),
    "vanishing_rate": _number(_RHO ** _LAG, 0.02, [
        (1.0 - _LAG * (1.0 - _RHO), "a gradient loses a factor rho per step, it does not lose "
                                    "(1 - rho) per step: the factors multiply, so the norm is "
                                    "rho**k, not 1 - k(1 - rho)"),
        (_RHO * _LAG, "the factors multiply, they do not add: rho**k, not rho * k"),
        (_RHO ** (_LAG - 1), "50 steps back is 50 Jacobians, so 50 factors of rho")],
        "chapter 2, 'A bound, and the number that controls it'"),
    # ------------------------------------------------------------- exercise 03 (chapters 3, 4)
    "forget_gate_memory": _number(_KEEP ** _KEEP_STEPS, 0.01, [
        (1.0 - _KEEP_STEPS * (1.0 - _KEEP), "c is multiplied by f at every "
         "step, so what is left is f**1000; 1 - 1000(1 - f) is only its first-order approximation"),
        (_KEEP, "that is what is left after one step; after 1,000 steps it is f**1000"),
        (0.0, "a forget gate near 1 does not wipe the cell within a few steps: f**1000 with "
              "f = sigmoid(8) is still well above a half")],
        "chapter 3, 'How long can an LSTM remember?' and 'Four claims, corrected' (the first box)"),
    "online_learning": _choice("b", {
        "a": "the cell reads one step at a time and carries (h_t, c_t), 2H numbers: it never "
             "needs the stream's past inputs, only its state",
        "c": "the state has a fixed size, 2H numbers, however long the stream has run",
        "d": "the forget gate was introduced precisely so that LSTMs could run on continual, "
             "unsegmented input streams (Gers et al. 2000)"},
        "chapter 3, 'Four claims, corrected' (the box on online learning)"),
    "output_gate": _choice("d", {
        "a": "the input gate i scales the candidate g written into the cell: c_t = f c_(t-1) + i g",
        "b": "the forget gate f scales the old cell content c_(t-1), which the next layer never "
             "reads directly",
        "c": "the candidate g is what may be written into the cell, not a gate on what is read"},
        "chapter 3, 'The equations, with every shape'"),
    # -------------------------------------------------------------------- exercise 07 (GRU)
    "gru_history": _choice("b", {
        "a": "the GRU came seventeen years after the LSTM (Cho et al. 2014; Hochreiter and "
             "Schmidhuber 1997): an LSTM does not use GRUs, they are two separate cells",
        "c": "the GRU is a cell of its own: no separate cell state, two gates and a candidate "
             "instead of three gates and a candidate",
        "d": "the GRU has no output gate: all of h_t is shown to the next layer"},
        "chapter 5, 'The gated recurrent unit'"),
    "gru_params": _number(recurrent_params("gru", _GRU_D, _GRU_H), 0.0, [
        (recurrent_params("gru", _GRU_D, _GRU_H) - 3 * _GRU_H, "the book's GRU keeps two bias "
         "vectors, bx and bh, each (3H,): with the reset after the product, bh_n is multiplied by "
         "r, so the two are not interchangeable"),
        (3 * _GRU_H * (_GRU_D + _GRU_H), "Wx (D, 3H) and Wh (H, 3H) are not all: the biases bx "
                                         "and bh add 3H numbers each"),
        (recurrent_params("lstm", _GRU_D, _GRU_H), "that is the LSTM's count, four blocks; the "
                                                    "GRU has three (r, z, n)")],
        "chapter 5, 'The gated recurrent unit' ('Three blocks instead of four')", unit="parameters"),
    # --------------------------------------------------------------- exercise 05 (PyTorch)
    "batch_first": _choice("b", {
        "a": "nothing checks it: a (64, 50, 2) tensor is a valid time-major input, 64 steps of a "
             "batch of 50, so no error is raised",
        "c": "PyTorch cannot tell which axis is time: it follows batch_first, which is False unless "
             "you set it",
        "d": "nothing is transposed: without batch_first=True the first axis is read as time"},
        "chapter 7, 'nn.LSTM and its shapes'"),
    "torch_params": _number(recurrent_params("lstm", _TORCH_D, _TORCH_H, convention="pytorch"), 0.0, [
        (recurrent_params("lstm", _TORCH_D, _TORCH_H), "that is the book's (and Keras') count, with one "
                                                         "bias; PyTorch keeps two, bias_ih and bias_hh, "
                                                         "4H numbers each (only their sum acts)"),
        (4 * _TORCH_H * (_TORCH_D + _TORCH_H), "the two bias vectors, 4H numbers each, count too"),
        (recurrent_params("gru", _TORCH_D, _TORCH_H, convention="pytorch"), "that is a GRU's count, three "
                                                                             "blocks; the LSTM has four")],
        "chapter 7, 'nn.LSTM and its shapes', and chapter 5, 'Three blocks instead of four'",
        unit="parameters"),
    # ---------------------------------------------------------- exercise 08 (RNN against LSTM)
    "clipping": _choice("a", {
        "b": "clip_grad_norm_ scales all the gradients by one factor, max_norm / norm, so no entry "
             "is cut on its own (that is clip_grad_value_, which does change the direction)",
        "c": "clipping only shrinks an update; it cannot make the gradient from distant steps any "
             "larger than it is, so it does not cure a vanishing gradient",
        "d": "it acts only when the norm exceeds max_norm; below that the gradients are left as they are"},
        "chapter 2, 'Gradient clipping: half a cure'"),
    "forget_bias_start": _number(float(sigmoid(1.0)), 0.01, [
        (1.0, "the bias is not the gate's value: f = sigmoid(a_f), and with a_f near its bias of 1, "
              "f is sigmoid(1)"),
        (0.5, "that is sigmoid(0), the forget gate with a bias of 0"),
        (float(sigmoid(1.0)) ** 2, "that is what is left after two steps; one step keeps sigmoid(1)")],
        "chapter 4, 'The forget-gate bias: 1 or 0?'"),
}


def _unanswered(answer):
    return answer is None or answer is Ellipsis or (isinstance(answer, str) and not answer.strip())


def check_answer(name, answer):
    """Check the answer to question `name` (a key of QUESTIONS): a letter for a
    multiple-choice question (case and spaces ignored), a number for a numeric one.
    Raises GradingError saying what the chosen answer gets wrong and where the book
    answers the question."""
    if name not in QUESTIONS:
        raise GradingError(f"check_answer: no question called {name!r}; the questions are "
                           f"{', '.join(sorted(QUESTIONS))}")
    q = QUESTIONS[name]
    read = f"The book answers it in {q['read']}."
    if _unanswered(answer):
        raise GradingError(f"{name}: not answered yet: set answer_{name} to your answer. {read}")
    if q["kind"] == "choice":
        letters = sorted([q["answer"], *q["why"]])
        if not isinstance(answer, str) or answer.strip().lower().strip("()") not in letters:
            raise GradingError(f"{name}: expected one of the letters {', '.join(map(repr, letters))} "
                               f"as a string, got {answer!r}")
        letter = answer.strip().lower().strip("()")
        if letter != q["answer"]:
            raise GradingError(f"{name}: ({letter}) is not right: {q['why'][letter]}. {read}")
        return
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or not math.isfinite(answer):
        raise GradingError(f"{name}: expected a number (an int or a float), got {answer!r}")
    if math.isclose(answer, q["answer"], rel_tol=q["rtol"], abs_tol=0.0):
        return
    for value, slip in q["slips"]:
        if math.isclose(answer, value, rel_tol=max(q["rtol"], 1e-9), abs_tol=1e-12):
            raise GradingError(f"{name}: {answer:g} is not right. Likely cause: {slip}. {read}")
    unit = f" {q['unit']}" if q["unit"] else ""
    raise GradingError(f"{name}: {answer:g}{unit} is not right. {read}")

"""What every check shares: comparing arrays with messages that say what is wrong, calling
the student's function (and refusing work delegated to lstm_ref), and the inputs the
checks feed it.
"""
import functools
import os
import sys
import threading
from contextlib import contextmanager, nullcontext

import numpy as np

from ..gates import LSTM_GATES, gate_slices
from ..init import orthogonal
from ..tolerances import FLOAT32, FLOAT64, elementwise

# Values spanning many decades (gradient norms against lag) are compared relatively only:
# an absolute floor would accept anything below it, which is exactly where they live.
RELATIVE_ONLY = {"rtol": FLOAT64["rtol"], "atol": 0.0}


class GradingError(AssertionError):
    """A check failed. The message says what is wrong and how it was measured."""


# ------------------------------------------------------------------ comparing arrays

# Said when an output has the wrong shape: what the shape should be, and why.
SHAPE_HINTS = {
    "dx": "A gradient has the shape of the array it is the gradient of: dx is shaped like x.",
    "dh_prev": "dh_prev is shaped like h_prev, (B, H).",
    "dc_prev": "dc_prev is shaped like c_prev, (B, H).",
    "dh0": "dh0 is shaped like h0, (B, H).",
    "dc0": "dc0 is shaped like c0, (B, H).",
    "dWx": "dWx is shaped like Wx: for y = x @ W, dW = x.T @ dy.",
    "dWh": "dWh is shaped like Wh: for y = h @ W, dW = h.T @ dy.",
    "db": "db is shaped like b: b is added to every row of the batch (and at every "
          "step), so its gradient sums over those rows.",
    "h": "h holds every hidden state, batch first like x: h[:, t] is the state after step t.",
}


def _as_array(what, got):
    """got as a float array, or a GradingError that says why it is not one."""
    if got is None:
        raise GradingError(f"{what}: your function returned None. Did you forget a `return`?")
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise GradingError(f"{what}: expected a NumPy array of numbers, got {type(got).__name__}") from None


def _check_shape(what, got, expected, hint=""):
    if got.shape != expected.shape:
        msg = f"{what}: wrong shape. Expected {expected.shape}, got {got.shape}."
        if got.ndim == expected.ndim and sorted(got.shape) == sorted(expected.shape):
            msg += " The sizes are right but in another order: are two axes swapped (a transpose)?"
        raise GradingError(f"{msg} {hint}".rstrip())


def _check_finite(what, got):
    bad = ~np.isfinite(got)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise GradingError(f"{what}: {int(bad.sum())} of {got.size} entries are NaN or inf "
                           f"(the first at index {first}). Look for an overflow, e.g. exp of a "
                           f"large number, or a division by zero.")


def check_array(what, got, expected, tol=None, hint=""):
    """Compare one output with the reference: type, shape, finiteness, then values.

    Elementwise at the tolerances for expected's dtype (`lstm_ref.tolerances`), or at tol
    ({"rtol", "atol"}) where given: |got - expected| <= atol + rtol * |expected|, everywhere.
    hint: said after a wrong shape (what the shape should be).
    """
    got = _as_array(what, got)
    expected = np.asarray(expected)
    _check_shape(what, got, expected, hint)
    _check_finite(what, got)
    tol = tol or elementwise(expected.dtype)
    excess = np.abs(got - expected) - (tol["atol"] + tol["rtol"] * np.abs(expected))
    if (excess > 0).any():
        k = np.unravel_index(np.argmax(excess), excess.shape)
        idx = tuple(int(i) for i in k)
        allowed = (f"{tol['rtol']:.0e} * |reference|, relative only because these values span "
                   f"many decades" if tol["atol"] == 0 else
                   f"{tol['atol']:.0e} + {tol['rtol']:.0e} * |reference|")
        raise GradingError(
            f"{what}: wrong values. At index {idx} you have {_digits(got[k], expected[k])}, the reference "
            f"has {_digits(expected[k], got[k])} (absolute error {abs(got[k] - expected[k]):.2e}; allowed "
            f"{allowed}). {int((excess > 0).sum())} of {got.size} entries are outside the tolerance"
            f"{_normwise(got, expected)}.{_float32_drift(got, expected, tol)}")


def _digits(value, other):
    """value with as many significant digits (6 to 17) as it takes to differ from other."""
    for n in range(6, 18):
        if f"{value:.{n}g}" != f"{other:.{n}g}":
            break
    return f"{value:.{n}g}"


def wrong_blocks(got, expected, order):
    """The gates (of order) whose block of the last axis differs between got and expected at
    the float64 tolerances; None when the two cannot be compared (shape, type, NaN)."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None
    if got.shape != np.shape(expected) or not np.isfinite(got).all():
        return None
    s = gate_slices(order, np.shape(expected)[-1] // len(order))
    return [name for name in order if not np.allclose(got[..., s[name]], expected[..., s[name]],
                                                      rtol=FLOAT64["rtol"], atol=FLOAT64["atol"])]


def _normwise(got, expected):
    """How wrong the whole array is: ', normwise relative error ||yours - reference|| /
    ||reference|| = ...' (a number near 1 or above: wrong throughout; a small one: a few
    entries or a small term)."""
    scale = np.linalg.norm(expected)
    if scale == 0:
        return f"; the reference is all zeros and yours has norm {np.linalg.norm(got):.2e}"
    return f"; normwise relative error ||yours - reference|| / ||reference|| = {np.linalg.norm(got - expected) / scale:.1e}"


def _float32_drift(got, expected, tol):
    """A note when got would pass at float32's tolerances but not at float64's: the
    values were computed (or stored) in single precision."""
    if expected.dtype != np.float64 or tol["rtol"] >= FLOAT32["rtol"]:
        return ""
    if np.all(np.abs(got - expected) <= FLOAT32["atol"] + FLOAT32["rtol"] * np.abs(expected)):
        return (" Likely cause: your values agree with the reference only to single precision "
                "(float32, about 7 digits): compute in float64, e.g. no np.float32 arrays or "
                "dtype=np.float32, and no .astype(np.float32).")
    return ""


def check_gate_blocks(what, got, expected, order=LSTM_GATES, hint="", every=None):
    """Compare a fused (..., kH) block gate by gate, naming the gates that differ.

    The last axis of expected holds the k = len(order) gate blocks side by side, H columns
    each (dWx (D, 4H), dWh (H, 4H), db (4H,) for the LSTM); indices in the messages are
    within the block. every: said when every block differs (None: the note for gradients).
    """
    got = _as_array(what, got)
    expected = np.asarray(expected)
    _check_shape(what, got, expected, hint)
    H = expected.shape[-1] // len(order)
    s = gate_slices(order, H)
    wrong = []
    for name in order:
        try:
            check_array(f"{what}, gate {name}", got[..., s[name]], expected[..., s[name]])
        except GradingError as err:
            # A block that holds another gate's values means the blocks are out of order.
            other = [o for o in order if o != name and _same((got[..., s[name]],), (expected[..., s[o]],))]
            wrong.append(str(err) + (f" It holds the reference's gate {other[0]} block: is the order "
                                     f"of the blocks {', '.join(order)}?" if other else ""))
    if wrong:
        if every is None:
            every = (" Every block differs, so look at what all gates share (the upstream gradient, "
                     "the rows it is multiplied with, a transpose) before any one gate's derivative.")
        every = every if len(wrong) == len(order) else ""
        raise GradingError(f"{what}: {len(wrong)} of {len(order)} gate blocks differ "
                           f"(order {', '.join(order)}).{every}\n" + "\n".join(wrong))


def _same(got, want, rtol=1e-8, atol=1e-10):
    """Whether every array of got equals the one of want (used to recognise a mistake)."""
    try:
        return len(got) == len(want) and all(
            np.shape(g) == np.shape(w) and np.allclose(np.asarray(g, dtype=float), w, rtol=rtol, atol=atol)
            for g, w in zip(got, want))
    except (TypeError, ValueError):
        return False


def _explain(compare, got, mistakes, note="", rtol=1e-8, atol=1e-10):
    """Run compare(); if it fails, name the first known mistake whose result equals what the
    student returned. got: the student's outputs that compare() checks; mistakes: pairs
    (cause, function returning the outputs that mistake gives, in got's order); note: said
    when no known mistake matches (a string, or a function returning one: where the error
    sits, measured only when there is an error)."""
    try:
        compare()
    except GradingError as err:
        for cause, outputs in mistakes:
            if _same(got, outputs(), rtol, atol):
                raise GradingError(f"{err}\nLikely cause: {cause}.") from None
        note = note() if callable(note) else note
        if note:
            raise GradingError(f"{err}\n{note}") from None
        raise


# --------------------------------------------------------- work that was not done

# The functions of lstm_ref that load the exercises' data: no computation a student is asked
# to write. Cutting a series into windows is (exercise 06), so datasets.windows counts.
DATA_FUNCTIONS = {"sentiment_reviews", "encode_reviews", "sentiment_data", "co2_monthly"}
# Modules of lstm_ref that are no reference: the checks, and the checks of arguments.
_NOT_REFERENCE = ("lstm_ref.grading", "lstm_ref.checks")


class _Reference:
    """Every function of lstm_ref's computation, and how to make them unavailable.

    functions: {name ("lstm_ref.cells.lstm_step_forward", "lstm_ref.train.Regressor.fit"):
    the function object}, of every submodule (all imported here, so that none is loaded
    later with functions of its own) except the checks and the data loaders; codes: the
    code objects of lstm_ref's own functions but the checks' (and what they nest), by
    identity, since a file name can be forged and an identity cannot: a call from one of
    them is the reference using its helpers, not the student's code.
    """

    def __init__(self):
        import importlib
        import pkgutil
        import types
        root = importlib.import_module("lstm_ref")
        home = os.path.dirname(root.__file__) + os.sep
        for info in pkgutil.walk_packages(root.__path__, "lstm_ref."):
            importlib.import_module(info.name)
        self.functions, self.codes = {}, set()
        for modname, module in list(sys.modules.items()):
            if not (modname == "lstm_ref" or modname.startswith("lstm_ref.")):
                continue
            for key, value in list(vars(module).items()):
                owner = getattr(value, "__module__", None)
                if owner != modname:
                    continue            # imported from elsewhere: counted where it lives
                pairs = [(key, value)]
                if isinstance(value, type):
                    pairs = [(f"{key}.{k}", getattr(v, "__func__", v)) for k, v in vars(value).items()]
                for name, fn in pairs:
                    if not (isinstance(fn, types.FunctionType)
                            and fn.__code__.co_filename.startswith(home)):
                        continue                # e.g. a namedtuple's methods, made elsewhere
                    if not modname.startswith("lstm_ref.grading"):
                        self._codes(fn.__code__)   # the checks' own code is no way in
                    if (modname.startswith(_NOT_REFERENCE) or name in DATA_FUNCTIONS
                            or fn.__name__ == "<lambda>"):
                        continue
                    self.functions[f"{modname}.{name}"] = fn
        self.stand_ins = {}             # name: the code object it wears while unavailable

    def _codes(self, code):
        self.codes.add(code)
        for const in code.co_consts:
            if hasattr(const, "co_code"):
                self._codes(const)

    def stand_in(self, name):
        """The code object that the function `name` wears while a student's function runs:
        called, it asks _entered whether its caller may have the real function."""
        if name not in self.stand_ins:
            n = len(self.functions[name].__code__.co_freevars)   # must match the closure's
            free = [f"_v{k}" for k in range(n)]
            src = ("def _outer():\n" + "".join(f"    {v} = None\n" for v in free) +
                   "    def stand_in(*args, **kwargs):\n" +
                   (f"        ({', '.join(free)},)\n" if n else "") +
                   "        import lstm_ref.grading.core as core\n"
                   f"        return core._entered({name!r})(*args, **kwargs)\n"
                   "    return stand_in\n")
            space = {}
            exec(compile(src, "<lstm_ref.grading: the reference is unavailable>", "exec"), space)
            self.stand_ins[name] = space["_outer"]().__code__
            self.codes.add(self.stand_ins[name])    # a stand-in calling its real function is inside
        return self.stand_ins[name]


# While a student's function runs: {"real": {name: (code, ...)}, "calls": [names]}.
_UNAVAILABLE = None


@functools.lru_cache(maxsize=None)      # made once, when first needed; no module global changes
def _reference():
    return _Reference()


def _entered(name):
    """Called by the stand-in of the function `name`: the real function when the caller is
    lstm_ref's own code (the reference may use its helpers, an allowed function its inner
    ones), else the call is recorded and refused."""
    import types
    caller = sys._getframe(2).f_code            # 0: here, 1: the stand-in, 2: its caller
    state = _UNAVAILABLE
    if state is not None and name in state["real"]:
        fn, code = _reference().functions[name], state["real"][name]
        if caller in _reference().codes:
            real = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
            real.__kwdefaults__ = fn.__kwdefaults__
            return real
        state["calls"].append(name)
    raise GradingError(f"{name} is not available to your code while it is graded: the exercise "
                       f"asks you to write that computation yourself.")


@contextmanager
def _reference_unavailable(allowed=()):
    """While the block runs, every function of lstm_ref's computation (but those named in
    allowed) wears a stand-in code object: however the student's code reaches it (the
    module attribute, a copy made earlier, a closure, a thread or an executor started
    before), calling it is recorded and refused. Yields the list of names called."""
    global _UNAVAILABLE
    ref = _reference()
    chosen = {name: fn for name, fn in ref.functions.items() if name.rsplit(".", 1)[-1] not in allowed}
    state = {"real": {name: fn.__code__ for name, fn in chosen.items()}, "calls": []}
    _UNAVAILABLE = state
    try:
        for name, fn in chosen.items():
            fn.__code__ = ref.stand_in(name)
        yield state["calls"]
    finally:
        for name, fn in chosen.items():
            fn.__code__ = state["real"][name]
        _UNAVAILABLE = None


@contextmanager
def _watch_reference_calls(allowed=()):
    """Record the calls that code outside lstm_ref makes into lstm_ref's computation
    while the block runs, in this thread and in the threads it starts. A code object
    reaches the reference however it was made (compiled under the package's file names,
    a function rebuilt from the reference's code): lstm_ref's code is known by identity."""
    ref = _reference()
    real = {fn.__code__: name for name, fn in ref.functions.items()
            if name.rsplit(".", 1)[-1] not in allowed}
    calls = []

    def profile(frame, event, arg):
        # Only the entry into the reference counts, not the reference's own inner calls.
        if event == "call" and frame.f_code in real and not (
                frame.f_back and frame.f_back.f_code in ref.codes):
            calls.append(real[frame.f_code])
    previous, previous_threads = sys.getprofile(), threading.getprofile()
    sys.setprofile(profile)
    threading.setprofile(profile)       # threads the student starts are watched too
    try:
        yield calls
    finally:
        if sys.getprofile() is not profile:
            calls.append(WATCH_SWITCHED_OFF)
        sys.setprofile(previous)
        threading.setprofile(previous_threads)


# What _watch_reference_calls records when the student's code replaced the watch itself.
WATCH_SWITCHED_OFF = "sys.setprofile"
# Types whose __array__ is a framework's own (a tensor's values), not the student's code.
_FRAMEWORKS = {"numpy", "torch", "tensorflow", "keras", "jax", "pandas"}


def _materialise(value, depth=2):
    """value with every array-like the student made turned into a plain ndarray, so that
    an object whose __array__ computes its values later (outside the watch) computes them
    now, inside it. Tuples, lists and dicts are entered up to `depth` levels."""
    if depth > 0 and isinstance(value, (tuple, list)):
        return type(value)(_materialise(v, depth - 1) for v in value)
    if depth > 0 and isinstance(value, dict):
        return {k: _materialise(v, depth - 1) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value if type(value) is np.ndarray else np.asarray(value)
    if hasattr(value, "__array__") and type(value).__module__.split(".")[0] not in _FRAMEWORKS:
        return np.asarray(value)
    return value


def _not_implemented(name, fn, err):
    """Which function is still a stub: the student's fn itself, or one that it calls."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    inner = tb.tb_frame.f_code.co_name if tb is not None else name
    owner = tb.tb_frame.f_locals.get("self") if tb is not None else None
    if owner is not None:                           # a method: name it with its class
        inner = f"{type(owner).__name__}.{inner}"
    if inner not in (name, getattr(fn, "__name__", name), "<lambda>"):
        return (f"{name}: not implemented yet: it calls {inner}, which still raises "
                f"NotImplementedError. Write {inner} first.")
    return f"{name}: not implemented yet (it still raises NotImplementedError)"


def run_student(name, fn, *args, allowed=(), watch=True, **kwargs):
    """Call the student's function; refuse the result if it delegated to lstm_ref.

    allowed: names of lstm_ref functions the exercise lets students use (e.g. "sigmoid").
    The student's own functions (defined in the notebook) are always theirs to call.
    watch=False: call it without watching (where the exercise permits all of lstm_ref and
    the function runs a framework's Python-heavy code, e.g. Keras' fit, which the watch
    slows down by half); stubs and errors are reported as always.
    """
    if not callable(fn):
        raise GradingError(f"{name}: expected a function, got {type(fn).__name__}")
    watching = watch and (_watch_reference_calls(allowed), _reference_unavailable(allowed))
    with (watching[0] if watch else nullcontext([])) as calls, \
            (watching[1] if watch else nullcontext([])) as refused:
        try:
            result = _materialise(fn(*args, **kwargs))
        except NotImplementedError as err:
            stub = GradingError(_not_implemented(name, fn, err))
            stub.stub = True            # the same on every input: _case adds no input label
            raise stub from None
        except FloatingPointError:
            raise                       # check_sigmoid turns an overflow into its own message
        except Exception as err:
            if refused:
                calls += refused        # refused below with the names, not as a crash
            else:
                # The student's traceback stays above this message (`from err`).
                raise GradingError(f"{name} raised {type(err).__name__}: {err}\n(The traceback "
                                   f"above shows the line of your code where it happened.)") from err
    calls += refused
    if WATCH_SWITCHED_OFF in calls:
        raise GradingError(
            f"{name} calls sys.setprofile, which switches off the check that your code does its "
            f"own work. A solution may not change how it is graded; remove the call.")
    used = list(dict.fromkeys(calls))
    if used:
        raise GradingError(
            f"{name} calls {', '.join(used)} from the reference package. This exercise asks you to "
            f"write that computation yourself, so a solution that calls lstm_ref earns no points "
            f"for it. Replace the call with your own code (your own functions from this notebook "
            f"are yours to call).")
    return result


def _outputs(name, result, count, names):
    if not isinstance(result, (tuple, list)) or len(result) != count:
        got = (f"a {type(result).__name__} of {len(result)}" if isinstance(result, (tuple, list))
               else type(result).__name__)
        raise GradingError(f"{name}: expected a tuple of {count} values ({', '.join(names)}), got {got}")
    return tuple(result)


def _forward_first(forward, backward, compare):
    """A backward pass is checked with the cache of the student's own forward pass; if that
    forward is wrong, say so instead of blaming the backward."""
    try:
        compare()
    except GradingError as err:
        raise GradingError(f"{backward} is checked with the cache that your {forward} makes, and "
                           f"{forward} is not right yet. Fix it first:\n{err}") from None


def _unchanged(name, argument, before, after, fix=None):
    """A function must not write into an array it was given (the caller may still need it).
    fix: what to do instead, said after the entry that changed (None: a general advice)."""
    if not np.array_equal(before, after):
        k = tuple(int(i) for i in np.argwhere(before != after)[0])
        fix = fix or (f"compute new arrays instead of writing into {argument} (or work on "
                      f"{argument}.copy())")
        raise GradingError(
            f"{name} changed its argument {argument} in place (entry {k} was {before[k]:.6g} and is "
            f"{after[k]:.6g} after the call). The caller may still need it: {fix}.")


# What to do instead of adding the carried gradient into the caller's dh (backward through time).
_DH_IN_PLACE_FIX = "compute new arrays (e.g. g = dh[:, t] + carried) instead of adding into dh"


# ------------------------------------------------------------------------- inputs

# The seed a hidden test's source names (grading.HIDDEN_SEED). When the autograder runs the
# test it writes there a seed drawn from the course's secret (grader/hidden.py); this value
# is what a hidden test uses when its notebook is run by hand.
HIDDEN_SEED = 0
# While a hidden test runs: its seed (a one-element list, changed in place, so that the
# module's attributes stay as the autograder's integrity check fingerprinted them).
_HIDDEN = [None]


def drawn(seed):
    """The seed a check uses for its public seed `seed`: the same one, or, inside a hidden
    test (see hidden), one derived from the test's secret seed and this one."""
    if _HIDDEN[0] is None:
        return seed
    return int(np.random.SeedSequence([_HIDDEN[0], seed]).generate_state(1, np.uint64)[0] >> 1)


def hidden(seed, check, *args, **kwargs):
    """Run check(*args, **kwargs) on inputs drawn from seed instead of the public seeds:
    every random case of the check (step_cases, sequence_cases, long_sequence_case, the
    held-out data of the training checks) is drawn from seed. Returns what check returns."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise GradingError(f"hidden: expected a seed, an integer >= 0, got {seed!r}")
    if _HIDDEN[0] is not None:
        raise GradingError("hidden: a hidden test cannot run inside another one")
    _HIDDEN[0] = int(seed)
    try:
        return check(*args, **kwargs)
    finally:
        _HIDDEN[0] = None


def _params(rng, D, H, k):
    """Seeded weights of a cell with k gate blocks: Wx (D, kH), Wh (H, kH), b (kH,)."""
    return {"Wx": rng.standard_normal((D, k * H)) * 0.5, "Wh": rng.standard_normal((H, k * H)) * 0.5,
            "b": rng.standard_normal(k * H) * 0.5}


def step_cases(k):
    """Inputs for one-step exercises, for a cell with k gate blocks: a hand-made case
    (small integers-over-ten, easy to follow by hand) and seeded random ones.
    Yields (label, dict with x (B, D), h_prev and c_prev (B, H), Wx (D, kH), Wh (H, kH),
    b (kH,)), float64."""
    B, D, H = 2, 3, 2
    grid = lambda *shape: (np.arange(np.prod(shape)).reshape(shape) % 7 - 3) / 10.0
    yield "the hand-made case (B=2, D=3, H=2)", {
        "x": grid(B, D), "h_prev": grid(B, H)[::-1].copy(), "c_prev": grid(B, H) * 2,
        "Wx": grid(D, k * H), "Wh": grid(H, k * H)[:, ::-1].copy(), "b": grid(k * H) / 2}
    for seed, (B, D, H) in enumerate([(1, 4, 3), (5, 3, 6)]):
        seed = drawn(100 + seed)
        rng = np.random.default_rng(seed)
        yield f"a random case (seed {seed}, B={B}, D={D}, H={H})", {
            "x": rng.standard_normal((B, D)), "h_prev": rng.standard_normal((B, H)),
            "c_prev": rng.standard_normal((B, H)), **_params(rng, D, H, k)}


def upstream(case, seed=300):
    """Seeded upstream gradients for a step case: dh_next and dc_next, each (B, H)."""
    rng = np.random.default_rng(drawn(seed))
    shape = case["h_prev"].shape
    return rng.standard_normal(shape), rng.standard_normal(shape)


def sequence_cases(k):
    """Inputs for whole-sequence exercises: (label, dict with x (B, T, D), Wx, Wh, b,
    h0 and c0 (B, H), and dh (B, T, H), an upstream gradient for every step's state)."""
    for seed, (B, T, D, H) in enumerate([(2, 5, 3, 4), (1, 1, 2, 3), (3, 8, 4, 2)]):
        seed = drawn(200 + seed)
        rng = np.random.default_rng(seed)
        case = {"x": rng.standard_normal((B, T, D)), "h0": rng.standard_normal((B, H)),
                "c0": rng.standard_normal((B, H)), **_params(rng, D, H, k)}
        case["dh"] = rng.standard_normal((B, T, H))     # drawn last: the rest is as it was
        yield f"a random case (seed {seed}, B={B}, T={T}, D={D}, H={H})", case


def long_sequence_case(k, T, rho, input_scale=1.0, B=3, D=3, H=4, seed=600):
    """A long sequence for a cell with k gate blocks, whose recurrent weights set how the
    gradient changes per step back: each (H, H) block of Wh is rho times an orthogonal
    matrix. Returns (label, dict with x (B, T, D), Wx, Wh, b, h0, c0 (zeros) and dh
    (B, T, H): zero except at the last step, a loss that reads only h_T)."""
    rng = np.random.default_rng(drawn(seed))
    Wh = np.concatenate([rho * orthogonal(rng, H) for _ in range(k)], axis=1)
    # The bias scales with the inputs: small inputs keep the state near zero (tanh linear).
    case = {"x": input_scale * rng.standard_normal((B, T, D)), "Wx": 0.5 * rng.standard_normal((D, k * H)),
            "Wh": Wh, "b": 0.1 * input_scale * rng.standard_normal(k * H),
            "h0": np.zeros((B, H)), "c0": np.zeros((B, H))}
    case["dh"] = np.zeros((B, T, H))
    case["dh"][:, -1] = unit_rows(seed, B, H)
    scale = "" if input_scale == 1 else f", inputs of size {input_scale:.0e}"
    return (f"a long sequence (seed {drawn(seed)}, B={B}, T={T}, D={D}, H={H}, Wh = {rho} x orthogonal"
            f"{scale})"), case


def unit_rows(seed, B, H, dtype=np.float64):
    """The (B, H) unit vectors u of lstm_ref.gradient_by_lag(..., seed=seed): a loss
    L = sum(h_T * u) has dL/dh_T = u, of norm 1 for every example."""
    u = np.random.default_rng(seed).standard_normal((B, H)).astype(dtype)
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def _case(where, label, check):
    try:
        check()
    except GradingError as err:
        if getattr(err, "stub", False):
            raise                       # a stub is a stub on every input: no case label
        raise GradingError(f"{where}, on {label}:\n{err}") from None



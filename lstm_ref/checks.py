"""Input checks shared by every public function: clear errors for bad input.

Each message names the function, the argument, what was expected and what came, e.g.

    lstm_forward: Wx has shape (5, 16), expected (D, 4H) = (D, 12) with H=3 from Wh
"""
import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def _parse(dim):
    """'4H' -> (4, 'H'); 'B' -> (1, 'B'); 7 -> (7, None)."""
    if isinstance(dim, int):
        return dim, None
    k = 0
    while k < len(dim) and dim[k].isdigit():
        k += 1
    return (int(dim[:k]) if k else 1), dim[k:]


def check_arrays(where, *specs, sizes=None):
    """Check shapes, dtypes and finiteness of several arrays at once.

    Inputs:
    - where: name of the calling function, used in messages.
    - specs: tuples ``(name, array, shape)`` where shape is a tuple of dimension
      symbols such as ``("B", "T", "D")`` or ``("H", "4H")``. ``array`` may be None
      (an optional argument that was not given) and is then skipped.
    - sizes: dict of symbol sizes already known, e.g. ``{"H": 3}``.

    A symbol takes its size from the first array that has it, so list the arrays
    that define sizes (weights) before those that must agree with them.

    Returns:
    - sizes: dict mapping every symbol seen to its size.
    - dtype: the common floating dtype of the arrays.

    Raises TypeError for a non-array, a non-float dtype or mixed dtypes, and
    ValueError for a wrong shape or a NaN/inf entry.
    """
    sizes = dict(sizes or {})
    source = {s: "the arguments" for s in sizes}
    dtype, dtype_from = None, None
    for name, a, shape in specs:
        if a is None:
            continue
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{where}: {name} must be a NumPy array, got {type(a).__name__}")
        if a.dtype.type not in FLOAT_DTYPES:
            raise TypeError(
                f"{where}: {name} has dtype {a.dtype}, expected float32 or float64 "
                f"(convert with {name}.astype(np.float64))")
        if dtype is None:
            dtype, dtype_from = a.dtype, name
        elif a.dtype != dtype:
            raise TypeError(
                f"{where}: {name} has dtype {a.dtype} but {dtype_from} has dtype {dtype}; "
                f"all arrays must have one dtype")
        learned = {}                    # sizes this array defines, kept only if it fits
        ok = a.ndim == len(shape)
        if ok:
            for n, dim in zip(a.shape, shape):
                mult, sym = _parse(dim)
                known = sizes.get(sym, learned.get(sym))
                if sym is None:
                    ok = ok and n == mult
                elif known is not None:
                    ok = ok and n == mult * known
                elif n % mult == 0:
                    learned[sym] = n // mult
                else:
                    ok = False
        if not ok:
            raise ValueError(f"{where}: {name} has shape {a.shape}, expected {_describe(shape, sizes, source)}")
        sizes.update(learned)
        source.update(dict.fromkeys(learned, name))
        if not np.isfinite(a).all():
            bad = np.argwhere(~np.isfinite(a))
            raise ValueError(
                f"{where}: {name} contains {len(bad)} NaN or inf value(s), "
                f"the first at index {tuple(int(i) for i in bad[0])}")
    return sizes, dtype


def _tuple(items):
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _describe(shape, sizes, source):
    symbols = _tuple([str(d) for d in shape])
    known, origins = [], []
    for dim in shape:
        mult, sym = _parse(dim)
        if sym is None:
            known.append(str(mult))
        elif sym in sizes:
            known.append(str(mult * sizes[sym]))
            origins.append(f"{sym}={sizes[sym]} from {source[sym]}")
        else:
            known.append(sym)
    text = symbols
    if known != [str(d) for d in shape]:
        text += " = " + _tuple(known)
    if origins:
        text += " with " + ", ".join(dict.fromkeys(origins))
    return text

"""Numerical gradients by centred differences, and how to compare two gradients.

    numerical_gradient(f, x)   dL/dx where L = f() is a scalar that reads x
    rel_error(a, b)            normwise relative error ||a - b|| / max(||a||, ||b||)
    max_abs_error(a, b)        max |a - b|

Why normwise? The elementwise relative error |a_k - b_k| / (|a_k| + |b_k|) is huge
wherever the true gradient is nearly zero, because there the rounding and truncation
error of a centred difference (~1e-10) is as big as the value itself. A correct
backward pass then "fails" on an entry that does not matter. The normwise error
weighs every entry by its share of the whole gradient, and the max absolute error
catches a single entry that is badly wrong.
"""
import numpy as np

from .tolerances import GRADCHECK_STEP


def numerical_gradient(f, x, h=GRADCHECK_STEP):
    """Centred-difference gradient of the scalar f() with respect to the array x.

    f takes no arguments and reads x, which is perturbed in place, one entry at a
    time, and always restored (also if f raises). Cost: 2 * x.size calls of f.

    Inputs: f, a callable returning a float; x, a float64 array of any shape; h, the step.
    Returns: array shaped like x, with (f(x + h e_k) - f(x - h e_k)) / (2h) at entry k.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"numerical_gradient: x must be a float64 NumPy array (float32 "
                        f"differences are too coarse for a gradient check), got {got}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        k = it.multi_index
        old = x[k]
        try:
            x[k] = old + h
            f_plus = f()
            x[k] = old - h
            f_minus = f()
        finally:
            x[k] = old
        grad[k] = (f_plus - f_minus) / (2 * h)
    return grad


def _pair(a, b, where):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"{where}: shapes differ, {a.shape} vs {b.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def rel_error(a, b):
    """Normwise relative error ||a - b|| / max(||a||, ||b||); 0.0 when both are zero."""
    a, b = _pair(a, b, "rel_error")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def max_abs_error(a, b):
    """Largest absolute difference between two arrays of the same shape."""
    a, b = _pair(a, b, "max_abs_error")
    return float(np.max(np.abs(a - b))) if a.size else 0.0

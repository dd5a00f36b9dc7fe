"""Every tolerance the course uses, in one place: the package's tests, the book and
the autograder all import these, so a student is held to exactly what the reference
implementation itself is held to.

Why these numbers:
- float64 sums of a few hundred products round at ~1e-16 relative; two correct
  implementations that add in different orders differ by ~1e-14. rtol 1e-10 leaves
  room for that and still catches any real mistake (a wrong gate is off by ~1e-1).
- float32 elementwise: PyTorch's own defaults for float32 in torch.testing.assert_close.
- Weight gradients sum T*B terms per entry, so single entries that are nearly zero
  carry large relative error even when the gradient is right; judge them normwise:
  ||a - b|| / max(||a||, ||b||).
- Centred differences with step h have truncation error ~h^2 f''' and rounding
  error ~eps f / h; at h = 1e-6 in float64 both stay below ~1e-8 on the course's sizes.
"""

FLOAT64 = {"rtol": 1e-10, "atol": 1e-12}
FLOAT32 = {"rtol": 1.3e-6, "atol": 1e-5}
FLOAT32_WEIGHT_GRAD_NORMWISE = 1e-5

GRADCHECK_STEP = 1e-6
GRADCHECK_MAX_ABS = 1e-7
GRADCHECK_NORMWISE = 1e-7


def elementwise(dtype):
    """The rtol/atol pair for arrays of this dtype (float32 or float64)."""
    import numpy as np
    return FLOAT32 if np.dtype(dtype) == np.float32 else FLOAT64

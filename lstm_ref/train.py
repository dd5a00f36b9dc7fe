"""Training a recurrent network in NumPy: a many-to-one regressor, Adam and gradient clipping.

The model reads a sequence and predicts one number from its last hidden state:

    h, h_T = <cell>_forward(x, ...)          h_T: (B, H)
    y_hat  = h_T @ W_out + b_out             (B, 1)
    loss   = mean((y_hat - y)^2)

which is what the adding problem asks (`lstm_ref.tasks`). Everything here uses the
forward and backward functions of `lstm_ref.sequence`; nothing is re-derived.

    model = Regressor("lstm", D=2, H=32, seed=0)
    history = fit(model, lambda rng: adding_problem(64, 50, seed=rng), steps=2000)
"""
import time

import numpy as np

from .init import glorot_uniform, init_gru, init_lstm, init_rnn
from .sequence import gru_backward, gru_forward, lstm_backward, lstm_forward, rnn_backward, rnn_forward

CELLS = {
    "rnn": (init_rnn, rnn_forward, rnn_backward),
    "lstm": (init_lstm, lstm_forward, lstm_backward),
    "gru": (init_gru, gru_forward, gru_backward),
}


class Regressor:
    """A recurrent cell followed by a linear read-out of its last hidden state.

    cell: "rnn", "lstm" or "gru"; D: input features; H: hidden units; init_options:
    passed to the cell's initialiser (e.g. forget_bias=0.0 for the LSTM).
    params: dict of arrays, the cell's (Wx, Wh, b...) plus W_out (H, 1) and b_out (1,).
    """

    def __init__(self, cell, D, H, seed=None, dtype=np.float64, **init_options):
        if cell not in CELLS:
            raise ValueError(f"Regressor: cell must be one of {sorted(CELLS)}, got {cell!r}")
        init, self._forward, self._backward = CELLS[cell]
        rng = np.random.default_rng(seed)
        self.cell = cell
        self.params = init(D, H, seed=rng, dtype=dtype, **init_options)
        self.params["W_out"] = glorot_uniform(rng, H, 1, dtype)
        self.params["b_out"] = np.zeros(1, dtype)

    def cell_params(self):
        """The recurrent cell's parameters (Wx, Wh, b...), without the read-out: a dict of
        the same arrays (not copies) that the model trains."""
        return {k: v for k, v in self.params.items() if k not in ("W_out", "b_out")}

    def predict(self, x):
        """x (B, T, D) -> y_hat (B, 1)."""
        _, final, _ = self._forward(x, **self.cell_params())
        h_T = final[0] if isinstance(final, tuple) else final
        return h_T @ self.params["W_out"] + self.params["b_out"]

    def loss_and_grads(self, x, y):
        """Mean squared error on a batch and its gradient for every parameter.

        x (B, T, D), y (B, 1). Returns (loss, grads) with grads keyed like params.
        """
        h, final, cache = self._forward(x, **self.cell_params())
        h_T = final[0] if isinstance(final, tuple) else final
        err = h_T @ self.params["W_out"] + self.params["b_out"] - y
        loss = float(np.mean(err**2))
        if not np.isfinite(loss):
            raise FloatingPointError(f"the loss is {loss}: the inputs or targets contain NaN/inf, "
                                     f"or training diverged (lower the learning rate, or clip)")
        d_yhat = 2 * err / err.size                       # d loss / d y_hat
        dh = np.zeros_like(h)
        dh[:, -1] = d_yhat @ self.params["W_out"].T       # only the last step is read out
        grads = self._backward(dh, cache)
        grads = {k: grads[k] for k in self.cell_params()}
        grads["W_out"] = h_T.T @ d_yhat
        grads["b_out"] = d_yhat.sum(axis=0)
        return loss, grads


def clip_by_global_norm(grads, max_norm):
    """Scale all gradients together so that their joint L2 norm is at most max_norm.

    Returns (clipped grads, the norm before clipping). Clipping bounds the size of a
    step when gradients explode; it cannot enlarge gradients that vanish.
    """
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    if max_norm is None or norm <= max_norm:
        return grads, norm
    return {k: g * (max_norm / norm) for k, g in grads.items()}, norm


class Adam:
    """Adam (Kingma & Ba 2015) over a dict of arrays, updated in place."""

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params, self.lr, self.beta1, self.beta2, self.eps = params, lr, beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads):
        self.t += 1
        for k, g in grads.items():
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * g * g
            m_hat = self.m[k] / (1 - self.beta1**self.t)
            v_hat = self.v[k] / (1 - self.beta2**self.t)
            self.params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def fit(model, batch, steps, lr=1e-3, clip=1.0, seed=0, eval_every=100, eval_data=None, progress=True):
    """Train `model` with Adam and gradient clipping on fresh batches.

    batch: callable rng -> (x, y), drawing a new training batch each step.
    eval_data: (x, y) held out, evaluated every `eval_every` steps (None: skip).
    Returns a history dict of lists: "step", "train_mse" (mean over the last eval_every
    steps), "eval_mse", "grad_norm" (before clipping), and "seconds" in total.
    """
    rng = np.random.default_rng(seed)
    opt = Adam(model.params, lr=lr)
    history = {"step": [], "train_mse": [], "eval_mse": [], "grad_norm": []}
    window, norms = [], []
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x, y = batch(rng)
        try:
            loss, grads = model.loss_and_grads(x, y)
        except FloatingPointError as err:
            raise FloatingPointError(f"fit, at step {step}: {err}") from None
        grads, norm = clip_by_global_norm(grads, clip)
        opt.step(grads)
        window.append(loss)
        norms.append(norm)
        if step % eval_every == 0 or step == steps:
            history["step"].append(step)
            history["train_mse"].append(float(np.mean(window)))
            history["grad_norm"].append(float(np.mean(norms)))
            ev = float(np.mean((model.predict(eval_data[0]) - eval_data[1]) ** 2)) if eval_data else None
            history["eval_mse"].append(ev)
            if progress:
                print(f"{model.cell:>4} step {step:5d}  train MSE {history['train_mse'][-1]:.4f}"
                      + (f"  held-out MSE {ev:.4f}" if ev is not None else ""), flush=True)
            window, norms = [], []
    history["seconds"] = time.perf_counter() - start
    return history

"""The task generators produce what their documentation says."""
import numpy as np
import pytest

import lstm_ref as L


@pytest.mark.parametrize("variant,T,lo,hi", [("le2015", 50, 0.0, 2.0), ("hochreiter1997", 50, 0.0, 1.0)])
def test_adding_problem_statistics(variant, T, lo, hi):
    n = 200_000
    x, y = L.adding_problem(n, T, seed=0, variant=variant)
    assert x.shape == (n, T, 2) and y.shape == (n, 1) and x.dtype == y.dtype == np.float64
    assert lo <= y.min() and y.max() <= hi
    marked = x[:, :, 1] == 1.0
    assert np.all(marked.sum(axis=1) == 2)
    total = np.where(marked, x[:, :, 0], 0).sum(axis=1)
    expected = total if variant == "le2015" else 0.5 + total / 4
    np.testing.assert_allclose(y[:, 0], expected, rtol=1e-15)
    # The trivial baseline: predict the mean target; its MSE is the documented number.
    baseline = L.adding_baseline_mse(T, variant)
    mse = np.mean((y - y.mean()) ** 2)
    se = np.std((y - y.mean()) ** 2) / np.sqrt(n)
    assert abs(mse - baseline) < 4 * se, f"empirical baseline MSE {mse:.5f} vs documented {baseline:.5f}"
    if variant == "le2015":
        assert baseline == pytest.approx(1 / 6)
        first, second = marked[:, : T // 2].sum(axis=1), marked[:, T // 2:].sum(axis=1)
        assert np.all(first == 1) and np.all(second == 1)
    else:
        positions = np.argwhere(marked)[:, 1].reshape(n, 2)
        assert positions[:, 0].min() == 0 and positions.max() < T // 2
        assert np.all(np.isin(x[:, :, 1], [-1.0, 0.0, 1.0]))
        assert np.all(x[~marked[:, -1], -1, 1] == -1.0)
        assert np.all(x[marked[:, 0], 0, 0] == 0.0)


def test_adding_problem_is_seeded_and_typed():
    a = L.adding_problem(10, 30, seed=3)
    b = L.adding_problem(10, 30, seed=3)
    c = L.adding_problem(10, 30, seed=4)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert L.adding_problem(4, 30, seed=0, dtype=np.float32)[0].dtype == np.float32


def test_copy_task():
    n, S, lag, K = 500, 5, 20, 8
    x, y, baseline = L.copy_task(n, S=S, lag=lag, K=K, seed=0)
    Lseq = S + lag + S
    assert x.shape == (n, Lseq, K + 2) and y.shape == (n, Lseq) and y.dtype == np.int64
    tokens = x.argmax(axis=-1)
    assert np.all(x.sum(axis=-1) == 1)
    np.testing.assert_array_equal(y[:, -S:], tokens[:, :S])
    assert np.all(y[:, :-S] == 0)
    assert np.all(tokens[:, S + lag - 1] == K + 1)
    assert np.all((tokens[:, :S] >= 1) & (tokens[:, :S] <= K))
    assert baseline == pytest.approx(S * np.log(K) / Lseq)
    np.testing.assert_array_equal(L.copy_task(3, seed=1)[0], L.copy_task(3, seed=1)[0])

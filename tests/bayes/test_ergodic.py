"""The ergodic-distribution Op against NumPy and finite differences, in both backends."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from regime.bayes.markov import ergodic


def _transition(rng: np.random.Generator, k: int) -> np.ndarray:
    p = rng.uniform(0.01, 1.0, size=(k, k)) + np.eye(k) * rng.uniform(0, 20)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "NUMBA"])
@pytest.mark.parametrize("k", [2, 3, 4])
def test_ergodic_distribution_and_gradient(mode: str, k: int) -> None:
    rng = np.random.default_rng(k)
    p = _transition(rng, k)
    weights = rng.normal(size=k)
    x = pt.dmatrix("p")
    pi = ergodic(x, k)
    total = pt.sum(weights * pi)
    f = pytensor.function([x], [pi, total, pt.grad(total, x)], mode=mode)
    got, _, grad = f(p)
    # the left eigenvector of p for eigenvalue 1, normalised
    vals, vecs = np.linalg.eig(p.T)
    want = np.real(vecs[:, np.argmin(abs(vals - 1.0))])
    np.testing.assert_allclose(got, want / want.sum(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got @ p, got, atol=1e-12)
    eps = 1e-6
    fd = np.zeros_like(p)
    for idx in np.ndindex(p.shape):  # any matrix, not only stochastic ones: the solve's
        up, down = p.copy(), p.copy()  # derivative in every direction
        up[idx] += eps
        down[idx] -= eps
        fd[idx] = (f(up)[1] - f(down)[1]) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)

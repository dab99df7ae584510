"""The multivariate normal Ops against SciPy and finite differences, in both backends."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats

from regime.bayes.gaussian import mvn_chol_logpdf


def _inputs(rng: np.random.Generator, nobs: int = 7, k: int = 2, n: int = 3):  # type: ignore[no-untyped-def]
    resid = rng.normal(size=(nobs, k, n))
    chol = np.tril(rng.normal(size=(k, n, n)), -1)
    chol[:, np.arange(n), np.arange(n)] = rng.uniform(0.3, 2.0, size=(k, n))
    return resid, chol


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "NUMBA"])
def test_log_densities_match_scipy(mode: str) -> None:
    rng = np.random.default_rng(0)
    resid, chol = _inputs(rng, n=4)
    r, c = pt.tensor3("r"), pt.tensor3("c")
    f = pytensor.function([r, c], mvn_chol_logpdf(r, c), mode=mode)
    got = f(resid, chol)
    want = np.array(
        [
            [stats.multivariate_normal(np.zeros(4), chol[k] @ chol[k].T).logpdf(resid[t, k])
             for k in range(2)]
            for t in range(len(resid))
        ]
    )  # fmt: skip
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "NUMBA"])
def test_gradient_matches_finite_differences(mode: str) -> None:
    rng = np.random.default_rng(1)
    resid, chol = _inputs(rng)
    weights = rng.uniform(0.1, 1.0, size=resid.shape[:2])
    r, c = pt.tensor3("r"), pt.tensor3("c")
    # lower triangle only: the upper one never enters (a Cholesky factor's zeros)
    low = pt.tril(c)
    total = pt.sum(weights * mvn_chol_logpdf(r, low))
    f = pytensor.function([r, c], [total, *pt.grad(total, [r, c])], mode=mode)
    _, g_r, g_c = f(resid, chol)
    eps = 1e-6
    for arr, grad in ((resid, g_r), (chol, g_c)):
        fd = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            up, down = arr.copy(), arr.copy()
            up[idx] += eps
            down[idx] -= eps
            args_up = (up, chol) if arr is resid else (resid, up)
            args_down = (down, chol) if arr is resid else (resid, down)
            fd[idx] = (f(*args_up)[0] - f(*args_down)[0]) / (2 * eps)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)

"""Plain NumPy/SciPy reference for the regime-switching VAR likelihood.

Written for clarity, not speed: one ``scipy.stats.multivariate_normal`` call per
regime, then the Hamilton filter of :mod:`regime.regimes.hamilton`. The PyMC
model (:mod:`regime.bayes.var`) and its forward-backward Op must equal it to 1e-8.

Conventions (months ``t = 0..T-1`` of the estimation sample, ``n`` variables,
``p`` lags, ``K`` regimes)::

    x_t | S_t = k  ~  Normal( c_k + sum_l A_{l,k} x_{t-l},  L_k L_k' )

- ``endog`` (T, n): x_t; ``lagged`` (T, n * p): column ``l * n + j`` is x_{t-l-1, j}.
- ``const`` (K, n); ``coef`` (p, n, n) shared or (K, p, n, n) switching, with
  ``coef[.., l, i, j]`` the effect of variable j at lag l+1 in equation i;
  ``chol`` (K, n, n) lower-triangular Cholesky factors of the residual covariances.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from regime.regimes.hamilton import HamiltonResult, hamilton_filter


def lag_matrix(x: ArrayLike, p: int) -> NDArray[np.float64]:
    """(T - p, n * p) lags of a (T, n) array: column ``l * n + j`` is x_{t-l-1, j}."""
    a = np.asarray(x, dtype=float)
    t = a.shape[0]
    return np.hstack([a[p - lag - 1 : t - lag - 1] for lag in range(p)])


def var_log_emission(
    endog: ArrayLike, lagged: ArrayLike, const: ArrayLike, coef: ArrayLike, chol: ArrayLike
) -> NDArray[np.float64]:
    """``log N(x_t; c_k + sum_l A_{l,k} x_{t-l}, L_k L_k')`` as a (T, K) array."""
    y = np.asarray(endog, dtype=float)
    z = np.asarray(lagged, dtype=float)
    c = np.asarray(const, dtype=float)
    a = np.asarray(coef, dtype=float)
    lk = np.asarray(chol, dtype=float)
    k = c.shape[0]
    out = np.empty((y.shape[0], k))
    for r in range(k):
        ar = a[r] if a.ndim == 4 else a
        p = ar.shape[0]
        mean = c[r] + sum(
            z[:, lag * y.shape[1] : (lag + 1) * y.shape[1]] @ ar[lag].T for lag in range(p)
        )
        cov = lk[r] @ lk[r].T
        for t in range(y.shape[0]):
            out[t, r] = stats.multivariate_normal.logpdf(y[t], mean[t], cov)
    return out


def var_hamilton(
    endog: ArrayLike,
    lagged: ArrayLike,
    const: ArrayLike,
    coef: ArrayLike,
    chol: ArrayLike,
    transition: ArrayLike,
    initial: ArrayLike | None = None,
) -> HamiltonResult:
    """Hamilton filter of the regime-switching VAR (``transition`` (K, K) or (T-1, K, K))."""
    logb = var_log_emission(endog, lagged, const, coef, chol)
    if logb.shape[1] == 1:
        ll = logb[:, 0]
        ones = np.ones_like(logb)
        return HamiltonResult(float(ll.sum()), ll, ones, ones, ones)
    return hamilton_filter(logb, transition, initial)

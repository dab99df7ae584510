"""Plain NumPy Hamilton filter and Kim smoother (the reference implementation).

Conventions (statsmodels' nouns, our orientation):

- ``log_emission`` has shape ``(nobs, k_regimes)``: ``log p(y_t | S_t = k)``.
- ``transition`` is ``(k, k)`` (constant) or ``(nobs - 1, k, k)`` (time-varying)
  with ``transition[t - 1, i, j] = Pr[S_t = j | S_{t-1} = i]``: row-stochastic,
  element ``t - 1`` moves the chain from month ``t - 1`` to month ``t``.
  (statsmodels stores the transpose, ``[j, i, t]``.)
- ``initial`` is ``Pr[S_0]``; by default the ergodic distribution of the first
  transition matrix (statsmodels' ``steady-state`` initialisation).

Written for clarity, not speed: the fast path is ``regime.bayes.hmm``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class HamiltonResult:
    """Output of :func:`hamilton_filter` (arrays of shape ``(nobs, k_regimes)``).

    Attributes
    ----------
    loglike : float
        ``log p(y_1..y_T)``.
    loglike_obs : ndarray (nobs,)
        ``log p(y_t | y_1..y_{t-1})``, the one-step predictive log density.
    predicted : ``Pr[S_t = k | y_1..y_{t-1}]``.
    filtered : ``Pr[S_t = k | y_1..y_t]``.
    smoothed : ``Pr[S_t = k | y_1..y_T]``.
    """

    loglike: float
    loglike_obs: NDArray[np.float64]
    predicted: NDArray[np.float64]
    filtered: NDArray[np.float64]
    smoothed: NDArray[np.float64]


def ergodic_probabilities(transition: ArrayLike) -> NDArray[np.float64]:
    """Stationary distribution ``pi`` of a row-stochastic matrix: ``pi P = pi``."""
    p = np.asarray(transition, dtype=float)
    k = p.shape[0]
    a = np.eye(k) - p.T + np.ones((k, k))
    return np.asarray(np.linalg.solve(a, np.ones(k)), dtype=float)


def _as_sequence(transition: ArrayLike, nobs: int) -> NDArray[np.float64]:
    p = np.asarray(transition, dtype=float)
    if p.ndim == 2:
        return np.broadcast_to(p, (max(nobs - 1, 1), *p.shape))
    if p.ndim != 3 or p.shape[0] != nobs - 1:
        raise ValueError(
            f"transition must be (k, k) or (nobs - 1, k, k) = ({nobs - 1}, k, k); got {p.shape}"
        )
    return p


def hamilton_filter(
    log_emission: ArrayLike,
    transition: ArrayLike,
    initial: ArrayLike | None = None,
) -> HamiltonResult:
    """Hamilton (1989) filter and Kim (1994) smoother.

    Parameters
    ----------
    log_emission : array (nobs, k_regimes)
        ``log p(y_t | S_t = k)`` (with any exog already in the mean).
    transition : array (k, k) or (nobs - 1, k, k)
        Row-stochastic ``Pr[S_t = j | S_{t-1} = i]``.
    initial : array (k,), optional
        ``Pr[S_0 = k]``; default the ergodic distribution of the first matrix.
    """
    logb = np.asarray(log_emission, dtype=float)
    nobs, k = logb.shape
    p = _as_sequence(transition, nobs)
    pi0 = ergodic_probabilities(p[0]) if initial is None else np.asarray(initial, dtype=float)
    predicted = np.empty((nobs, k))
    filtered = np.empty((nobs, k))
    loglike_obs = np.empty(nobs)
    for t in range(nobs):
        predicted[t] = pi0 if t == 0 else filtered[t - 1] @ p[t - 1]
        shift = logb[t].max()
        joint = predicted[t] * np.exp(logb[t] - shift)
        total = joint.sum()
        loglike_obs[t] = np.log(total) + shift
        filtered[t] = joint / total
    smoothed = np.empty((nobs, k))
    smoothed[-1] = filtered[-1]
    for t in range(nobs - 2, -1, -1):
        ratio = np.divide(
            smoothed[t + 1], predicted[t + 1], out=np.zeros(k), where=predicted[t + 1] > 0
        )
        smoothed[t] = filtered[t] * (p[t] @ ratio)
    return HamiltonResult(
        loglike=float(loglike_obs.sum()),
        loglike_obs=loglike_obs,
        predicted=predicted,
        filtered=filtered,
        smoothed=smoothed,
    )


def normal_log_emission(endog: ArrayLike, mean: ArrayLike, sigma: ArrayLike) -> NDArray[np.float64]:
    """``log N(y_t; mean[t, k], sigma[k])`` as an (nobs, k) array."""
    y = np.asarray(endog, dtype=float)[:, None]
    m = np.asarray(mean, dtype=float)
    s = np.broadcast_to(np.asarray(sigma, dtype=float), (m.shape[-1],))
    z = (y - m) / s
    return np.asarray(-0.5 * z**2 - np.log(s) - 0.5 * np.log(2 * np.pi), dtype=float)

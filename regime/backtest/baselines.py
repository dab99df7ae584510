"""Baseline forecasts of the h-month cumulative relative return (pure NumPy/SciPy).

Every baseline takes the monthly relative returns known at the origin
(``y``: (n,), % per month, oldest first) and returns samples of the
cumulative return over the next h months, compounded
(``100 * (prod(1 + r / 100) - 1)``, %), as an array (len(horizons), S).

* :func:`constant_t` -- i.i.d. Student-t months with location, scale and
  degrees of freedom fitted by maximum likelihood on ``y`` (plug-in: no
  parameter uncertainty; with hundreds of months it is small next to the
  month-to-month spread).
* :func:`block_bootstrap` -- the h months are consecutive blocks of
  :data:`~regime.scenarios.paths.BLOCK` months of history, drawn with
  replacement (keeps volatility clusters and short-run autocorrelation).
* :func:`predictive_regression` -- OLS of the h-month cumulative return
  after month t on the macro features known at t, over the non-overlapping
  and overlapping training pairs that are complete by the origin; the
  predictive distribution adds parameter uncertainty (coefficients drawn from
  a Normal with the Newey-West covariance, h - 1 lags, because the targets
  overlap) and residual uncertainty (residuals resampled).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from regime.backtest.scores import bartlett_long_run_cov
from regime.errors import BadInputError


def compound(monthly: np.ndarray) -> np.ndarray:
    """(..., H) monthly % -> (..., H) cumulative compounded % after each month."""
    return np.asarray(100.0 * (np.cumprod(1.0 + monthly / 100.0, axis=-1) - 1.0))


def cumulative_targets(y: np.ndarray, horizon: int) -> np.ndarray:
    """(n - h,) cumulative return over months t+1..t+h for t = 0..n-h-1."""
    paths = np.lib.stride_tricks.sliding_window_view(np.asarray(y, float)[1:], horizon)
    return compound(paths)[:, -1]


def _at(horizons: Sequence[int], cum: np.ndarray) -> np.ndarray:
    return np.stack([cum[:, h - 1] for h in horizons])


def constant_t(
    y: np.ndarray, horizons: Sequence[int], n: int, rng: np.random.Generator
) -> np.ndarray:
    """(len(horizons), n) cumulative returns of i.i.d. Student-t months (MLE fit)."""
    df, loc, scale = stats.t.fit(np.asarray(y, dtype=float))
    months = loc + scale * rng.standard_t(df, size=(n, max(horizons)))
    return _at(horizons, compound(months))


def block_bootstrap(
    y: np.ndarray,
    horizons: Sequence[int],
    n: int,
    rng: np.random.Generator,
    block: int | None = None,
) -> np.ndarray:
    """(len(horizons), n) cumulative returns of paths glued from ``block``-month blocks.

    ``block`` defaults to the scenario engine's :data:`~regime.scenarios.paths.BLOCK`.
    """
    if block is None:
        # imported here: regime.scenarios pulls in PyTensor, which a fresh worker
        # must not import before its compile folder is set
        from regime.scenarios.paths import BLOCK

        block = BLOCK
    hist = np.asarray(y, dtype=float)
    if len(hist) < 2 * block:
        raise BadInputError(f"The block bootstrap needs at least {2 * block} months of history.")
    h_max = max(horizons)
    n_blocks = -(-h_max // block)
    starts = rng.integers(0, len(hist) - block + 1, size=(n, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(n, -1)[:, :h_max]
    return _at(horizons, compound(hist[idx]))


def predictive_regression(
    y: np.ndarray,
    x: np.ndarray,
    horizons: Sequence[int],
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(len(horizons), n) cumulative returns from an OLS on the features known at t.

    ``x`` is (len(y), k): row t holds the features known at the end of month t
    (the panel's row-time convention), so the last row conditions the forecast.
    """
    yy = np.asarray(y, dtype=float)
    xx = np.column_stack([np.ones(len(yy)), np.asarray(x, dtype=float)])
    out = np.empty((len(horizons), n))
    for i, h in enumerate(horizons):
        target = cumulative_targets(yy, h)
        design = xx[: len(target)]
        if len(target) < 3 * design.shape[1]:
            raise BadInputError(
                f"The predictive regression at {h} months has {len(target)} training pairs "
                f"for {design.shape[1]} coefficients; start later."
            )
        xtx_inv = np.linalg.inv(design.T @ design)
        beta = xtx_inv @ design.T @ target
        resid = target - design @ beta
        meat = bartlett_long_run_cov(design * resid[:, None], h - 1) * len(target)
        cov = xtx_inv @ meat @ xtx_inv
        draws = rng.multivariate_normal(beta, cov, size=n, method="cholesky")
        noise = rng.choice(resid, size=n, replace=True)
        out[i] = draws @ xx[-1] + noise
    return out

"""Simulated regime-switching VAR data with known truth (tests and benchmarks).

Monthly, macro-like scales: variable 0 behaves like a Fed funds change (pp),
1 like a CPI YoY change (pp), 2 like a dollar log change (%), 3 like a relative
return (%). Regime 0 "easing" (Fed cuts, calm), regime 1 "tightening" (hikes,
volatile, small caps lag).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NAMES = ("fedfunds_chg", "cpi_yoy_chg", "usd_logchg", "rel_return")


@dataclass(frozen=True)
class VARTruth:
    const: np.ndarray  # (K, n)
    coef: np.ndarray  # (p=1, n, n), shared
    chol: np.ndarray  # (K, n, n)
    p: np.ndarray  # (K, K)


def truth(rng: np.random.Generator, n: int = 4, jitter: float = 0.1) -> VARTruth:
    const = np.array([[-0.25, -0.05, 0.3, 0.6], [0.25, 0.08, -0.3, -0.9]])[:, :n]
    const = const * (1 + jitter * rng.normal(size=const.shape))
    coef = np.diag([0.35, 0.3, 0.2, 0.1][:n]).astype(float)
    coef[0, 1] = 0.15  # inflation changes lead Fed changes
    coef[n - 1, 0] = -0.4 if n == 4 else coef[n - 1, 0]  # Fed changes lead returns lower
    sds = np.array([[0.25, 0.2, 1.4, 2.5], [0.45, 0.3, 2.0, 4.0]])[:, :n]
    sds = sds * (1 + jitter * rng.normal(size=sds.shape))
    corr = np.eye(n)
    corr[0, 1] = corr[1, 0] = 0.2
    corr[n - 1, 0] = corr[0, n - 1] = -0.15
    chol = np.stack([np.linalg.cholesky(corr * np.outer(s, s)) for s in sds])
    stay = np.clip(np.array([0.96, 0.93]) + 0.01 * rng.normal(size=2), 0.85, 0.99)
    p = np.array([[stay[0], 1 - stay[0]], [1 - stay[1], stay[1]]])
    return VARTruth(const, coef[None], chol, p)


def simulate(
    rng: np.random.Generator, tr: VARTruth, nobs: int, burn: int = 50
) -> tuple[pd.DataFrame, np.ndarray]:
    """(nobs + 1 rows: one presample month) data frame and the (nobs + 1,) regime path."""
    k, n = tr.const.shape
    total = nobs + 1 + burn
    x = np.zeros((total, n))
    s = np.zeros(total, dtype=int)
    for t in range(1, total):
        s[t] = rng.choice(k, p=tr.p[s[t - 1]])
        x[t] = tr.const[s[t]] + tr.coef[0] @ x[t - 1] + tr.chol[s[t]] @ rng.standard_normal(n)
    idx = pd.period_range("1975-01", periods=nobs + 1, freq="M")
    return pd.DataFrame(x[burn:], columns=list(NAMES[:n]), index=idx), s[burn:]

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

from regime.bayes.priors import VAR_DEFAULT_PRIORS

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


# ------------------------------------------------------------------ recovery truths

# Scale of each variable's shocks in its own units (pp, pp, %, %), as in ``truth``; the
# model standardizes, so these only make the data look like the macro block.
SCALE = np.array([0.3, 0.25, 1.7, 3.0])
CASES = ("macro", "prior", "short_regime", "close_means")
MAX_RADIUS = 0.9  # spectral radius of the lag matrix: clearly stationary
MIN_SHARE = 0.1  # long-run share of each regime (fewer months than this: not a regime)
MIN_STAY = 0.75  # regimes last at least 4 months on average
MAX_STAY = 0.99  # ... and switch at least once a century
PRIORS = VAR_DEFAULT_PRIORS  # the "prior" case draws from the model's defaults


def _lkj_corr(rng: np.random.Generator, n: int, eta: float) -> np.ndarray:
    """One LKJ(eta) correlation matrix (vine method, Lewandowski et al. 2009)."""
    beta = eta + (n - 1) / 2
    partial = np.zeros((n, n))
    corr = np.eye(n)
    for k in range(n - 1):
        beta -= 0.5
        for i in range(k + 1, n):
            partial[k, i] = 2 * rng.beta(beta, beta) - 1
            r = partial[k, i]
            for m in range(k - 1, -1, -1):
                r = r * np.sqrt((1 - partial[m, i] ** 2) * (1 - partial[m, k] ** 2))
                r += partial[m, i] * partial[m, k]
            corr[k, i] = corr[i, k] = r
    return corr


def _stay(rng: np.random.Generator) -> np.ndarray:
    """Staying probabilities (2,) from the default transition prior (switching logit
    ``a``) times the occupancy prior (Dirichlet(alpha) on the long-run shares, by
    rejection), truncated to MIN_STAY..MAX_STAY and shares of at least MIN_SHARE."""
    a, alpha = PRIORS["a"], PRIORS["occupancy"]["alpha"]
    while True:
        switch = 1 / (1 + np.exp(-rng.normal(a["loc"], a["scale"], size=2)))
        share = switch[0] / switch.sum()  # long-run share of regime 1
        stay = 1 - switch
        # Dirichlet(alpha, alpha) density over its maximum
        if rng.random() > (4 * share * (1 - share)) ** (alpha - 1):
            continue
        if (
            (stay >= MIN_STAY).all()
            and (stay <= MAX_STAY).all()
            and min(share, 1 - share) >= MIN_SHARE
        ):
            return stay


def draw_case(rng: np.random.Generator, i: int, n: int = 3) -> tuple[VARTruth, int]:
    """Truth and sample length of recovery dataset ``i``: case ``CASES[i % 4]``, T = 400 +
    50 (i % 5) months.

    - "macro": the fixed design of :func:`truth` (easing / tightening), 10% jitter.

    The others in units of the variables' shock scale (``SCALE``), as the model's default priors
    (``VAR_DEFAULT_PRIORS``, standardized units) would draw them:

    - "prior": intercepts Normal(0, 1) (regime gap in variable 0, which orders the
      regimes, under the 0.25 repulsion, by rejection); lag coefficients Minnesota,
      own Normal(0, 0.2), cross Normal(0, 0.1), spectral radius below MAX_RADIUS;
      residual sds LogNormal(0, 1) truncated to a factor e^1.5 of the scale (the prior's
      central 87%); correlations LKJ(2); transitions as ``_stay``.
    - "short_regime" (hard): a crash-like regime with a long-run share of 0.1-0.15 and an
      expected duration of 4-6 months, 1.5-2.5 times as volatile, intercepts 0.5-1 sd off
      (1.2-1.7 sd in variable 0, which orders the regimes).
    - "close_means" (hard): intercepts of the two regimes 0.3-0.5 sd apart in every
      variable, volatilities 1.3-1.6 times apart: the regimes are told apart mostly by
      their volatility.
    """
    case = CASES[i % len(CASES)]
    nobs = 400 + 50 * (i % 5)
    if case == "macro":
        return truth(rng, n), nobs
    s = SCALE[:n]
    own, cross = PRIORS["minnesota"]["own"], PRIORS["minnesota"]["cross"]
    while True:
        coef = rng.normal(0.0, own * cross, size=(n, n))
        np.fill_diagonal(coef, rng.normal(0.0, own, size=n))
        if np.abs(np.linalg.eigvals(coef)).max() < MAX_RADIUS:
            break
    corr = np.stack([_lkj_corr(rng, n, PRIORS["lkj"]["eta"]) for _ in range(2)])
    if case == "prior":
        gap_scale = PRIORS["intercept_gap"]["scale"]
        while True:
            const = rng.normal(0.0, PRIORS["intercept"]["scale"], size=(2, n))
            if rng.random() < 1 - np.exp(-((abs(const[1, 0] - const[0, 0]) / gap_scale) ** 2)):
                break
        log_sd = rng.normal(0.0, PRIORS["resid_sd"]["scale"], size=(2, n))
        sds = np.exp(np.clip(log_sd, -1.5, 1.5))
        stay = _stay(rng)
    else:
        sign = rng.choice([-1.0, 1.0], size=n)
        if case == "short_regime":
            gap = sign * rng.uniform(0.5, 1.0, size=n)
            # the ordering variable's gap 1.2-1.7 sd: several posterior sds of a regime
            # with ~50 months, so the labels are defined (a gap of 0.7 swapped them)
            gap[0] += sign[0] * 0.7
            ratio = rng.uniform(1.5, 2.5)
            share = rng.uniform(0.1, 0.15)
            stay1 = 1 - 1 / rng.uniform(4.0, 6.0)
        else:
            gap = sign * rng.uniform(0.3, 0.5, size=n)
            ratio = rng.uniform(1.3, 1.6)
            share = rng.uniform(0.3, 0.5)
            stay1 = 1 - 1 / rng.uniform(8.0, 20.0)
        base = rng.normal(0.0, 0.3, size=n)
        const = np.stack([base, base + gap])
        sds = np.exp(rng.normal(0.0, 0.2, size=n)) * np.array([[1.0], [ratio]])
        # regime 1 (the special one) has the given share: switch_0 = share / (1 - share) *
        # switch_1
        stay = np.array([1 - share / (1 - share) * (1 - stay1), stay1])
    # regime 0 is the one with the lower intercept of variable 0 (the model's ordering)
    order = np.argsort(const[:, 0])
    const, sds, corr, stay = const[order], sds[order], corr[order], stay[order]
    p = np.array([[stay[0], 1 - stay[0]], [1 - stay[1], stay[1]]])
    # to the variables' units: x = s x~, so c = s c~, A = s A~ s^-1, L = s L~
    coef_raw = coef * s[:, None] / s[None, :]
    chol = np.stack(
        [np.linalg.cholesky(c * np.outer(v, v)) for c, v in zip(corr, sds, strict=True)]
    )
    return VARTruth(const * s, coef_raw[None], chol * s[:, None], p), nobs

"""Deterministic synthetic demo sample (labelled synthetic everywhere).

``regime demo`` runs offline on series simulated here. The simulator is a
two-regime Markov switching model for the small-cap relative return whose
transition probabilities move with the 6-month change of a simulated Fed funds
rate, driven by simulated inflation; the dollar is an AR(1) in log changes.

Calibration (real data, 1974-01..2025-11, computed from FRED FEDFUNDS,
CPIAUCSL, TWEXBMTH and Ken French SMB):

===========================  =========  ==========
statistic                    real       simulator
===========================  =========  ==========
SMB mean, % per month        0.15       ~0.10
SMB sd, % per month          2.99       ~3.0
Fed funds mean / sd, %       4.79/3.91  ~4.7/3.5
CPI YoY mean / sd, %         3.97/3.01  ~3.8/2.6
CPI monthly ann. AR(1)       0.66       ~0.6
dollar monthly log chg sd %  1.28       1.28
===========================  =========  ==========

The regime parameters (calm: mean 0.35, sd 2.3; stress: mean -0.45, sd 4.2)
reproduce the SMB mean, sd and fat tails (kurtosis ~6 from the mixture); the
transition logits (calm->stress -3.0 + 0.8 z, stress->calm -2.2 - 0.5 z, z the
standardized 6-month Fed funds change) make tightening raise the chance of the
stress regime and keep ~68% of months calm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from regime.data.base import SeriesData, SeriesMeta

SMB_ID = "F-F_Research_Data_Factors:SMB"
SAMPLE_SERIES = ("FEDFUNDS", "CPIAUCSL", "DTWEXBGS", SMB_ID)


@dataclass(frozen=True)
class SampleParams:
    """Documented simulator parameters (units: % per month unless stated)."""

    mu: tuple[float, float] = (0.35, -0.45)
    sigma: tuple[float, float] = (2.3, 4.2)
    a_calm_to_stress: float = -3.0
    b_calm_to_stress: float = 0.8
    a_stress_to_calm: float = -2.2
    b_stress_to_calm: float = -0.5
    june_effect: float = 0.3  # added in June from 1989 (reconstitution month)
    infl_trend_mean: float = 3.8  # % annualised
    infl_trend_phi: float = 0.99
    infl_trend_sd: float = 0.35
    infl_noise_sd: float = 2.5
    fed_phi: float = 0.98
    fed_intercept: float = 0.5
    fed_infl_loading: float = 1.1
    fed_sd: float = 0.45
    usd_drift: float = 0.1  # % per month
    usd_phi: float = 0.39
    usd_sd: float = 1.28 * np.sqrt(1 - 0.39**2)


def simulate_sample(
    start: str = "1973-01",
    end: str = "2025-12",
    seed: int = 20260101,
    params: SampleParams | None = None,
) -> tuple[dict[str, SeriesData], np.ndarray]:
    """Simulate the demo series; also returns the true regime path (0 calm, 1 stress)."""
    p = params or SampleParams()
    rng = np.random.default_rng(seed)
    months = pd.period_range(start, end, freq="M")
    n = len(months)
    trend = np.empty(n)
    infl = np.empty(n)
    fed = np.empty(n)
    dusd = np.empty(n)
    trend[0], fed[0], dusd[0] = 6.0, 6.0, 0.0
    for t in range(n):
        if t:
            trend[t] = (
                p.infl_trend_mean
                + p.infl_trend_phi * (trend[t - 1] - p.infl_trend_mean)
                + p.infl_trend_sd * rng.standard_normal()
            )
            target = p.fed_intercept + p.fed_infl_loading * trend[t]
            fed[t] = max(
                0.05,
                p.fed_phi * fed[t - 1]
                + (1 - p.fed_phi) * target
                + p.fed_sd * rng.standard_normal(),
            )
            dusd[t] = (
                p.usd_drift
                + p.usd_phi * (dusd[t - 1] - p.usd_drift)
                + (p.usd_sd * rng.standard_normal())
            )
        infl[t] = trend[t] + p.infl_noise_sd * rng.standard_normal()
    cpi = 30.0 * np.exp(np.cumsum(infl / 1200.0))
    usd = 40.0 * np.exp(np.cumsum(dusd / 100.0))
    chg6 = np.r_[np.zeros(6), fed[6:] - fed[:-6]]
    z = chg6 / 1.6  # sd of the real 6-month change is ~1.6 pp
    state = np.zeros(n, dtype=int)
    smb = np.empty(n)
    for t in range(n):
        if t:
            if state[t - 1] == 0:
                p_switch = _logistic(p.a_calm_to_stress + p.b_calm_to_stress * z[t - 1])
            else:
                p_switch = _logistic(p.a_stress_to_calm + p.b_stress_to_calm * z[t - 1])
            state[t] = 1 - state[t - 1] if rng.random() < p_switch else state[t - 1]
        k = state[t]
        june = p.june_effect if (months[t].month == 6 and months[t].year >= 1989) else 0.0
        smb[t] = p.mu[k] + june + p.sigma[k] * rng.standard_normal()
    raw = {
        "FEDFUNDS": (np.round(fed, 2), "Percent"),
        "CPIAUCSL": (np.round(cpi, 3), "Index"),
        "DTWEXBGS": (np.round(usd, 4), "Index"),
        SMB_ID: (np.round(smb, 2), "percent per month"),
    }
    out = {}
    for sid, (vals, units) in raw.items():
        meta = SeriesMeta(
            series_id=sid,
            source="synthetic",
            frequency="M",
            units=units,
            title=f"SYNTHETIC {sid} (regime.data.sample, seed {seed})",
            fetched_at="",
            origin=f"regime.data.sample.simulate_sample(seed={seed})",
            synthetic=True,
        )
        out[sid] = SeriesData(pd.Series(vals, index=months, name=sid), meta).finalized()
    return out, state


def _logistic(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))

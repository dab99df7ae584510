"""From a flow spec to per-path monthly relative-return overlays (small minus large, %).

Impact at the effective date (in % of price), per simulated path:

- square-root law:  I = Y * sigma_d * sqrt(Q / ADV),  Y ~ U(0.5, 1)
  (Toth et al. 2011; Bucci et al. 2019)
- linear multiplier: I = M * Q / MV,  M ~ U(3, 8)     (Gabaix & Koijen 2021)

with Q the net flow into the small-cap basket (net imbalance x gross traded
value), ADV its average daily traded value, sigma_d its daily volatility (%), MV
its market value. Timeline in business days: a linear run-up from rank day to
the effective date (pre-positioning), the peak after the close of the effective
date, then the transient part decays as a truncated power law over a window of
W business days, leaving the permanent fraction phi ~ U(0.33, 0.5):

    I(t) = I * (phi + (1 - phi) * w(t)),
    w(t) = ((1 + t/tau)^-beta - (1 + W/tau)^-beta) / (1 - (1 + W/tau)^-beta),  0 <= t <= W

so I(t) = phi * I exactly once t >= W. beta ~ U(0.5, 1) and tau = 5 days put
the level at roughly 1/3..1/2 of the peak after ~50 days (Petajisto 2011;
Chang, Hong & Liskovich 2015; Greenwood & Sammon 2025 for the shrinking effect).
The monthly overlay is the change of I between month ends, so its cumulative
sum equals I at the last month end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from regime.flows.calendar import ReconEvent, events_between

GROSS_RECENT_USD_BN = 220.0  # Nasdaq + NYSE recon-day traded value, 2024 (~217 in 2025)
GROSS_SEED_USD_BN = 334.0  # "reconstitution-related buying" cited by seed articles


@dataclass(frozen=True)
class FlowParams:
    """Flow spec (USD bn, fractions, % per day). Defaults are documented assumptions."""

    enabled: bool = True
    model: Literal["sqrt", "linear"] = "sqrt"
    gross_value_usd_bn: float = GROSS_RECENT_USD_BN
    net_imbalance: float = 0.05  # fraction of gross that is net buying of small caps
    net_imbalance_sd: float = 0.02  # uncertainty of that fraction (truncated at 0)
    passive_aum_usd_bn: float = 450.0  # assets tracking the small-cap index (informational)
    adv_usd_bn: float = 35.0  # average daily traded value of the small-cap basket
    daily_vol_pct: float = 1.6  # daily volatility of the basket, %
    market_value_usd_bn: float = 3000.0  # small-cap basket market value (linear model)
    y_low: float = 0.5
    y_high: float = 1.0
    m_low: float = 3.0
    m_high: float = 8.0
    permanent_low: float = 0.33
    permanent_high: float = 0.5
    beta_low: float = 0.5
    beta_high: float = 1.0
    tau_days: float = 5.0
    decay_window_days: int = 60
    december_size: float = 0.5
    december_friday: int = 2
    semiannual_from: date = date(2026, 12, 1)


def peak_impact(p: FlowParams, n: int, rng: np.random.Generator) -> np.ndarray:
    """Peak impact (%) per path for a unit-size event: (n,)."""
    imb = np.clip(p.net_imbalance + p.net_imbalance_sd * rng.standard_normal(n), 0.0, None)
    q = imb * p.gross_value_usd_bn
    if p.model == "sqrt":
        y = rng.uniform(p.y_low, p.y_high, n)
        return np.asarray(y * p.daily_vol_pct * np.sqrt(q / p.adv_usd_bn))
    m = rng.uniform(p.m_low, p.m_high, n)
    return np.asarray(m * q / p.market_value_usd_bn * 100.0)


def decay_weight(t: np.ndarray, beta: np.ndarray, tau: float, window: int) -> np.ndarray:
    """Truncated power-law weight of the transient part: 1 at t=0, 0 from t=window."""
    t = np.clip(t, 0, window)
    end = (1.0 + window / tau) ** (-beta)
    return np.asarray(((1.0 + t / tau) ** (-beta) - end) / (1.0 - end))


def impact_level(
    days: pd.DatetimeIndex,
    event: ReconEvent,
    peak: np.ndarray,
    permanent: np.ndarray,
    beta: np.ndarray,
    p: FlowParams,
) -> np.ndarray:
    """Price displacement (%) per path and business day: (n, len(days))."""
    bdays = pd.bdate_range(event.rank_day, event.effective)
    runup = max(len(bdays) - 1, 1)
    d = np.asarray(days.values, dtype="datetime64[D]")
    eff = np.datetime64(event.effective, "D")
    rank = np.datetime64(event.rank_day, "D")
    before = np.busday_count(rank, d).clip(0, runup)  # business days since rank day
    after = np.busday_count(eff, d)  # business days since the effective date
    out = np.zeros((len(peak), len(d)))
    pre = (d >= rank) & (d < eff)
    out[:, pre] = peak[:, None] * (before[pre] / runup)[None, :]
    post = d >= eff
    if post.any():
        w = decay_weight(
            after[post][None, :].astype(float), beta[:, None], p.tau_days, p.decay_window_days
        )
        out[:, post] = peak[:, None] * (permanent[:, None] + (1 - permanent[:, None]) * w)
    return out


def monthly_overlay(
    months: pd.PeriodIndex, p: FlowParams, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Monthly flow overlay (n, len(months)) in % and the peak impacts (n, n_events).

    The overlay of month m is the change of the total displacement between the
    last business day of month m-1 and that of month m.
    """
    out = np.zeros((n, len(months)))
    if not p.enabled or len(months) == 0:
        return out, np.zeros((n, 0))
    start = (months[0] - 1).end_time.date()
    end = months[-1].end_time.date()
    events = events_between(
        start,
        end,
        semiannual_from=p.semiannual_from,
        december_size=p.december_size,
        december_friday=p.december_friday,
    )
    month_ends = pd.DatetimeIndex(
        [pd.bdate_range(m.start_time, m.end_time)[-1] for m in [months[0] - 1, *months]]
    )
    level = np.zeros((n, len(month_ends)))
    peaks = []
    for ev in events:
        peak = peak_impact(p, n, rng) * ev.size
        permanent = rng.uniform(p.permanent_low, p.permanent_high, n)
        beta = rng.uniform(p.beta_low, p.beta_high, n)
        level += impact_level(month_ends, ev, peak, permanent, beta, p)
        peaks.append(peak)
    # displacement already in place before the first month is history, not scenario
    out[:] = np.diff(level, axis=1)
    return out, np.column_stack(peaks) if peaks else np.zeros((n, 0))

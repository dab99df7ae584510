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

from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from regime.config import Spec
from regime.flows.calendar import (
    DECEMBER_FRIDAY,
    DECEMBER_SIZE,
    SEMIANNUAL_FROM,
    ReconEvent,
    events_between,
)

GROSS_RECENT_USD_BN = 220.0  # Nasdaq + NYSE recon-day traded value, 2024 (~217 in 2025)
GROSS_SEED_USD_BN = 334.0  # "reconstitution-related buying" cited by seed articles
GROSS_PRESETS = {"recent": GROSS_RECENT_USD_BN, "seed": GROSS_SEED_USD_BN}
# decay of the transient part (fixed assumptions, not scenario settings)
BETA_RANGE = (0.5, 1.0)  # power-law exponent beta ~ U(low, high)
TAU_DAYS = 5.0  # power-law time scale, business days
DECAY_WINDOW_DAYS = 60  # business days after which only the permanent part remains


class FlowSpec(Spec):
    """A scenario's ``flows``: the overlay's settings (USD bn, fractions, % per day).

    The one definition of the overlay's parameters: the scenario YAML is validated
    against it and the impact functions below read it. Defaults are documented
    assumptions; ``*_range`` are ``[low, high]`` of a uniform prior per path.
    """

    enabled: bool = True
    model: Literal["sqrt", "linear"] = "sqrt"
    gross: Literal["recent", "seed"] | float = Field(
        "recent",
        description=f"recent (~${GROSS_RECENT_USD_BN:.0f}B recon-day value), "
        f"seed (${GROSS_SEED_USD_BN:.0f}B) or USD bn",
    )
    net_imbalance: float = Field(
        0.05, ge=0, le=1, description="fraction of gross that is net buying of small caps"
    )
    net_imbalance_sd: float = Field(
        0.02, ge=0, description="uncertainty of that fraction (truncated at 0)"
    )
    passive_aum_usd_bn: float = Field(
        450.0, gt=0, description="assets tracking the small-cap index (informational)"
    )
    adv_usd_bn: float = Field(35.0, gt=0, description="average daily traded value of the basket")
    daily_vol_pct: float = Field(1.6, gt=0, description="daily volatility of the basket, %")
    market_value_usd_bn: float = Field(
        3000.0, gt=0, description="small-cap basket market value (linear model)"
    )
    y_range: tuple[float, float] = Field((0.5, 1.0), description="square-root law Y")
    multiplier_range: tuple[float, float] = Field((3.0, 8.0), description="linear multiplier M")
    permanent_range: tuple[float, float] = Field(
        (0.33, 0.5), description="permanent fraction phi of the peak"
    )
    december_size: float = Field(DECEMBER_SIZE, ge=0)
    december_friday: int = Field(DECEMBER_FRIDAY, ge=1, le=4)
    semiannual_from: date = SEMIANNUAL_FROM

    @model_validator(mode="after")
    def _ranges(self) -> FlowSpec:
        for key in ("y_range", "multiplier_range", "permanent_range"):
            lo, hi = getattr(self, key)
            if lo > hi or lo < 0:
                raise ValueError(f"{key} must be [low, high] with 0 <= low <= high, got {[lo, hi]}")
        return self

    @property
    def gross_value_usd_bn(self) -> float:
        """Gross traded value, USD bn (a preset's value or the number given)."""
        return GROSS_PRESETS[self.gross] if isinstance(self.gross, str) else float(self.gross)


def peak_impact(p: FlowSpec, n: int, rng: np.random.Generator) -> np.ndarray:
    """Peak impact (%) per path for a unit-size event: (n,)."""
    imb = np.clip(p.net_imbalance + p.net_imbalance_sd * rng.standard_normal(n), 0.0, None)
    q = imb * p.gross_value_usd_bn
    if p.model == "sqrt":
        y = rng.uniform(*p.y_range, n)
        return np.asarray(y * p.daily_vol_pct * np.sqrt(q / p.adv_usd_bn))
    m = rng.uniform(*p.multiplier_range, n)
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
    p: FlowSpec,
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
            after[post][None, :].astype(float), beta[:, None], TAU_DAYS, DECAY_WINDOW_DAYS
        )
        out[:, post] = peak[:, None] * (permanent[:, None] + (1 - permanent[:, None]) * w)
    return out


def monthly_overlay(
    months: pd.PeriodIndex, p: FlowSpec, n: int, rng: np.random.Generator
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
        permanent = rng.uniform(*p.permanent_range, n)
        beta = rng.uniform(*BETA_RANGE, n)
        level += impact_level(month_ends, ev, peak, permanent, beta, p)
        peaks.append(peak)
    # displacement already in place before the first month is history, not scenario
    out[:] = np.diff(level, axis=1)
    return out, np.column_stack(peaks) if peaks else np.zeros((n, 0))

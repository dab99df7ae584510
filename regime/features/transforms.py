"""Pure, causal transforms of monthly series (``pd.Series`` with ``PeriodIndex`` M)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def to_monthly(values: pd.Series, how: str = "mean") -> pd.Series:
    """Monthly series from daily (``mean`` of available days, or ``last``) or monthly input."""
    if isinstance(values.index, pd.PeriodIndex):
        return values.astype(float)
    s = values.dropna()
    months = pd.PeriodIndex(pd.DatetimeIndex(s.index), freq="M")
    grouped = s.groupby(months)
    out = grouped.mean() if how == "mean" else grouped.last()
    out.index = pd.PeriodIndex(out.index, freq="M")
    return out.astype(float)


def regular(values: pd.Series) -> pd.Series:
    """Reindex to every month from the first to the last observation (gaps become NaN)."""
    v = values.dropna()
    if v.empty:
        return v
    return values.reindex(pd.period_range(v.index[0], v.index[-1], freq="M"))


def interpolate_gaps(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """Linearly interpolate interior missing months; returns the series and the filled months."""
    r = regular(values)
    gaps = r.index[r.isna()]
    filled = r.interpolate(method="linear", limit_area="inside")
    return filled, [str(p) for p in gaps if not np.isnan(filled[p])]


def lag_months(values: pd.Series, months: int) -> pd.Series:
    """Move each value ``months`` later: the value for month m appears at row m + months."""
    if months == 0:
        return values
    out = values.copy()
    out.index = values.index + months
    return out


def change(values: pd.Series, months: int) -> pd.Series:
    """Difference over ``months`` (same units, e.g. percentage points)."""
    r = regular(values)
    return r - r.shift(months)


def yoy_pct(values: pd.Series) -> pd.Series:
    """Year-over-year change of a level, in %."""
    r = regular(values)
    return (r / r.shift(12) - 1.0) * 100.0


def annualised_pct(values: pd.Series, months: int = 3) -> pd.Series:
    """Change over ``months`` compounded to an annual rate, in %."""
    r = regular(values)
    return ((r / r.shift(months)) ** (12.0 / months) - 1.0) * 100.0


def splice_log(old: pd.Series, new: pd.Series) -> pd.Series:
    """Chain ``old`` onto ``new`` by log changes, in ``new``'s units.

    From the first month of ``new`` on, the result is ``new``; before it,
    ``new[join] * old[t] / old[join]`` (the old series' log changes chained
    back from the join month). Requires the two to overlap at the join month.
    """
    new = new.dropna()
    old = old.dropna()
    if new.empty:
        return old
    join = new.index[0]
    if join not in old.index:
        raise ValueError(f"cannot splice: the old series has no value at the join month {join}")
    back = old[old.index < join] / old[join] * new[join]
    return pd.concat([back, new]).sort_index()


def monthly_return_pct(prices: pd.Series) -> pd.Series:
    """Monthly total return in % from a price (or total-return index) series."""
    m = to_monthly(prices, how="last")
    r = regular(m)
    return (r / r.shift(1) - 1.0) * 100.0

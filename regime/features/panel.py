"""Build the monthly feature panel without look-ahead.

Row ``t`` (a ``pd.Period`` month) holds the small-cap relative return of month
``t`` and the macro features *published before month t ends*: each input is
first moved later by its ``release_lag_months`` (CPI: 1, so row t holds CPI of
month t-1), then transformed with causal transforms only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from regime import _dims as D
from regime.config import DataSpec, FeatureSpec
from regime.data.base import SeriesData, missing_months
from regime.errors import BadInputError
from regime.features import transforms as T
from regime.flows.calendar import RECON_FIRST_YEAR, SEMIANNUAL_FROM

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PanelMeta:
    """Provenance and gaps of a panel.

    ``missing`` lists, per input series, months (reference months, before the
    release lag) that are absent or blank between its first and last value;
    ``filled`` the months a configured fill policy filled.
    """

    inputs: tuple[str, ...]
    missing: dict[str, list[str]]
    filled: dict[str, list[str]]
    release_lags: dict[str, int]
    provenance: dict[str, dict[str, Any]]
    synthetic: bool
    start: str
    end: str
    as_of: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": list(self.inputs),
            "missing": self.missing,
            "filled": self.filled,
            "release_lags": self.release_lags,
            "provenance": self.provenance,
            "synthetic": self.synthetic,
            "start": self.start,
            "end": self.end,
            "as_of": self.as_of,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PanelMeta:
        d = dict(d)
        d["inputs"] = tuple(d["inputs"])
        return cls(**d)


@dataclass(frozen=True)
class Panel:
    frame: pd.DataFrame
    meta: PanelMeta

    def model_frame(self, columns: list[str]) -> pd.DataFrame:
        """Rows from the first month where every column is defined; interior gaps are errors."""
        missing = [c for c in columns if c not in self.frame.columns]
        if missing:
            raise BadInputError(
                f"Panel has no column {missing[0]!r}; available: {', '.join(self.frame.columns)}."
            )
        sub = self.frame[columns]
        ok = sub.notna().all(axis=1)
        if not ok.any():
            raise BadInputError(f"Panel has no month where all of {columns} are defined.")
        sub = sub.loc[ok.idxmax() :]
        bad = sub.index[sub.isna().any(axis=1)]
        if len(bad):
            cols = [c for c in columns if sub.loc[bad[0], c] != sub.loc[bad[0], c]]
            raise BadInputError(
                f"Panel column {cols[0]!r} is missing in {len(bad)} month(s) from {bad[0]}; "
                "set a fill policy for its series in data.series or import a complete file."
            )
        return sub


def _need(series: Mapping[str, SeriesData], sid: str) -> SeriesData:
    if sid not in series:
        raise BadInputError(
            f"Series {sid} is needed for the panel but is not available; "
            "run `regime data pull` or `regime data import FILE`."
        )
    return series[sid]


def reconstitution_months(
    index: pd.PeriodIndex,
    first_year: int = RECON_FIRST_YEAR,
    semiannual_from: str | date = SEMIANNUAL_FROM,
) -> np.ndarray:
    """1.0 in June from ``first_year`` and in December from ``semiannual_from``, else 0.0."""
    june = (index.month == 6) & (index.year >= first_year)
    dec = (index.month == 12) & (index >= pd.Period(semiannual_from, freq="M"))
    return (june | dec).astype(float)


def rule_labels(frame: pd.DataFrame, features: FeatureSpec) -> pd.DataFrame:
    """Policy easing/holding/tightening x inflation high/low x dollar strong/weak."""
    r = features.regimes
    chg = frame[D.FEDFUNDS_CHG6]
    policy = np.where(
        chg <= r.easing_below_pp,
        "easing",
        np.where(chg >= r.tightening_above_pp, "tightening", "holding"),
    )
    infl = np.where(frame[D.CPI_YOY] >= r.inflation_high_above_pct, "high", "low")
    usd = np.where(frame[D.USD_YOY] > r.dollar_strong_above_pct, "strong", "weak")
    out = pd.DataFrame({D.POLICY: policy, D.INFLATION: infl, D.DOLLAR: usd}, index=frame.index)
    undefined = frame[list(D.STATE_FEATURES)].isna().any(axis=1)
    out[undefined] = None
    out[D.LABEL] = (out[D.POLICY] + "|" + out[D.INFLATION] + "|" + out[D.DOLLAR]).where(
        ~undefined, None
    )
    return out


def derive_features(base: Mapping[str, pd.Series]) -> dict[str, pd.Series]:
    """Macro features from the row-aligned base columns (already release-lagged).

    ``base`` holds ``fedfunds`` (%), ``cpi`` (index), optionally ``core`` (index)
    and ``usd`` (index). The scenario engine calls this same function on
    extended base columns, so scenario features are transformed exactly like the
    training panel.
    """
    fed, cpi, usd = base[D.FEDFUNDS], base[D.CPI], base[D.USD]
    cols: dict[str, pd.Series] = {
        D.FEDFUNDS: fed,
        D.FEDFUNDS_CHG6: T.change(fed, 6),
        D.FEDFUNDS_CHG12: T.change(fed, 12),
        D.CPI: cpi,
        D.CPI_YOY: T.yoy_pct(cpi),
        D.CPI_3M: T.annualised_pct(cpi, 3),
    }
    if D.CORE in base:
        cols[D.CORE_YOY] = T.yoy_pct(base[D.CORE])
        cols[D.CORE_3M] = T.annualised_pct(base[D.CORE], 3)
    cols[D.USD] = usd
    cols[D.USD_YOY] = T.yoy_pct(usd)
    return cols


def build_panel(
    series: Mapping[str, SeriesData],
    features: FeatureSpec,
    data: DataSpec,
    *,
    as_of: str | pd.Period | None = None,
) -> Panel:
    """The monthly feature panel (``PeriodIndex`` M) and its metadata.

    Parameters
    ----------
    series
        Input series by id (FRED ids; Ken French columns as ``DATASET:COLUMN``).
    features, data
        Validated specs: which series play which role, release lags, fill policies.
    as_of
        Build the panel as it could have been built at the end of this month:
        only values published by then (reference month + release lag <= as_of).
    """
    cutoff = _month(as_of, "--as-of") if as_of is not None else None
    missing: dict[str, list[str]] = {}
    filled: dict[str, list[str]] = {}
    lags: dict[str, int] = {}
    used: list[str] = []

    def prepared(sid: str, how: str = "mean") -> pd.Series:
        sd = _need(series, sid)
        monthly = T.to_monthly(sd.values, how=how)
        missing[sid] = missing_months(monthly)
        if data.fill(sid) == "interpolate":
            monthly, done = T.interpolate_gaps(monthly)
            if done:
                filled[sid] = done
                log.warning(
                    "Series %s: filled missing month(s) %s by linear interpolation "
                    "of the level (data.series fill policy).",
                    sid,
                    ", ".join(done),
                )
        lag = data.lag(sid)
        lags[sid] = lag
        used.append(sid)
        shifted = T.lag_months(monthly.dropna(), lag)
        if cutoff is not None:
            shifted = shifted[shifted.index <= cutoff]
        return T.regular(shifted)

    base: dict[str, pd.Series] = {
        D.FEDFUNDS: prepared(features.policy_rate),
        D.CPI: prepared(features.inflation),
    }
    if features.core_inflation:
        base[D.CORE] = prepared(features.core_inflation)
    dollar_ids = [s for s in features.dollar if s in series]
    if not dollar_ids:
        _need(series, features.dollar[-1])
    usd = prepared(dollar_ids[0])
    for sid in dollar_ids[1:]:
        try:
            usd = T.regular(T.splice_log(usd, prepared(sid)))
        except ValueError as exc:
            raise BadInputError(f"Dollar series {sid} cannot be spliced: {exc}.") from None
    base[D.USD] = usd
    cols = derive_features(base)
    fed, cpi = base[D.FEDFUNDS], base[D.CPI]
    cols[D.REL_RETURN] = _relative_return(series, features, prepared, cutoff)

    # the panel ends at the last month every input reaches (after release lags)
    inputs = {
        "policy rate": fed,
        "inflation": cpi,
        "dollar": usd,
        "relative return": cols[D.REL_RETURN],
    }
    for role, s in inputs.items():
        if s.dropna().empty:
            raise BadInputError(
                f"The {role} series has no values"
                + (f" published by --as-of {cutoff}." if cutoff is not None else ".")
            )
    end = min(s.dropna().index[-1] for s in inputs.values())
    start = pd.Period(data.start, freq="M")
    if start > end:
        raise BadInputError(
            f"data.start {data.start} is after the last month every input reaches ({end})."
        )
    index = pd.period_range(start, end, freq="M")
    frame = pd.DataFrame({k: v.reindex(index) for k, v in cols.items()}, index=index)
    frame.index.name = D.MONTH
    frame[D.RECON] = reconstitution_months(
        pd.PeriodIndex(frame.index), features.recon_first_year, features.semiannual_from
    )
    labels = rule_labels(frame, features)
    frame = pd.concat([frame, labels], axis=1)
    provenance = {
        sid: {**series[sid].meta.to_dict(), "first": series[sid].first, "last": series[sid].last}
        for sid in used
    }
    meta = PanelMeta(
        inputs=tuple(used),
        missing={k: v for k, v in missing.items()},
        filled=filled,
        release_lags=lags,
        provenance=provenance,
        synthetic=any(series[s].meta.synthetic for s in used),
        start=str(index[0]),
        end=str(index[-1]),
        as_of=str(cutoff) if cutoff is not None else None,
    )
    return Panel(frame, meta)


def _month(value: str | pd.Period, what: str) -> pd.Period:
    """A month from ``YYYY-MM`` (or a Period); bad input is one sentence naming ``what``."""
    if isinstance(value, pd.Period):
        return value.asfreq("M")
    if not re.fullmatch(r"\d{4}-\d{2}", str(value).strip()):
        raise BadInputError(f"{what} must be a month YYYY-MM, got {value!r}.")
    try:
        return pd.Period(str(value).strip(), freq="M")
    except ValueError:
        raise BadInputError(f"{what} must be a month YYYY-MM, got {value!r}.") from None


def _relative_return(
    series: Mapping[str, SeriesData],
    features: FeatureSpec,
    prepared: Any,
    cutoff: pd.Period | None,
) -> pd.Series:
    """Small-cap minus large-cap return of month t, % per month (the model's target)."""
    rr = features.relative_return
    if rr.kind == "smb":
        return prepared(f"{features.factors}:SMB")
    if rr.kind == "decile_spread":
        lo = prepared(f"{features.size_portfolios}:Lo 10")
        hi = prepared(f"{features.size_portfolios}:Hi 10")
        return (lo - hi).dropna()
    if not rr.small or not rr.large:
        raise BadInputError(
            "features.relative_return.kind 'prices' needs both 'small' and 'large' series ids."
        )
    small = T.monthly_return_pct(_need(series, rr.small).values)
    large = T.monthly_return_pct(_need(series, rr.large).values)
    spread = (small - large).dropna()
    if cutoff is not None:
        spread = spread[spread.index <= cutoff]
    return T.regular(spread)

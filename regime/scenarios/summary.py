"""Summaries of simulated scenarios: fan quantiles, horizon table, plausibility, analogues."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from regime import _dims as D
from regime.scenarios.paths import history_user_units

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
ES_LEVEL = 0.05
SUMMARY_MONTHS = (3, 6, 12)  # horizons of the summary table (plus the run's own horizon)
DECISION_MONTH = 12  # interval of the difference and P(beats baseline) at this horizon
TIE_WEIGHT = 0.5  # a paired sample equal to the baseline's counts half a win
IMPLAUSIBLE_PERCENTILE = 0.5  # % of historical windows farther away; below this we warn


def fan(ds: xr.Dataset) -> pd.DataFrame:
    """Quantiles of the cumulative relative return per scenario and month (%)."""
    q = ds["cumulative"].quantile(list(QUANTILES), dim=D.SAMPLE)
    frame = (
        q.to_dataframe()
        .reset_index()
        .pivot_table(index=[D.SCENARIO, D.MONTH], columns="quantile", values="cumulative")
    )
    frame.columns = [f"q{round(float(c) * 100):02d}" for c in frame.columns]
    return frame.reindex(
        pd.MultiIndex.from_product(
            [ds[D.SCENARIO].values, ds[D.MONTH].values], names=[D.SCENARIO, D.MONTH]
        )
    )


def summary_months(horizon: int, months: tuple[int, ...] = SUMMARY_MONTHS) -> list[int]:
    """The table's horizons: ``months`` that the run reaches, and the run's horizon."""
    return sorted({*(m for m in months if m <= horizon), horizon})


def horizon_table(ds: xr.Dataset, months: tuple[int, ...] = SUMMARY_MONTHS) -> pd.DataFrame:
    """Per scenario: median and 90% interval at 3/6/12 months and the horizon, P(outperform),
    5% expected shortfall, mean macro and flow contributions, regime occupancy, and the
    paired differences against the baseline (:func:`baseline_differences`)."""
    rows = []
    horizon = ds.sizes[D.MONTH]
    for name in ds[D.SCENARIO].values:
        sc = ds.sel({D.SCENARIO: name})
        cum = sc["cumulative"].values  # (sample, month)
        row: dict[str, float | str] = {D.SCENARIO: str(name)}
        for m in summary_months(horizon, months):
            x = cum[:, m - 1]
            row[f"median_{m}m"] = float(np.median(x))
            row[f"q05_{m}m"] = float(np.quantile(x, 0.05))
            row[f"q95_{m}m"] = float(np.quantile(x, 0.95))
        end = cum[:, -1]
        row["p_outperform"] = float((end > 0).mean())
        cut = np.quantile(end, ES_LEVEL)
        row["expected_shortfall_5"] = float(end[end <= cut].mean())
        row["macro_contribution"] = float(sc["macro"].sum(D.MONTH).mean())
        row["flow_contribution"] = float(sc["flow"].sum(D.MONTH).mean())
        regimes = sc["regime"].values
        for k in np.unique(regimes[regimes >= 0]):
            row[f"occupancy_regime_{k}"] = float((regimes == k).mean())
        rows.append(row)
    return pd.DataFrame(rows).set_index(D.SCENARIO).join(baseline_differences(ds, months))


def baseline_name(ds: xr.Dataset) -> str | None:
    """The scenario of the run with ``baseline: true``, or None (none, or an older result)."""
    name = str(ds.attrs.get("baseline", ""))
    return name if name in set(map(str, ds[D.SCENARIO].values)) else None


def baseline_differences(ds: xr.Dataset, months: tuple[int, ...] = SUMMARY_MONTHS) -> pd.DataFrame:
    """Paired differences of the cumulative return, scenario minus baseline (pp of %).

    Sample ``i`` of every scenario shares its posterior draw and random numbers with
    sample ``i`` of the baseline (common random numbers), so the difference is taken
    sample by sample. Columns: ``baseline`` (bool, the baseline's own row),
    ``diff_median_{m}m`` at the summary horizons, ``diff_q05_{m}m``/``diff_q95_{m}m``
    (90% interval) and ``p_beats_baseline_{m}m`` = Pr[diff > 0] + Pr[diff = 0] / 2
    at :data:`DECISION_MONTH` and the run's horizon (horizons beyond the run are
    skipped). Ties count one half: they are common, not a measure-zero event (a
    sample whose regime path the scenario does not change ends exactly where the
    baseline does), and a scenario identical to the baseline gets 0.5, no edge
    either way. Without a baseline the difference columns are NaN.
    """
    horizon = ds.sizes[D.MONTH]
    names = [str(n) for n in ds[D.SCENARIO].values]
    base = baseline_name(ds)
    at = summary_months(horizon, months)
    wide = sorted({m for m in (DECISION_MONTH, horizon) if m <= horizon})
    cols = [f"diff_median_{m}m" for m in at]
    for m in wide:
        cols += [f"diff_q05_{m}m", f"diff_q95_{m}m", f"p_beats_baseline_{m}m"]
    out = pd.DataFrame(np.nan, index=pd.Index(names, name=D.SCENARIO), columns=cols)
    out.insert(0, "baseline", [n == base for n in names])
    if base is None:
        return out
    cum = ds["cumulative"].values.astype(float)  # (scenario, sample, month)
    diff = cum - cum[names.index(base)][None]
    for m in at:
        out[f"diff_median_{m}m"] = np.median(diff[:, :, m - 1], axis=1)
    for m in wide:
        d = diff[:, :, m - 1]
        out[f"diff_q05_{m}m"] = np.quantile(d, 0.05, axis=1)
        out[f"diff_q95_{m}m"] = np.quantile(d, 0.95, axis=1)
        out[f"p_beats_baseline_{m}m"] = (d > 0).mean(axis=1) + TIE_WEIGHT * (d == 0).mean(axis=1)
    return out


def _changes(hist: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """H-month changes of fedfunds (pp), inflation (pp) and the log dollar (%)."""
    h = hist.dropna()
    return pd.DataFrame(
        {
            "fedfunds": h["fedfunds"].diff(horizon),
            "inflation": h["inflation"].diff(horizon),
            "dollar": 100 * np.log(h["dollar"]).diff(horizon),
        }
    ).dropna()


def plausibility(ds: xr.Dataset, panel: pd.DataFrame, n_analogs: int = 3) -> pd.DataFrame:
    """Mahalanobis distance of each scenario's macro change over the horizon against all
    historical windows of the same length, its percentile (share of windows farther
    away, %) and the nearest historical analogue windows."""
    hist = history_user_units(panel)
    horizon = ds.sizes[D.MONTH]
    changes = _changes(hist, horizon)
    x = changes.to_numpy()
    mean = x.mean(axis=0)
    cov_inv = np.linalg.pinv(np.cov(x, rowvar=False))

    def dist2(v: np.ndarray) -> np.ndarray:
        d = np.atleast_2d(v) - mean
        return np.einsum("ij,jk,ik->i", d, cov_inv, d)

    hist_d2 = dist2(x)
    last = hist.dropna().iloc[-1]
    rows = []
    for name in ds[D.SCENARIO].values:
        sc = ds.sel({D.SCENARIO: name})
        v = np.array(
            [
                float(sc["fedfunds"].values[-1] - last["fedfunds"]),
                float(sc["inflation"].values[-1] - last["inflation"]),
                float(100 * np.log(sc["dollar"].values[-1] / last["dollar"])),
            ]
        )
        d2 = float(dist2(v)[0])
        pct = float((hist_d2 >= d2).mean() * 100)
        # nearest windows by the Mahalanobis distance between change vectors
        diff = x - v
        near = np.einsum("ij,jk,ik->i", diff, cov_inv, diff)
        analogs: list[str] = []
        for i in np.argsort(near):
            end = changes.index[i]
            if all(abs((end - pd.Period(a.split("..")[1], "M")).n) >= horizon for a in analogs):
                analogs.append(f"{end - horizon}..{end}")
            if len(analogs) == n_analogs:
                break
        rows.append(
            {
                D.SCENARIO: str(name),
                "mahalanobis": float(np.sqrt(d2)),
                "plausibility_pct": pct,
                "implausible": pct < IMPLAUSIBLE_PERCENTILE,
                "analogs": "; ".join(analogs),
            }
        )
    return pd.DataFrame(rows).set_index(D.SCENARIO)


def summary(ds: xr.Dataset, panel: pd.DataFrame) -> pd.DataFrame:
    """The horizon table joined with plausibility (one row per scenario)."""
    return horizon_table(ds).join(plausibility(ds, panel))

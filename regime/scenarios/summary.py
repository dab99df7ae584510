"""Summaries of simulated scenarios: fan quantiles, horizon table, plausibility, analogues."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from regime import _dims as D
from regime.scenarios.paths import history_user_units

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
ES_LEVEL = 0.05
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


def horizon_table(ds: xr.Dataset, months: tuple[int, ...] = (3, 6, 12)) -> pd.DataFrame:
    """Per scenario: median and 90% interval at 3/6/12 months and the horizon, P(outperform),
    5% expected shortfall, mean macro and flow contributions, regime occupancy."""
    rows = []
    horizon = ds.sizes[D.MONTH]
    for name in ds[D.SCENARIO].values:
        sc = ds.sel({D.SCENARIO: name})
        cum = sc["cumulative"].values  # (sample, month)
        row: dict[str, float | str] = {D.SCENARIO: str(name)}
        for m in sorted({*(x for x in months if x <= horizon), horizon}):
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
    return pd.DataFrame(rows).set_index(D.SCENARIO)


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

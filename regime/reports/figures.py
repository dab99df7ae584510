"""Figures from saved results only (a loaded model folder and a scenario dataset)."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib import colormaps
from matplotlib.figure import Figure

from regime import _dims as D
from regime.scenarios.engine import DRAWN, GIVEN, HELD
from regime.scenarios.paths import history_user_units
from regime.scenarios.summary import QUANTILES as FAN_QUANTILES  # 90%, 50% bands, median

HISTORY_MONTHS = 36
COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
# a scenario's macro variables (engine's ``variable`` coordinate) -> axis titles with units
MACRO_TITLES = {
    "fedfunds": "Fed funds rate, %",
    "inflation": "CPI inflation, YoY %",
    "dollar": "broad dollar index, level",
}
# how a macro path came about (engine's ``macro_source``) -> panel label and colour
SOURCES = {
    GIVEN: ("as given", COLORS[1]),
    DRAWN: ("drawn", COLORS[0]),
    HELD: ("held at last value", "grey"),
}
NEW_REGIME = -1  # observed regimes: a label never seen in training (a population draw)


def regime_colors(n: int) -> list[Any]:
    """``n`` regime colours: :data:`COLORS` first, a 20-colour map beyond six regimes."""
    if n <= len(COLORS):
        return list(COLORS[:n])
    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


def to_base64(fig: Any) -> str:
    """PNG bytes of a figure, base64-encoded.

    Figures are plain ``matplotlib.figure.Figure`` objects: no pyplot state and no
    backend switch, so building a report never disturbs a notebook's plotting.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def fan_charts(ds: xr.Dataset, panel: pd.DataFrame) -> Any:
    """Cumulative small-minus-large return: last 36 months of history, then the fans."""
    names = list(ds[D.SCENARIO].values)
    ncol = 3
    nrow = int(np.ceil(len(names) / ncol))
    fig = Figure(figsize=(12, 3.2 * nrow))
    axes = fig.subplots(nrow, ncol, sharey=True, squeeze=False)
    hist = panel[D.REL_RETURN].dropna().iloc[-HISTORY_MONTHS:]
    level = np.cumprod(1 + hist.to_numpy() / 100)
    cum_hist = 100 * (level / level[-1] - 1)  # rebased: 0 at the last observed month
    x_hist = np.arange(-len(hist) + 1, 1)
    months = np.arange(1, ds.sizes[D.MONTH] + 1)
    for ax, name in zip(axes.flat, names, strict=False):
        cum = ds["cumulative"].sel({D.SCENARIO: name}).values
        q = np.quantile(cum, FAN_QUANTILES, axis=0)
        ax.plot(x_hist, cum_hist, color="black", lw=1)
        ax.fill_between(months, q[0], q[4], color=COLORS[0], alpha=0.2, label="90%")
        ax.fill_between(months, q[1], q[3], color=COLORS[0], alpha=0.4, label="50%")
        ax.plot(months, q[2], color=COLORS[0], lw=2, label="median")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5, ls=":")
        ax.set_title(str(name), fontsize=10)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    axes.flat[0].set_ylabel("cumulative % (small - large)")
    axes.flat[0].legend(fontsize=8, loc="upper left")
    fig.supxlabel("months from the last observed month")
    return fig


def macro_fans(ds: xr.Dataset, panel: pd.DataFrame) -> Any:
    """Each scenario's macro paths: one row per scenario, one column per variable.

    The last 36 months of history (black) then the fan of ``ds["macro_fan"]`` (90%
    and 50% bands, median) in the variable's level units (:data:`MACRO_TITLES`);
    each panel says whether the path is as the scenario gives it, drawn (by the
    model, or the baseline's bootstrap of history) or held at its last value.
    Columns share their y axis, so scenarios compare down a column.
    """
    names = list(ds[D.SCENARIO].values)
    variables = list(ds[D.VARIABLE].values)
    fig = Figure(figsize=(12, 1.5 * len(names) + 0.8), layout="constrained")
    axes = fig.subplots(len(names), len(variables), sharex=True, sharey="col", squeeze=False)
    hist = history_user_units(panel).iloc[-HISTORY_MONTHS:]
    x_hist = np.arange(-len(hist) + 1, 1)
    months = np.arange(1, ds.sizes[D.MONTH] + 1)
    for i, name in enumerate(names):
        for j, var in enumerate(variables):
            ax = axes[i, j]
            q = ds["macro_fan"].sel({D.SCENARIO: name, D.VARIABLE: var}).values
            label, color = SOURCES[
                str(ds["macro_source"].sel({D.SCENARIO: name, D.VARIABLE: var}).values)
            ]
            ax.plot(x_hist, hist[var].to_numpy(), color="black", lw=1)
            ax.fill_between(months, q[0], q[-1], color=color, alpha=0.2, lw=0)
            ax.fill_between(months, q[1], q[-2], color=color, alpha=0.4, lw=0)
            ax.plot(months, q[len(q) // 2], color=color, lw=1.8)
            ax.axvline(0, color="grey", lw=0.5, ls=":")
            ax.text(
                0.02,
                0.94,
                label,
                transform=ax.transAxes,
                fontsize=8,
                va="top",
                color=color,
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1},
            )
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title(MACRO_TITLES.get(var, var), fontsize=10)
        axes[i, 0].set_ylabel(str(name), fontsize=9)
    fig.supxlabel("months from the last observed month (bands: 90% and 50% of samples)")
    return fig


def horizon_regimes(ds: xr.Dataset, names: list[Any]) -> Any:
    """Share of samples in each regime per forecast month, one stacked panel per scenario.

    ``names`` the model's regimes in code order (regime ``k`` is ``names[k]``); code
    :data:`NEW_REGIME` (a label the observed-regime model never saw) is shown as
    "new label" when it occurs.
    """
    scen = list(ds[D.SCENARIO].values)
    codes = ds["regime"].values  # (scenario, sample, month)
    keys = list(range(len(names))) + ([NEW_REGIME] if (codes == NEW_REGIME).any() else [])
    labels = [f"regime {n}" for n in names] + (["new label"] if len(keys) > len(names) else [])
    colors = regime_colors(len(names)) + ["lightgrey"] * (len(keys) - len(names))
    ncol = 3
    nrow = int(np.ceil(len(scen) / ncol))
    fig = Figure(figsize=(12, 2.6 * nrow + 0.6), layout="constrained")
    axes = fig.subplots(nrow, ncol, sharex=True, sharey=True, squeeze=False)
    months = np.arange(1, ds.sizes[D.MONTH] + 1)
    for s, (ax, name) in enumerate(zip(axes.flat, scen, strict=False)):
        share = np.stack([(codes[s] == k).mean(axis=0) for k in keys])  # (regimes, month)
        ax.stackplot(months, share, labels=labels, colors=colors, alpha=0.85)
        ax.set_ylim(0, 1)
        ax.set_xlim(months[0], months[-1])
        ax.set_title(str(name), fontsize=10)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(scen) :]:
        ax.axis("off")
    axes.flat[0].set_ylabel("share of samples")
    handles, _ = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", fontsize=8, ncol=min(len(labels), 6))
    fig.supxlabel("forecast month")
    return fig


def regime_history(probs: pd.DataFrame, panel: pd.DataFrame) -> Any:
    """Smoothed regime probabilities over the data span with the macro series beneath."""
    fig = Figure(figsize=(12, 6))
    ax0, ax1 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.2, 1]})
    idx = probs.index
    x = idx.to_timestamp() if isinstance(idx, pd.PeriodIndex) else idx
    ax0.stackplot(
        x,
        probs.T.to_numpy(),
        labels=[f"regime {k}" for k in probs.columns],
        colors=regime_colors(probs.shape[1]),
        alpha=0.8,
    )
    ax0.set_ylabel("Pr[regime | all data]")
    ax0.set_ylim(0, 1)
    ax0.legend(loc="upper left", fontsize=8, ncol=probs.shape[1])
    macro = panel.loc[probs.index[0] : probs.index[-1]]
    xm = pd.PeriodIndex(macro.index).to_timestamp()
    for col, c in zip((D.FEDFUNDS, D.CPI_YOY, D.USD_YOY), COLORS[3:], strict=True):
        if col in macro:
            ax1.plot(xm, macro[col], label=col, color=c, lw=1)
    ax1.axhline(0, color="grey", lw=0.5)
    ax1.set_ylabel("%")
    ax1.legend(loc="upper right", fontsize=8, ncol=3)
    return fig


def forest(summary: pd.DataFrame, prefixes: tuple[str, ...], title: str) -> Any:
    """Posterior means and 90% intervals of the parameters starting with ``prefixes``."""
    rows = summary[[any(i.startswith(p + "[") or i == p for p in prefixes) for i in summary.index]]
    fig = Figure(figsize=(7, 0.35 * max(len(rows), 2) + 1))
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    ax.hlines(y, rows["hdi_5%"], rows["hdi_95%"], color=COLORS[2], lw=2)
    ax.plot(rows["mean"], y, "o", color=COLORS[2])
    ax.set_yticks(y, list(rows.index), fontsize=8)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_title(title, fontsize=10)
    return fig


def flow_decomposition(
    ds: xr.Dataset, scenario: str, gamma: tuple[float, float, float] | None
) -> Any:
    """Mean monthly macro and flow components for one scenario, with the model's own
    historical reconstitution-month estimate (mean and 90% interval) beside them."""
    sc = ds.sel({D.SCENARIO: scenario})
    months = list(sc[D.MONTH].values)
    macro = sc["macro"].mean(D.SAMPLE).values
    flow = sc["flow"].mean(D.SAMPLE).values
    flow_q = np.quantile(sc["flow"].values, [0.05, 0.95], axis=0)
    fig = Figure(figsize=(11, 3.8))
    ax = fig.subplots()
    x = np.arange(len(months))
    ax.bar(x - 0.2, macro, width=0.4, color=COLORS[0], label="macro component (mean)")
    ax.bar(x + 0.2, flow, width=0.4, color=COLORS[1], label="flow overlay (mean)")
    ax.errorbar(
        x + 0.2,
        flow,
        yerr=[flow - flow_q[0], flow_q[1] - flow],
        fmt="none",
        color="black",
        lw=0.8,
        label="flow 90% interval",
    )
    if gamma is not None:
        mean, lo, hi = gamma
        ax.axhspan(
            lo,
            hi,
            color=COLORS[2],
            alpha=0.15,
            label=f"model's historical recon-month effect {mean:+.2f}% [{lo:+.2f}, {hi:+.2f}]",
        )
    ax.set_xticks(x, months, rotation=45, fontsize=8)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("% per month")
    ax.set_title(f"{scenario}: macro vs reconstitution flow", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return fig

"""Figures from saved results only (a loaded model folder and a scenario dataset)."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from regime import _dims as D

HISTORY_MONTHS = 36
COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)  # fan bands: 90% and 50% intervals, median


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
        colors=COLORS[: probs.shape[1]],
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

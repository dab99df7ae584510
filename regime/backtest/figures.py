"""Figures of a backtest, from its saved results only (``forecasts.nc`` and the tables).

Every figure is a plain ``matplotlib.figure.Figure`` (no pyplot state), encoded
by :func:`regime.reports.figures.to_base64`. Units: forecasts, outcomes and
CRPS in percentage points of cumulative relative return over h months
(compounded, small minus large); coverage and PIT as fractions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from regime import _dims as D
from regime.backtest import REFERENCE
from regime.backtest.engine import HORIZON, KIND, KINDS, MODEL, ORIGIN
from regime.backtest.scores import INTERVALS
from regime.reports.figures import COLORS, FAN_QUANTILES

PANEL_SIZE = (3.6, 2.6)  # inches per subplot (width, height)
MARKER_MAX_POINTS = 60  # realised outcomes are marked as dots up to this many origins
KIND_STYLE = dict(zip(KINDS, ("-", "--"), strict=True))  # line style of each forecast kind


def plain(text: object) -> str:
    """A label matplotlib prints as given (``$`` would start mathtext)."""
    return str(text).replace("$", r"\$")


def _color(models: Sequence[str], model: str) -> str:
    return COLORS[list(models).index(model) % len(COLORS)]


def _months(ds: xr.Dataset, shift: int = 0) -> pd.DatetimeIndex:
    """The origins (plus ``shift`` months) as timestamps for a time axis."""
    return (pd.PeriodIndex(ds[ORIGIN].values.astype(str), freq="M") + shift).to_timestamp()


def _grid(
    nrow: int, ncol: int, *, sharey: bool | Literal["row"] = False
) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(PANEL_SIZE[0] * ncol + 0.8, PANEL_SIZE[1] * nrow + 0.6))
    axes = fig.subplots(nrow, ncol, squeeze=False, sharey=sharey)
    return fig, axes


def _finish_time_axes(fig: Figure, axes: np.ndarray) -> None:
    for ax in axes.flat:
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()


def cumulative_crps(ds: xr.Dataset) -> Figure | None:
    """Running sum over origins of CRPS(model) - CRPS(constant), one panel per horizon.

    Below zero and falling: the model is doing better than the constant
    baseline. Only origins scored for both enter (as in ``differences.csv``, so
    the last point over the number of origins is its ``difference``). ``None``
    when no model was scored beside the constant baseline.
    """
    models = [str(m) for m in ds[MODEL].values]
    others = [m for m in models if m != REFERENCE]
    if REFERENCE not in models or not others:
        return None
    horizons = [int(h) for h in ds[HORIZON].values]
    fig, axes = _grid(1, len(horizons))
    x = _months(ds)
    crps = ds["crps"]
    drawn = False
    for ax, h in zip(axes[0], horizons, strict=True):
        # the constant baseline has unconditional forecasts only; every kind is compared with them
        ref = crps.sel({MODEL: REFERENCE, KIND: KINDS[0], HORIZON: h}).values
        for m in others:
            for kind in KINDS:
                v = crps.sel({MODEL: m, KIND: kind, HORIZON: h}).values
                ok = np.isfinite(v) & np.isfinite(ref)
                if not ok.any():
                    continue
                ax.plot(
                    x[ok],
                    np.cumsum(v[ok] - ref[ok]),
                    color=_color(models, m),
                    ls=KIND_STYLE[kind],
                    lw=1.4,
                    label=plain(f"{m}, {kind}"),
                )
                drawn = True
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_title(f"{h}-month horizon", fontsize=10)
    if not drawn:
        return None
    axes[0, 0].set_ylabel(f"cumulative CRPS minus {REFERENCE} (pp)\nbelow 0: better", fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="best")
    _finish_time_axes(fig, axes)
    return fig


def _series(table: pd.DataFrame) -> list[tuple[str, str]]:
    """The (model, kind) pairs of a table, in order of appearance."""
    pairs = table[[MODEL, KIND]].astype(str).drop_duplicates()
    return [(str(m), str(k)) for m, k in pairs.itertuples(index=False)]


def pit_histograms(hist: pd.DataFrame) -> Figure | None:
    """PIT histograms (density; 1 = uniform, what calibrated forecasts give), one row per
    horizon and one column per model and kind. ``hist`` is ``pit_histogram.csv``."""
    if hist.empty:
        return None
    horizons = sorted(int(h) for h in hist[HORIZON].unique())
    series = _series(hist)
    models = list(dict.fromkeys(m for m, _ in series))
    fig, axes = _grid(len(horizons), len(series), sharey="row")
    for r, h in enumerate(horizons):
        for c, (m, kind) in enumerate(series):
            ax = axes[r, c]
            rows = hist[(hist[HORIZON] == h) & (hist[MODEL] == m) & (hist[KIND] == kind)]
            total = float(rows["n"].sum())
            if total == 0:
                ax.axis("off")
                continue
            width = (rows["bin_hi"] - rows["bin_lo"]).to_numpy(dtype=float)
            density = rows["n"].to_numpy(dtype=float) / (total * width)
            ax.bar(
                rows["bin_lo"],
                density,
                width=width,
                align="edge",
                color=_color(models, m),
                alpha=0.8,
                edgecolor="white",
            )
            ax.axhline(1.0, color="black", lw=0.8, ls=":")
            ax.set_xlim(0, 1)
            ax.tick_params(labelsize=7)
            if r == 0:
                ax.set_title(plain(f"{m}\n{kind}"), fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{h}-month\ndensity", fontsize=8)
    fig.supxlabel("PIT: share of forecast samples below the outcome", fontsize=9)
    fig.tight_layout()
    return fig


def coverage(scores: pd.DataFrame) -> Figure | None:
    """Share of outcomes inside the central 50% and 90% forecast intervals against the
    nominal shares (dotted lines), one panel per horizon. ``scores`` is ``scores.csv``."""
    if scores.empty:
        return None
    horizons = sorted(int(h) for h in scores[HORIZON].unique())
    fig, axes = _grid(1, len(horizons), sharey=True)
    widths = 0.38
    for ax, h in zip(axes[0], horizons, strict=True):
        rows = scores[scores[HORIZON] == h]
        x = np.arange(len(rows))
        for i, prob in enumerate(INTERVALS):
            col = f"cover{round(100 * prob)}"
            ax.bar(
                x + (i - 0.5) * widths,
                rows[col].to_numpy(dtype=float),
                width=widths,
                color=COLORS[i + 1],
                label=f"{prob:.0%} interval",
            )
            ax.axhline(prob, color=COLORS[i + 1], lw=1, ls=":")
        labels = [plain(f"{m}\n{k}") for m, k in zip(rows[MODEL], rows[KIND], strict=True)]
        ax.set_xticks(x, labels, rotation=25, ha="right", fontsize=7)
        ax.set_ylim(0, 1.15)  # headroom above 100% for the legend
        ax.set_title(f"{h}-month horizon", fontsize=10)
    axes[0, 0].set_ylabel("share of outcomes inside", fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper left", ncol=2)
    fig.tight_layout()
    return fig


def forecast_fan(ds: xr.Dataset, model: str) -> Figure | None:
    """The forecasts of ``model`` (median, 50% and 90% bands) against the realised
    h-month return, at the month each forecast ends; one row per forecast kind made,
    one column per horizon. ``None`` when the model made no forecast."""
    q = ds["quantiles"].sel({MODEL: model})
    kinds = [str(k) for k in q[KIND].values if np.isfinite(q.sel({KIND: k}).values).any()]
    if not kinds:
        return None
    horizons = [int(h) for h in ds[HORIZON].values]
    fig, axes = _grid(len(kinds), len(horizons))
    for r, kind in enumerate(kinds):
        for c, h in enumerate(horizons):
            ax = axes[r, c]
            x = _months(ds, shift=h)
            band = (
                q.sel({KIND: kind, HORIZON: h})
                .sel({D.QUANTILE: list(FAN_QUANTILES)}, method="nearest")
                .transpose(ORIGIN, D.QUANTILE)
                .values
            )
            ax.fill_between(x, band[:, 0], band[:, 4], color=COLORS[0], alpha=0.2, label="90%")
            ax.fill_between(x, band[:, 1], band[:, 3], color=COLORS[0], alpha=0.4, label="50%")
            ax.plot(x, band[:, 2], color=COLORS[0], lw=1.2, label="median")
            realised = ds["outcome"].sel({HORIZON: h}).values
            dots = "." if len(x) <= MARKER_MAX_POINTS else None
            ax.plot(x, realised, color="black", lw=0.8, marker=dots, ms=3, label="realised")
            ax.axhline(0, color="grey", lw=0.5)
            ax.set_title(plain(f"{model}, {kind}: {h}-month"), fontsize=9)
        axes[r, 0].set_ylabel("cumulative % (small - large)", fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="best")
    _finish_time_axes(fig, axes)
    return fig

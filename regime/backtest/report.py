"""``reports/NAME/backtest/index.html``: one self-contained page of a backtest's results.

Built from the results alone (the forecasts dataset and the tables the engine
writes beside it), never from a model: the verdict at the top, whether the
panels were point-in-time, the score table, the paired differences against the
constant baseline, the cumulative CRPS difference over time, PIT histograms,
interval coverage and a fan of the main model's forecasts against what happened.
Figures are embedded as base64 PNG; every name and label is escaped by the
template (autoescape).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from regime.backtest import REFERENCE, REGIME_MODEL
from regime.backtest import figures as BF
from regime.backtest.engine import HORIZON, KIND, MODEL, ORIGIN, SCORE_COLUMNS, BacktestResult
from regime.backtest.verdict import judge, sentences
from regime.reports.figures import to_base64
from regime.reports.html import now_utc, template_env

SCORE_DECIMALS = 3  # scores and differences in the tables (pp of cumulative return, shares)
TEMPLATE = "backtest.html"


def main_model(result: BacktestResult) -> str:
    """The model the page is about: the regime model when it ran, else the one the verdict
    names, else the first."""
    models = [str(m) for m in result.forecasts[MODEL].values]
    if REGIME_MODEL in models:
        return REGIME_MODEL
    found = judge(result.differences)
    return found.model if found is not None else models[0]


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "-" if not np.isfinite(value) else f"{value:.{SCORE_DECIMALS}f}"
    return str(value)


def _score_rows(scores: pd.DataFrame) -> list[dict[str, Any]]:
    """Cells of the score table; the lowest CRPS at each horizon is marked ``best``."""
    best = scores["crps"].eq(scores.groupby(HORIZON)["crps"].transform("min")).to_numpy()
    return [
        {"cells": [_fmt(row[c]) for c in SCORE_COLUMNS], "best": bool(b)}
        for (_, row), b in zip(scores.iterrows(), best, strict=True)
    ]


def _difference_rows(differences: pd.DataFrame) -> list[list[str]]:
    if differences.empty:
        return []
    out = []
    for _, r in differences.sort_values([MODEL, HORIZON, KIND, "metric"]).iterrows():
        t = r["difference"] / r["se"] if r["se"] > 0 else float("nan")
        out.append(
            [
                str(r[MODEL]),
                str(r[HORIZON]),
                str(r[KIND]),
                str(r["metric"]),
                str(r["n"]),
                _fmt(float(r["difference"])),
                _fmt(float(r["se"])),
                _fmt(float(t)),
                f"{r['first_origin']}..{r['last_origin']}",
            ]
        )
    return out


def render_backtest(result: BacktestResult, *, name: str, now: Callable[[], str] = now_utc) -> str:
    """The HTML of ``index.html`` for the backtest ``result`` of report ``name``."""
    ds = result.forecasts
    attrs = ds.attrs
    origins = [str(o) for o in ds[ORIGIN].values]
    main = main_model(result)
    figures = {
        "cumulative": BF.cumulative_crps(ds),
        "pit": BF.pit_histograms(result.pit_histogram),
        "coverage": BF.coverage(result.scores),
        "fan": BF.forecast_fan(ds, main),
    }
    failed = [o for o in str(attrs.get("failed_origins", "")).split(",") if o]
    ctx = {
        "name": name,
        "synthetic": bool(int(attrs.get("synthetic", 0))),
        "point_in_time": bool(int(attrs.get("point_in_time", 0))),
        "panel_note": str(attrs.get("panel_note", "")),
        "verdict": result.verdict,
        "details": sentences(result.differences, main),
        "main_model": main,
        "reference": REFERENCE,
        "first_origin": origins[0] if origins else "",
        "last_origin": origins[-1] if origins else "",
        "n_origins": len(origins),
        "horizons": [int(h) for h in ds[HORIZON].values],
        "models": [str(m) for m in ds[MODEL].values],
        "draws": attrs.get("draws", ""),
        "refit_every": attrs.get("refit_every", ""),
        "seed": attrs.get("seed", ""),
        "units": str(attrs.get("units", "")),
        "failed": failed,
        "score_columns": list(SCORE_COLUMNS),
        "text_columns": [MODEL, KIND],
        "score_rows": _score_rows(result.scores),
        "difference_rows": _difference_rows(result.differences),
        "figures": {k: to_base64(f) if f is not None else "" for k, f in figures.items()},
        "generated": now(),
    }
    return template_env().get_template(TEMPLATE).render(**ctx)

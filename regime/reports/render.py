"""Render ``reports/NAME/index.html`` (self-contained) and its CSV tables."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from regime import _dims as D
from regime._io import atomic_write_text
from regime.bayes.diagnostics import Diagnostics
from regime.bayes.protocol import regime_description
from regime.bayes.sensitivity import SENSITIVE_SHIFT
from regime.config import stable_hash
from regime.errors import BadInputError
from regime.reports import figures as F
from regime.reports.backtest import latest_backtest
from regime.reports.html import now_utc, template_env
from regime.scenarios.summary import baseline_name, fan, summary, summary_months

DECIMALS = 2


def load_scenarios(folder: Path) -> xr.Dataset:
    path = folder / "scenarios.nc"
    if not path.exists():
        raise BadInputError(f"No scenario results in {folder}; run `regime scenario NAME` first.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xr.load_dataset(path, engine="h5netcdf")


def render_report(
    model: Any, ds: xr.Dataset, out_dir: Path, *, now: Callable[[], str] = now_utc
) -> Path:
    """Write ``index.html`` and tables into ``out_dir``; returns the HTML path.

    ``model`` is a loaded model folder (``regime.load_model``), ``ds`` a saved
    scenario dataset. When ``out_dir/backtest`` holds a backtest, the page links
    to it and repeats its verdict on the regime model. Every file is written
    atomically.
    """
    meta = model.meta or {}
    panel = model.panel
    if panel is None:
        raise BadInputError(f"Model folder {model.folder} has no panel.csv; refit it.")
    table = summary(ds, panel.frame)
    horizon = ds.sizes[D.MONTH]
    summ_post = model.summary()
    kind = meta.get("kind", "markov")
    probs = _regime_probs(model)
    described = regime_description(model)
    makers: dict[str, Callable[[], Any] | None] = {
        "fan": lambda: F.fan_charts(ds, panel.frame),
        # scenario results saved before the macro fans were kept have none to show
        "macro": (lambda: F.macro_fans(ds, panel.frame)) if "macro_fan" in ds else None,
        "horizon_regimes": lambda: F.horizon_regimes(ds, list(probs.columns)),
        "regimes": lambda: F.regime_history(probs, panel.frame),
        "params": lambda: (
            F.forest(summ_post, ("const", "resid_sd"), "regime intercepts and residual sds")
            if kind == "var"
            else F.forest(summ_post, ("mu", "sigma"), "regime means and sds (%)")
        ),
        "tvtp": (
            (lambda: F.forest(summ_post, ("b",), "transition sensitivities (logit per sd)"))
            if any(i.startswith("b[") for i in summ_post.index)
            else None
        ),
        "flows": lambda: F.flow_decomposition(ds, _flow_scenario(ds), _gamma(summ_post)),
    }
    figs = _render_figures(makers)
    rounded = table.round(DECIMALS)
    rows = [
        {"scenario": name, **r}
        for name, r in rounded.reset_index(drop=False)
        .set_index(D.SCENARIO)
        .to_dict(orient="index")
        .items()
    ]
    diag = Diagnostics.from_dict(meta["diagnostics"])
    gates = diag.rows()
    comp = meta.get("comparison")
    comparison_rows = []
    if comp:
        for i in range(len(comp["model"])):
            comparison_rows.append(
                (
                    comp["model"][i],
                    comp["holdout_months"][i],
                    f"{comp['lpd'][i]:.2f}",
                    f"{comp['lpd_per_month'][i]:.3f}",
                    f"{comp['vs_baseline'][i]:+.2f}",
                )
            )
    provenance = _provenance(panel.meta.provenance)
    info = meta.get("info", {}) or {}
    spec = meta.get("spec", {})
    ctx = {
        "name": Path(str(model.folder)).name,
        "synthetic": bool(panel.meta.synthetic),
        "model_desc": _model_desc(kind, spec, model),
        "model_kind": kind,
        "data_start": str(model.panel.frame.index[0]),
        "data_end": panel.meta.end,
        "nobs": _nobs(model),
        "last_month": ds.attrs.get("last_month", ""),
        "samples": ds.sizes[D.SAMPLE],
        "generated": now(),
        "horizon": horizon,
        "summary_months": summary_months(horizon),
        "baseline": baseline_name(ds) or "",
        "summary_rows": rows,
        "gate_warnings": diag.warnings(),
        "sensitivity": info.get("prior_sensitivity") or [],
        "sensitive_shift": SENSITIVE_SHIFT,
        "descriptions": _descriptions(ds),
        "regime_table": _regime_table(described),
        "figures": figs,
        "posterior_cols": list(summ_post.columns),
        "posterior_rows": [(i, [f"{v:.3f}" for v in r]) for i, r in summ_post.iterrows()],
        "gamma": _gamma(summ_post),
        "gates": gates,
        "comparison_rows": comparison_rows,
        "holdout": f"last {meta.get('config', {}).get('model', {}).get('holdout_years', '?')} "
        "years held out",
        "provenance": provenance,
        "config_hash": stable_hash(meta.get("config", {})),
        "spec_hash": meta.get("spec_hash", ""),
        "fingerprint": meta.get("data_fingerprint", ""),
        "fit_seed": info.get("random_seed", ""),
        "scenario_seed": ds.attrs.get("seed", ""),
        "versions": meta.get("versions", {}),
        "backtest": latest_backtest(out_dir, meta, synthetic=bool(panel.meta.synthetic)),
    }
    html = template_env().get_template("report.html").render(**ctx)
    out_dir = Path(out_dir)
    tables = {
        "summary.csv": table,
        "fan.csv": fan(ds),
        "posterior.csv": summ_post,
        "provenance.csv": pd.DataFrame(provenance),
    }
    if comp:
        tables["comparison.csv"] = pd.DataFrame(comp)
    if described is not None:
        tables["regimes.csv"] = described
    for fname, frame in tables.items():
        buf = io.StringIO()
        frame.to_csv(buf)
        atomic_write_text(out_dir / fname, buf.getvalue())
    atomic_write_text(out_dir / "index.html", html)
    return out_dir / "index.html"


def _regime_probs(model: Any) -> pd.DataFrame:
    if hasattr(model, "smoothed_probabilities"):
        return model.smoothed_probabilities  # type: ignore[no-any-return]
    data = model.data  # observed regimes: one-hot labels
    return pd.get_dummies(data["regime"]).astype(float)


def _descriptions(ds: xr.Dataset) -> list[tuple[str, str]]:
    """(scenario, description) pairs from the ``descriptions`` attribute ("name: text"
    lines, one per scenario; a line that starts no scenario continues the one above)."""
    names = [str(n) for n in ds[D.SCENARIO].values]
    out: list[tuple[str, str]] = []
    for line in str(ds.attrs.get("descriptions", "")).splitlines():
        head, sep, text = line.partition(":")
        if sep and head in names:
            out.append((head, text.strip()))
        elif out and line.strip():
            name, prev = out[-1]
            out[-1] = (name, f"{prev} {line.strip()}".strip())
    return out


def _regime_table(described: pd.DataFrame | None) -> dict[str, Any] | None:
    """The regime description transposed for the page: one row per quantity, one
    column per regime; numbers to three significant digits, text as it is."""
    if described is None or described.empty:
        return None
    rows = []
    for quantity in described.columns:
        cells = []
        for v in described[quantity]:
            if isinstance(v, (int, np.integer)):
                cells.append(str(v))
            elif isinstance(v, (float, np.floating)):
                cells.append("-" if np.isnan(v) else f"{v:.3g}")
            else:
                cells.append(str(v) or "-")
        rows.append((str(quantity), cells))
    return {"regimes": [str(k) for k in described.index], "rows": rows}


def _nobs(model: Any) -> int:
    return len(_regime_probs(model))  # one row per month the model was fitted on


def _model_desc(kind: str, spec: dict[str, Any], model: Any) -> str:
    if kind == "markov":
        tv = list(model.data.tvtp_names)
        return (
            f"Markov switching, K={spec.get('k_regimes')}, {spec.get('emission')} "
            f"emissions, " + (f"TVTP on {', '.join(tv)}" if tv else "constant transitions")
        )
    if kind == "var":
        tv = list(model.data.tvtp_names)
        return (
            f"regime-switching VAR({spec.get('order')}) of {', '.join(model.data.names)}, "
            f"K={spec.get('k_regimes')}, "
            + (f"TVTP on {', '.join(tv)}" if tv else "constant transitions")
        )
    return f"observed regimes ({len(model.model.names)} labels), Student-t, partial pooling"


def _flow_scenario(ds: xr.Dataset) -> str:
    names = list(ds[D.SCENARIO].values)
    flows = ds["flow"].mean(D.SAMPLE).sum(D.MONTH).values
    return str(names[int(np.argmax(np.abs(flows)))])


def _gamma(summ: pd.DataFrame) -> tuple[float, float, float] | None:
    if "gamma" in summ.index:
        r = summ.loc["gamma"]
        return float(r.loc["mean"]), float(r.loc["hdi_5%"]), float(r.loc["hdi_95%"])  # type: ignore[arg-type]
    return None


def _provenance(prov: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for sid, m in prov.items():
        out.append(
            {
                "series": sid,
                "source": m.get("source", "") + (" (SYNTHETIC)" if m.get("synthetic") else ""),
                "origin": m.get("origin", ""),
                "vintage": m.get("vintage") or m.get("fetched_at") or "-",
                "first": m.get("first", ""),
                "last": m.get("last", ""),
                "missing": ", ".join(m.get("missing", [])) or "-",
            }
        )
    return out


def _render_figures(makers: dict[str, Callable[[], Any] | None]) -> dict[str, str]:
    """Base64 PNGs of the figures (``""`` where the maker is ``None``), drawn in forked
    processes on the available cores: drawing is most of a report's time (4.5 s for the
    demo's seven figures on one core)."""
    from regime.bayes.parallel import available_cores, run_tasks

    names = [n for n, make in makers.items() if make is not None]

    def task(make: Callable[[], Any]) -> Callable[[Callable[[int], None]], str]:
        def run(done: Callable[[int], None]) -> str:
            out = F.to_base64(make())
            done(1)
            return out

        return run

    drawn = run_tasks([task(makers[n]) for n in names], available_cores())  # type: ignore[arg-type]
    out = dict.fromkeys(makers, "")
    out.update(zip(names, drawn, strict=True))
    return out

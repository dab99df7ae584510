"""Simulate scenarios: build macro paths, call the model, add the flow overlay.

The engine knows no model's transitions or emissions. For each scenario it builds
the macro paths and the model's features over the horizon
(:mod:`regime.scenarios.paths`), picks the posterior draws, and asks the model
through its protocol (:mod:`regime.bayes.protocol`):
``model.simulate(inputs, draws, rng)`` returns the regimes and the monthly
relative return per sample and month (and, for a model that draws the macro
variables itself, such as the VAR, their paths and its SMC effective sample
size). The reconstitution overlay is added on top. Cumulative returns compound:
``100 * (prod(1 + r/100) - 1)``.

Scenarios share common random numbers: sample ``i`` of every scenario uses the
same posterior draw, the same regime uniforms, the same emission shocks and
the same flow coefficients, because each of these comes from its own stream
(:data:`STREAMS`, spawned from ``seed``) that a scenario's path draws cannot
shift. Differences between scenarios on the same sample index therefore come
from their macro paths (and flow specs), not from simulation noise. (The VAR's
sequential Monte Carlo resamples the draws of a constrained scenario, so there
the pairing holds for the shared seed, not sample by sample.)
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from regime import _dims as D
from regime.bayes.protocol import NamedPath, ScenarioInputs, ScenarioModel
from regime.config import FeatureSpec
from regime.errors import BadInputError
from regime.features.panel import Panel
from regime.flows.impact import monthly_overlay
from regime.scenarios.paths import (
    MacroPaths,
    build_paths,
    central_path,
    history_user_units,
    soft_sd,
)
from regime.scenarios.spec import PATH_VARIABLES, ScenarioSpec
from regime.scenarios.summary import QUANTILES

log = logging.getLogger(__name__)

# Independent random streams per scenario, spawned from the run's seed in this order.
# Paths (soft paths, baseline bootstrap) draw a scenario-dependent amount of numbers,
# so they get a stream of their own; the others draw a fixed amount per sample.
STREAMS = ("paths", "draws", "model", "flows")

# How a scenario's macro path came about (``macro_source``): set by the scenario (a
# hard path, a soft one around its central path, or ``kind: hold``); drawn by the
# model (the VAR's free variables) or by the baseline's history bootstrap; held at
# its last value because the scenario does not name it and the model does not draw it.
GIVEN, DRAWN, HELD = "given", "drawn", "held"


def streams(seed: int) -> dict[str, np.random.Generator]:
    """Fresh generators for one scenario; every scenario of a run gets the same ones."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {k: np.random.default_rng(c) for k, c in zip(STREAMS, children, strict=True)}


def _draw_index(n_draws: int, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n_draws, size=n, replace=n > n_draws))


def run(
    model: Any,
    scenarios: list[ScenarioSpec],
    *,
    n_samples: int | None = None,
    seed: int = 0,
    panel: Panel | None = None,
    features: FeatureSpec | None = None,
) -> xr.Dataset:
    """Simulate every scenario; dims (scenario, sample, month).

    Variables: ``regime`` (int8), ``macro``, ``flow``, ``total`` (monthly %, small
    minus large), ``cumulative`` (compounded %), plus the macro paths
    (``fedfunds``, ``inflation``, ``dollar``: scenario x month, sample mean; the
    model's own draws when it forecasts them, as the VAR does for free variables),
    their fans ``macro_fan`` (scenario x variable x quantile x month, quantiles
    :data:`~regime.scenarios.summary.QUANTILES` over samples; fedfunds %, inflation
    CPI YoY %, dollar broad index level), how each came about ``macro_source``
    (scenario x variable: :data:`GIVEN` by the scenario, :data:`DRAWN` by the model
    or the baseline's bootstrap, :data:`HELD` at the last value) and ``macro_named``
    (scenario x variable, bool: the scenario names it; a named hard path has a
    fan of zero width), and ``ess`` (scenario: the minimum SMC effective sample size of a model that
    conditions by sequential Monte Carlo, NaN otherwise; a low value is a
    plausibility warning). The attribute ``baseline`` names the scenario with
    ``baseline: true`` ("" when there is none; more than one is refused). Samples
    are paired across scenarios (common random numbers, see the module docstring).
    """
    panel = panel if panel is not None else getattr(model, "panel", None)
    if panel is None:
        raise BadInputError(
            "The model carries no feature panel; load it with regime.load_model or pass panel=."
        )
    if features is None:
        cfg = (getattr(model, "meta", None) or {}).get("config", {})
        features = FeatureSpec.model_validate(cfg.get("features", {}))
    if not isinstance(model, ScenarioModel):
        raise BadInputError(
            f"A {type(model).__name__} is not a fitted regime model; load one with "
            "regime.load_model."
        )
    n_draws = model.idata.posterior.sizes["chain"] * model.idata.posterior.sizes["draw"]
    n = n_samples or n_draws
    if n <= 0:
        raise BadInputError(f"--samples must be positive; got {n}.")
    horizons = {s.horizon for s in scenarios}
    if len(horizons) != 1:
        raise BadInputError(
            f"All scenarios of one run need the same horizon; got {sorted(horizons)}."
        )
    baselines = [s.name for s in scenarios if s.baseline]
    if len(baselines) > 1:
        raise BadInputError(
            f"At most one scenario may set baseline: true; got {', '.join(baselines)}."
        )
    moves = any(not s.baseline and s.paths != type(s.paths)() for s in scenarios)
    if not model.uses_macro_paths and moves:
        log.warning(
            "The model has constant transition probabilities: macro paths "
            "change only the plausibility score, not the regime dynamics."
        )
    out: dict[str, list[Any]] = {
        k: [] for k in ("regime", "macro", "flow", "ess", "fan", "source", *PATH_VARIABLES)
    }
    months_ref: pd.PeriodIndex | None = None
    for spec in scenarios:
        # common random numbers: every scenario replays the same streams (see STREAMS)
        rng = streams(seed)
        pan = _panel_at(panel, spec)
        paths = build_paths(spec, pan.frame, model.scenario_features, n, rng["paths"])
        idx = _draw_index(n_draws, n, rng["draws"])
        sim = model.simulate(_inputs(spec, pan, paths, features), idx, rng["model"])
        flow, _ = monthly_overlay(paths.months, spec.flows, n, rng["flows"])
        out["regime"].append(sim.regimes)
        out["macro"].append(sim.returns)
        out["flow"].append(flow)
        out["ess"].append(sim.ess)
        drawn = sim.levels or {}
        named = _named(spec)
        levels = {v: drawn.get(v, getattr(paths, v)) for v in PATH_VARIABLES}  # (1 or n, H)
        for v in PATH_VARIABLES:
            out[v].append(levels[v].mean(axis=0))
        out["fan"].append([np.quantile(levels[v], QUANTILES, axis=0) for v in PATH_VARIABLES])
        out["source"].append(
            [
                GIVEN if v in named else DRAWN if v in drawn or spec.baseline else HELD
                for v in PATH_VARIABLES
            ]
        )
        months_ref = paths.months if months_ref is None else months_ref
    assert months_ref is not None
    macro = np.stack(out["macro"])
    flow = np.stack(out["flow"])
    total = macro + flow
    cumulative = 100.0 * (np.cumprod(1.0 + total / 100.0, axis=-1) - 1.0)
    dims = (D.SCENARIO, D.SAMPLE, D.MONTH)
    coords = {
        D.SCENARIO: [s.name for s in scenarios],
        D.SAMPLE: np.arange(n),
        D.MONTH: [str(m) for m in months_ref],
        D.VARIABLE: list(PATH_VARIABLES),
        D.QUANTILE: list(QUANTILES),
    }
    source = np.asarray(out["source"], dtype=str)
    ds = xr.Dataset(
        {
            "regime": (dims, np.stack(out["regime"])),
            "macro": (dims, macro.astype(np.float32)),
            "flow": (dims, flow.astype(np.float32)),
            "total": (dims, total.astype(np.float32)),
            "cumulative": (dims, cumulative.astype(np.float32)),
            "fedfunds": ((D.SCENARIO, D.MONTH), np.stack(out["fedfunds"])),
            "inflation": ((D.SCENARIO, D.MONTH), np.stack(out["inflation"])),
            "dollar": ((D.SCENARIO, D.MONTH), np.stack(out["dollar"])),
            "macro_fan": ((D.SCENARIO, D.VARIABLE, D.QUANTILE, D.MONTH), np.asarray(out["fan"])),
            "macro_source": ((D.SCENARIO, D.VARIABLE), source),
            "macro_named": ((D.SCENARIO, D.VARIABLE), source == GIVEN),
            "ess": ((D.SCENARIO,), np.asarray(out["ess"], dtype=float)),
        },
        coords=coords,
        attrs={
            "model_kind": model.kind,
            "baseline": baselines[0] if baselines else "",  # "" : no baseline in this run
            "seed": seed,
            "last_month": str(panel.frame.index[-1]),
            "synthetic": int(bool(panel.meta.synthetic)),
            "units": "percent, small-cap minus large-cap; cumulative compounded",
            "descriptions": "\n".join(f"{s.name}: {s.description}" for s in scenarios),
        },
    )
    for name, ess in zip(ds[D.SCENARIO].values, out["ess"], strict=True):
        if np.isfinite(ess):
            log.info("Scenario %s: SMC effective sample size %.0f of %d.", name, ess, n)
    return ds


def _inputs(
    spec: ScenarioSpec, pan: Panel, paths: MacroPaths, features: FeatureSpec
) -> ScenarioInputs:
    """What the model needs of one scenario (see :class:`regime.bayes.protocol.ScenarioInputs`).

    A variable is *named* when the scenario file sets it explicitly (the baseline
    names none); its central path is the path before the soft walk, its per-month sd
    that of the walk (:func:`regime.scenarios.paths.soft_sd`).
    """
    named: dict[str, NamedPath] = {}
    hist = history_user_units(pan.frame)
    for v in _named(spec):  # the others are free for a model that draws them
        p = getattr(spec.paths, v)
        level = central_path(v, p, float(hist[v].iloc[-1]), hist[v], spec.horizon)
        sd = soft_sd(p.sd, spec.horizon) if p.sd > 0 else None
        named[v] = NamedPath(level=level, sd=sd, hold=p.kind == "hold" and sd is None)
    return ScenarioInputs(
        months=paths.months,
        history=pan.frame,
        levels={v: getattr(paths, v) for v in PATH_VARIABLES},
        features=paths.features,
        feature_names=paths.feature_names,
        named=named,
        start=None if spec.start == "latest" else pd.Period(spec.start, freq="M"),
        feature_spec=features,
    )


def _named(spec: ScenarioSpec) -> tuple[str, ...]:
    """The macro variables the scenario file sets explicitly (the baseline names none)."""
    if spec.baseline:
        return ()
    return tuple(v for v in PATH_VARIABLES if v in spec.paths.model_fields_set)


def _panel_at(panel: Panel, spec: ScenarioSpec) -> Panel:
    if spec.start == "latest":
        return panel
    start = pd.Period(spec.start, freq="M")
    if start not in panel.frame.index:
        raise BadInputError(
            f"Scenario {spec.name} starts at {start}, outside the model's data "
            f"({panel.frame.index[0]}..{panel.frame.index[-1]})."
        )
    return Panel(panel.frame.loc[:start], panel.meta)

"""Simulate scenarios: for each posterior draw, regime paths, emissions and flows.

For a Markov model, each sample starts from the filtered regime distribution of
its posterior draw at the last month, moves with the TVTP matrices driven by the
scenario's features (constant matrices when the model has none), draws monthly
relative returns from the regime's emission and adds the reconstitution overlay.
For an observed-regime model the regime of each month follows from the
scenario's features through the same rules (or the stored classifier); a label
never seen in training draws a new regime from the hierarchical population.
Cumulative returns compound: ``100 * (prod(1 + r/100) - 1)``.

Scenarios share common random numbers: sample ``i`` of every scenario uses the
same posterior draw, the same regime uniforms, the same emission shocks and
the same flow coefficients, because each of these comes from its own stream
(:data:`STREAMS`, spawned from ``seed``) that a scenario's path draws cannot
shift. Differences between scenarios on the same sample index therefore come
from their macro paths (and flow specs), not from simulation noise.
"""

from __future__ import annotations

import logging
from typing import Any

import numba
import numpy as np
import pandas as pd
import xarray as xr

from regime import _dims as D
from regime.bayes.switching import stacked
from regime.config import FeatureSpec
from regime.errors import BadInputError
from regime.features.panel import Panel, rule_labels
from regime.flows.impact import monthly_overlay
from regime.scenarios.paths import MacroPaths, build_paths
from regime.scenarios.spec import ScenarioSpec

log = logging.getLogger(__name__)

# Independent random streams per scenario, spawned from the run's seed in this order.
# Paths (soft paths, baseline bootstrap) draw a scenario-dependent amount of numbers,
# so they get a stream of their own; the others draw a fixed amount per sample.
STREAMS = ("paths", "draws", "model", "flows")


def streams(seed: int) -> dict[str, np.random.Generator]:
    """Fresh generators for one scenario; every scenario of a run gets the same ones."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {k: np.random.default_rng(c) for k, c in zip(STREAMS, children, strict=True)}


@numba.njit(cache=True)
def simulate_regimes(start: np.ndarray, trans: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Regime paths (S, H) int8.

    ``start`` (S, K) is Pr[S_T] per sample; ``trans`` (S or 1, H or 1, K, K)
    the row-stochastic matrix moving month h-1 to h; ``u`` (S, H + 1) uniforms.
    """
    n, k = start.shape
    horizon = u.shape[1] - 1
    out = np.empty((n, horizon), dtype=np.int8)
    ts, th = trans.shape[0], trans.shape[1]
    for i in range(n):
        acc = 0.0
        state = k - 1
        for j in range(k):
            acc += start[i, j]
            if u[i, 0] < acc:
                state = j
                break
        si = i if ts > 1 else 0
        for h in range(horizon):
            p = trans[si, h if th > 1 else 0]
            acc = 0.0
            nxt = k - 1
            for j in range(k):
                acc += p[state, j]
                if u[i, h + 1] < acc:
                    nxt = j
                    break
            state = nxt
            out[i, h] = state
    return out


def _draw_index(n_draws: int, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n_draws, size=n, replace=n > n_draws))


def _markov_macro(
    model: Any,
    paths: MacroPaths,
    panel: Panel,
    idx: np.ndarray,
    start_probs: np.ndarray | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    data, spec = model.data, model.spec
    if data.exog.shape[1]:
        raise BadInputError(
            "Scenarios need a model without exog regressors (their future "
            "values are not part of a scenario); refit without model.exog."
        )
    names = [
        n
        for n in ("mu", "sigma", "p", "a", "b", "nu", "filtered_last")
        if n in model.idata.posterior
    ]
    post = {k: v[idx] for k, v in stacked(model.idata, names).items()}
    n, k = len(idx), spec.k_regimes
    start = post["filtered_last"] if start_probs is None else np.broadcast_to(start_probs, (n, k))
    if "p" in post:
        trans = post["p"][:, None, :, :]
    else:
        z_now = panel.frame.loc[panel.frame.index[-1], list(data.tvtp_names)].to_numpy(float)
        z_all = np.concatenate(
            [
                np.broadcast_to(z_now, (paths.features.shape[0], 1, len(z_now))),
                paths.features[:, :-1, :],
            ],
            axis=1,
        )  # z_{h-1} drives the move into month h
        z_all = (z_all - data.tvtp_mean) / data.tvtp_sd
        if z_all.shape[0] == 1:  # one hard path shared by every sample
            slopes = np.einsum("hz,sijz->shij", z_all[0], post["b"])
        else:  # soft or bootstrapped paths: sample s follows its own path
            slopes = np.einsum("shz,sijz->shij", z_all, post["b"])
        logits = post["a"][:, None] + slopes
        logits -= logits.max(axis=-1, keepdims=True)
        e = np.exp(logits)
        trans = e / e.sum(axis=-1, keepdims=True)
    horizon = len(paths.months)
    u = rng.random((n, horizon + 1))
    regimes = simulate_regimes(np.ascontiguousarray(start), np.ascontiguousarray(trans), u)
    eps = (
        rng.standard_t(post["nu"][:, None], size=(n, horizon))
        if "nu" in post
        else rng.standard_normal((n, horizon))
    )
    rows = np.arange(n)[:, None]
    sigma = post["sigma"] if post["sigma"].ndim == 2 else np.repeat(post["sigma"][:, None], k, 1)
    macro = post["mu"][rows, regimes] + sigma[rows, regimes] * eps
    return regimes, macro


def _observed_macro(
    model: Any, paths: MacroPaths, features: FeatureSpec, idx: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    post = {
        k: v[idx]
        for k, v in stacked(
            model.idata, ["mu", "sigma", "nu", "mu0", "tau", "ls0", "tau_s"]
        ).items()
    }
    n, horizon = len(idx), len(paths.months)
    names = list(model.model.names)
    clf = model.model.classifier
    codes = np.empty((paths.features.shape[0], horizon), dtype=np.int64)
    for i in range(paths.features.shape[0]):
        frame = pd.DataFrame(paths.features[i], columns=list(paths.feature_names))
        if clf is not None:
            labels = [f"cluster{c}" for c in clf.predict(frame)]
        else:
            labels = list(rule_labels(frame, features)[D.LABEL])
        codes[i] = [names.index(lab) if lab in names else -1 for lab in labels]
    codes = np.broadcast_to(codes, (n, horizon))
    # shocks first: their count is the same in every scenario (common random numbers);
    # the population draws below happen only for scenarios with unseen labels
    eps = rng.standard_t(post["nu"][:, None], size=(n, horizon))
    rows = np.arange(n)[:, None]
    mu = post["mu"][rows, np.maximum(codes, 0)]
    sig = post["sigma"][rows, np.maximum(codes, 0)]
    new = codes < 0  # unseen label: a new regime from the population
    if new.any():
        mu_new = post["mu0"][:, None] + post["tau"][:, None] * rng.standard_normal((n, horizon))
        sig_new = np.exp(
            post["ls0"][:, None] + post["tau_s"][:, None] * rng.standard_normal((n, horizon))
        )
        mu, sig = np.where(new, mu_new, mu), np.where(new, sig_new, sig)
    return np.asarray(codes, dtype=np.int8), mu + sig * eps


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
    (``fedfunds``, ``inflation``, ``dollar``: scenario x month, sample mean).
    The attribute ``baseline`` names the scenario with ``baseline: true`` ("" when
    there is none; more than one is refused). Samples are paired across scenarios
    (common random numbers, see the module docstring).
    """
    panel = panel if panel is not None else getattr(model, "panel", None)
    if panel is None:
        raise BadInputError(
            "The model carries no feature panel; load it with regime.load_model or pass panel=."
        )
    if features is None:
        cfg = (getattr(model, "meta", None) or {}).get("config", {})
        features = FeatureSpec.model_validate(cfg.get("features", {}))
    kind = "observed" if hasattr(model, "model") else "markov"
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
    if kind == "markov" and not model.data.tvtp.shape[1] and moves:
        log.warning(
            "The model has constant transition probabilities: macro paths "
            "change only the plausibility score, not the regime dynamics."
        )
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("regime", "macro", "flow", "fedfunds", "inflation", "dollar")
    }
    months_ref: pd.PeriodIndex | None = None
    for spec in scenarios:
        # common random numbers: every scenario replays the same streams (see STREAMS)
        rng = streams(seed)
        pan = _panel_at(panel, spec)
        start_probs = None
        if spec.start != "latest" and kind == "markov":
            fp = model.filtered_probabilities
            start_probs = fp.loc[pd.Period(spec.start, freq="M")].to_numpy()
        feat_names = (
            tuple(model.data.tvtp_names)
            if kind == "markov"
            else tuple(model.model.classifier.features)
            if model.model.classifier
            else D.STATE_FEATURES
        )
        paths = build_paths(spec, pan.frame, feat_names, n, rng["paths"])
        idx = _draw_index(n_draws, n, rng["draws"])
        if kind == "markov":
            regimes, macro = _markov_macro(model, paths, pan, idx, start_probs, rng["model"])
        else:
            regimes, macro = _observed_macro(model, paths, features, idx, rng["model"])
        flow, _ = monthly_overlay(paths.months, spec.flows, n, rng["flows"])
        out["regime"].append(regimes)
        out["macro"].append(macro)
        out["flow"].append(flow)
        for v in ("fedfunds", "inflation", "dollar"):
            out[v].append(getattr(paths, v).mean(axis=0))
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
    }
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
        },
        coords=coords,
        attrs={
            "model_kind": kind,
            "baseline": baselines[0] if baselines else "",  # "" : no baseline in this run
            "seed": seed,
            "last_month": str(panel.frame.index[-1]),
            "synthetic": int(bool(panel.meta.synthetic)),
            "units": "percent, small-cap minus large-cap; cumulative compounded",
            "descriptions": "\n".join(f"{s.name}: {s.description}" for s in scenarios),
        },
    )
    return ds


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

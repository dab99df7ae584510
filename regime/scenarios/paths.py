"""Scenario macro paths -> standardized TVTP features, through the panel's own transforms."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from regime import _dims as D
from regime.errors import BadInputError
from regime.features.panel import derive_features
from regime.scenarios.spec import PathSpec, ScenarioSpec

log = logging.getLogger(__name__)

# a level outside these bounds is a units mistake, not a scenario
LEVEL_BOUNDS = {"fedfunds": (-1.0, 30.0), "inflation": (-15.0, 30.0), "dollar": (20.0, 400.0)}
UNITS = {
    "fedfunds": "% (changes in pp, or bp with units: bp)",
    "inflation": "% YoY",
    "dollar": "index (changes in % of the last level)",
}
BLOCK = 12  # months per bootstrap block
HISTORY_NEEDED = 25  # months of history the feature transforms look back (12 + margin)


@dataclass(frozen=True)
class MacroPaths:
    """Scenario macro paths for ``n`` samples (1 for hard paths) over the horizon."""

    months: pd.PeriodIndex  # the horizon's months
    fedfunds: np.ndarray  # (n, H) %
    inflation: np.ndarray  # (n, H) CPI YoY %
    dollar: np.ndarray  # (n, H) index level
    features: np.ndarray  # (n, H, n_features) unstandardized, the model's feature order
    feature_names: tuple[str, ...]


def derivable_features() -> tuple[str, ...]:
    """The panel features a scenario derives from its macro paths (:func:`build_paths`
    extends exactly these base columns and calls the panel's own transforms)."""
    empty = pd.Series(dtype=float)
    return tuple(derive_features({D.FEDFUNDS: empty, D.CPI: empty, D.USD: empty}))


def history_user_units(panel: pd.DataFrame) -> pd.DataFrame:
    """fedfunds (%), inflation (CPI YoY %) and dollar (index) as in the panel rows."""
    return pd.DataFrame({v: panel[col] for v, col in D.SCENARIO_LEVELS.items()})


def soft_sd(sd: float, horizon: int) -> np.ndarray:
    """(H,) sd of a soft path around its central path in months 1..H: the random walk of
    :func:`_one_path` has steps of sd ``sd / sqrt(H)``, so ``sd`` at the horizon."""
    return np.asarray(sd * np.sqrt(np.arange(1, horizon + 1) / horizon))


def central_path(var: str, p: PathSpec, last: float, hist: pd.Series, horizon: int) -> np.ndarray:
    """(H,) the path's level in months 1..H before any soft walk (``var`` in user units)."""
    h = np.arange(1, horizon + 1)
    if p.kind == "hold":
        path = np.full(horizon, last)
    elif p.kind == "linear":
        months = p.months or horizon
        frac = np.minimum(h, months) / months
        change = p.change_in_level_units()
        path = last * (1 + change / 100.0 * frac) if var == "dollar" else last + change * frac
    elif p.kind == "values":
        vals = np.asarray(p.values, dtype=float)
        if len(vals) < horizon:
            raise BadInputError(
                f"The {var} path gives {len(vals)} values for a horizon of {horizon} months."
            )
        path = vals[:horizon]
    else:
        assert p.window is not None
        a, b = (pd.Period(w, freq="M") for w in p.window)
        if a < hist.index[0] or b > hist.index[-1]:
            raise BadInputError(
                f"The {var} replay window {a}..{b} lies outside the data "
                f"({hist.index[0]}..{hist.index[-1]})."
            )
        seg = hist.loc[a:b].to_numpy(dtype=float)
        if len(seg) - 1 < horizon or np.isnan(seg).any():
            raise BadInputError(
                f"The {var} replay window {a}..{b} covers {len(seg) - 1} "
                f"months of changes; the horizon needs {horizon}."
            )
        path = (
            last * seg[1 : horizon + 1] / seg[0]
            if var == "dollar"
            else (last + seg[1 : horizon + 1] - seg[0])
        )
    lo, hi = LEVEL_BOUNDS[var]
    bad = (path < lo) | (path > hi)
    if bad.any():
        worst = float(path[bad][0])
        raise BadInputError(
            f"The {var} path reaches {worst:.4g}, outside the plausible range [{lo}, {hi}] "
            f"for {UNITS[var]}; check its units (for example -75 bp vs -0.75 pp)."
        )
    return np.asarray(path, dtype=float)


def _one_path(
    var: str,
    p: PathSpec,
    last: float,
    hist: pd.Series,
    horizon: int,
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    path = central_path(var, p, last, hist, horizon)
    paths = np.broadcast_to(path, (n, horizon)).copy()
    if p.sd > 0:
        steps = rng.standard_normal((n, horizon)) * p.sd / np.sqrt(horizon)
        walk = np.cumsum(steps, axis=1)
        paths = paths * (1 + walk / 100.0) if var == "dollar" else paths + walk
        if var == "fedfunds":
            paths = np.maximum(paths, 0.0)  # soft paths stop at the zero lower bound
    return paths


def bootstrap_paths(
    hist: pd.DataFrame, horizon: int, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Joint block bootstrap of monthly changes (dollar in log changes), from the last values."""
    h = hist.dropna()
    diffs = np.column_stack(
        [h["fedfunds"].diff(), h["inflation"].diff(), np.log(h["dollar"]).diff()]
    )[1:]
    n_blocks = int(np.ceil(horizon / BLOCK))
    starts = rng.integers(0, len(diffs) - BLOCK, size=(n, n_blocks))
    idx = (starts[:, :, None] + np.arange(BLOCK)[None, None, :]).reshape(n, -1)[:, :horizon]
    steps = diffs[idx]  # (n, H, 3)
    last = h.iloc[-1]
    return {
        "fedfunds": np.maximum(last["fedfunds"] + np.cumsum(steps[..., 0], axis=1), 0.0),
        "inflation": last["inflation"] + np.cumsum(steps[..., 1], axis=1),
        "dollar": last["dollar"] * np.exp(np.cumsum(steps[..., 2], axis=1)),
    }


def build_paths(
    spec: ScenarioSpec,
    panel: pd.DataFrame,
    feature_names: tuple[str, ...],
    n: int,
    rng: np.random.Generator,
) -> MacroPaths:
    """Macro paths and the model's features over the horizon (n = samples for soft paths)."""
    hist = history_user_units(panel)
    end = hist.index[-1]
    months = pd.period_range(end + 1, periods=spec.horizon, freq="M")
    soft = spec.baseline or any(
        getattr(spec.paths, v).sd > 0 for v in ("fedfunds", "inflation", "dollar")
    )
    m = n if soft else 1
    if spec.baseline:
        paths = bootstrap_paths(hist, spec.horizon, m, rng)
    else:
        paths = {
            v: _one_path(
                v, getattr(spec.paths, v), float(hist[v].iloc[-1]), hist[v], spec.horizon, m, rng
            )
            for v in ("fedfunds", "inflation", "dollar")
        }
    # every sample is a column: the panel's transforms work column-wise, so the
    # features of all samples come out of one call
    tail = panel.iloc[-HISTORY_NEEDED:]
    cpi = _cpi_from_yoy(tail[D.CPI], paths["inflation"], months)
    base = {}
    for col, fut in ((D.FEDFUNDS, paths["fedfunds"]), (D.CPI, cpi), (D.USD, paths["dollar"])):
        hist_block = np.repeat(tail[col].to_numpy(dtype=float)[:, None], m, axis=1)
        base[col] = pd.DataFrame(np.vstack([hist_block, fut.T]), index=tail.index.append(months))
    derived = derive_features(base)  # type: ignore[arg-type]  # column-wise on frames
    feats = np.empty((m, spec.horizon, len(feature_names)))
    for j, f in enumerate(feature_names):
        if f not in derived:
            raise BadInputError(
                f"Scenarios cannot drive the TVTP feature {f!r}; use "
                f"features from {sorted(derived)}."
            )
        feats[:, :, j] = derived[f].loc[months].to_numpy().T
    return MacroPaths(
        months, paths["fedfunds"], paths["inflation"], paths["dollar"], feats, feature_names
    )


def _cpi_from_yoy(cpi_hist: pd.Series, yoy: np.ndarray, months: pd.PeriodIndex) -> np.ndarray:
    """CPI index (m, H) whose YoY change equals the path: cpi_t = cpi_{t-12} (1 + yoy_t)."""
    last12 = cpi_hist.to_numpy(dtype=float)[-12:]
    if len(last12) < 12 or not np.isfinite(last12).all():
        raise BadInputError(
            "CPI of the last 12 months is incomplete; the inflation path "
            "cannot be turned into an index."
        )
    m, horizon = yoy.shape
    level = np.empty((m, 12 + horizon))
    level[:, :12] = last12
    for h in range(horizon):
        level[:, 12 + h] = level[:, h] * (1 + yoy[:, h] / 100.0)
    return level[:, 12:]

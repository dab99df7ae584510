"""The one interface every fitted model kind offers the scenario engine (and its saver).

A fitted model (univariate Markov switching, observed regimes, the regime-switching
VAR) answers:

- ``kind`` -- ``"markov"``, ``"observed"`` or ``"var"`` (the name stored on disk);
- ``scenario_features`` -- the panel features the model needs over the horizon (the
  scenario engine derives them from the scenario's macro paths through the panel's
  own transforms);
- ``uses_macro_paths`` -- whether a scenario's macro paths can move its outcome at all;
- ``simulate(inputs, draws, rng)`` -- regimes and monthly relative returns per sample;
- ``layout()`` / ``from_layout(idata, doc)`` -- what :mod:`regime.models.io` stores
  beside the posterior and how the model is rebuilt from it (the save/load hooks).

One hook is optional: ``describe_regimes()`` -- a table with one row per regime
(the VAR describes its regimes in numbers); the report reads it through
:func:`regime_description` and leaves the section out for a kind without one.

The engine builds :class:`ScenarioInputs`, draws the posterior draw indices and the
random generator (its ``model`` stream), calls ``simulate`` and adds the flow overlay;
it never re-derives a model's transitions or emissions.

May import: numpy, pandas. Nothing of PyMC, the scenarios or the CLI.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class NamedPath:
    """A macro variable the scenario names explicitly (level units, months 1..H).

    ``level`` (H,) the scenario's central path (fedfunds %, inflation CPI YoY %,
    dollar index level); ``sd`` (H,) the sd of a soft path around it in each month
    (same units; the dollar's in % of the level), ``None`` for a hard path;
    ``hold`` True for ``kind: hold`` (the variable frozen at its last value).
    """

    level: np.ndarray
    sd: np.ndarray | None
    hold: bool


@dataclass(frozen=True)
class ScenarioInputs:
    """What a scenario hands a model for one simulation (``m`` = 1 for hard paths, else N).

    ``months`` the H forecast months; ``history`` the panel rows up to the scenario's
    start month (last row = month 0); ``levels`` fedfunds/inflation/dollar (m, H) as
    the engine built them (hard paths, soft random walks or the baseline bootstrap);
    ``features`` (m, H, n_features) the model's ``scenario_features``, unstandardized,
    row h-1 the value known in month h; ``named`` the explicitly named variables
    (empty for the baseline, whose variables are all free); ``start`` the start
    month (``None``: the model's last month); ``feature_spec`` the panel's
    :class:`regime.config.FeatureSpec` (rule-label thresholds).
    """

    months: pd.PeriodIndex
    history: pd.DataFrame
    levels: dict[str, np.ndarray]
    features: np.ndarray
    feature_names: tuple[str, ...]
    named: dict[str, NamedPath]
    start: pd.Period | None
    feature_spec: Any


@dataclass(frozen=True)
class Simulation:
    """A model's answer for one scenario: ``regimes`` (N, H) int8, ``returns`` (N, H)
    monthly relative return (%, small minus large, before flows); ``levels`` the
    model's own draws of fedfunds/inflation/dollar (N, H) when it draws them (the VAR),
    else ``None``; ``ess`` the minimum effective sample size of its sequential Monte
    Carlo (NaN when it uses none)."""

    regimes: np.ndarray
    returns: np.ndarray
    levels: dict[str, np.ndarray] | None = None
    ess: float = float("nan")


@runtime_checkable
class ScenarioModel(Protocol):
    """A fitted model the scenario engine and :mod:`regime.models.io` can use."""

    kind: str
    idata: Any
    info: dict[str, Any]

    @property
    def scenario_features(self) -> tuple[str, ...]: ...

    @property
    def uses_macro_paths(self) -> bool: ...

    def simulate(
        self, inputs: ScenarioInputs, draws: np.ndarray, rng: np.random.Generator
    ) -> Simulation: ...

    def layout(self) -> tuple[dict[str, Any], dict[str, Any], str]:
        """(spec, layout, data fingerprint) stored in ``model.json``."""
        ...

    @classmethod
    def from_layout(cls, idata: Any, doc: dict[str, Any]) -> Any:
        """The model rebuilt from its posterior and ``model.json``."""
        ...


# --------------------------------------------------------------------------- hook helpers


def data_fingerprint(*arrays: np.ndarray) -> str:
    """Short SHA-256 of the arrays a model was fitted on (stored by the save hook)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(np.asarray(a, dtype=float)).tobytes())
    return h.hexdigest()[:16]


def columns(ds: Any, name: str, nobs: int, ncols: int) -> np.ndarray:
    """A (nobs, ncols) array from a saved group; empty dimensions do not survive netCDF."""
    if ncols == 0:
        return np.zeros((nobs, 0))
    return np.asarray(ds[name].values, dtype=float).reshape(nobs, ncols)


def period_index(labels: list[str]) -> pd.Index:
    """Monthly periods from stored labels (a plain index when they are not months)."""
    try:
        return pd.PeriodIndex(labels, freq="M")
    except (ValueError, TypeError):
        return pd.Index(labels)


def regime_description(model: Any) -> pd.DataFrame | None:
    """The model's regime description (one row per regime, index ``regime``) from its
    optional ``describe_regimes`` hook, or ``None`` for a kind that has none."""
    describe = getattr(model, "describe_regimes", None)
    return None if describe is None else describe()  # type: ignore[no-any-return]

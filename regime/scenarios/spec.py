"""Scenario specs (YAML, validated like the rest of the config).

Paths are in the user's units and in *row time*: month h = 1..horizon is the
h-th month after the model's last month, and each variable is the value known
in that month (CPI is published with a one-month lag, so "inflation" is the CPI
YoY known then, as in the training panel):

=========  ==============================  ===============================================
variable   level                           ``change`` of a linear path
=========  ==============================  ===============================================
fedfunds   effective Fed funds rate, %     pp (``units: bp`` for basis points)
inflation  CPI year-over-year, %           pp of the YoY rate
dollar     broad dollar index              % of the last level (``-5`` = 5% weaker)
=========  ==============================  ===============================================

Kinds: ``hold`` (last value), ``linear`` (reach ``change`` after ``months``, then
hold), ``values`` (explicit monthly values in the variable's level units),
``replay`` (the changes of a past window applied to today's level). ``sd`` makes
a path soft: a random walk whose sd at the horizon is ``sd`` (same units).
``baseline: true`` instead simulates all three from their own history (a joint
12-month block bootstrap of monthly changes).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from regime.config import Spec, read_yaml, validate
from regime.errors import BadInputError
from regime.flows.impact import FlowSpec  # a scenario's `flows`, defined beside its maths

MAX_HORIZON = 120
PATH_VARIABLES = ("fedfunds", "inflation", "dollar")


class PathSpec(Spec):
    kind: Literal["hold", "linear", "values", "replay"] = "hold"
    change: float | None = None
    units: Literal["pp", "bp", "pct"] | None = None
    months: int | None = Field(None, ge=1)
    values: tuple[float, ...] | None = None
    window: tuple[str, str] | None = None
    sd: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _complete(self) -> PathSpec:
        if self.kind == "linear" and self.change is None:
            raise ValueError("a linear path needs 'change'")
        if self.kind == "values" and not self.values:
            raise ValueError("a values path needs 'values'")
        if self.kind == "replay":
            if self.window is None:
                raise ValueError("a replay path needs 'window: [YYYY-MM, YYYY-MM]'")
            try:
                a, b = (pd.Period(w, freq="M") for w in self.window)
            except ValueError as exc:
                raise ValueError(f"replay window must be YYYY-MM months ({exc})") from None
            if b <= a:
                raise ValueError("replay window must end after it starts")
        return self

    def change_in_level_units(self) -> float:
        """``change`` converted to the variable's level units (bp -> pp)."""
        c = float(self.change or 0.0)
        return c / 100.0 if self.units == "bp" else c


class PathsSpec(Spec):
    fedfunds: PathSpec = PathSpec()
    inflation: PathSpec = PathSpec()
    dollar: PathSpec = PathSpec()


class ScenarioSpec(Spec):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    horizon: int = Field(12, ge=1, le=MAX_HORIZON)
    start: str = Field("latest", description="'latest' or a month (YYYY-MM) of the model's data")
    baseline: bool = False
    paths: PathsSpec = PathsSpec()
    flows: FlowSpec = FlowSpec()

    @model_validator(mode="after")
    def _fits_horizon(self) -> ScenarioSpec:
        for var in ("fedfunds", "inflation", "dollar"):
            path = getattr(self.paths, var)
            if path.kind == "values" and path.values and len(path.values) > self.horizon:
                raise ValueError(
                    f"paths.{var}.values has {len(path.values)} months, longer than the "
                    f"horizon of {self.horizon}"
                )
        return self

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        if v != "latest":
            try:
                pd.Period(v, freq="M")
            except ValueError:
                raise ValueError(f"expected 'latest' or YYYY-MM, got {v!r}") from None
        return v


class ScenarioFile(Spec):
    scenarios: tuple[ScenarioSpec, ...]


def load_scenarios(paths: list[Path]) -> list[ScenarioSpec]:
    """Scenarios from YAML files (one scenario per file, or a ``scenarios:`` list)."""
    out: list[ScenarioSpec] = []
    for p in paths:
        raw = read_yaml(Path(p), "Scenario file")
        if isinstance(raw, dict) and "scenarios" in raw:
            out.extend(validate(ScenarioFile, raw, f"Scenario file {p}").scenarios)
        else:
            out.append(validate(ScenarioSpec, raw, f"Scenario file {p}"))
    names = [s.name for s in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise BadInputError(f"Scenario name {sorted(dup)[0]!r} appears more than once.")
    return out


def builtin_scenarios(horizon: int | None = None) -> list[ScenarioSpec]:
    """The scenarios shipped in ``regime/configs/scenarios/builtin.yaml``."""
    text = resources.files("regime").joinpath("configs/scenarios/builtin.yaml").read_text()
    import yaml

    raw: Any = yaml.safe_load(text)
    specs = list(validate(ScenarioFile, raw, "built-in scenarios").scenarios)
    if horizon is not None:
        specs = [s.model_copy(update={"horizon": horizon}) for s in specs]
    return specs

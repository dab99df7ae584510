"""Scenario engine: macro paths x posterior draws (+ reconstitution flows) -> outcomes.

May import: numpy, numba, pandas, xarray, ``regime.features``, ``regime.flows``,
``regime.bayes`` (results objects, NumPy helpers). Never the CLI or reports.
"""

from regime.scenarios.engine import run
from regime.scenarios.spec import ScenarioSpec, builtin_scenarios, load_scenarios

__all__ = ["ScenarioSpec", "builtin_scenarios", "load_scenarios", "run"]

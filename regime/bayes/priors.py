"""Default priors (data, not code) and their validated overrides.

Scales follow the data so that the same defaults work for percent-per-month
returns (sd ~3) and for rates in percent (sd ~3.5): ``s_y`` is the sample sd of
``endog``, ``ybar`` its mean, ``s_x`` the sd of an exog column.

=========  ==========================================  =====================================
name       prior                                        meaning
=========  ==========================================  =====================================
mu         Normal(ybar + loc * s_y, scale * s_y)         regime mean (ordered if order_by=mean)
log_sigma  Normal(log s_y + loc, scale)                  log regime sd (ordered if order_by=sigma)
beta       Normal(0, scale * s_y / s_x)                  exog coefficients
p          Dirichlet rows: ``stay`` on the diagonal,     constant transitions (sticky)
           ``switch`` elsewhere
a          Normal(loc, scale)                            TVTP logit of i->j vs staying (i != j)
b          Normal(0, scale)                              TVTP slope per sd of the feature
nu         Gamma(alpha, beta)                            Student-t degrees of freedom
gamma      Normal(0, scale * s_y)                        reconstitution-month effect
=========  ==========================================  =====================================
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping

from regime.errors import BadInputError

DEFAULT_PRIORS: dict[str, dict[str, float]] = {
    "mu": {"loc": 0.0, "scale": 2.0},
    "log_sigma": {"loc": 0.0, "scale": 1.0},
    "beta": {"scale": 2.5},
    "p": {"stay": 10.0, "switch": 1.0},
    "a": {"loc": -3.0, "scale": 1.5},
    "b": {"scale": 1.0},
    "nu": {"alpha": 2.0, "beta": 0.1},
    "gamma": {"scale": 1.0},
}


def _hint(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def resolve_priors(
    overrides: Mapping[str, Mapping[str, float]] | None,
) -> dict[str, dict[str, float]]:
    """Defaults merged with ``overrides``; unknown names or fields are errors."""
    priors = copy.deepcopy(DEFAULT_PRIORS)
    problems = []
    for name, fields in (overrides or {}).items():
        if name not in priors:
            problems.append(f"unknown prior '{name}'{_hint(name, list(priors))}")
            continue
        for field, value in dict(fields).items():
            if field not in priors[name]:
                problems.append(f"unknown field '{name}.{field}'{_hint(field, list(priors[name]))}")
                continue
            priors[name][field] = float(value)
    if problems:
        raise BadInputError("Prior overrides are invalid: " + "; ".join(problems) + ".")
    return priors

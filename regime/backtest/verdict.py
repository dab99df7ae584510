"""The plain-language verdict of a backtest, judged from its paired score differences.

Pandas only: the scenario report judges a saved ``differences.csv`` with the
same rules as the engine, without importing the scoring libraries.

``differences`` has one row per (model, horizon, kind, metric) with columns
``difference`` (mean of the model's score minus the constant baseline's, per
origin; negative: the model is better), ``se`` (Diebold-Mariano standard
error), ``n`` (paired origins), ``hac_lags``, ``first_origin`` and
``last_origin`` (``YYYY-MM``). CRPS is in percentage points of cumulative
return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from regime.backtest import REFERENCE, REGIME_MODEL

# a verdict calls a difference clear only with at least this many origins per horizon month
# (the HAC variance of h-month overlapping scores needs many more than h origins)
MIN_VERDICT_ORIGINS = 4
CLEAR_SE = 2.0  # a difference is "clear" beyond this many standard errors
METRIC = "crps"  # the score the verdict is stated in
KIND_ORDER = {"conditional": 0, "unconditional": 1}  # the regime model's kind the verdict names


@dataclass(frozen=True)
class Verdict:
    """One comparison against the constant baseline, and its sentence."""

    model: str
    kind: str
    horizon: int
    n: int
    difference: float  # mean CRPS of the model minus the constant's; negative: model better
    se: float
    lags: int
    first_origin: str
    last_origin: str

    @classmethod
    def from_row(cls, row: pd.Series) -> Verdict:
        """The verdict of one ``differences.csv`` row."""
        return cls(
            model=str(row["model"]),
            kind=str(row["kind"]),
            horizon=int(row["horizon"]),
            n=int(row["n"]),
            difference=float(row["difference"]),
            se=float(row["se"]),
            lags=int(row["hac_lags"]),
            first_origin=str(row["first_origin"]),
            last_origin=str(row["last_origin"]),
        )

    @property
    def few(self) -> bool:
        """Too few origins for the HAC standard error of overlapping h-month scores."""
        return self.n < MIN_VERDICT_ORIGINS * self.horizon

    @property
    def clear(self) -> bool:
        """The difference exceeds ``CLEAR_SE`` standard errors (and there are enough origins)."""
        return (
            bool(np.isfinite(self.se))
            and not self.few
            and abs(self.difference) > CLEAR_SE * self.se
        )

    @property
    def loses(self) -> bool:
        """The model scored worse than the constant baseline (whatever the standard error)."""
        return self.difference > 0

    @property
    def who(self) -> str:
        if self.model == REGIME_MODEL:
            return f"the regime model's {self.kind} forecasts"
        return f"the {self.model} baseline"

    @property
    def text(self) -> str:
        plural = self.model == REGIME_MODEL
        if self.loses:
            word = "lose to" if plural else "loses to"
        else:
            word = "beat" if plural else "beats"
        if self.few:
            judged = "too few origins to judge."
        elif self.clear:
            judged = "the difference is more than two standard errors."
        else:
            judged = "the difference is within two standard errors."
        months = f"{self.horizon} month" + ("" if self.horizon == 1 else "s")
        return (
            f"Over {self.first_origin} to {self.last_origin} ({self.n} origins) at "
            f"{months}, {self.who} {word} the {REFERENCE} baseline by "
            f"{abs(self.difference):.2f} ± {self.se:.2f} in CRPS (percentage points of "
            f"cumulative return; Diebold-Mariano s.e. with {self.lags} lags); {judged}"
        )


def judge(differences: pd.DataFrame, model: str | None = None) -> Verdict | None:
    """The comparison a verdict states, or ``None`` when there is none.

    CRPS at the longest scored horizon; among the models, the regime model
    (its conditional forecasts, else its unconditional ones), else the baseline
    with the lowest difference. ``model`` restricts the choice to that model.
    """
    if differences.empty:
        return None
    d = differences[differences["metric"] == METRIC]
    if model is not None:
        d = d[d["model"] == model]
    if d.empty:
        return None
    d = d[d["horizon"] == d["horizon"].max()]
    if REGIME_MODEL in set(d["model"]):
        d = d[d["model"] == REGIME_MODEL]
        row = d.sort_values("kind", key=lambda s: s.map(KIND_ORDER), kind="stable").iloc[0]
    else:
        row = d.sort_values("difference", kind="stable").iloc[0]
    return Verdict.from_row(row)


def sentences(differences: pd.DataFrame, model: str) -> list[str]:
    """The verdict of ``model`` at every horizon and forecast kind, shortest horizon first."""
    if differences.empty:
        return []
    d = differences[(differences["metric"] == METRIC) & (differences["model"] == model)]
    d = d.sort_values(["horizon", "kind"], key=_horizon_then_kind, kind="stable")
    return [Verdict.from_row(row).text for _, row in d.iterrows()]


def _horizon_then_kind(s: pd.Series) -> pd.Series:
    return s.map(KIND_ORDER) if s.name == "kind" else s


def verdict(differences: pd.DataFrame) -> str:
    """One plain sentence: the regime model (else the best baseline) against the constant."""
    found = judge(differences)
    if found is None:
        return f"No paired comparison with the {REFERENCE} baseline could be scored."
    return found.text

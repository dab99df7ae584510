"""Convergence gates and the chain-agreement check."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

GOOD_RHAT = 1.01  # Vehtari et al. (2021) recommendation
MIN_ESS_BULK = 400  # 100 per chain for 4 chains; we ask it of the total
# Divergences: a handful among thousands of draws is not the same as a systematic
# problem. Up to one per 1000 post-warmup draws (4 in 4 x 1000) passes the gate with
# a warning that names them; more fails it. Measured: the 21 recovery designs of the
# last release had 0 divergences on one machine and two designs with exactly 1 each
# on another; a real pathology (two regimes merging into a funnel) gave 8-73.
MAX_DIVERGENCE_RATE = 0.001
REFIT_TARGET_ACCEPT = 0.99  # the NUTS target :meth:`Diagnostics.remedy` suggests for divergences
CHAIN_AGREEMENT_SDS = 4.0  # chain means further apart than this many posterior sds disagree


@dataclass(frozen=True)
class Diagnostics:
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    chains_agree: bool
    n_draws: int = 0  # post-warmup draws over all chains
    disagreeing: list[str] = field(default_factory=list)
    gates: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Diagnostics:
        """Inverse of :meth:`to_dict` (``passed`` is derived, not stored)."""
        return cls(**{k: v for k, v in d.items() if k != "passed"})

    @property
    def passed(self) -> bool:
        return all(self.gates.values())

    def rows(self) -> list[tuple[str, str, str, bool]]:
        """(gate, value, threshold, passed) for tables in the CLI and the report."""
        g = self.gates
        limit = int(MAX_DIVERGENCE_RATE * self.n_draws)
        return [
            ("max R-hat", f"{self.max_rhat:.4f}", f"<= {GOOD_RHAT}", g.get("rhat", False)),
            (
                "min bulk ESS",
                f"{self.min_ess_bulk:.0f}",
                f">= {MIN_ESS_BULK}",
                g.get("ess", False),
            ),
            (
                "divergences",
                str(self.divergences),
                f"<= {limit} ({MAX_DIVERGENCE_RATE:.1%} of {self.n_draws} draws)",
                g.get("divergences", False),
            ),
            ("chains agree", str(self.chains_agree), "True", g.get("chains_agree", False)),
        ]

    def failures(self) -> list[str]:
        msgs = []
        if not self.gates.get("rhat", True):
            msgs.append(f"max R-hat {self.max_rhat:.3f} > {GOOD_RHAT}")
        if not self.gates.get("ess", True):
            msgs.append(f"min bulk ESS {self.min_ess_bulk:.0f} < {MIN_ESS_BULK}")
        if not self.gates.get("divergences", True):
            msgs.append(
                f"{self.divergences} divergent transitions in {self.n_draws} draws "
                f"(more than {MAX_DIVERGENCE_RATE:.1%}: a systematic problem)"
            )
        if not self.gates.get("chains_agree", True):
            msgs.append("chains settled in different modes (" + ", ".join(self.disagreeing) + ")")
        return msgs

    def remedy(self) -> str:
        """What to try for the gates failed: divergences call for smaller steps (a higher
        NUTS acceptance target), slow mixing for longer chains."""
        if not self.gates.get("divergences", True):
            return (
                f"Raise model.target_accept towards {REFIT_TARGET_ACCEPT} (smaller steps) "
                "and fit longer"
            )
        return "Fit longer (more draws and tune)"

    def refit_settings(self, draws: int, tune: int, target_accept: float) -> dict[str, Any]:
        """Sampler settings for a second fit that follows :meth:`remedy`: twice the draws
        and tuning, and after divergences a target of at least ``REFIT_TARGET_ACCEPT``."""
        if not self.gates.get("divergences", True):
            target_accept = max(target_accept, REFIT_TARGET_ACCEPT)
        return {"draws": 2 * draws, "tune": 2 * tune, "target_accept": target_accept}

    def warnings(self) -> list[str]:
        """Problems that pass the gates but deserve a look (isolated divergences)."""
        if self.divergences and self.gates.get("divergences", True):
            return [
                f"{self.divergences} isolated divergent transition(s) in {self.n_draws} draws "
                f"(at most {MAX_DIVERGENCE_RATE:.1%} pass); raise target_accept if they persist"
            ]
        return []

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_rhat": self.max_rhat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
            "divergences": self.divergences,
            "n_draws": self.n_draws,
            "chains_agree": self.chains_agree,
            "disagreeing": self.disagreeing,
            "gates": self.gates,
            "passed": self.passed,
        }


def chain_agreement(idata: Any, var_names: list[str]) -> list[str]:
    """Parameters whose per-chain means differ by more than CHAIN_AGREEMENT_SDS sds."""
    post = idata.posterior
    if post.sizes.get("chain", 1) < 2:
        return []
    bad = []
    for v in var_names:
        if v not in post:
            continue
        x = post[v]
        means = x.mean("draw")
        sd = x.std(("chain", "draw"))
        spread = means.max("chain") - means.min("chain")
        ratio = (spread / sd.where(sd > 0)).fillna(0.0)
        if bool((ratio > CHAIN_AGREEMENT_SDS).any()):
            bad.append(v)
    return bad


def diagnose(idata: Any, var_names: list[str], identified: list[str]) -> Diagnostics:
    """Gates on the public parameters (fixed entries, sd 0, are skipped)."""
    post = idata.posterior[var_names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(post)
        ess_b = az.ess(post, method="bulk")
        ess_t = az.ess(post, method="tail")

    def extreme(ds: Any, fn: Any) -> float:
        vals = np.concatenate([np.ravel(ds[v].values) for v in ds.data_vars])
        vals = vals[np.isfinite(vals)]
        return float(fn(vals)) if vals.size else float("nan")

    max_rhat = extreme(rhat, np.max)
    min_b = extreme(ess_b, np.min)
    min_t = extreme(ess_t, np.min)
    div = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    n_draws = int(post.sizes.get("chain", 1) * post.sizes.get("draw", 0))
    disagree = chain_agreement(idata, identified)
    gates = {
        "rhat": bool(max_rhat <= GOOD_RHAT),
        "ess": bool(min_b >= MIN_ESS_BULK),
        "divergences": div <= MAX_DIVERGENCE_RATE * n_draws,
        "chains_agree": not disagree,
    }
    return Diagnostics(max_rhat, min_b, min_t, div, not disagree, n_draws, disagree, gates)


def summary_table(idata: Any, var_names: list[str], hdi_prob: float = 0.90) -> pd.DataFrame:
    """One row per scalar parameter: mean, sd, hdi_5%, hdi_95%, ess_bulk, ess_tail, r_hat.

    Labels follow statsmodels-like names: ``mu[0]``, ``p[0,1]``, ``b[0,1,cpi_yoy]``;
    entries fixed by construction (zero posterior sd) are dropped.
    """
    with warnings.catch_warnings():  # fixed entries (sd 0) make arviz divide by zero
        warnings.simplefilter("ignore", RuntimeWarning)
        tab = az.summary(idata, var_names=var_names, hdi_prob=hdi_prob, kind="all", round_to="none")
    if not isinstance(tab, pd.DataFrame):  # pragma: no cover - arviz returns a frame here
        raise TypeError("arviz.summary did not return a DataFrame")
    lo = f"hdi_{(1 - hdi_prob) / 2 * 100:g}%"
    hi = f"hdi_{(1 + hdi_prob) / 2 * 100:g}%"
    tab = tab.rename(columns={lo: "hdi_5%", hi: "hdi_95%"})
    tab.index = [str(i).replace(", ", ",") for i in tab.index]
    tab = tab[tab["sd"] > 0]
    return tab[["mean", "sd", "hdi_5%", "hdi_95%", "ess_bulk", "ess_tail", "r_hat"]]

"""How far the posterior moved from the prior, and whether the answer depends on it.

Two checks per parameter family (``mu``, ``sigma``, ``p`` / ``a``, ``b``, ...):

* **contraction**: posterior sd / prior sd of each scalar (median over the family).
  Near 1 the data said little and the prior is the answer; near 0 the data decided.
* **power-scaling** (Kallioinen et al. 2024, the method of ``priorsense``): the
  posterior under the prior raised to the power ``alpha`` (0.5: half as strong, 2:
  twice as strong) is the current posterior reweighted by ``prior^(alpha - 1)``;
  the weights are Pareto-smoothed (``arviz.psislw``). The check reports the largest
  move of a posterior mean over the family, in posterior sds. A family is flagged
  as prior-sensitive when that move exceeds :data:`SENSITIVE_SHIFT`.

The log prior is evaluated on the model's own graph (every free variable's density
and the prior potentials: repulsion, occupancy), never re-derived here.
"""

from __future__ import annotations

import warnings
from typing import Any

import arviz as az
import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

POWERS = (0.5, 2.0)
# The answer moves by more than a third of its own uncertainty when the prior's weight is
# halved or doubled: the prior, not only the data, is deciding it.
SENSITIVE_SHIFT = 0.33
MAX_DRAWS = 1000  # posterior draws used (thinned evenly), enough for means and sds
LIKELIHOOD = "loglike"  # the Potential that carries the likelihood; everything else is prior
# PyTensor mode of the prior's functions (log density, prior draws): evaluated a few thousand
# times on small graphs, where Python-level ops beat compiling C modules. Measured on the
# K=3 benchmark (loaded machine): C modules 22 s with empty caches and 1.2 s warm;
# FAST_COMPILE 1.5 s and 1.1 s, the same numbers.
PRIOR_MODE = "FAST_COMPILE"


def log_prior_fn(model: pm.Model) -> tuple[Any, list[str]]:
    """Compiled log prior density on the constrained scale, and its input names.

    Inputs are the free random variables' constrained values, in ``model.free_RVs``
    order; the ordered transform's truncation constant does not matter (weights are
    normalised).
    """
    inputs = {rv: rv.type(name=rv.name) for rv in model.free_RVs}
    terms = [pt.sum(pm.logp(rv, inputs[rv])) for rv in model.free_RVs]
    pots = [p for p in model.potentials if p.name != LIKELIHOOD]
    if pots:
        terms += [pt.sum(p) for p in pytensor.clone_replace(pots, replace=inputs)]
    total = pt.add(*terms) if len(terms) > 1 else terms[0]
    fn = pytensor.function(list(inputs.values()), total, on_unused_input="ignore", mode=PRIOR_MODE)
    return fn, [rv.name for rv in model.free_RVs]


def _family(label: str) -> str:
    return label.split("[")[0]


def prior_sensitivity(
    model: pm.Model,
    free_draws: dict[str, np.ndarray],
    public_draws: dict[str, np.ndarray],
    prior_draws: dict[str, np.ndarray],
) -> list[dict[str, Any]]:
    """One row per family of the public parameters.

    ``free_draws``: posterior draws of every free variable (constrained, draw axis
    first); ``public_draws`` and ``prior_draws``: the public parameters, flattened to
    (draws, scalars) per family, same column order in both.
    """
    n = next(iter(free_draws.values())).shape[0]
    idx = np.linspace(0, n - 1, min(n, MAX_DRAWS)).round().astype(int)
    fn, names = log_prior_fn(model)
    lp = np.array([fn(*(free_draws[nm][i] for nm in names)) for i in idx], dtype=float)
    rows = []
    for fam, post in public_draws.items():
        x = post[idx]
        sd = x.std(axis=0)
        keep = sd > 0
        if not keep.any():
            continue
        x, sd = x[:, keep], sd[keep]
        prior_sd = prior_draws[fam][:, keep].std(axis=0)
        shifts = {}
        khat = 0.0
        for alpha in POWERS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # arviz warns on high k-hat; reported below
                lw, k = az.psislw((alpha - 1.0) * (lp - lp.max()))
            w = np.exp(lw - lw.max())
            w /= w.sum()
            shifts[alpha] = float(np.max(np.abs(w @ x - x.mean(axis=0)) / sd))
            khat = max(khat, float(np.max(k)))
        worst = max(shifts.values())
        rows.append(
            {
                "family": fam,
                "n": int(keep.sum()),
                "prior_sd": float(np.median(prior_sd)),
                "posterior_sd": float(np.median(sd)),
                "contraction": float(np.median(sd / prior_sd)),
                "shift_half_prior": shifts[POWERS[0]],
                "shift_double_prior": shifts[POWERS[1]],
                "pareto_k": khat,
                "sensitive": bool(worst > SENSITIVE_SHIFT),
            }
        )
    return rows

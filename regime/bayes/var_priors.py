"""Default priors of the regime-switching VAR (to be merged into ``priors.py`` later).

The VAR is fitted on internally standardized series ``x~ = (x - mean) / sd``
(per variable, over the estimation sample), so every scale below is in sds of
the variable; results are reported back in the variables' own units (pp, %,
per month). ``r_i`` is the residual sd of an AR(1) fitted by OLS to the
standardized series ``i`` (Litterman's scale).

==============  ============================================  ==============================
name            prior                                         meaning
==============  ============================================  ==============================
intercept       Normal(0, scale)                              regime intercept c_k (sds)
intercept_gap   repulsion 1 - exp(-(d / scale)^2)             d: gap between neighbouring
                                                              ordered intercepts (sds)
minnesota       A_l[i, i] ~ Normal(0, own / l^decay)           own lag l of variable i
                A_l[i, j] ~ Normal(0, own * cross / l^decay   lag l of variable j in
                * r_i / r_j)                                  equation i
resid_sd        LogNormal(log r_i, scale)                     regime residual sd (sds)
lkj             LKJ(eta)                                      regime residual correlation
p, a, b,        as :data:`regime.bayes.priors.DEFAULT_PRIORS`  transitions (constant / TVTP)
occupancy                                                     and long-run regime shares
==============  ============================================  ==============================

Reasons:

- ``intercept.scale = 1``: a regime whose mean monthly change sits more than two
  sds of the series away from the average is not a regime but an outlier; the
  rare crash regimes of relative returns sit at -1 to -1.5 sds.
- ``intercept_gap.scale = 0.25`` (as ``mu_gap``): merged regimes are a (K-1)-
  regime model; the repulsion keeps chains out of that funnel.
- Minnesota mean 0 (not the random-walk 1): the default variables are monthly
  changes and returns, close to white noise, so "no predictability" is the
  natural centre (the "white-noise" variant used for growth rates, Banbura,
  Giannone and Reichlin 2010). ``own = 0.2`` is Litterman's overall tightness;
  monthly Fed funds changes have AR(1) coefficients about 0.3-0.5, one to two
  prior sds out, so the data decide. ``cross = 0.5`` halves the tightness on
  other variables' lags (Litterman's 0.5) scaled by ``r_i / r_j``; ``decay = 1``
  (harmonic, Litterman) shrinks lag 2 by 1/2 and lag 3 by 1/3: a month-3
  change rarely predicts next month's change better than last month's.
- ``resid_sd.scale = 1``: a regime's shock sd can be e times smaller or larger
  than the AR(1) residual sd within one prior sd (a crash regime is about three
  times as volatile as normal months).
- ``lkj.eta = 2``: mild shrinkage toward zero correlation; contemporaneous
  correlations of monthly macro changes and SMB are small (|rho| < 0.3).
"""

from __future__ import annotations

from collections.abc import Mapping

from regime.bayes.priors import DEFAULT_PRIORS, resolve_priors

VAR_DEFAULT_PRIORS: dict[str, dict[str, float]] = {
    "intercept": {"scale": 1.0},
    "intercept_gap": {"scale": 0.25},
    "minnesota": {"own": 0.2, "cross": 0.5, "decay": 1.0},
    "resid_sd": {"scale": 1.0},
    "lkj": {"eta": 2.0},
    # transitions: one home, the univariate defaults
    **{k: dict(DEFAULT_PRIORS[k]) for k in ("a", "b", "occupancy")},
}


def resolve_var_priors(
    overrides: Mapping[str, Mapping[str, float]] | None,
) -> dict[str, dict[str, float]]:
    """VAR defaults merged with ``overrides`` (see :func:`regime.bayes.priors.resolve_priors`)."""
    return resolve_priors(overrides, VAR_DEFAULT_PRIORS)

"""Default priors (data, not code) and their validated overrides.

Scales follow the data so that the same defaults work for percent-per-month
returns (sd ~3) and for rates in percent (sd ~3.5): ``s_y`` is the sample sd of
``endog``, ``ybar`` its mean, ``s_x`` the sd of an exog column.

=============  ==========================================  =================================
name           prior                                       meaning
=============  ==========================================  =================================
mu             Normal(ybar + loc * s_y, scale * s_y)       regime mean (ordered if
                                                           order_by=mean)
log_sigma      Normal(log s_y + loc, scale)                log regime sd (ordered if
                                                           order_by=sigma)
mu_gap         repulsion 1 - exp(-(d / (scale * s_e))^2)   d: gap between neighbouring
                                                           ordered means; s_e: sd of endog
                                                           after OLS on exog (s_y without)
log_sigma_gap  repulsion 1 - exp(-(d / scale)^2)           d: gap between neighbouring
                                                           ordered log sds
beta           Normal(0, scale * s_y / s_x)                exog coefficients
a              Normal(loc, scale)                          logit of i->j vs staying (constant
                                                           and TVTP transitions alike)
b              Normal(0, scale)                            TVTP slope per sd of the feature
nu             Gamma(alpha, beta)                          Student-t degrees of freedom
gamma          Normal(0, scale * s_y)                      reconstitution-month effect
occupancy      Dirichlet(alpha, ..., alpha) on the long-   no regime left empty
               run regime shares (TVTP: at average z)
=============  ==========================================  =================================

The repulsion multiplies the ordered prior of the ordering parameter (``mu`` when
``order_by="mean"``, ``log_sigma`` when ``"sigma"``): it is zero where two
regimes coincide, 0.63 when they are ``scale`` apart and 0.98 at twice that
(default 0.25: sds 28% apart, or means a quarter of ``s_e`` apart, are penalised by
a factor 0.63). Mean gaps are measured against the noise left around the regression,
``s_e``, not against the sd of ``endog``: in Stata's Fed funds example with a lagged
regressor, ``s_y`` is 3.5 times ``s_e``, and a repulsion in units of ``s_y`` pushed
two well-identified intercepts 0.32 posterior sd apart. (A unit that moves with the
regime sds was tried too: it reshaped the posterior so that the multi-start mode search
missed the main mode.)
A K-regime model whose regimes merge is a (K-1)-regime model; without the factor
such merged modes trap chains in a funnel.
Set ``scale: 0`` to switch it off. The occupancy term does the same for a regime
that empties out (its long-run share tends to zero); ``alpha: 1`` switches it off.
Together they say what ``k_regimes=K`` means: K distinct regimes that all occur.

Transitions, constant or TVTP, are ``softmax_j(a_ij [+ b_ij' z])`` with
``a_ii = 0``; the prior is Normal(-2, 2) on each off-diagonal logit ``a_ij``. At
K=2 its median is a switching probability of 0.12 (8 months' expected duration),
and its central 90% runs from 0.004 to 0.78: regimes that last 1.3 months to 23
years. That is about two pseudo-observations of a row's transitions (a logit-normal
with sd 2 carries the information of a Beta with ``0.25 / (p (1 - p))``
pseudo-counts: 2.4 at p = 0.12, 1.1 at p = 0.36), against the dozens of
transitions a regime visited for 60 months contributes. Its tails are Gaussian in
the sampler's own coordinates, so a switching probability that the data hardly
pin down (one or two switches seen) does not send NUTS down the exponential tail
that a Dirichlet with ``switch <= 2`` has there.

Measured: the former default, Dirichlet(30 on the diagonal, 2 elsewhere), was worth
32 pseudo-observations per row and put the short-lived regime of Stata's
``mswitch`` Fed funds example (persistence 0.64 at the MLE) at 0.97; with the
logit prior the posterior agrees with the MLE (``tests/bayes/test_peers.py``), and
simulation-based calibration with truths drawn from these defaults finds no
miscalibration (``tests/bayes/test_sbc.py``; figures in the README).

Regime-switching VAR (:class:`regime.bayes.var.MarkovSwitchingVAR`, ``VAR_DEFAULT_PRIORS``)
-------------------------------------------------------------------------------------------

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

import copy
import difflib
from collections.abc import Mapping

from regime.errors import BadInputError

DEFAULT_PRIORS: dict[str, dict[str, float]] = {
    "mu": {"loc": 0.0, "scale": 2.0},
    "log_sigma": {"loc": 0.0, "scale": 1.0},
    "mu_gap": {"scale": 0.25},
    "log_sigma_gap": {"scale": 0.25},
    "beta": {"scale": 2.5},
    "a": {"loc": -2.0, "scale": 2.0},
    "b": {"scale": 1.0},
    "nu": {"alpha": 2.0, "beta": 0.1},
    "gamma": {"scale": 1.0},
    "occupancy": {"alpha": 2.0},
}


RETIRED_P = (
    "prior 'p' (Dirichlet transition rows) was replaced by 'a', a Normal(loc, scale) prior "
    "on the logits of switching against staying"
)


def _hint(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def resolve_priors(
    overrides: Mapping[str, Mapping[str, float]] | None,
    defaults: Mapping[str, Mapping[str, float]] = DEFAULT_PRIORS,
) -> dict[str, dict[str, float]]:
    """``defaults`` (a model's default priors) merged with ``overrides``; unknown names or
    fields are errors, all reported in one sentence with "did you mean" hints."""
    priors = {name: dict(fields) for name, fields in copy.deepcopy(dict(defaults)).items()}
    problems = []
    for name, fields in (overrides or {}).items():
        if name == "p":
            problems.append(RETIRED_P)
            continue
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

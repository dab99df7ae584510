"""Prior sensitivity by power-scaling, checked against a conjugate closed form."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from regime.bayes.sensitivity import LIKELIHOOD, prior_sensitivity

N_DRAWS = 4000
# Error of the estimated shift against the closed form, measured over seeds 0-4: doubling
# the prior (weights that shrink the posterior) within 0.015 sd; halving it (weights
# that must reach into the tails, Pareto k up to 0.6) within 0.2 sd when the prior
# decides (true shifts 0.83-1.0) and 0.001 when it does not. Tolerances: 3x / 1.5x that.
TOL = {"shift_half_prior": 0.3, "shift_double_prior": 0.05}


@pytest.mark.parametrize("tau", [0.3, 3.0])  # a prior that decides, one that does not
def test_power_scaling_matches_the_conjugate_normal(tau: float) -> None:
    rng = np.random.default_rng(0)
    n, m0 = 20, 1.5
    y = rng.normal(0.4, 1.0, n)
    with pm.Model() as model:
        mu = pm.Normal("mu", m0, tau)
        pm.Potential(LIKELIHOOD, pm.logp(pm.Normal.dist(mu, 1.0), y).sum())

    def posterior(alpha: float) -> tuple[float, float]:
        prec = n + alpha / tau**2
        return (y.sum() + alpha * m0 / tau**2) / prec, prec**-0.5

    mean, sd = posterior(1.0)
    draws = rng.normal(mean, sd, N_DRAWS)
    prior = rng.normal(m0, tau, (N_DRAWS, 1))
    (row,) = prior_sensitivity(model, {"mu": draws}, {"mu": draws[:, None]}, {"mu": prior})
    for key, alpha in (("shift_half_prior", 0.5), ("shift_double_prior", 2.0)):
        exact = abs(posterior(alpha)[0] - mean) / sd
        assert row[key] == pytest.approx(exact, abs=TOL[key])
    assert row["contraction"] == pytest.approx(sd / tau, rel=0.05)
    assert row["sensitive"] == (tau < 1)  # exact shifts: 1.2 sd at tau 0.3, 0.02 sd at tau 3

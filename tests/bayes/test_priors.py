"""Priors that keep K regimes distinct and occupied, checked against the formulas by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regime.bayes.priors import resolve_priors
from regime.bayes.switching import MarkovSwitching
from regime.errors import BadInputError
from tests.bayes.test_likelihood import with_logits


def joint_logp(mod: MarkovSwitching, point: dict[str, np.ndarray]) -> float:
    model = mod.build_model()
    ip = model.initial_point()
    point = with_logits(point)
    values = {}
    for rv in model.free_RVs:
        name = model.rvs_to_values[rv].name
        tr = model.rvs_to_transforms.get(rv)
        v = np.asarray(point[rv.name], dtype=float)
        values[name] = tr.forward(v, *rv.owner.inputs).eval() if tr is not None else v
    assert set(values) == set(ip)
    return float(model.compile_logp()(values))


@pytest.mark.parametrize("order_by", ["sigma", "mean"])
def test_repulsion_adds_the_documented_log_factor(order_by: str) -> None:
    rng = np.random.default_rng(5)
    y = pd.Series(rng.normal(0.0, 2.0, 120))
    point = {
        "mu": np.array([-0.5, 0.1, 0.4]),
        "log_sigma": np.log([0.9, 1.0, 2.5]),
        "p": np.full((3, 3), 1 / 3),
    }
    scale = 0.3
    on = MarkovSwitching(
        y,
        k_regimes=3,
        switching_variance=True,
        order_by=order_by,
        priors={"mu_gap": {"scale": scale}, "log_sigma_gap": {"scale": scale}},
    )
    off = MarkovSwitching(
        y,
        k_regimes=3,
        switching_variance=True,
        order_by=order_by,
        priors={"mu_gap": {"scale": 0.0}, "log_sigma_gap": {"scale": 0.0}},
    )
    s_y = float(y.std(ddof=0))  # no exog: the residual scale is the sample sd
    gaps = np.diff(point["mu"]) / s_y if order_by == "mean" else np.diff(point["log_sigma"])
    by_hand = float(np.sum(np.log(1.0 - np.exp(-((gaps / scale) ** 2)))))
    assert by_hand < -1.0  # the close pair is penalised
    assert joint_logp(on, point) - joint_logp(off, point) == pytest.approx(by_hand, abs=1e-9)


def test_repulsion_scale_is_a_validated_prior_key() -> None:
    assert resolve_priors({"log_sigma_gap": {"scale": 0.0}})["log_sigma_gap"]["scale"] == 0.0
    with pytest.raises(BadInputError, match="did you mean 'log_sigma_gap'"):
        resolve_priors({"log_sigma_gaps": {"scale": 0.1}})


@pytest.mark.parametrize("tvtp", [False, True])
def test_occupancy_adds_the_dirichlet_log_density_of_the_long_run_shares(tvtp: bool) -> None:
    rng = np.random.default_rng(6)
    y = pd.Series(rng.normal(0.0, 2.0, 120))
    z = pd.DataFrame({"z": rng.normal(size=120)}) if tvtp else None
    p = np.array([[0.90, 0.06, 0.04], [0.10, 0.85, 0.05], [0.02, 0.18, 0.80]])
    point: dict[str, np.ndarray] = {
        "mu": np.array([-1.0, 0.0, 1.0]),
        "log_sigma": np.log([0.7, 1.4, 2.8]),
    }
    point["p"] = p  # softmax(a) = p (at average features with TVTP)
    if tvtp:
        point["b_free"] = rng.normal(size=(6, 1))
    fits = {
        alpha: MarkovSwitching(
            y,
            k_regimes=3,
            exog_tvtp=z,
            switching_variance=True,
            order_by="sigma",
            priors={"occupancy": {"alpha": alpha}},
        )
        for alpha in (1.0, 3.0)
    }
    vals, vecs = np.linalg.eig(p.T)  # long-run shares: left eigenvector for eigenvalue 1
    shares = np.real(vecs[:, np.argmin(np.abs(vals - 1.0))])
    shares /= shares.sum()
    by_hand = 2.0 * float(np.log(shares).sum())
    got = joint_logp(fits[3.0], point) - joint_logp(fits[1.0], point)
    assert got == pytest.approx(by_hand, abs=1e-9)


@pytest.mark.parametrize(("k", "tvtp"), [(2, False), (3, False), (3, True), (4, False)])
def test_transition_prior_is_the_documented_normal_on_switching_logits(k: int, tvtp: bool) -> None:
    """The sampler runs on each row's exit rate and split (``a_leave``, ``a_split``); their
    densities plus the ``a_prior`` potential must be the iid Normal density of the logits."""
    from scipy import stats

    from regime.bayes.markov import leave_split
    from regime.bayes.priors import DEFAULT_PRIORS

    rng = np.random.default_rng(7)
    y = pd.Series(rng.normal(0.0, 2.0, 120))
    z = pd.DataFrame({"z": rng.normal(size=120)}) if tvtp else None
    model = MarkovSwitching(y, k_regimes=k, exog_tvtp=z).build_model()
    terms = [model[n] for n in ("a_leave", "a_split") if n in model.named_vars]
    terms += [pot for pot in model.potentials if pot.name == "a_prior"]
    logp = model.compile_logp(vars=terms, sum=True)
    loc, scale = DEFAULT_PRIORS["a"]["loc"], DEFAULT_PRIORS["a"]["scale"]
    assert (loc, scale) == (-2.0, 2.0)  # what priors.py and the README document
    off = ~np.eye(k, dtype=bool)
    for _ in range(3):
        a = np.zeros((k, k))
        a[off] = rng.normal(-2.0, 3.0, k * (k - 1))
        point = model.initial_point() | leave_split(a)
        want = float(stats.norm.logpdf(a[off], loc, scale).sum())
        assert float(logp(point)) == pytest.approx(want, rel=1e-8)


@pytest.mark.parametrize("k", [3, 4])
def test_exit_rate_and_split_coordinates_have_unit_jacobian(k: int) -> None:
    """A density on the logits carries over to (a_leave, a_split) unchanged only if
    |d a / d(a_leave, a_split)| = 1: checked by central differences, and the round trip."""
    from regime.bayes.markov import leave_split

    def logits(x: np.ndarray) -> np.ndarray:  # the model's map, in NumPy
        leave, split = x[:k], x[k:].reshape(k, k - 2)
        share = np.concatenate([np.zeros((k, 1)), split], axis=1)
        return (leave[:, None] + share - np.logaddexp.reduce(share, axis=1)[:, None]).ravel()

    rng = np.random.default_rng(3)
    x = rng.normal(-1.0, 2.0, k + k * (k - 2))
    h = 1e-6
    jac = np.column_stack(
        [(logits(x + h * e) - logits(x - h * e)) / (2 * h) for e in np.eye(x.size)]
    )
    assert abs(np.linalg.det(jac)) == pytest.approx(1.0, abs=1e-6)
    a = np.zeros((k, k))
    a[~np.eye(k, dtype=bool)] = logits(x)
    back = leave_split(a)
    np.testing.assert_allclose(np.concatenate([back["a_leave"], back["a_split"].ravel()]), x)


def test_retired_dirichlet_prior_key_is_named() -> None:
    with pytest.raises(BadInputError, match="prior 'p' .* was replaced by 'a'"):
        resolve_priors({"p": {"stay": 1, "switch": 1}})


def test_mean_repulsion_is_in_units_of_the_residual_sd() -> None:
    from regime.bayes.markov import residual_scale

    rng = np.random.default_rng(8)
    x = np.cumsum(rng.normal(size=200))  # a persistent regressor that explains most of y
    y = 0.5 + 0.9 * x + rng.normal(0.0, 0.7, 200)
    mod = MarkovSwitching(pd.Series(y), k_regimes=2, exog=pd.DataFrame({"x": x}))
    import statsmodels.api as sm

    ols = sm.OLS(y, sm.add_constant(x)).fit()
    assert residual_scale(mod.data, mod.spec) == pytest.approx(np.std(ols.resid), rel=1e-10)
    assert residual_scale(mod.data, mod.spec) < 0.5 * np.std(y)  # measured 0.24

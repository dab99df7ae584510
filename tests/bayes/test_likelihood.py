"""Exactness: custom Op == NumPy reference == PyMC model potential == statsmodels loglike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

from regime.bayes.hmm import forward_backward, hmm_loglike, scan_loglike
from regime.bayes.markov import emission_numpy, leave_split, transition_numpy
from regime.bayes.switching import MarkovSwitching
from regime.regimes.hamilton import ergodic_probabilities, hamilton_filter

EXACT = 1e-8  # the acceptance tolerance for log-likelihood agreement
FD_RTOL = 1e-5  # central finite differences with h = 1e-6 on O(1) quantities


def random_problem(rng: np.random.Generator, nobs: int, k: int, tv: bool):  # type: ignore[no-untyped-def]
    logb = rng.normal(-2.0, 3.0, size=(nobs, k))
    shape = (nobs - 1, k, k) if tv else (k, k)
    trans = rng.dirichlet(np.full(k, 2.0), size=shape[:-1])
    init = ergodic_probabilities(trans[0] if tv else trans)
    return logb, trans, init


@pytest.mark.parametrize("tv", [False, True])
@pytest.mark.parametrize("k", [2, 3])
def test_kernel_matches_reference_filter(rng: np.random.Generator, tv: bool, k: int) -> None:
    logb, trans, init = random_problem(rng, 600, k, tv)
    ref = hamilton_filter(logb, trans, init)
    ll, d_logb, _, _ = forward_backward(logb, trans if tv else trans[None], init)
    assert abs(ll - ref.loglike) < EXACT
    # d loglike / d log_emission is the smoothed probability
    np.testing.assert_allclose(d_logb, ref.smoothed, atol=1e-10)


def test_long_series_with_tiny_densities_stays_finite(rng: np.random.Generator) -> None:
    logb, trans, init = random_problem(rng, 5000, 3, True)
    logb -= 800.0  # every density underflows exp() without the max shift
    ll, d_logb, d_p, _d_init = forward_backward(logb, trans, init)
    assert np.isfinite(ll) and np.isfinite(d_logb).all() and np.isfinite(d_p).all()
    assert abs(ll - hamilton_filter(logb, trans, init).loglike) < 1e-6


@pytest.mark.parametrize("tv", [False, True])
def test_op_gradient_matches_finite_differences(rng: np.random.Generator, tv: bool) -> None:
    logb, trans, init = random_problem(rng, 40, 3, tv)
    trans3 = trans if tv else trans[None]
    _ll, d_logb, d_p, d_init = forward_backward(logb, trans3, init)
    h = 1e-6
    for arr, grad in ((logb, d_logb), (trans3, d_p), (init, d_init)):
        for idx in [tuple(rng.integers(0, s) for s in arr.shape) for _ in range(6)]:
            up, dn = arr.copy(), arr.copy()
            up[idx] += h
            dn[idx] -= h
            args_up = [up if arr is a else a for a in (logb, trans3, init)]
            args_dn = [dn if arr is a else a for a in (logb, trans3, init)]
            fd = (forward_backward(*args_up)[0] - forward_backward(*args_dn)[0]) / (2 * h)
            assert fd == pytest.approx(grad[idx], rel=FD_RTOL, abs=1e-8)


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])
def test_op_in_pytensor_graph_with_verify_grad(rng: np.random.Generator, mode: str) -> None:
    logb, trans, init = random_problem(rng, 30, 2, True)
    lb, tr, ini = pt.dmatrix(), pt.dtensor3(), pt.dvector()
    out = hmm_loglike(lb, tr, ini)
    f = pytensor.function([lb, tr, ini], [out, *pytensor.grad(out, [lb, tr, ini])], mode=mode)
    val, _g_lb, g_tr, _g_ini = f(logb, trans, init)
    ref = forward_backward(logb, trans, init)
    assert abs(float(val) - ref[0]) < EXACT
    np.testing.assert_allclose(g_tr, ref[2], atol=1e-12)
    pytensor.gradient.verify_grad(lambda a: hmm_loglike(a, trans, init), [logb], rng=rng)


@pytest.mark.parametrize("tv", [False, True])
def test_scan_baseline_agrees_in_value_and_gradient(rng: np.random.Generator, tv: bool) -> None:
    logb, trans, init = random_problem(rng, 300, 3, tv)
    lb = pt.dmatrix()
    out = scan_loglike(lb, trans, init)
    f = pytensor.function([lb], [out, pytensor.grad(out, lb)])
    val, grad = f(logb)
    assert abs(float(val) - hamilton_filter(logb, trans, init).loglike) < 1e-9
    np.testing.assert_allclose(grad, hamilton_filter(logb, trans, init).smoothed, atol=1e-9)


# --------------------------------------------------------------------------- model level


def with_logits(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Constant transitions are softmax(a) with a_ii = 0: a_ij = log(p_ij / p_ii), exactly."""
    if "p" not in values:
        return values
    p = np.asarray(values["p"])
    return {**values, **leave_split(np.log(p) - np.log(np.diag(p))[:, None])}


def model_loglike(mod: MarkovSwitching, values: dict[str, np.ndarray]) -> float:
    """Evaluate the model's likelihood Potential at constrained parameter values."""
    model = mod.build_model()
    point = {}
    values = with_logits(values)
    for rv in model.free_RVs:
        v = np.asarray(values[rv.name], dtype=float)
        tr = model.rvs_to_transforms.get(rv)
        if tr is not None:
            v = tr.forward(pt.as_tensor(v), *rv.owner.inputs).eval()
        point[model.rvs_to_values[rv].name] = v
    pot = next(p for p in model.potentials if p.name == "loglike")
    fn = model.compile_logp(vars=[pot], sum=True)  # random variables replaced by values
    return float(fn(point))


def sm_params(
    sm_mod: MarkovRegression,
    k: int,
    mu: np.ndarray,
    sigma: np.ndarray,
    beta: np.ndarray | None,
    p: np.ndarray | None = None,
    a: np.ndarray | None = None,
    b: np.ndarray | None = None,
) -> np.ndarray:
    """statsmodels' parameter vector for the same model (its names, its orientation)."""
    vals: dict[str, float] = {}
    for i in range(k):
        for j in range(k - 1):
            if p is not None:
                vals[f"p[{i}->{j}]"] = p[i, j]
            else:
                assert a is not None and b is not None
                # statsmodels' reference destination is the last regime
                vals[f"p[{i}->{j}].tvtp0"] = a[i, j] - a[i, k - 1]
                for z in range(b.shape[-1]):
                    vals[f"p[{i}->{j}].tvtp{z + 1}"] = b[i, j, z] - b[i, k - 1, z]
        vals[f"const[{i}]"] = mu[i]
        if beta is not None:
            for c in range(beta.shape[1]):
                vals[f"x{c + 1}[{i}]"] = beta[i, c]
        if sigma.ndim:
            vals[f"sigma2[{i}]"] = sigma[i] ** 2
    if not sigma.ndim:
        vals["sigma2"] = float(sigma) ** 2
    return np.array([vals[n] for n in sm_mod.param_names])


CASES = [
    # k, switching_variance, n_exog, n_tvtp
    (2, False, 0, 0),
    (2, True, 1, 0),
    (3, True, 2, 0),
    (2, False, 1, 2),
    (3, True, 1, 1),
    (3, False, 0, 2),
]


@pytest.mark.parametrize(("k", "switching_variance", "n_exog", "n_tvtp"), CASES)
def test_model_loglike_equals_reference_and_statsmodels(
    rng: np.random.Generator, k: int, switching_variance: bool, n_exog: int, n_tvtp: int
) -> None:
    nobs = 250
    y = pd.Series(rng.normal(0.3, 2.0, nobs))
    x = rng.normal(size=(nobs, n_exog)) if n_exog else None
    zraw = rng.normal(1.0, 2.0, size=(nobs, n_tvtp)) if n_tvtp else None
    mod = MarkovSwitching(
        y,
        k_regimes=k,
        exog=x,
        exog_tvtp=zraw,
        switching_variance=switching_variance,
        order_by="mean",
    )
    mu = np.sort(rng.normal(0, 1.5, k))
    sigma = rng.uniform(0.8, 2.5, k) if switching_variance else np.float64(1.7)
    beta = rng.normal(0, 0.5, (k, n_exog)) if n_exog else None
    values: dict[str, np.ndarray] = {"mu": mu, "log_sigma": np.log(sigma)}
    post: dict[str, np.ndarray] = {"mu": mu[None], "sigma": np.asarray(sigma)[None]}
    if n_exog:
        values["beta"] = beta  # type: ignore[assignment]
        post["beta"] = beta[None]  # type: ignore[index]
    off = ~np.eye(k, dtype=bool)
    if n_tvtp:
        a = np.zeros((k, k))
        a[off] = rng.normal(-2.0, 0.7, k * (k - 1))
        b = np.zeros((k, k, n_tvtp))
        b[off] = rng.normal(0, 0.6, (k * (k - 1), n_tvtp))
        values |= {**leave_split(a), "b_free": b[off]}
        post |= {"a": a[None], "b": b[None]}
    else:
        p = rng.dirichlet(np.full(k, 1.0), size=k) * 0.3 + np.eye(k) * 0.7
        values["p"] = p
        post["p"] = p[None]
    ours = model_loglike(mod, values)
    trans = transition_numpy(post, mod.data.tvtp, k)[0]
    logb = emission_numpy(post, mod.data, mod.spec)[0]
    ref = hamilton_filter(logb, trans if n_tvtp else trans[0])
    assert abs(ours - ref.loglike) < EXACT
    # statsmodels: exog_tvtp row t drives the move into t, so shift ours by one row
    if n_tvtp:
        z = mod.data.tvtp
        sm_z = np.c_[np.ones(nobs), np.r_[z[:1], z[:-1]]]
        sm_mod = MarkovRegression(
            y.to_numpy(), k_regimes=k, exog=x, exog_tvtp=sm_z, switching_variance=switching_variance
        )
        params = sm_params(sm_mod, k, mu, np.asarray(sigma), beta, a=a, b=b)
    else:
        sm_mod = MarkovRegression(
            y.to_numpy(), k_regimes=k, exog=x, switching_variance=switching_variance
        )
        params = sm_params(sm_mod, k, mu, np.asarray(sigma), beta, p=p)
    assert abs(sm_mod.loglike(params) - ours) < EXACT


def test_studentt_emission_matches_reference(rng: np.random.Generator) -> None:
    y = pd.Series(stats.t.rvs(5, size=200, random_state=1))
    mod = MarkovSwitching(
        y, k_regimes=2, switching_variance=True, emission="studentt", order_by="sigma"
    )
    mu, sigma, nu = np.array([0.2, -0.3]), np.array([0.8, 2.0]), 6.0
    p = np.array([[0.9, 0.1], [0.2, 0.8]])
    ours = model_loglike(mod, {"mu": mu, "log_sigma": np.log(sigma), "p": p, "nu": nu})
    logb = stats.t.logpdf(y.to_numpy()[:, None], nu, loc=mu, scale=sigma)
    assert abs(ours - hamilton_filter(logb, p).loglike) < EXACT


def test_model_gradient_matches_finite_differences(rng: np.random.Generator) -> None:
    from pymc.blocking import DictToArrayBijection

    y = pd.Series(rng.normal(size=150))
    mod = MarkovSwitching(
        y,
        k_regimes=2,
        exog_tvtp=rng.normal(size=(150, 2)),
        switching_variance=True,
        order_by="sigma",
    )
    model = mod.build_model()
    x0 = DictToArrayBijection.map(model.initial_point(random_seed=3))
    fn = model.logp_dlogp_function(ravel_inputs=True)
    fn.set_extra_values({})
    x = x0.data + rng.normal(0, 0.3, x0.data.shape)
    _, grad = fn(x)
    h = 1e-6
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        fd = (fn(x + e)[0] - fn(x - e)[0]) / (2 * h)
        assert fd == pytest.approx(grad[i], rel=1e-5, abs=1e-6)


def test_impossible_parameters_give_minus_inf_not_an_exception() -> None:
    logb = np.array([[0.0, -np.inf], [-np.inf, 0.0]])
    trans = np.array([[[1.0, 0.0], [0.0, 1.0]]])  # regime 0 can never reach regime 1
    ll, d_logb, d_p, _ = forward_backward(logb, trans, np.array([1.0, 0.0]))
    assert ll == -np.inf
    assert np.isfinite(d_logb).all() and np.isfinite(d_p).all()


def _logp_constants(model) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    """Values of the constants in the model's log density and its gradient, in graph order."""
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import ancestors

    logp = model.logp()
    graph = [logp, *pytensor.grad(logp, model.value_vars)]
    return [np.asarray(v.data) for v in ancestors(graph) if isinstance(v, Constant)]


@pytest.mark.parametrize(
    "kw",
    [
        {"switching_variance": True, "order_by": "sigma", "recon_effect": "shared"},
        {"k_regimes": 3, "exog": True, "order_by": "mean"},
    ],
)
def test_one_structure_compiles_to_one_graph_for_any_data(
    rng: np.random.Generator, kw: dict[str, object]
) -> None:
    """Data and the constants the priors derive from them (ybar, s_y, s_e, s_x) are inputs
    of the compiled graph, not constants in it: another sample of another length, as in a
    hold-out or backtest fit, has the same graph and so hits the compile cache."""
    from regime.bayes.markov import MarkovSpec, build_model, prepare_data

    def model(nobs: int, loc: float, scale: float):  # type: ignore[no-untyped-def]
        y = rng.normal(loc, scale, nobs)
        z = rng.normal(size=(nobs, 2))
        x = rng.normal(3.0 * scale, scale, size=(nobs, 1)) if kw.get("exog") else None
        recon = (rng.random(nobs) < 0.1).astype(float)
        spec = MarkovSpec(**{k: v for k, v in kw.items() if k != "exog"})  # type: ignore[arg-type]
        return build_model(prepare_data(y, x, z, recon), spec)

    a, b = _logp_constants(model(120, 0.2, 1.0)), _logp_constants(model(97, -1.5, 4.0))
    assert len(a) == len(b)
    for ca, cb in zip(a, b, strict=True):
        np.testing.assert_array_equal(ca, cb)

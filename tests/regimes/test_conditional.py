"""Conditional VAR forecasts: closed-form Gaussian (K=1), rejection sampling (K=2), bad input."""

from __future__ import annotations

import numpy as np
import pytest

from regime.errors import BadInputError
from regime.regimes.conditional import (
    Constraint,
    VARDraws,
    conditional_forecast,
    reverse_stress,
)

# z-score bound for Monte Carlo comparisons. Over seeds 0..9 the largest |z| was 3.25
# for the K=1 covariances (78 entries per seed) and 2.34 for the K=1 means; over seeds
# 0..7 1.93 (K=2, p=1, one soft constraint) and 1.73 (K=2, p=2, two) against rejection
# sampling. 4.5 leaves room for CPU differences, while a bias of 0.05 sd (K=1 means,
# 20000 samples: z = 7) fails, and so does dropping the regime inference (K=2: z = 45).
MC_Z = 4.5


def make_draws(
    const: np.ndarray,
    coef: np.ndarray,
    chol: np.ndarray,
    trans: np.ndarray,
    init: np.ndarray,
    history: np.ndarray,
    n: int,
    horizon: int,
    names: tuple[str, ...] | None = None,
) -> VARDraws:
    """``n`` samples cycling through the given parameter sets (leading axis = set)."""
    sets = const.shape[0]
    idx = np.arange(n) % sets
    return VARDraws(
        names=names or tuple(f"v{i}" for i in range(const.shape[-1])),
        const=const[idx],
        coef=coef[idx],
        chol=chol[idx],
        transition=np.broadcast_to(trans[idx][:, None], (n, horizon, *trans.shape[1:])).copy(),
        initial=init[idx],
        history=history,
    )


def stacked_gaussian(c, a, chol, history, horizon):  # type: ignore[no-untyped-def]
    """Mean (H n,) and covariance of x_1..x_H of a one-regime VAR, by explicit loops
    (independent of the module's recursions): x_h = c + sum_l a[l] x_{h-l} + chol e_h."""
    n, p = c.shape[0], a.shape[0]
    big = horizon * n
    mean = np.zeros(big)
    load = np.zeros((big, big))  # x = mean + load @ e
    for h in range(horizon):
        m = c.copy()
        ld = np.zeros((n, big))
        ld[:, h * n : (h + 1) * n] = chol
        for lag in range(1, p + 1):
            if h - lag >= 0:
                m += a[lag - 1] @ mean[(h - lag) * n : (h - lag + 1) * n]
                ld += a[lag - 1] @ load[(h - lag) * n : (h - lag + 1) * n]
            else:
                m += a[lag - 1] @ history[lag - h - 1]
        mean[h * n : (h + 1) * n] = m
        load[h * n : (h + 1) * n] = ld
    return mean, load @ load.T


def test_k1_matches_closed_form_gaussian_conditional() -> None:
    z_mean, z_cov = _k1_zscores(seed=1)
    assert np.abs(z_mean).max() < MC_Z, z_mean
    assert np.abs(z_cov).max() < MC_Z, np.abs(z_cov).max()


def _k1_zscores(seed: int) -> tuple[np.ndarray, np.ndarray]:
    n, horizon, n_s = 3, 4, 20000
    rng = np.random.default_rng(5)
    c = np.array([0.1, -0.2, 0.3])
    a = np.stack([0.4 * np.eye(n) + 0.05 * rng.normal(size=(n, n)), 0.1 * np.eye(n)])
    chol = np.linalg.cholesky(np.array([[1.0, 0.3, 0.1], [0.3, 0.5, 0.0], [0.1, 0.0, 2.0]]))
    history = np.array([[0.5, -0.1, 1.0], [0.2, 0.0, -1.0]])
    d = make_draws(
        c[None, None],
        a[None, None],
        chol[None, None],
        np.ones((1, 1, 1)),
        np.ones((1, 1)),
        history,
        n_s,
        horizon,
    )
    cons = [
        Constraint("v0", (2, 4), (1.0, -0.5)),  # hard, cumulative
        Constraint("v1", (3,), (0.8,), sd=(0.4,), kind="change"),  # soft
    ]
    fc = conditional_forecast(d, cons, horizon, seed=seed)
    mean, cov = stacked_gaussian(c, a, chol, history, horizon)
    rows = np.zeros((3, horizon * n))
    rows[0, [0, 3]] = 1.0
    rows[1, [0, 3, 6, 9]] = 1.0
    rows[2, 2 * n + 1] = 1.0
    v = np.array([1.0, -0.5, 0.8])
    noise = np.diag([0.0, 0.0, 0.4**2])
    s = rows @ cov @ rows.T + noise
    gain = cov @ rows.T @ np.linalg.inv(s)
    m_c = mean + gain @ (v - rows @ mean)
    cov_c = cov - gain @ rows @ cov
    x = fc.paths.reshape(n_s, -1)
    # hard constraints hold exactly
    np.testing.assert_allclose(x @ rows[:2].T, np.broadcast_to(v[:2], (n_s, 2)), atol=1e-9)
    sd = np.sqrt(np.clip(np.diag(cov_c), 0, None))
    free = sd > 1e-8
    assert fc.ess_min == pytest.approx(n_s)
    # one parameter set, one regime: the SMC evidence is the exact Gaussian density of v
    from scipy import stats

    dens = stats.multivariate_normal.logpdf(v, rows @ mean, s)
    assert fc.log_evidence == pytest.approx(dens, abs=1e-8)
    z_mean = (x.mean(0) - m_c)[free] / (sd[free] / np.sqrt(n_s))
    emp = np.cov(x.T)
    se = np.sqrt((np.outer(sd, sd) ** 2 + cov_c**2) / n_s)
    ok = np.outer(free, free)
    return z_mean, (emp - cov_c)[ok] / se[ok]


def _k2_case(n_s: int, horizon: int = 3, lags: int = 1) -> VARDraws:
    """Two parameter sets of a K=2, n=2, p=1 or 2 VAR whose regimes differ in means and sds."""
    const = np.array([[[-0.6, 0.5], [0.6, -0.8]], [[-0.5, 0.4], [0.7, -0.6]]])
    coef = np.array(
        [
            [[[[0.3, 0.1], [0.0, 0.2]]], [[[0.3, 0.1], [0.0, 0.2]]]],
            [[[[0.2, 0.0], [0.1, 0.1]]], [[[0.4, 0.0], [0.1, 0.1]]]],
        ]
    )
    chol = np.array(
        [
            [
                np.linalg.cholesky([[0.5, 0.2], [0.2, 1.0]]),
                np.linalg.cholesky([[1.0, -0.3], [-0.3, 2.0]]),
            ],
            [
                np.linalg.cholesky([[0.4, 0.1], [0.1, 1.2]]),
                np.linalg.cholesky([[0.9, -0.4], [-0.4, 2.5]]),
            ],
        ]
    )
    trans = np.array([[[0.9, 0.1], [0.2, 0.8]], [[0.85, 0.15], [0.25, 0.75]]])
    init = np.array([[0.7, 0.3], [0.6, 0.4]])
    history = np.array([[0.2, -0.3], [-0.4, 0.5]])[:lags]
    if lags == 2:
        lag2 = np.array([[0.15, -0.05], [0.1, -0.1]])
        coef = np.concatenate([coef, np.broadcast_to(lag2, coef.shape)], axis=2)
    return make_draws(const, coef, chol, trans, init, history, n_s, horizon)


def _simulate(d: VARDraws, horizon: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """Brute-force unconditional simulator: (N, H, n) paths and (N, H) regimes."""
    n_s, n = d.n_samples, d.n_vars
    x = np.zeros((n_s, horizon, n))
    s = (rng.random(n_s) > d.initial[:, 0]).astype(int)
    reg = np.zeros((n_s, horizon), dtype=int)
    prev = [np.broadcast_to(hist, (n_s, n)) for hist in d.history]  # most recent first
    rows = np.arange(n_s)
    for h in range(horizon):
        s = (rng.random(n_s) > d.transition[rows, h, s, 0]).astype(int)
        e = rng.standard_normal((n_s, n))
        x[:, h] = d.const[rows, s] + np.einsum("sij,sj->si", d.chol[rows, s], e)
        for lag, xl in enumerate(prev):
            x[:, h] += np.einsum("sij,sj->si", d.coef[rows, s, lag], xl)
        prev = [x[:, h], *prev[:-1]]
        reg[:, h] = s
    return x, reg


def _k2_zscores(seed: int, lags: int = 1, two: bool = False) -> np.ndarray:
    """z-scores of SMC vs rejection: soft cumulative v0 = 2.5 (sd 0.6) at month 3 and,
    with ``two``, soft change v1 = 1.0 (sd 0.5) in month 1."""
    horizon, n_s = 3, 20000
    d = _k2_case(n_s, horizon, lags)
    cons = [Constraint("v0", (3,), (2.5,), sd=(0.6,))]  # soft, cumulative: an upswing of v0
    if two:
        cons.append(Constraint("v1", (1,), (1.0,), sd=(0.5,), kind="change"))
    fc = conditional_forecast(d, cons, horizon, seed=seed)
    big = _k2_case(600000, horizon, lags)
    x, reg = _simulate(big, horizon, np.random.default_rng(10_000 + seed))
    cum0 = x[:, :, 0].sum(1)
    loglik = -0.5 * ((cum0 - 2.5) / 0.6) ** 2
    if two:
        loglik += -0.5 * ((x[:, 0, 1] - 1.0) / 0.5) ** 2
    keep = np.random.default_rng(20_000 + seed).random(len(cum0)) < np.exp(loglik)
    xr_, rr = x[keep], reg[keep]
    n_eff = fc.ess_min  # resampled particles are correlated: use the smallest ESS
    stats_a = [fc.paths[:, 2, 1], fc.paths[:, 0, 0], fc.cumulative[:, 2, 0], fc.regimes[:, 0]]
    stats_b = [xr_[:, 2, 1], xr_[:, 0, 0], xr_[:, :, 0].sum(1), rr[:, 0]]
    z = []
    for a, b in zip(stats_a, stats_b, strict=True):
        se = np.sqrt(a.var() / n_eff + b.var() / len(b))
        z.append((a.mean() - b.mean()) / se)
        if b.dtype.kind in "iu":  # the regime: a share, no quantiles
            continue
        for q in (0.1, 0.9):  # quantiles: compare the share below the rejection quantile
            thr = np.quantile(b, q)
            pa, pb = (a <= thr).mean(), q
            z.append((pa - pb) / np.sqrt(pb * (1 - pb) * (1 / n_eff + 1 / len(b))))
    return np.asarray(z)


@pytest.mark.parametrize(("lags", "two"), [(1, False), (2, True)])
def test_k2_soft_constraints_match_rejection_sampling(lags: int, two: bool) -> None:
    z = _k2_zscores(seed=3, lags=lags, two=two)
    assert np.abs(z).max() < MC_Z, z


def test_k2_conditioning_moves_regime_probabilities() -> None:
    d = _k2_case(8000, 3)
    base = conditional_forecast(d, [], 3, seed=0)
    up = conditional_forecast(d, [Constraint("v0", (3,), (2.5,), sd=(0.6,))], 3, seed=0)
    # regime 1 has the higher v0 intercept: an upswing of v0 makes it more likely
    assert up.regime_probabilities()[:, 1].mean() > base.regime_probabilities()[:, 1].mean() + 0.2


def test_hold_freezes_a_variable_and_baseline_is_reproducible() -> None:
    d = _k2_case(2000, 6)
    fc = conditional_forecast(d, [Constraint.hold("v1", 6)], 6, seed=4)
    np.testing.assert_allclose(fc.cumulative[:, :, 1], 0.0, atol=1e-9)
    a = conditional_forecast(d, [], 6, seed=4)
    b = conditional_forecast(d, [], 6, seed=4)
    np.testing.assert_array_equal(a.paths, b.paths)
    ds = fc.to_dataset()
    assert dict(ds["value"].sizes) == {"sample": 2000, "month": 6, "variable": 2}
    np.testing.assert_allclose(ds["cumulative"].sel(variable="v1"), 0.0, atol=1e-9)


def test_reverse_stress_hits_the_loss_and_agrees_with_monte_carlo() -> None:
    d = _k2_case(20000, 6)
    st = reverse_stress(d, 3.0, 6, variable="v1", seed=2)
    np.testing.assert_allclose(st.forecast.cumulative[:, -1, 1], -3.0, atol=1e-9)
    se = np.sqrt(st.probability * (1 - st.probability) / 20000)
    assert abs(st.probability - st.probability_mc) < MC_Z * se
    assert st.sequences["share"].sum() <= 1.0 + 1e-12
    assert set(st.macro_paths["variable"]) == {"v0", "v1"}


def _one_sentence(msg: str) -> bool:
    return msg.endswith(".") and "\n" not in msg and msg.count(". ") == 0


@pytest.mark.parametrize(
    ("cons", "needle"),
    [
        ([Constraint("gdp", (1,), (1.0,))], "does not have"),
        ([Constraint("v0", (2,), (1.0,)), Constraint("v0", (2,), (1.5,))], "contradict"),
        (
            [
                Constraint("v0", (1, 2), (0.5, 0.4), kind="change"),
                Constraint("v0", (2,), (2.0,)),
            ],
            "contradict",
        ),
        ([Constraint("v0", (1,), (60.0,))], "plausible range"),
        ([Constraint("v0", (1,), (1.0,), sd=(0.0,))], "sd must be positive"),
        ([Constraint("v0", (1,), (1.0,), sd=(-1.0,))], "sd must be positive"),
    ],
)
def test_bad_constraints_give_one_sentence(cons: list[Constraint], needle: str) -> None:
    d = _k2_case(500, 3)
    with pytest.raises(BadInputError) as err:
        conditional_forecast(d, cons, 3)
    assert needle in str(err.value)
    assert _one_sentence(str(err.value)), str(err.value)


def test_redundant_consistent_hard_constraints_are_accepted() -> None:
    d = _k2_case(500, 3)
    cons = [Constraint("v0", (1, 2), (0.5, 0.4), kind="change"), Constraint("v0", (2,), (0.9,))]
    fc = conditional_forecast(d, cons, 3)
    np.testing.assert_allclose(fc.cumulative[:, 1, 0], 0.9, atol=1e-9)


def test_unreachable_stress_loss_is_refused() -> None:
    d = _k2_case(500, 3)
    with pytest.raises(BadInputError) as err:
        reverse_stress(d, 80.0, 3, variable="v1")
    assert "No baseline sample" in str(err.value)
    assert _one_sentence(str(err.value)), str(err.value)

"""Scores against closed forms and against statsmodels' HAC variance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from regime.backtest import scores as S

# Monte Carlo tolerances: S samples per forecast, n forecasts averaged
N_FORECASTS = 400
N_SAMPLES = 2000


def _normal_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    mu = rng.normal(0.0, 2.0, N_FORECASTS)
    sigma = 3.0
    samples = mu[:, None] + sigma * rng.standard_normal((N_FORECASTS, N_SAMPLES))
    obs = mu + sigma * rng.standard_normal(N_FORECASTS)
    return samples, obs, mu, sigma


def _closed_form_crps(obs: np.ndarray, mu: np.ndarray, sigma: float) -> np.ndarray:
    z = (obs - mu) / sigma
    return sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def test_crps_matches_closed_form_normal(rng: np.random.Generator) -> None:
    samples, obs, mu, sigma = _normal_case(rng)
    got = S.crps(samples, obs)
    want = _closed_form_crps(obs, mu, sigma)
    # MC sd per forecast is O(sigma / sqrt(S)); the estimator's bias is sigma/(sqrt(pi) S)
    mc_sd = np.std(got - want) / np.sqrt(N_FORECASTS)
    assert abs(got.mean() - want.mean()) < 4 * mc_sd + 1e-3
    np.testing.assert_allclose(got, want, atol=5 * sigma / np.sqrt(N_SAMPLES))


def test_log_score_is_kde_with_silverman_bandwidth(rng: np.random.Generator) -> None:
    samples, obs, mu, sigma = _normal_case(rng)
    got = S.log_score(samples[:5], obs[:5])
    for i in range(5):
        kde = stats.gaussian_kde(samples[i], bw_method="silverman")
        assert got[i] == pytest.approx(-np.log(kde(obs[i])[0]), rel=1e-9)
    # close to the exact Normal log score (KDE widens the density by ~(1 + h^2/sigma^2))
    full = S.log_score(samples, obs)
    exact = -stats.norm.logpdf(obs, mu, sigma)
    assert abs(full.mean() - exact.mean()) < 0.02


def test_pit_is_uniform_for_calibrated_forecasts(rng: np.random.Generator) -> None:
    samples, obs, *_ = _normal_case(rng)
    u = S.pit(samples, obs)
    assert stats.kstest(u, "uniform").pvalue > 0.01


def test_coverage_is_nominal_for_calibrated_forecasts(rng: np.random.Generator) -> None:
    samples, obs, *_ = _normal_case(rng)
    for prob in S.INTERVALS:
        c = S.covered(samples, obs, prob).mean()
        # binomial sd of the empirical coverage over N_FORECASTS forecasts
        assert abs(c - prob) < 4 * np.sqrt(prob * (1 - prob) / N_FORECASTS)


def test_coverage_and_errors_known_answer() -> None:
    samples = np.tile(np.arange(101, dtype=float), (3, 1))  # 0..100
    obs = np.array([50.0, 10.0, 200.0])
    np.testing.assert_array_equal(S.covered(samples, obs, 0.5), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(S.covered(samples, obs, 0.9), [1.0, 1.0, 0.0])
    e_mean, e_median = S.errors(samples, obs)
    np.testing.assert_allclose(e_mean, [0.0, 40.0, -150.0])
    np.testing.assert_allclose(e_median, [0.0, 40.0, -150.0])
    np.testing.assert_allclose(S.pit(samples, obs), [50.5 / 101, 10.5 / 101, 1.0])


@pytest.mark.parametrize("horizon", [1, 3, 12])
def test_dm_standard_error_matches_statsmodels_hac(rng: np.random.Generator, horizon: int) -> None:
    import statsmodels.api as sm

    n = 240
    # an MA(h-1) difference series, like overlapping h-month forecast errors
    e = rng.standard_normal(n + horizon)
    d = 0.1 + np.convolve(e, np.ones(horizon), mode="valid")[:n]
    got = S.paired_difference(d, np.zeros(n), horizon)
    fit = sm.OLS(d, np.ones((n, 1))).fit(
        cov_type="HAC", cov_kwds={"maxlags": horizon - 1, "use_correction": False}
    )
    assert got.mean == pytest.approx(float(fit.params[0]))
    assert got.se == pytest.approx(float(fit.bse[0]), rel=1e-10)
    assert got.lags == horizon - 1 and got.n == n


def test_long_run_cov_matrix_matches_statsmodels(rng: np.random.Generator) -> None:
    from statsmodels.stats.sandwich_covariance import S_hac_simple

    u = rng.standard_normal((100, 3))
    u -= u.mean(axis=0)
    # statsmodels returns the sum, not the mean, of the weighted autocovariances
    np.testing.assert_allclose(S.bartlett_long_run_cov(u, 4), S_hac_simple(u, nlags=4) / len(u))

"""Baselines: shapes, compounding, and agreement with the data-generating process."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from regime.backtest import baselines as B

HORIZONS = (1, 3, 12)


def test_compound_and_targets_known_answer() -> None:
    np.testing.assert_allclose(B.compound(np.array([10.0, 10.0])), [10.0, 21.0])
    y = np.array([0.0, 10.0, 10.0, -50.0])
    np.testing.assert_allclose(B.cumulative_targets(y, 2), [21.0, -45.0])


def test_constant_t_recovers_iid_distribution(rng: np.random.Generator) -> None:
    y = 0.2 + 3.0 * rng.standard_t(5, size=600)
    out = B.constant_t(y, HORIZONS, 4000, rng)
    assert out.shape == (3, 4000)
    # one-month forecast: the fitted t; its median is the location (~0.2 +- 3 * 3 / sqrt(600))
    assert abs(np.median(out[0]) - 0.2) < 0.5
    assert stats.kstest(out[0], stats.t(5, 0.2, 3.0).cdf).statistic < 0.05


def test_block_bootstrap_draws_only_history(rng: np.random.Generator) -> None:
    y = np.arange(48, dtype=float) / 10
    out = B.block_bootstrap(y, (1,), 500, rng)
    assert set(np.round(out[0], 6)) <= set(np.round(y, 6))
    with pytest.raises(ValueError, match="at least 24 months"):
        B.block_bootstrap(y[:20], (1,), 10, rng)


def test_predictive_regression_finds_a_real_signal(rng: np.random.Generator) -> None:
    n = 400
    x = rng.standard_normal(n)
    y = np.empty(n)
    y[0] = 0.0
    y[1:] = 0.5 + 1.0 * x[:-1] + rng.standard_normal(n - 1)  # x_t moves the next month
    x[-1] = 2.0  # the origin's feature value
    out = B.predictive_regression(y, x[:, None], (1,), 4000, rng)
    # mean 0.5 + 2.0 = 2.5; sd ~1 plus a little parameter uncertainty
    assert abs(out[0].mean() - 2.5) < 0.2
    assert 0.9 < out[0].std() < 1.3

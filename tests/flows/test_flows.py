"""Reconstitution calendar and impact overlay: known dates, exact zeros, permanent part."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from regime.flows.calendar import events_between, june_event, nth_weekday
from regime.flows.impact import FlowSpec, decay_weight, monthly_overlay


@pytest.mark.parametrize(
    ("year", "effective"),
    [(2024, date(2024, 6, 28)), (2025, date(2025, 6, 27)), (2026, date(2026, 6, 26))],
)
def test_june_effective_is_fourth_friday(year: int, effective: date) -> None:
    ev = june_event(year)
    assert ev.effective == effective
    assert ev.rank_day == date(year, 4, 30)


def test_december_event_only_from_2026() -> None:
    evs = events_between(date(2025, 1, 1), date(2027, 12, 31))
    kinds = [(e.kind, e.effective.year) for e in evs]
    assert ("december", 2025) not in kinds
    assert ("december", 2026) in kinds and ("december", 2027) in kinds
    dec = next(e for e in evs if e.kind == "december")
    assert dec.effective == nth_weekday(2026, 12, 4, 2) == date(2026, 12, 11)
    assert dec.size == 0.5


def test_decay_weight_is_one_at_peak_and_zero_after_window() -> None:
    beta = np.array([0.5, 1.0])
    assert np.allclose(decay_weight(np.zeros(2), beta, 5.0, 60), 1.0)
    assert np.allclose(decay_weight(np.full(2, 60.0), beta, 5.0, 60), 0.0)
    assert np.allclose(decay_weight(np.full(2, 200.0), beta, 5.0, 60), 0.0)


MONTHS_2025 = pd.period_range("2025-03", "2025-12", freq="M")


def test_flows_off_and_zero_y_give_exactly_zero() -> None:
    rng = np.random.default_rng(0)
    off, _ = monthly_overlay(MONTHS_2025, FlowSpec(enabled=False), 100, rng)
    assert not off.any()
    zero_y, _ = monthly_overlay(MONTHS_2025, FlowSpec(y_range=(0.0, 0.0)), 100, rng)
    assert not zero_y.any()


def test_cumulative_overlay_equals_permanent_part_after_decay() -> None:
    p = FlowSpec(net_imbalance_sd=0.0, y_range=(0.75, 0.75), permanent_range=(0.4, 0.4))
    overlay, peaks = monthly_overlay(MONTHS_2025, p, 50, np.random.default_rng(1))
    peak = 0.75 * p.daily_vol_pct * np.sqrt(p.net_imbalance * p.gross_value_usd_bn / p.adv_usd_bn)
    np.testing.assert_allclose(peaks[:, 0], peak)
    # June 27 + 60 business days ends in September; the overlay sums to the permanent part
    np.testing.assert_allclose(overlay.sum(axis=1), 0.4 * peak, rtol=1e-12)
    by_month = pd.DataFrame(overlay, columns=MONTHS_2025.astype(str))
    assert (by_month[["2025-03"]].abs().to_numpy() < 1e-12).all()  # before rank day
    assert (by_month["2025-05"] > 0).all() and (by_month["2025-06"] > 0).all()  # run-up
    assert (by_month["2025-07"] < 0).all()  # partial reversal
    assert (by_month[["2025-10", "2025-11", "2025-12"]].abs().to_numpy() < 1e-12).all()


def test_coefficients_vary_per_path() -> None:
    overlay, peaks = monthly_overlay(MONTHS_2025, FlowSpec(), 200, np.random.default_rng(2))
    assert peaks[:, 0].std() > 0
    lin, _ = monthly_overlay(MONTHS_2025, FlowSpec(model="linear"), 200, np.random.default_rng(2))
    assert lin.sum(axis=1).mean() != pytest.approx(overlay.sum(axis=1).mean())


def test_one_first_december_everywhere() -> None:
    """Config, panel indicator, flow spec and calendar read the first December from one place."""
    from regime.config import Config
    from regime.features.panel import reconstitution_months
    from regime.flows.calendar import SEMIANNUAL_FROM
    from regime.scenarios.spec import ScenarioSpec

    first = pd.Period(SEMIANNUAL_FROM, freq="M")
    assert pd.Period(Config().features.semiannual_from, freq="M") == first
    assert ScenarioSpec(name="x").flows.semiannual_from == SEMIANNUAL_FROM
    months = pd.period_range(first - 12, first + 12, freq="M")
    recon = pd.Series(reconstitution_months(months), index=months)
    assert recon[first] == 1.0 and recon[first - 12] == 0.0 and recon[first + 12] == 1.0
    evs = events_between(date(first.year - 1, 1, 1), date(first.year + 1, 12, 31))
    decembers = [e.effective.year for e in evs if e.kind == "december"]
    assert decembers == [first.year, first.year + 1]


def test_flow_spec_keeps_its_yaml_keys() -> None:
    """One definition: scenario YAML keys validated as before, presets turned into USD bn."""
    from regime.config import validate
    from regime.errors import BadInputError
    from regime.flows.impact import GROSS_SEED_USD_BN
    from regime.scenarios.spec import ScenarioSpec

    spec = validate(
        ScenarioSpec,
        {"name": "x", "flows": {"gross": "seed", "y_range": [0.6, 0.9], "december_friday": 3}},
        "Scenario file s.yaml",
    )
    assert spec.flows.gross_value_usd_bn == GROSS_SEED_USD_BN
    assert FlowSpec(gross=250).gross_value_usd_bn == 250.0
    with pytest.raises(BadInputError, match="unknown key 'flows.y_low'"):
        validate(ScenarioSpec, {"name": "x", "flows": {"y_low": 0.6}}, "Scenario file s.yaml")
    with pytest.raises(BadInputError, match="december_friday"):
        validate(ScenarioSpec, {"name": "x", "flows": {"december_friday": 5}}, "s.yaml")

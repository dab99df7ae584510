"""Feature panel: hand-computed transforms, release lags, no look-ahead, as-of builds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regime import _dims as D
from regime.config import Config, DataSpec, SeriesSpec
from regime.data.base import SeriesData
from regime.data.sample import simulate_sample
from regime.errors import BadInputError
from regime.features import transforms as T
from regime.features.panel import build_panel, reconstitution_months


def monthly(values: list[float], start: str = "2000-01") -> pd.Series:
    return pd.Series(values, index=pd.period_range(start, periods=len(values), freq="M"))


def test_transforms_hand_computed() -> None:
    s = monthly([100.0 * 1.01**i for i in range(16)])
    assert T.yoy_pct(s).iloc[12] == pytest.approx((1.01**12 - 1) * 100)
    assert T.annualised_pct(s, 3).iloc[3] == pytest.approx((1.01**12 - 1) * 100)
    assert T.change(monthly([1.0, 2.0, 4.0, 7.0]), 2).iloc[3] == pytest.approx(5.0)
    assert np.isnan(T.change(monthly([1.0, 2.0]), 6)).all()


def test_splice_chains_log_changes_in_new_units() -> None:
    old = monthly([10.0, 11.0, 12.0, 12.6])  # 2000-01..04
    new = monthly([120.0, 130.0], start="2000-03")
    out = T.splice_log(old, new)
    np.testing.assert_allclose(out.to_numpy(), [100.0, 110.0, 120.0, 130.0])


def test_daily_to_monthly_mean() -> None:
    idx = pd.DatetimeIndex(["2006-01-02", "2006-01-03", "2006-02-01"])
    out = T.to_monthly(pd.Series([1.0, 3.0, 5.0], index=idx))
    assert list(out) == [2.0, 5.0]
    assert out.index[0] == pd.Period("2006-01", "M")


def sample() -> dict[str, SeriesData]:
    return simulate_sample(end="2012-12", seed=7)[0]


def cfg() -> Config:
    return Config(
        data=DataSpec(
            start="1975-01",
            series=(
                SeriesSpec(id="FEDFUNDS"),
                SeriesSpec(id="CPIAUCSL", release_lag_months=1),
                SeriesSpec(id="DTWEXBGS"),
                SeriesSpec(id="F-F_Research_Data_Factors", source="french"),
            ),
        )
    )


def test_release_lag_row_t_uses_cpi_of_t_minus_1() -> None:
    series = sample()
    c = cfg()
    panel = build_panel(series, c.features, c.data)
    cpi = series["CPIAUCSL"].values
    t = pd.Period("2005-07", "M")
    expected = (cpi[t - 1] / cpi[t - 13] - 1) * 100
    assert panel.frame.loc[t, D.CPI_YOY] == pytest.approx(expected)
    assert panel.meta.release_lags["CPIAUCSL"] == 1


def test_no_row_changes_when_a_later_cpi_value_changes() -> None:
    series = sample()
    c = cfg()
    base = build_panel(series, c.features, c.data).frame
    m = pd.Period("2005-07", "M")
    cpi = series["CPIAUCSL"]
    bumped = cpi.values.copy()
    bumped[m] *= 1.5
    series = {**series, "CPIAUCSL": SeriesData(bumped, cpi.meta)}
    changed = build_panel(series, c.features, c.data).frame
    numeric = base.select_dtypes("number").columns
    diff = (base[numeric] - changed[numeric]).abs().fillna(0).sum(axis=1)
    assert diff.loc[:m].eq(0).all()  # CPI of month m enters no row <= m
    assert diff.loc[m + 1] > 0  # it is first used at m + 1


def truncated(series: dict[str, SeriesData], month: str) -> dict[str, SeriesData]:
    end = pd.Period(month, freq="M")
    out = {}
    for k, s in series.items():
        idx = s.values.index
        keep = idx <= end if isinstance(idx, pd.PeriodIndex) else idx < (end + 1).start_time
        out[k] = SeriesData(s.values[keep], s.meta)
    return out


@pytest.mark.parametrize("month", ["1990-03", "2008-09", "2011-12"])
def test_as_of_equals_truncated_data(month: str) -> None:
    series = sample()
    c = cfg()
    as_of = build_panel(series, c.features, c.data, as_of=month)
    trunc = build_panel(truncated(series, month), c.features, c.data)
    pd.testing.assert_frame_equal(as_of.frame, trunc.frame)
    assert as_of.meta.end == month


def test_panel_is_labelled_synthetic() -> None:
    c = cfg()
    panel = build_panel(sample(), c.features, c.data)
    assert panel.meta.synthetic
    assert all(p["synthetic"] for p in panel.meta.provenance.values())


def test_missing_series_is_named() -> None:
    c = cfg()
    series = sample()
    del series["CPIAUCSL"]
    with pytest.raises(BadInputError, match="Series CPIAUCSL is needed"):
        build_panel(series, c.features, c.data)


def test_missing_month_reported_and_left_missing_without_fill_policy() -> None:
    series = sample()
    cpi = series["CPIAUCSL"]
    gap = cpi.values.copy()
    gap[pd.Period("2010-10", "M")] = np.nan
    series["CPIAUCSL"] = SeriesData(gap, cpi.meta)
    c = cfg()
    panel = build_panel(series, c.features, c.data)
    assert panel.meta.missing["CPIAUCSL"] == ["2010-10"]
    assert "CPIAUCSL" not in panel.meta.filled
    assert np.isnan(panel.frame.loc["2010-11", D.CPI_YOY])  # lag 1: first used in November
    with pytest.raises(BadInputError, match="cpi_yoy.*missing"):
        panel.model_frame([D.REL_RETURN, D.CPI_YOY])


def test_rule_labels_follow_thresholds() -> None:
    c = cfg()
    panel = build_panel(sample(), c.features, c.data).frame.dropna(subset=[D.LABEL])
    r = c.features.regimes
    easing = panel[D.FEDFUNDS_CHG6] <= r.easing_below_pp
    assert (panel.loc[easing, D.POLICY] == "easing").all()
    assert (panel.loc[panel[D.CPI_YOY] >= 3.0, D.INFLATION] == "high").all()
    assert set(panel[D.DOLLAR]) <= {"strong", "weak"}


def test_reconstitution_months_june_then_december_from_2026() -> None:
    idx = pd.period_range("1988-01", "2027-12", freq="M")
    rec = pd.Series(reconstitution_months(idx), index=idx)
    assert rec["1988-06"] == 0 and rec["1989-06"] == 1
    assert rec["2025-12"] == 0 and rec["2026-12"] == 1 and rec["2027-06"] == 1

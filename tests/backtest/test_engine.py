"""Backtest engine: no look-ahead, worker-count independence, resume, failures, bad input.

Fast: baselines only, a few origins, few samples, one small LocalCluster each.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from regime.backtest import engine as E
from regime.config import Config
from regime.data.base import SeriesData
from regime.errors import BadInputError
from regime.pipeline import synthetic_series

BASE = E.BacktestSpec(
    start="2000-01",
    end="2000-08",
    refit_every=4,
    horizons=(1, 3, 12),
    models=E.BASELINES,
    draws=100,
    seed=7,
)


@pytest.fixture(scope="module")
def series() -> dict[str, SeriesData]:
    return synthetic_series()


@pytest.fixture(scope="module")
def reference(
    series: dict[str, SeriesData], tmp_path_factory: pytest.TempPathFactory
) -> E.BacktestResult:
    out = tmp_path_factory.mktemp("ref") / "demo" / "backtest"
    return E.run_backtest(series, Config(), BASE, out, workers=1)


def _after(series: dict[str, SeriesData], origin: pd.Period) -> dict[str, SeriesData]:
    """Every raw value whose month is after ``origin`` changed (scaled and shifted).

    The change stays within the scenario engine's plausible levels, so the
    realised-path (conditional) forecasts can still be made on the changed data.
    """
    out = {}
    for sid, s in series.items():
        v = s.values.copy()
        later = v.index > origin
        v[later] = v[later] * 1.03 + 0.5
        out[sid] = dataclasses.replace(s, values=v)
    return out


def test_forecast_at_t_ignores_every_value_after_t(series: dict[str, SeriesData]) -> None:
    cfg, origin = Config(), pd.Period("2000-06", freq="M")
    changed = _after(series, origin)
    arrays = []
    for data in (series, changed):
        p = E.plan(data, cfg, BASE)
        payload = E.Payload(data, cfg, BASE, p.realised_macro, p.last_month)
        arrays.append(E.forecast_origin(payload, origin))
    a, b = arrays
    unconditional = E.KINDS.index("unconditional")
    assert np.isfinite(a[:, :, unconditional]).all()
    np.testing.assert_array_equal(a[:, :, unconditional], b[:, :, unconditional])
    # the change is real: the realised outcomes differ
    assert not np.allclose(E.plan(series, cfg, BASE).outcomes, E.plan(changed, cfg, BASE).outcomes)


def test_outputs_and_scores(reference: E.BacktestResult) -> None:
    out = reference.out
    assert out is not None
    assert sorted(p.name for p in out.iterdir()) == [
        "differences.csv",
        "forecasts.nc",
        "index.html",
        "pit_histogram.csv",
        "scores.csv",
        "verdict.txt",
    ]
    table = pd.read_csv(out / "scores.csv")
    assert list(table.columns[:9]) == [
        "model",
        "horizon",
        "kind",
        "n",
        "log_score",
        "crps",
        "cover50",
        "cover90",
        "mean_error",
    ]
    assert set(table["model"]) == set(E.BASELINES) and set(table["kind"]) == {"unconditional"}
    assert table.loc[table["horizon"] == 1, "n"].eq(8).all()
    with xr.open_dataset(out / "forecasts.nc", engine="h5netcdf") as ds:
        assert dict(ds["quantiles"].sizes) == {
            "origin": 8,
            "horizon": 3,
            "model": 3,
            "kind": 2,
            "quantile": len(E.QUANTILES),
        }
        assert ds.attrs["point_in_time"] == 0
    assert "constant baseline" in reference.verdict
    hist = pd.read_csv(out / "pit_histogram.csv")
    assert len(hist) == 10 * len(table)  # ten bins per scored model, horizon and kind
    assert (
        hist.groupby(["model", "horizon", "kind"])["n"]
        .sum()
        .eq(table.set_index(["model", "horizon", "kind"])["n"])
        .all()
    )
    assert not (out.parent / ".backtest-partial").exists()


def test_same_numbers_with_two_workers(
    series: dict[str, SeriesData], reference: E.BacktestResult, tmp_path: Path
) -> None:
    two = E.run_backtest(series, Config(), BASE, tmp_path / "backtest", workers=2)
    xr.testing.assert_identical(two.forecasts, reference.forecasts)
    pd.testing.assert_frame_equal(two.scores, reference.scores)


def test_interrupted_run_resumes_from_checkpoints(
    series: dict[str, SeriesData], reference: E.BacktestResult, tmp_path: Path
) -> None:
    out = tmp_path / "demo" / "backtest"

    def stop_after_first(done: int, total: int, what: str) -> None:
        if done >= 1 and what != "start":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        E.run_backtest(series, Config(), BASE, out, workers=1, progress=stop_after_first)
    assert not out.exists()  # nothing half-written
    saved = list((out.parent / ".backtest-partial").glob("*/*.npy"))
    assert len(saved) == BASE.refit_every  # the first block, one file per origin
    seen: list[tuple[int, int, str]] = []
    resumed = E.run_backtest(
        series, Config(), BASE, out, workers=1, progress=lambda *a: seen.append(a)
    )
    assert seen[0] == (1, 2, "resumed")
    xr.testing.assert_identical(resumed.forecasts, reference.forecasts)


def test_failed_task_is_reported_with_its_origin(
    series: dict[str, SeriesData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client

    from regime.backtest.workers import local_cluster

    real = E.forecast_origin

    def flaky(payload: E.Payload, origin: pd.Period, *a: object, **k: object) -> np.ndarray:
        if str(origin) == "2000-05":
            raise BadInputError("synthetic failure for the test.")
        return real(payload, origin, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(E, "forecast_origin", flaky)
    with local_cluster(1, processes=False) as cluster, Client(cluster) as client:
        res = E.run_backtest(series, Config(), BASE, tmp_path / "backtest", client=client)
    assert res.failures == {"2000-05": "synthetic failure for the test."}
    assert (tmp_path / "backtest" / "failures.csv").exists()
    origins = res.forecasts["origin"].to_numpy()
    ok = np.isfinite(res.forecasts["mean"].sel(kind="unconditional", horizon=1)).all("model")
    assert list(origins[ok.to_numpy()]) == ["2000-01", "2000-02", "2000-03", "2000-04"]
    # the good block is checkpointed; the failed one will be retried
    assert len(list((tmp_path / ".backtest-partial").glob("*/*.npy"))) == 4


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"start": "1975-01"}, "--start 1975-01 leaves fewer than 60 months"),
        ({"horizons": (1, 400)}, "--horizons 400 reaches beyond the data"),
        ({"models": ("constant", "lstm")}, "--models: unknown model 'lstm'"),
        ({"start": "2000-13"}, "--start must be a month"),
    ],
)
def test_bad_settings_are_one_sentence(
    series: dict[str, SeriesData], change: dict[str, object], match: str
) -> None:
    with pytest.raises(BadInputError, match=match):
        E.plan(series, Config(), dataclasses.replace(BASE, **change))  # type: ignore[arg-type]


def _diff_row(model: str, kind: str, n: int, diff: float, se: float) -> dict[str, object]:
    return {
        "model": model,
        "horizon": 12,
        "kind": kind,
        "metric": "crps",
        "versus": "constant",
        "n": n,
        "difference": diff,
        "se": se,
        "hac_lags": 11,
        "first_origin": "2000-01",
        "last_origin": "2020-12",
    }


def test_verdict_names_the_regime_model_and_judges_significance() -> None:
    table = pd.DataFrame(
        [
            _diff_row("model", "unconditional", 252, 0.5, 0.1),
            _diff_row("model", "conditional", 252, -0.8, 0.3),
        ]
    )
    text = E.verdict(table)
    assert text.startswith("Over 2000-01 to 2020-12 (252 origins) at 12 months, the regime")
    assert "conditional forecasts beat the constant baseline by 0.80 ± 0.30 in CRPS" in text
    assert text.endswith("more than two standard errors.")
    few = pd.DataFrame([_diff_row("model", "conditional", 20, -0.8, 0.01)])
    assert E.verdict(few).endswith("too few origins to judge.")
    assert "No paired comparison" in E.verdict(pd.DataFrame())


def test_realised_path_carries_the_realised_changes_from_the_as_of_levels() -> None:
    """The final data's levels can differ from the as-of panel's (revisions; a dollar index
    spliced onto another base): the conditional forecast gets the realised *changes* from
    the origin, added to (rates) or multiplied into (dollar) the levels seen at the origin."""
    months = pd.period_range("2005-01", periods=3, freq="M")
    macro = {
        "fedfunds": pd.Series([5.0, 5.25, 5.5], index=months),
        "inflation": pd.Series([3.0, 3.1, 3.3], index=months),
        "dollar": pd.Series([120.0, 118.8, 117.6], index=months),  # rebased: 1.2 x as-of
    }
    seen = pd.Series({"fedfunds": 4.9, "inflation": 3.0, "dollar": 100.0})
    spec = E._realised_scenario(macro, months[0], 2, seen)
    np.testing.assert_allclose(spec.paths.fedfunds.values, [5.15, 5.4])
    np.testing.assert_allclose(spec.paths.inflation.values, [3.1, 3.3])
    np.testing.assert_allclose(spec.paths.dollar.values, [99.0, 98.0])

"""Scenario engine: analytic mixture moments, exact zeros, direction on real data, bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest

from regime import _dims as D
from regime.bayes.markov import MarkovSpec, prepare_data
from regime.bayes.switching import MarkovSwitchingResults
from regime.config import Config, validate
from regime.data.sample import simulate_sample
from regime.errors import BadInputError
from regime.features.panel import Panel, build_panel
from regime.scenarios import ScenarioSpec, run
from regime.scenarios.engine import DRAWN, GIVEN, HELD
from regime.scenarios.spec import PATH_VARIABLES, builtin_scenarios
from regime.scenarios.summary import QUANTILES, fan, horizon_table, plausibility

N_SE = 4.0  # Monte Carlo tolerance in standard errors


@pytest.fixture(scope="module")
def panel() -> Panel:
    cfg = Config()
    return build_panel(simulate_sample(seed=11)[0], cfg.features, cfg.data)


def point_mass(
    panel: Panel, mu: np.ndarray, sigma: np.ndarray, p: np.ndarray, start: np.ndarray, n: int = 1000
) -> MarkovSwitchingResults:
    k = len(mu)
    post = {
        "mu": np.broadcast_to(mu, (1, n, k)).copy(),
        "sigma": np.broadcast_to(sigma, (1, n, k)).copy(),
        "p": np.broadcast_to(p, (1, n, k, k)).copy(),
        "filtered_last": np.broadcast_to(start, (1, n, k)).copy(),
    }
    idata = az.from_dict(posterior=post)
    y = panel.frame["rel_return"].dropna()
    res = MarkovSwitchingResults(
        idata, prepare_data(y), MarkovSpec(k_regimes=k, switching_variance=True)
    )
    res.panel = panel
    return res


def analytic_sum_moments(
    mu: np.ndarray, sigma: np.ndarray, p: np.ndarray, start: np.ndarray, horizon: int
) -> tuple[float, float]:
    """Mean and variance of sum_h y_h from the transition matrix powers."""
    pis = [start @ np.linalg.matrix_power(p, h) for h in range(1, horizon + 1)]
    mean_h = np.array([pi @ mu for pi in pis])
    var = 0.0
    for h in range(horizon):
        var += pis[h] @ (sigma**2 + mu**2) - mean_h[h] ** 2
        for g in range(h + 1, horizon):
            joint = pis[h] @ (mu * (np.linalg.matrix_power(p, g - h) @ mu))
            var += 2 * (joint - mean_h[h] * mean_h[g])
    return float(mean_h.sum()), float(var)


def test_point_mass_matches_mixture_moments(panel: Panel) -> None:
    mu, sigma = np.array([0.6, -1.5]), np.array([2.0, 4.5])
    p = np.array([[0.9, 0.1], [0.3, 0.7]])
    start = np.array([0.2, 0.8])
    horizon, n = 12, 40_000
    model = point_mass(panel, mu, sigma, p, start)
    spec = ScenarioSpec(name="t", horizon=horizon, flows={"enabled": False})
    ds = run(model, [spec], n_samples=n, seed=3)
    total = ds["total"].sel(scenario="t").sum("month").values.astype(float)
    mean, var = analytic_sum_moments(mu, sigma, p, start, horizon)
    se_mean = np.sqrt(var / n)
    m4 = np.mean((total - total.mean()) ** 4)
    se_var = np.sqrt((m4 - total.var() ** 2) / n)
    assert abs(total.mean() - mean) < N_SE * se_mean
    assert abs(total.var() - var) < N_SE * se_var
    # regime occupancy at month 1 follows start @ P
    occ = (ds["regime"].sel(scenario="t", month=ds.month[0]).values == 0).mean()
    assert abs(occ - (start @ p)[0]) < N_SE * np.sqrt(0.25 / n)


def test_flows_switched_off_give_exact_zero(panel: Panel) -> None:
    model = point_mass(
        panel,
        np.array([0.0, 0.0]),
        np.array([1.0, 1.0]),
        np.eye(2) * 0.9 + 0.05,
        np.array([0.5, 0.5]),
    )
    ds = run(
        model,
        [
            ScenarioSpec(name="off", horizon=12, flows={"enabled": False}),
            ScenarioSpec(name="on", horizon=12),
        ],
        n_samples=500,
        seed=1,
    )
    assert not ds["flow"].sel(scenario="off").values.any()
    assert ds["flow"].sel(scenario="on").values.any()
    np.testing.assert_allclose(ds["total"].sel(scenario="off"), ds["macro"].sel(scenario="off"))


def calm_stress(panel: Panel) -> MarkovSwitchingResults:
    """A calm (0.5 %, sd 2) and a stress (-1 %, sd 4) regime, constant transitions."""
    return point_mass(
        panel,
        np.array([0.5, -1.0]),
        np.array([2.0, 4.0]),
        np.array([[0.95, 0.05], [0.1, 0.9]]),
        np.array([0.7, 0.3]),
    )


def test_summary_tables(panel: Panel) -> None:
    model = calm_stress(panel)
    ds = run(model, builtin_scenarios(), n_samples=800, seed=2)
    f = fan(ds)
    assert (f.diff(axis=1).iloc[:, 1:] >= 0).all().all()  # q05 <= q25 <= ... <= q95
    table = horizon_table(ds)
    assert table["p_outperform"].between(0, 1).all()
    assert (table["expected_shortfall_5"] <= table["q05_12m"]).all()
    pl = plausibility(ds, panel.frame)
    assert pl["plausibility_pct"].between(0, 100).all()
    assert (pl["analogs"].str.count(";") == 2).all()


def test_macro_fans_show_given_drawn_and_held_paths(panel: Panel) -> None:
    """A model that draws no macro variable: named paths as given (hard: no spread),
    the baseline's bootstrap drawn, the rest held at the last value."""
    specs = [
        ScenarioSpec(name="base", baseline=True),
        ScenarioSpec(name="cut", paths={"fedfunds": {"kind": "linear", "change": -1.0}}),
        ScenarioSpec(name="soft", paths={"dollar": {"kind": "linear", "change": 5, "sd": 3}}),
    ]
    ds = run(calm_stress(panel), specs, n_samples=400, seed=1)
    fans = ds["macro_fan"]
    assert fans.dims == (D.SCENARIO, D.VARIABLE, D.QUANTILE, D.MONTH)
    assert list(fans[D.VARIABLE].values) == list(PATH_VARIABLES)
    assert list(fans[D.QUANTILE].values) == list(QUANTILES)
    assert (fans.diff(D.QUANTILE) >= 0).all()  # q05 <= q25 <= q50 <= q75 <= q95
    # a named hard path has zero spread and is the path the scenario gives
    last = float(panel.frame[D.FEDFUNDS].iloc[-1])
    given = last - 1.0 * np.arange(1, 13) / 12  # linear over the whole horizon
    cut = fans.sel(scenario="cut", variable="fedfunds").values
    np.testing.assert_allclose(cut, np.broadcast_to(given, cut.shape), atol=1e-12)
    np.testing.assert_allclose(ds["fedfunds"].sel(scenario="cut"), given, atol=1e-12)
    # a soft path spreads around its central path; the bootstrap spreads; holds do not
    width = fans.sel(quantile=QUANTILES[-1]) - fans.sel(quantile=QUANTILES[0])
    last_month = width.isel(month=-1)
    assert (last_month.sel(scenario="base") > 0).all()
    assert float(last_month.sel(scenario="soft", variable="dollar")) > 0
    assert float(np.abs(width.sel(scenario="soft", variable="fedfunds")).max()) == 0.0
    source = ds["macro_source"].to_pandas()
    assert source.loc["base"].tolist() == [DRAWN] * 3
    assert source.loc["cut"].tolist() == [GIVEN, HELD, HELD]
    assert source.loc["soft"].tolist() == [HELD, HELD, GIVEN]
    assert (ds["macro_named"] == (ds["macro_source"] == GIVEN)).all()
    assert ds["macro_named"].dims == (D.SCENARIO, D.VARIABLE)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"name": "x", "paths": {"fed_funds": {"kind": "hold"}}}, "did you mean 'fedfunds'"),
        ({"name": "x", "horizon": 0}, "horizon"),
        ({"name": "x", "horizon": 500}, "horizon"),
        ({"name": "x", "paths": {"fedfunds": {"kind": "linear"}}}, "needs 'change'"),
        (
            {
                "name": "x",
                "paths": {"dollar": {"kind": "replay", "window": ["2020-06", "2019-01"]}},
            },
            "must end after it starts",
        ),
    ],
)
def test_bad_scenario_specs(raw: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(BadInputError, match=message):
        validate(ScenarioSpec, raw, "Scenario file s.yaml")


def test_bad_paths_at_run_time(panel: Panel, caplog: pytest.LogCaptureFixture) -> None:
    model = calm_stress(panel)
    replay = ScenarioSpec(
        name="r", paths={"fedfunds": {"kind": "replay", "window": ["1950-01", "1951-01"]}}
    )
    with pytest.raises(BadInputError, match="outside the data"):
        run(model, [replay], n_samples=10)
    units = ScenarioSpec(name="u", paths={"fedfunds": {"kind": "linear", "change": 75}})
    with pytest.raises(BadInputError, match="check its units"):
        run(model, [units], n_samples=10)
    # 10 pp meant as 1 pp (1000 bp for 100): inside the plausible range, far outside history
    tenfold = ScenarioSpec(
        name="v", paths={"fedfunds": {"kind": "linear", "change": 10.0, "units": "pp"}}
    )
    with caplog.at_level(logging.WARNING):
        ds = run(model, [tenfold], n_samples=200)
    assert "constant transition probabilities" in caplog.text
    assert bool(plausibility(ds, panel.frame).loc["v", "implausible"])


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_model(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.conftest import raw_data_dir
    from tests.test_realdata import PANEL_FILES

    raw = raw_data_dir()
    if raw is None:
        pytest.skip("real data folder ../shared/data/raw is absent")
    from regime.data.cache import Cache
    from regime.data.csvimport import read_file
    from regime.models.api import fit_spec
    from regime.pipeline import import_series

    cfg = Config()
    cache = Cache(Path(tmp_path_factory.mktemp("c")))
    series = {
        s.meta.series_id: s
        for s in import_series(cache, [s for f in PANEL_FILES for s in read_file(raw / f)])
    }
    panel = build_panel(series, cfg.features, cfg.data)
    res = fit_spec(panel, cfg.model, draws=300, tune=300, chains=2, progressbar=False)
    res.panel = panel
    return res


@pytest.mark.realdata
def test_real_model_direction_and_sense(real_model) -> None:  # type: ignore[no-untyped-def]
    cut = ScenarioSpec(
        name="cut",
        paths={"fedfunds": {"kind": "linear", "change": -150, "units": "bp", "months": 6}},
    )
    hike = ScenarioSpec(
        name="hike",
        paths={"fedfunds": {"kind": "linear", "change": 150, "units": "bp", "months": 6}},
    )
    ds = run(real_model, [cut, hike], n_samples=4000, seed=5)
    a = ds["cumulative"].sel(scenario="cut").values[:, -1]
    b = ds["cumulative"].sel(scenario="hike").values[:, -1]
    # common random numbers: any difference comes from the Fed path alone. History gives
    # no clear sign for the Fed effect, so the test asks for a difference, not a direction.
    changed = (a != b).mean()
    assert changed > 0.01  # ~5% of paths switch regime differently on the real posterior
    occ = ds["regime"].mean(("sample", "month"))
    assert float(occ.sel(scenario="cut")) != float(occ.sel(scenario="hike"))
    f = fan(ds)
    assert (f.diff(axis=1).iloc[:, 1:] >= 0).all().all()
    t = horizon_table(ds)
    assert t["p_outperform"].between(0, 1).all()
    flow = pd.DataFrame(ds["flow"].sel(scenario="cut").values, columns=ds.month.values)
    # panel ends 2025-11: the June 2026 event runs up from 30 April; nothing before May
    assert (flow[["2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]] == 0).all().all()
    # net imbalance is truncated at zero, so a few paths carry no flow at all
    assert (flow["2026-06"] >= 0).all() and flow["2026-06"].mean() > 0
    assert (flow["2026-07"] <= 0).all() and flow["2026-07"].mean() < 0


def test_soft_paths_pair_each_sample_with_its_own_path(panel: Panel) -> None:
    """A TVTP model where only regime 0 -> 1 moves with z: per-sample z must stay per sample."""
    from regime.bayes.markov import prepare_data as prep
    from regime.config import FeatureSpec
    from regime.scenarios.engine import _inputs
    from regime.scenarios.paths import build_paths

    feats = ("fedfunds_chg6",)
    frame = panel.model_frame(["rel_return", *feats])
    n = 400
    a = np.zeros((1, n, 2, 2))
    a[..., 0, 1], a[..., 1, 0] = -4.0, -50.0  # regime 1 is absorbing
    b = np.zeros((1, n, 2, 2, 1))
    b[..., 0, 1, 0] = 3.0
    idata = az.from_dict(
        posterior={
            "mu": np.zeros((1, n, 2)),
            "sigma": np.ones((1, n, 2)),
            "a": a,
            "b": b,
            "filtered_last": np.tile([1.0, 0.0], (1, n, 1)),
        }
    )
    model = MarkovSwitchingResults(
        idata,
        prep(frame["rel_return"], exog_tvtp=frame[list(feats)]),
        MarkovSpec(k_regimes=2, switching_variance=True),
    )
    spec = ScenarioSpec(name="s", horizon=12, paths={"fedfunds": {"kind": "hold", "sd": 2.0}})
    rng = np.random.default_rng(0)
    paths = build_paths(spec, panel.frame, feats, n, rng)
    inputs = _inputs(spec, panel, paths, FeatureSpec())
    regimes = model.simulate(inputs, np.arange(n), rng).regimes
    # samples whose own Fed path rose most leave regime 0 more often than those that fell
    rise = paths.fedfunds[:, -1] - paths.fedfunds[:, 0]
    left = regimes[:, -1] == 1
    assert left[rise > np.quantile(rise, 0.75)].mean() > left[rise < np.quantile(rise, 0.25)].mean()


# --------------------------------------------------------------------------- paired differences


def fed_driven(panel: Panel, n: int = 600) -> MarkovSwitchingResults:
    """Calm (0.5 %, sd 2) and stress (-1 %, sd 4) regimes; a Fed rise pushes calm -> stress."""
    from regime.bayes.markov import prepare_data as prep

    feats = ("fedfunds_chg6",)
    frame = panel.model_frame(["rel_return", *feats])
    a = np.zeros((1, n, 2, 2))
    a[..., 0, 1], a[..., 1, 0] = -3.0, -2.0
    b = np.zeros((1, n, 2, 2, 1))
    b[..., 0, 1, 0] = 1.5
    draws = np.random.default_rng(7)  # posterior draws that differ, so idx pairing matters
    mu = np.stack([0.5 + 0.2 * draws.standard_normal(n), -1.0 + 0.2 * draws.standard_normal(n)], 1)
    idata = az.from_dict(
        posterior={
            "mu": mu[None],
            "sigma": np.broadcast_to([2.0, 4.0], (1, n, 2)).copy(),
            "a": a,
            "b": b,
            "filtered_last": np.tile([0.8, 0.2], (1, n, 1)),
        }
    )
    res = MarkovSwitchingResults(
        idata,
        prep(frame["rel_return"], exog_tvtp=frame[list(feats)]),
        MarkovSpec(k_regimes=2, switching_variance=True),
    )
    res.panel = panel
    return res


def test_scenarios_are_paired_sample_by_sample(panel: Panel) -> None:
    """Same sample index = same posterior draw, regime uniforms, shocks and flows everywhere.

    The baseline bootstraps its macro paths (random numbers a hard-path scenario never
    draws) and a soft path draws its own walk: neither may shift the other streams.
    """
    hike = {"fedfunds": {"kind": "linear", "change": 2.0, "months": 6}}
    specs = [
        ScenarioSpec(name="base", baseline=True),
        ScenarioSpec(name="hold"),
        ScenarioSpec(name="hike", paths=hike),
        ScenarioSpec(name="hike_twin", paths=hike),  # the same spec under another name
        ScenarioSpec(name="soft", paths={"fedfunds": {"kind": "hold", "sd": 1.0}}),
    ]
    ds = run(fed_driven(panel), specs, n_samples=1000, seed=4)
    assert ds.attrs["baseline"] == "base"
    cum = ds["cumulative"].values
    np.testing.assert_array_equal(cum[3], cum[2])
    t = horizon_table(ds)
    assert t["baseline"].tolist() == [True, False, False, False, False]
    diffs = [c for c in t.columns if c.startswith(("diff_", "p_beats"))]
    assert (t.loc["base", diffs].drop("p_beats_baseline_12m") == 0).all()
    assert t.loc["base", "p_beats_baseline_12m"] == 0.5  # a tie counts half a win
    pd.testing.assert_series_equal(
        t.loc["hike", diffs], t.loc["hike_twin", diffs], check_names=False
    )
    # where a scenario draws the baseline's regime path, the same posterior draw and
    # shocks give the same monthly return exactly; elsewhere the Fed path changed it
    regime, macro = ds["regime"].values, ds["macro"].values
    for i, name in enumerate(ds.scenario.values[1:], start=1):
        same = (regime[i] == regime[0]).all(axis=1)
        assert 0.05 < same.mean() < 1.0, name
        np.testing.assert_array_equal(macro[i][same], macro[0][same])
    # the flow overlay (same flow spec) is the same in every scenario
    np.testing.assert_array_equal(
        ds["flow"].values, np.broadcast_to(ds["flow"].values[0], cum.shape)
    )


def test_constant_transitions_give_zero_differences(panel: Panel) -> None:
    """Without TVTP the macro path cannot move the outcome: every difference is exactly 0."""
    ds = run(calm_stress(panel), builtin_scenarios(), n_samples=300, seed=2)
    t = horizon_table(ds)
    diffs = [c for c in t.columns if c.startswith(("diff_", "p_beats"))]
    assert len(diffs) == 6 and (t[diffs[:-1]] == 0).all().all()
    assert (t["p_beats_baseline_12m"] == 0.5).all()  # all ties: no edge either way
    assert t["baseline"].sum() == 1 and bool(t.loc["baseline", "baseline"])


def test_baseline_differences_match_numpy(panel: Panel) -> None:
    hike = ScenarioSpec(name="hike", paths={"fedfunds": {"kind": "linear", "change": 3.0}})
    cut = ScenarioSpec(name="cut", paths={"fedfunds": {"kind": "linear", "change": -3.0}})
    base = ScenarioSpec(name="base", baseline=True)
    ds = run(fed_driven(panel), [hike, base, cut], n_samples=2000, seed=9)
    t = horizon_table(ds)
    # independent computation: compound the monthly totals in float64, pair by sample index
    total = ds["total"].values.astype(float)
    cum = 100.0 * (np.cumprod(1.0 + total / 100.0, axis=-1) - 1.0)
    names = list(ds.scenario.values)
    b = names.index("base")
    tol = 1e-3  # the stored cumulative is float32 (~1e-6 relative of values up to ~100 %)
    for i, name in enumerate(names):
        d = cum[i] - cum[b]  # (sample, month)
        for m in (3, 6, 12):
            assert t.loc[name, f"diff_median_{m}m"] == pytest.approx(
                np.median(d[:, m - 1]), abs=tol
            )
        assert t.loc[name, "diff_q05_12m"] == pytest.approx(np.quantile(d[:, 11], 0.05), abs=tol)
        assert t.loc[name, "diff_q95_12m"] == pytest.approx(np.quantile(d[:, 11], 0.95), abs=tol)
        # a tie within float32 rounding could flip a sample; none here is that close
        assert not ((np.abs(d[:, 11]) < tol) & (d[:, 11] != 0)).any()
        wins, ties = (d[:, 11] > 0).mean(), (d[:, 11] == 0).mean()
        assert t.loc[name, "p_beats_baseline_12m"] == pytest.approx(wins + ties / 2, abs=1e-12)
    # a Fed hike pushes calm -> stress, so it loses to the baseline more often than a cut
    # (medians can be exactly 0: in most pairs neither path leaves the start regime)
    assert t.loc["hike", "p_beats_baseline_12m"] < t.loc["cut", "p_beats_baseline_12m"]
    mean_diff = {n: float((cum[i] - cum[b])[:, 11].mean()) for i, n in enumerate(names)}
    assert mean_diff["hike"] < 0 < mean_diff["cut"]


def test_baseline_difference_columns_follow_the_horizon(panel: Panel) -> None:
    model = calm_stress(panel)
    ds = run(
        model, [ScenarioSpec(name="a", horizon=6), ScenarioSpec(name="b", horizon=6)], n_samples=50
    )
    t = horizon_table(ds)
    assert ds.attrs["baseline"] == ""
    assert not t["baseline"].any()
    diff_cols = [c for c in t.columns if "diff" in c or "beats" in c]
    assert diff_cols == [
        "diff_median_3m",
        "diff_median_6m",
        "diff_q05_6m",
        "diff_q95_6m",
        "p_beats_baseline_6m",
    ]
    assert t[diff_cols].isna().all().all()  # no baseline: nothing to compare against


def test_more_than_one_baseline_is_refused(panel: Panel) -> None:
    specs = [ScenarioSpec(name="a", baseline=True), ScenarioSpec(name="b", baseline=True)]
    with pytest.raises(BadInputError, match="At most one scenario may set baseline: true"):
        run(calm_stress(panel), specs, n_samples=10)


def test_observed_regimes_share_shocks_when_a_label_is_new() -> None:
    """A label never seen in training draws a new regime, after the shared shocks."""
    from types import SimpleNamespace

    from regime.bayes.observed import ObservedResults
    from regime.bayes.protocol import ScenarioInputs
    from regime.config import FeatureSpec

    n, horizon = 200, 6
    names = ["easing|low|weak", "tightening|high|strong"]
    post = {
        "mu": np.tile([0.5, -1.0], (1, n, 1)),
        "sigma": np.tile([2.0, 4.0], (1, n, 1)),
        "nu": np.full((1, n), 6.0),
        "mu0": np.zeros((1, n)),
        "tau": np.ones((1, n)),
        "ls0": np.zeros((1, n)),
        "tau_s": np.full((1, n), 0.1),
    }
    model = ObservedResults(
        az.from_dict(posterior=post), SimpleNamespace(names=names, classifier=None), {}
    )
    easing = [-1.0, 2.0, -1.0]  # fedfunds_chg6 (pp), cpi_yoy (%), usd_yoy (%)
    holding = [0.0, 2.0, -1.0]  # "holding|low|weak": never seen in training
    months = pd.period_range("2030-01", periods=horizon, freq="M")

    def macro(rows: list[list[float]]) -> np.ndarray:
        inputs = ScenarioInputs(
            months=months,
            history=pd.DataFrame(),
            levels={},
            features=np.array([rows]),
            feature_names=("fedfunds_chg6", "cpi_yoy", "usd_yoy"),
            named={},
            start=None,
            feature_spec=FeatureSpec(),
        )
        sim = model.simulate(inputs, np.arange(n), np.random.default_rng(3))
        return np.asarray(sim.returns)

    seen = macro([easing] * horizon)
    mixed = macro([easing] * 3 + [holding] * 3)
    np.testing.assert_array_equal(mixed[:, :3], seen[:, :3])
    assert not np.allclose(mixed[:, 3:], seen[:, 3:])


# --------------------------------------------------------------------------- macro regressors


def fed_regressor(panel: Panel, beta: float, n: int = 400) -> MarkovSwitchingResults:
    """Constant transitions and a shared effect ``beta`` of last month's 6-month Fed change."""
    from regime.bayes.markov import prepare_data as prep
    from regime.config import ModelSpec
    from regime.models.api import model_inputs

    spec = ModelSpec(
        kind="markov", k_regimes=2, tvtp_features=(), exog=("fedfunds_chg6",), recon_effect="none"
    )
    inputs = model_inputs(panel, spec)
    post = {
        "mu": np.broadcast_to([0.5, -1.0], (1, n, 2)).copy(),
        "sigma": np.broadcast_to([2.0, 4.0], (1, n, 2)).copy(),
        "beta": np.full((1, n, 1), beta),
        "p": np.broadcast_to([[0.9, 0.1], [0.3, 0.7]], (1, n, 2, 2)).copy(),
        "filtered_last": np.tile([0.8, 0.2], (1, n, 1)),
    }
    res = MarkovSwitchingResults(
        az.from_dict(posterior=post),
        prep(inputs.endog, inputs.exog),
        MarkovSpec(k_regimes=2, switching_variance=True, switching_exog=False),
    )
    res.panel = panel
    return res


def test_markov_regressors_are_last_months_features_in_fit_and_scenario(panel: Panel) -> None:
    """Fit: the regressor of month t is the feature of month t-1. Scenario: on paired samples
    (same regimes and shocks), a Fed path moves month h's return by exactly
    beta * (change of fedfunds_chg6 at h-1), and month 1 not at all."""
    from regime.config import ModelSpec
    from regime.models.api import model_inputs

    inputs = model_inputs(
        panel, ModelSpec(kind="markov", tvtp_features=(), exog=("fedfunds_chg6",))
    )
    feat = panel.frame["fedfunds_chg6"]
    months = inputs.exog.index
    np.testing.assert_array_equal(
        inputs.exog["fedfunds_chg6"].to_numpy(), feat.shift(1).loc[months].to_numpy()
    )
    assert len(inputs.endog) == len(inputs.exog)

    beta, horizon = -0.8, 12
    res = fed_regressor(panel, beta)
    assert res.uses_macro_paths and res.scenario_features == ("fedfunds_chg6",)
    hold = ScenarioSpec(name="hold", horizon=horizon, paths={"fedfunds": {"kind": "hold"}})
    hike = ScenarioSpec(
        name="hike",
        horizon=horizon,
        paths={"fedfunds": {"kind": "linear", "change": 3.0, "months": 6}},
    )
    ds = run(res, [hold, hike], n_samples=400, seed=3)
    np.testing.assert_array_equal(ds["regime"][0], ds["regime"][1])  # paired regimes
    ff = panel.frame["fedfunds"].to_numpy()
    chg6 = {}
    for name in ("hold", "hike"):
        level = np.concatenate([ff, ds["fedfunds"].sel(scenario=name).to_numpy()])
        chg6[name] = (level[6:] - level[:-6])[-horizon - 1 : -1]  # months 0..H-1
    want = beta * (chg6["hike"] - chg6["hold"])
    assert want[0] == 0.0 and abs(want).max() > 1.0
    got = (ds["macro"][1] - ds["macro"][0]).to_numpy()  # (sample, month), float32
    np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), atol=1e-4)


def test_markov_regressor_not_derived_from_macro_is_refused() -> None:
    from regime.config import ModelSpec
    from regime.pipeline import check_scenario_features

    cfg = Config(model=ModelSpec(kind="markov", exog=("recon",)))
    with pytest.raises(BadInputError, match="model.exog 'recon' is not derived from the macro"):
        check_scenario_features(cfg)
    check_scenario_features(Config(model=ModelSpec(kind="markov", exog=("fedfunds_chg6",))))


def test_a_model_saved_with_same_month_regressors_is_refused_in_scenarios(panel: Panel) -> None:
    """Folders saved before regressors were lagged store no exog_lag (from_layout then
    gives 0): their scenarios would shift every regressor by a month, so they are refused
    with one sentence. New folders store the lag."""
    res = fed_regressor(panel, -0.8)
    assert res.layout()[1]["exog_lag"] == 1
    res.exog_lag = 0
    hold = ScenarioSpec(name="hold", horizon=6, paths={"fedfunds": {"kind": "hold"}})
    with pytest.raises(BadInputError, match="same-month exog regressors"):
        run(res, [hold], n_samples=50, seed=0)

"""The model protocol: every kind conforms; the engine calls it; the VAR through the engine."""

from __future__ import annotations

import ast
import inspect
import logging
from pathlib import Path
from types import SimpleNamespace

import arviz as az
import numpy as np
import pandas as pd
import pytest

from regime import _dims as D
from regime.bayes.observed import ObservedResults
from regime.bayes.protocol import ScenarioModel
from regime.bayes.var import MarkovSwitchingVAR, MarkovSwitchingVARResults, macro_block
from regime.config import Config, FeatureSpec
from regime.data.sample import simulate_sample
from regime.errors import BadInputError
from regime.features.panel import Panel, build_panel
from regime.models.io import KINDS, load_model, save_model
from regime.scenarios import ScenarioSpec, run
from regime.scenarios import engine as engine_module
from regime.scenarios.engine import _inputs, streams
from regime.scenarios.paths import build_paths
from tests.bayes import var_sim
from tests.scenarios.test_engine import calm_stress

CHAINS, DRAWS = 2, 40  # posterior draws of the known-parameter VAR (no sampling)


@pytest.fixture(scope="module")
def panel() -> Panel:
    cfg = Config()
    return build_panel(simulate_sample(seed=11)[0], cfg.features, cfg.data)


def known_var(panel: Panel, drop: tuple[str, ...] = ()) -> MarkovSwitchingVARResults:
    """A K=2 VAR on the panel's macro block whose posterior is the simulator's truth:
    regime 0 cuts the Fed funds rate (intercept -0.25 pp a month), regime 1 hikes it."""
    endog = macro_block(panel.frame).drop(columns=list(drop))
    keep = [var_sim.NAMES.index(c) for c in endog.columns]
    tr = var_sim.truth(np.random.default_rng(0), jitter=0.0)
    const, coef = tr.const[:, keep], tr.coef[:, keep][:, :, keep]
    chol = np.stack([np.linalg.cholesky((c @ c.T)[np.ix_(keep, keep)]) for c in tr.chol])
    d = MarkovSwitchingVAR(endog, k_regimes=2, order=1).data
    sd, m = d.sd, d.mean
    post = {
        "c_z": (const + coef[0] @ m - m) / sd,
        "A_z": coef / sd[:, None] * sd[None, :],
        "L_z": chol / sd[:, None],
        "p": tr.p,
    }
    post = {k: np.broadcast_to(v, (CHAINS, DRAWS, *v.shape)).copy() for k, v in post.items()}
    mod = MarkovSwitchingVAR(endog, k_regimes=2, order=1)
    stats = {"diverging": np.zeros((CHAINS, DRAWS), dtype=bool)}
    idata = az.from_dict(posterior=post, sample_stats=stats)
    res = MarkovSwitchingVARResults(idata, mod.data, mod.spec)
    res.add_derived(0)
    res.panel = panel
    return res


def observed(panel: Panel) -> ObservedResults:
    from regime.bayes.observed import ObservedRegimes

    frame = panel.model_frame([D.REL_RETURN, D.LABEL])
    n, k = 30, frame[D.LABEL].nunique()
    post = {
        "mu": np.zeros((1, n, k)),
        "sigma": np.ones((1, n, k)),
        "nu": np.full((1, n), 6.0),
        "mu0": np.zeros((1, n)),
        "tau": np.ones((1, n)),
        "ls0": np.zeros((1, n)),
        "tau_s": np.full((1, n), 0.1),
    }
    res = ObservedResults(
        az.from_dict(posterior=post), ObservedRegimes(frame[D.REL_RETURN], frame[D.LABEL]), {}
    )
    res.panel = panel
    return res


def test_every_kind_conforms_to_the_protocol(panel: Panel) -> None:
    models = [calm_stress(panel), observed(panel), known_var(panel)]
    assert [m.kind for m in models] == ["markov", "observed", "var"]
    assert sorted(KINDS) == ["markov", "observed", "var"]
    for m in models:
        assert isinstance(m, ScenarioModel), m.kind
        assert KINDS[m.kind] is type(m)
    assert not isinstance(SimpleNamespace(kind="markov"), ScenarioModel)
    with pytest.raises(BadInputError, match="not a fitted regime model"):
        run(SimpleNamespace(panel=panel), [ScenarioSpec(name="a")], n_samples=5)


def test_engine_holds_no_model_simulation() -> None:
    """The engine only builds paths, calls model.simulate and adds flows."""
    tree = ast.parse(inspect.getsource(engine_module))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for model_specific in ("standard_t", "standard_normal", "einsum", "stacked", "numba"):
        assert model_specific not in names | attrs, model_specific
    assert "simulate" in attrs
    assert not any(
        isinstance(n, ast.Compare)
        and any(isinstance(c, ast.Constant) and c.value in KINDS for c in n.comparators)
        for n in ast.walk(tree)
    )


def test_saved_var_round_trips_and_simulates_the_same(panel: Panel, tmp_path: Path) -> None:
    res = known_var(panel)
    folder = save_model(res, tmp_path / "var", panel=panel)
    back = load_model(folder)
    assert back.kind == "var" and back.spec == res.spec
    spec = [ScenarioSpec(name="cut", paths={"fedfunds": {"kind": "linear", "change": -1.0}})]
    a = run(res, spec, n_samples=100, seed=1)
    b = run(back, spec, n_samples=100, seed=1)
    np.testing.assert_array_equal(a["cumulative"].values, b["cumulative"].values)


def test_var_hard_fed_path_moves_regimes_and_leaves_free_variables_free(
    panel: Panel, caplog: pytest.LogCaptureFixture
) -> None:
    res = known_var(panel)
    cut = ScenarioSpec(
        name="cut", paths={"fedfunds": {"kind": "linear", "change": -150, "units": "bp"}}
    )
    hike = ScenarioSpec(
        name="hike", paths={"fedfunds": {"kind": "linear", "change": 150, "units": "bp"}}
    )
    base = ScenarioSpec(name="base", baseline=True)
    n = 400
    with caplog.at_level(logging.INFO, logger="regime.scenarios.engine"):
        ds = run(res, [base, cut, hike], n_samples=n, seed=3)
    assert ds.attrs["model_kind"] == "var"
    easing = (ds["regime"] == 0).mean(("sample", "month"))
    # +-150 bp over 12 months (+-0.125 pp a month) lies nearer the Fed mean of regime 1
    # (hikes, +0.39 pp a month in the long run) or 0 (cuts, -0.39) than the other's: most
    # samples take that regime (measured on two panels: cut 0.94-0.99, hike 0.06-0.34)
    assert easing.sel(scenario="cut") > easing.sel(scenario="base") > easing.sel(scenario="hike")
    assert easing.sel(scenario="cut") > 0.8 and easing.sel(scenario="hike") < 0.5
    # the Fed path is the scenario's; the SMC reports its ESS per scenario (none: baseline)
    last = float(panel.frame[D.FEDFUNDS].iloc[-1])
    np.testing.assert_allclose(ds["fedfunds"].sel(scenario="cut")[-1], last - 1.5, atol=1e-9)
    ess = ds["ess"].to_series()
    assert ess["base"] == n and 0 < ess["cut"] <= n and 0 < ess["hike"] <= n
    assert "SMC effective sample size" in caplog.text
    # free variables are drawn, not frozen: their paths vary across samples
    rng = streams(3)
    idx = engine_module._draw_index(CHAINS * DRAWS, n, rng["draws"])
    paths = build_paths(hike, panel.frame, res.scenario_features, n, rng["paths"])
    sim = res.simulate(_inputs(hike, panel, paths, FeatureSpec()), idx, rng["model"])
    assert sim.levels is not None
    assert np.ptp(sim.levels["fedfunds"][:, -1]) < 1e-9  # hard
    assert sim.levels["dollar"][:, -1].std() > 1.0  # index points
    assert sim.levels["inflation"][:, -1].std() > 0.1  # pp
    # kind: hold freezes explicitly
    held = ScenarioSpec(
        name="h", paths={"fedfunds": {"kind": "linear", "change": 1.0}, "dollar": {"kind": "hold"}}
    )
    paths = build_paths(held, panel.frame, res.scenario_features, n, rng["paths"])
    sim = res.simulate(_inputs(held, panel, paths, FeatureSpec()), idx, rng["model"])
    assert sim.levels is not None
    np.testing.assert_allclose(sim.levels["dollar"], float(panel.frame[D.USD].iloc[-1]))


def test_var_macro_fans_named_as_given_free_as_drawn(panel: Panel) -> None:
    """The VAR's fans: a named hard path is the scenario's, without spread; the free
    variables are the model's draws and spread; the baseline draws all three."""
    from regime.scenarios.engine import DRAWN, GIVEN
    from regime.scenarios.summary import QUANTILES

    res = known_var(panel)
    cut = ScenarioSpec(
        name="cut", paths={"fedfunds": {"kind": "linear", "change": -150, "units": "bp"}}
    )
    ds = run(res, [ScenarioSpec(name="base", baseline=True), cut], n_samples=300, seed=3)
    fans = ds["macro_fan"]
    assert (fans.diff(D.QUANTILE) >= 0).all()
    last = float(panel.frame[D.FEDFUNDS].iloc[-1])
    given = last - 1.5 * np.arange(1, 13) / 12
    fed = fans.sel(scenario="cut", variable="fedfunds").values
    np.testing.assert_allclose(fed, np.broadcast_to(given, fed.shape), atol=1e-9)
    width = (fans.sel(quantile=QUANTILES[-1]) - fans.sel(quantile=QUANTILES[0])).isel(month=-1)
    assert float(width.sel(scenario="cut", variable="inflation")) > 0.1  # pp
    assert float(width.sel(scenario="cut", variable="dollar")) > 1.0  # index points
    assert (width.sel(scenario="base") > 0).all()
    source = ds["macro_source"].to_pandas()
    assert source.loc["cut"].tolist() == [GIVEN, DRAWN, DRAWN]
    assert source.loc["base"].tolist() == [DRAWN] * 3
    # the mean paths kept beside the fans lie inside them
    for v in ("fedfunds", "inflation", "dollar"):
        mean = ds[v].sel(scenario="cut")
        band = fans.sel(scenario="cut", variable=v)
        assert (mean >= band.sel(quantile=QUANTILES[0]) - 1e-9).all()
        assert (mean <= band.sel(quantile=QUANTILES[-1]) + 1e-9).all()


def test_var_soft_path_is_near_but_not_on_the_path(panel: Panel) -> None:
    res = known_var(panel)
    soft = ScenarioSpec(
        name="soft", paths={"fedfunds": {"kind": "linear", "change": -1.0, "sd": 0.5}}
    )
    ds = run(res, [soft], n_samples=300, seed=2)
    last = float(panel.frame[D.FEDFUNDS].iloc[-1])
    end = float(ds["fedfunds"].sel(scenario="soft")[-1])
    assert abs(end - (last - 1.0)) < 0.5 and end != pytest.approx(last - 1.0, abs=1e-6)


def test_var_constraint_on_a_missing_variable_is_one_sentence(panel: Panel) -> None:
    res = known_var(panel, drop=("usd_logchg",))
    spec = ScenarioSpec(name="d", paths={"dollar": {"kind": "linear", "change": 5}})
    with pytest.raises(BadInputError) as err:
        run(res, [spec], n_samples=50)
    msg = str(err.value)
    assert "'usd_logchg', which the model does not have" in msg
    assert msg.count(". ") == 0 and msg.endswith(".")


def test_var_refuses_a_start_month(panel: Panel) -> None:
    spec = ScenarioSpec(name="s", start=str(panel.frame.index[-20]))
    with pytest.raises(BadInputError, match="must be 'latest'"):
        run(known_var(panel), [spec], n_samples=20)


def test_var_scenario_and_report_through_the_cli(
    panel: Panel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A saved VAR answers `regime scenario` and `regime report`; a constraint on a variable
    it lacks is one sentence and exit code 2, with nothing written."""
    from regime.cli import main

    monkeypatch.chdir(tmp_path)
    save_model(known_var(panel), tmp_path / "models" / "v", panel=panel)
    save_model(known_var(panel, drop=("usd_logchg",)), tmp_path / "models" / "nod", panel=panel)
    bad = tmp_path / "s.yaml"
    bad.write_text("name: weak\npaths:\n  dollar: {kind: linear, change: -5}\n")
    rc = main(["scenario", "nod", "-s", str(bad), "--samples", "50"])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "which the model does not have" in " ".join(err.split()), err
    assert "Traceback" not in err
    assert not (tmp_path / "reports" / "nod").exists()
    assert main(["scenario", "v", "--samples", "100"]) == 0
    assert main(["report", "v"]) == 0
    html = (tmp_path / "reports" / "v" / "index.html").read_text()
    assert "regime-switching VAR(1)" in html
    table = pd.read_csv(tmp_path / "reports" / "v" / "scenarios" / "summary.csv", index_col=0)
    assert "fed_cut_75" in table.index


@pytest.mark.parametrize(
    ("model", "needle"),
    [
        ({"kind": "var", "exog": ["cpi_yoy"]}, "takes no exog"),
        ({"kind": "var", "k_regimes": 5}, "up to 4"),
        ({"kind": "var", "order": 4}, "model.order"),
    ],
)
def test_var_config_is_validated(model: dict, needle: str) -> None:  # type: ignore[type-arg]
    from regime.config import validate

    with pytest.raises(BadInputError, match=needle):
        validate(Config, {"model": model}, "Config file c.yaml")


def test_var_refuses_a_transition_feature_not_derived_from_macro(panel: Panel) -> None:
    from regime.config import ModelSpec
    from regime.pipeline import check_scenario_features

    cfg = Config(model=ModelSpec(kind="var", tvtp_features=("recon",)))
    with pytest.raises(BadInputError, match="'recon' is not derived from the macro series"):
        check_scenario_features(cfg)
    check_scenario_features(Config(model=ModelSpec(kind="var")))  # the defaults are fine


@pytest.mark.slow
def test_var_config_runs_the_whole_pipeline_on_the_synthetic_sample(tmp_path: Path) -> None:
    """pull -> panel -> fit (VAR) -> save -> scenarios -> report (about 2.5 min on 2 busy
    cores with 2 x (100 + 100) draws)."""
    from regime.config import ModelSpec, ReportSpec
    from regime.pipeline import run_all

    cfg = Config(
        model=ModelSpec(kind="var", draws=100, tune=100, chains=2, n_starts=4, holdout_years=0),
        report=ReportSpec(out_dir=tmp_path / "reports", models_dir=tmp_path / "models"),
    )
    path = run_all(cfg, "v", synthetic=True, compare=False, samples=300)
    assert load_model(tmp_path / "models" / "v").kind == "var"
    assert "regime-switching VAR(1)" in path.read_text()
    table = pd.read_csv(path.parent / "summary.csv", index_col=0)
    assert len(table) == 9 and table["median_12m"].notna().all()


def test_var_filtered_forward_keeps_parameters_and_filters_the_new_months(panel: Panel) -> None:
    """A fit on data to t-24, filtered forward to t, must be the same model as the same
    parameters on the data to t: same parameters in units, same filtered regime
    probabilities at t (the backtest's step between refits)."""
    from regime.features.panel import Panel as P

    short = P(panel.frame.iloc[:-24], panel.meta)
    before = known_var(short)
    full = known_var(panel)
    after = before.filtered_forward(macro_block(panel.frame), random_seed=0)
    assert after.data.nobs == before.data.nobs + 24 == full.data.nobs
    assert after.idata.posterior.sizes["month"] == full.data.nobs  # regime paths: every month
    np.testing.assert_array_equal(
        after.idata.posterior["regime_path"].isel(month=slice(-24, None)).shape[-1], 24
    )
    for name in ("const", "coef", "chol"):
        np.testing.assert_allclose(after._raw()[name], before._raw()[name], rtol=1e-12)
    np.testing.assert_allclose(after.data.history, full.data.history)
    np.testing.assert_allclose(
        after.idata.posterior["filtered_last"], full.idata.posterior["filtered_last"], atol=1e-9
    )
    assert not np.allclose(  # the 24 new months moved the filter
        before.idata.posterior["filtered_last"], after.idata.posterior["filtered_last"]
    )


def test_var_predictive_density_of_the_return_matches_a_filter_by_hand(panel: Panel) -> None:
    """One-step predictive density of one variable: regimes filtered on the whole vector
    (the NumPy Hamilton filter on SciPy's multivariate Normal densities), then the mixture
    of that variable's Normal marginals, from the simulator's truth."""
    from scipy import stats
    from scipy.special import logsumexp

    from regime.regimes.hamilton import hamilton_filter

    res = known_var(panel)
    names = res.data.names
    keep = [var_sim.NAMES.index(c) for c in names]
    tr = var_sim.truth(np.random.default_rng(0), jitter=0.0)
    const, coef = tr.const[:, keep], tr.coef[0][np.ix_(keep, keep)]
    cov = [(c @ c.T)[np.ix_(keep, keep)] for c in tr.chol]
    x = res.data.x
    y, mean = x[1:], const[:, None, :] + (x[:-1] @ coef.T)[None]  # (K, T, n)
    logb = np.stack(
        [
            stats.multivariate_normal.logpdf(y - mean[k], np.zeros(len(names)), cov[k])
            for k in (0, 1)
        ],
        axis=1,
    )
    j = names.index("rel_return")
    marginal = np.stack(
        [stats.norm.logpdf(y[:, j], mean[k][:, j], np.sqrt(cov[k][j, j])) for k in (0, 1)], axis=1
    )
    want = logsumexp(np.log(hamilton_filter(logb, tr.p).predicted) + marginal, axis=1)
    got = res.predictive_logpdf("rel_return")
    assert got.shape == (CHAINS * DRAWS, res.data.nobs)
    np.testing.assert_allclose(got[0], want, atol=1e-8)
    with pytest.raises(BadInputError, match="no variable 'smb'"):
        res.predictive_logpdf("smb")


def test_backtest_filters_a_var_forward_between_refits(panel: Panel) -> None:
    """The backtest's step between refits, for a VAR: the fit made 24 months earlier,
    filtered on the as-of panel, is the same model as the same parameters on that panel."""
    from regime.backtest.engine import _filtered_forward
    from regime.config import ModelSpec
    from regime.features.panel import Panel as P

    before = known_var(P(panel.frame.iloc[:-24], panel.meta))
    cfg = Config(model=ModelSpec(kind="var", tvtp_features=()))
    after = _filtered_forward(before, panel, cfg, seed=0)
    np.testing.assert_allclose(
        after.idata.posterior["filtered_last"],
        known_var(panel).idata.posterior["filtered_last"],
        atol=1e-9,
    )

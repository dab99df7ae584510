"""Regime-switching VAR: exactness vs the NumPy reference, gradients, results, peer, recovery."""

from __future__ import annotations

import os
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest

from regime.bayes.var import (
    MarkovSwitchingVAR,
    MarkovSwitchingVARResults,
    log_emission_numpy,
    macro_block,
    raw_parameters,
)
from regime.errors import BadInputError
from regime.regimes.var_reference import lag_matrix, var_hamilton, var_log_emission
from tests.bayes import var_sim

EXACT = 1e-8  # the acceptance tolerance for log-likelihood agreement
FD_RTOL = 1e-5  # central differences, h = 1e-6, on O(1) unconstrained coordinates


def _frame(rng: np.random.Generator, nobs: int, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        rng.normal(size=(nobs, n)) * [0.3, 0.2, 1.5, 3.0][:n], columns=list("abcd")[:n]
    )


def _model_pieces(mod: MarkovSwitchingVAR, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    model = mod.build_model()
    names = ["loglike", "c_z", "A_z", "L_z"]
    k = mod.k_regimes
    tv = mod.data.tvtp.shape[1] > 0
    if k > 1:
        names.append("a" if tv else "p")
        if tv:
            names.append("b")
    f = model.compile_fn(
        [model[n] for n in names], inputs=model.value_vars, on_unused_input="ignore"
    )
    ip = model.initial_point()
    point = {key: v + rng.normal(0.0, 0.3, size=np.shape(v)) for key, v in ip.items()}
    return model, point, dict(zip(names, f(point), strict=True))


@pytest.mark.parametrize(
    ("k", "order", "switching", "tvtp"),
    [(1, 1, False, False), (2, 2, False, False), (2, 1, True, True), (3, 3, True, False)],
)
def test_loglike_matches_numpy_reference(
    rng: np.random.Generator, k: int, order: int, switching: bool, tvtp: bool
) -> None:
    x = _frame(rng, 90, 3)
    z = pd.DataFrame({"z": rng.normal(size=90)}) if tvtp else None
    mod = MarkovSwitchingVAR(
        x, k_regimes=k, order=order, exog_tvtp=z, switching_coefs=switching, order_by="a"
    )
    _, _, val = _model_pieces(mod, rng)
    d = mod.data
    if k == 1:
        trans = np.ones((1, 1))
    elif tvtp:
        logits = val["a"][None] + np.einsum("tz,ijz->tij", d.tvtp[:-1], val["b"])
        trans = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    else:
        trans = val["p"]
    ref = var_hamilton(d.z[d.p :], lag_matrix(d.z, d.p), val["c_z"], val["A_z"], val["L_z"], trans)
    assert abs(float(val["loglike"]) - ref.loglike) < EXACT


def test_raw_unit_emissions_match_reference(rng: np.random.Generator) -> None:
    mod = MarkovSwitchingVAR(_frame(rng, 80, 3), k_regimes=2, order=2, order_by="a")
    _, _, val = _model_pieces(mod, rng)
    raw = raw_parameters({k: val[k][None] for k in ("c_z", "A_z", "L_z")}, mod.data, 2)
    ours = log_emission_numpy(raw, mod.data)[0]
    d = mod.data
    ref = var_log_emission(d.endog, d.lagged, raw["const"][0], raw["coef"][0], raw["chol"][0])
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    # raw-unit density = standardized density - sum(log sd) (change of variables)
    ref_z = var_log_emission(d.z[d.p :], lag_matrix(d.z, d.p), val["c_z"], val["A_z"], val["L_z"])
    np.testing.assert_allclose(ours, ref_z - np.log(d.sd).sum(), atol=1e-9)


def test_model_gradient_matches_finite_differences(rng: np.random.Generator) -> None:
    mod = MarkovSwitchingVAR(_frame(rng, 60, 3), k_regimes=2, order=1, order_by="a")
    model, point, _ = _model_pieces(mod, rng)
    from pymc.blocking import DictToArrayBijection

    x0 = DictToArrayBijection.map(point)
    fn = model.logp_dlogp_function(ravel_inputs=True)
    fn.set_extra_values({})
    _, grad = fn(x0.data)
    h = 1e-6
    for i in rng.choice(x0.data.size, size=10, replace=False):
        up, dn = x0.data.copy(), x0.data.copy()
        up[i] += h
        dn[i] -= h
        fd = (fn(up)[0] - fn(dn)[0]) / (2 * h)
        assert fd == pytest.approx(grad[i], rel=FD_RTOL, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"order": 4}, "order"),
        ({"order_by": "gdp"}, "order_by"),
        ({"k_regimes": 0}, "k_regimes"),
    ],
)
def test_bad_model_arguments(rng: np.random.Generator, kwargs: dict, needle: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(BadInputError, match=needle):
        MarkovSwitchingVAR(_frame(rng, 80, 3), **kwargs)


def test_bad_data(rng: np.random.Generator) -> None:
    x = _frame(rng, 80, 3)
    with pytest.raises(BadInputError, match="at least 2 variables"):
        MarkovSwitchingVAR(x[["a"]])
    x.iloc[5, 1] = np.nan
    with pytest.raises(BadInputError, match="non-finite"):
        MarkovSwitchingVAR(x)


def _fake_results(rng: np.random.Generator, draws: int = 60):  # type: ignore[no-untyped-def]
    """Results whose 'posterior' is the simulation truth plus small noise (no sampling)."""
    tr = var_sim.truth(rng)
    x, s = var_sim.simulate(rng, tr, 400)
    mod = MarkovSwitchingVAR(x, k_regimes=2, order=1)
    d = mod.data
    sd, m = d.sd, d.mean
    a_z = tr.coef / sd[:, None] * sd[None, :]
    c_z = (tr.const + (tr.coef[0] @ m) - m) / sd
    l_z = tr.chol / sd[:, None]
    shape = (2, draws)

    def jit(v: np.ndarray, scale: float) -> np.ndarray:
        return v + scale * rng.normal(size=(*shape, *v.shape))

    post = {
        "c_z": jit(c_z, 0.01),
        "A_z": jit(a_z, 0.01),
        "L_z": np.broadcast_to(l_z, (*shape, *l_z.shape)).copy(),
        "p": np.broadcast_to(tr.p, (*shape, 2, 2)).copy(),
    }
    idata = az.from_dict(posterior=post)
    res = MarkovSwitchingVARResults(idata, d, mod.spec)
    res.add_derived(0)
    return res, tr, s[1:]


def test_results_describe_and_simulate_from_known_truth(rng: np.random.Generator) -> None:
    res, tr, s = _fake_results(rng)
    assert res.kind == "var"
    desc = res.describe_regimes()
    # regime 0 is the one with the lower Fed funds intercept ("easing")
    assert desc.loc[0, "mean_fedfunds_chg"] < 0 < desc.loc[1, "mean_fedfunds_chg"]
    assert desc["share"].sum() == pytest.approx(1.0)
    hit = (res.smoothed_probabilities[1].to_numpy() > 0.5) == (s == 1)
    assert hit.mean() > 0.85
    np.testing.assert_allclose(
        res.idata.posterior["const"].mean(("chain", "draw")), tr.const, atol=0.05
    )
    assert desc.loc[0, "expected_duration_months"] == pytest.approx(1 / (1 - tr.p[0, 0]))
    fc = res.forecast(horizon=6, n_samples=500)
    assert fc.paths.shape == (500, 6, 4)
    from regime.regimes.conditional import Constraint

    cut = res.forecast([Constraint.path("fedfunds_chg", -0.25 * np.arange(1, 7))], 6, 500)
    # a cutting path makes the easing regime more likely than in the baseline
    assert cut.regime_probabilities()[:, 0].mean() > fc.regime_probabilities()[:, 0].mean()
    st = res.stress(8.0, horizon=6, n_samples=1000)
    assert 0 < st.probability < 0.5


def test_save_load_round_trip(rng: np.random.Generator, tmp_path: Path) -> None:
    res, _, _ = _fake_results(rng, draws=20)
    res.save(tmp_path / "m")
    back = MarkovSwitchingVARResults.load(tmp_path / "m")
    assert back.kind == "var" and back.spec == res.spec
    assert list(back.data.index) == list(res.data.index)
    pd.testing.assert_frame_equal(back.describe_regimes(), res.describe_regimes())
    a = res.forecast(horizon=3, n_samples=200, seed=1)
    b = back.forecast(horizon=3, n_samples=200, seed=1)
    np.testing.assert_allclose(a.paths, b.paths)
    meta = (tmp_path / "m" / "var.json").read_text().replace('"order": 1', '"order": 2')
    (tmp_path / "m" / "var.json").write_text(meta)
    with pytest.raises(BadInputError, match="integrity"):
        MarkovSwitchingVARResults.load(tmp_path / "m")


@pytest.mark.parametrize("k", [1, 2])
def test_lkj_initial_value_is_pymcs_support_point(rng: np.random.Generator, k: int) -> None:
    """The LKJ factors' initval (a number, for speed) equals the support point PyMC would
    derive, so the initial point and every fit from it are PyMC's."""
    from pymc.initial_point import make_initial_point_fn

    model = MarkovSwitchingVAR(_frame(rng, 120, 3), k_regimes=k).build_model()
    ours = model.initial_point()
    derived = make_initial_point_fn(
        model=model, overrides={f"chol_{r}": "support_point" for r in range(k)}
    )(0)
    assert ours.keys() == derived.keys()
    for name, value in ours.items():
        np.testing.assert_array_equal(value, derived[name], err_msg=name)


def test_macro_block_units() -> None:
    idx = pd.period_range("2000-01", periods=4, freq="M")
    frame = pd.DataFrame(
        {
            "fedfunds": [1.0, 1.25, 1.5, 1.5],
            "cpi_yoy": [2.0, 2.1, 2.3, 2.2],
            "usd": [100.0, 101.0, 100.0, 100.0],
            "rel_return": [0.5, -1.0, 2.0, 0.0],
        },
        index=idx,
    )
    out = macro_block(frame)
    assert list(out.index) == list(idx[1:])
    assert out["fedfunds_chg"].tolist() == pytest.approx([0.25, 0.25, 0.0])
    assert out["usd_logchg"].iloc[0] == pytest.approx(100 * np.log(1.01))


# ------------------------------------------------------------------------ peer (real data)


@pytest.mark.slow
@pytest.mark.realdata
def test_k1_matches_statsmodels_ols_on_real_macro_block(raw_dir: Path, tmp_path: Path) -> None:
    from statsmodels.tsa.api import VAR

    from regime.config import Config
    from regime.data.cache import Cache
    from regime.data.csvimport import read_file
    from regime.pipeline import import_series, panel_for
    from tests.test_realdata import PANEL_FILES

    parsed = [s for f in PANEL_FILES for s in read_file(raw_dir / f)]
    series = {s.meta.series_id: s for s in import_series(Cache(tmp_path / "c"), parsed)}
    block = macro_block(panel_for(Config(), series).frame)
    order = 2
    weak = {
        "intercept": {"scale": 10.0},
        "minnesota": {"own": 10.0, "cross": 1.0, "decay": 0.0},
        "lkj": {"eta": 1.0},
        "resid_sd": {"scale": 3.0},
    }
    res = MarkovSwitchingVAR(block, k_regimes=1, order=order, priors=weak).fit(
        draws=1000, tune=1000, chains=2, random_seed=1, progressbar=False
    )
    ols = VAR(block.to_numpy()).fit(order, trend="c")
    post = res.idata.posterior
    # statsmodels: params rows [const, lag1 vars, lag2 vars], columns equations
    coef = post["coef"]  # (chain, draw, lag, equation, variable)
    z = []
    for lag in range(order):
        for i in range(block.shape[1]):
            for j in range(block.shape[1]):
                v = coef.values[:, :, lag, i, j].ravel()
                z.append((v.mean() - ols.params[1 + lag * block.shape[1] + j, i]) / v.std())
    const = post["const"].values[:, :, 0].reshape(-1, block.shape[1])
    z += list((const.mean(0) - ols.params[0]) / const.std(0))
    z_arr = np.abs(np.asarray(z))
    print(f"peer: n={len(z_arr)} max|z|={z_arr.max():.3f} mean|z|={z_arr.mean():.3f}")
    assert z_arr.max() < 2.0


# ------------------------------------------------------------------------ recovery (slow)

NOMINAL = 0.90
# Truths (tests/bayes/var_sim.draw_case), four cases in turn: "macro" (the fixed
# easing/tightening design of var_sim.truth), "prior" (drawn from the default priors,
# truncated to stationary, persistent, occupied regimes), and two hard ones:
# "short_regime" (a crash-like regime, 10-15% of months, 4-6 months long) and
# "close_means" (intercepts 0.3-0.5 sd apart, told apart by volatility). Dataset i has
# its own generator (STUDY_SEED, i), so any one of them can be re-run alone.
# N_DATASETS x 25 scalar parameters (n=3: const 6, coef 9, resid_sd 6, p 4; the two
# entries of a row of p are one interval counted twice).
COVERAGE_BAND = (0.83, 0.96)
HARD_CASES = ("short_regime", "close_means")
# Gate failures a study of 16 may have (sized from the failure rates measured below):
MAX_WELL_IDENTIFIED_FAILURES = 2  # of its 8 macro and prior fits
MAX_FAILURES = 4  # of all 16
N_DATASETS = 16
STUDY_SEED = int(os.environ.get("VAR_RECOVERY_SEED", "1"))  # other studies: set it
# A fit that fails the gates is refitted once as the failed gate tells a user
# (Diagnostics.remedy): twice the draws and tuning, and target_accept 0.99 when the
# divergences gate failed (Diagnostics.refit_settings; tests/bayes/test_recovery.py,
# measured before, refits only longer).
# Measured 2026-11-30, 2 chains x 1000 + 1000, idle 2-core machine: a study takes
# 95-105 s (3-4 s a fit: the model is compiled once and takes each dataset's data).
#   seed 1: coverage 0.910 (400 intervals); gates 15/16: dataset 11 (close_means,
#           T=450) R-hat 1.080, ESS 22, 9 divergences; at 0.99 R-hat 1.119, ESS 13 (the
#           two regimes nearly merge)
#   seed 2: coverage 0.902; gates 16/16, two after a refit: dataset 9 (prior, R-hat
#           1.016, refitted longer) and 14 (short_regime: 12 divergences, R-hat 1.011; at
#           0.99 and twice as long 0 divergences, R-hat 1.006, ESS 431)
#   seed 3: coverage 0.920; gates 15/16: dataset 7 (close_means) R-hat just above 1.01,
#           ESS 281; refitted longer 1.017, ESS 115, 7 divergences
#   seed 4: coverage 0.912; gates 15/16: dataset 10 (short_regime, T=400) 10
#           divergences, R-hat 1.018; at 0.99 R-hat 1.012, ESS 174
#   seed 5: coverage 0.920; gates 16/16
#   seed 6: coverage 0.927; gates 15/16: dataset 13 (prior, T=550) R-hat 1.023, ESS
#           115; refitted longer, 15 divergences
# Pooled over the 6 studies: coverage 0.915 (sd over studies 0.009), 3 binomial sds
# (0.015) from the band's upper end and 5.7 from its lower; gates 92/96 (95.8 %, the
# acceptance's 95 %): macro and prior 47/48, the hard cases 45/48. A study of 16 reaches
# 95 % only with 16/16 (2 of the 6 did), so one study cannot be held to it without
# failing CI often: at 1 failure in 48 well-identified fits, a study's 8 have at least
# one failure 15 % of the time. The bounds: more than 2 of 8 well-identified fits fail
# 1 study in 2000 at the measured rate (1 in 300 at twice it); more than 4 of 16 in all,
# 1 in 3000 (1 in 140 at twice the rates). They catch a collapse, not a drift;
# the 95 % is a measured figure. Refitted only longer, seed 2's short-regime fit failed.
# Before the ordering gap (the helper's studies, 2 chains, no refit rule; first 12
# datasets of study seeds 1, 2, 3):
#   seed 1: coverage 0.930, gates 11/12 (dataset 11, close_means: R-hat 1.074, bulk ESS
#           43, 5 divergences: the two regimes nearly merged); groups const 0.97, coef
#           0.89, resid_sd 0.93, p 0.96
#   seed 2: coverage 0.900, gates 12/12; const 0.92, coef 0.93, resid_sd 0.86, p 0.88
#   seed 3: coverage 0.883, gates 11/12 (dataset 7, close_means: R-hat 1.032, bulk ESS
#           90); const 0.89, coef 0.89, resid_sd 0.85, p 0.92. Dataset 10 (short_regime,
#           T = 400) passed the gates at coverage 0.36: its short regime held 5.5% of
#           the months, its Fed funds intercept 0.21 below the calm regime's, and both
#           chains put it above, so the labels (ordered by that intercept) are swapped
#           against the truth's. A wrong label, not a wrong posterior: the hard cases
#           must fix the ordering variable's gap well outside its posterior sd, or the
#           comparison must match labels.
# Per case, pooled over the 3 studies (9 fits each): macro 0.916, prior 0.907,
# short_regime 0.858 (0.93 without dataset 10 of seed 3), close_means 0.938; gates 9/9,
# 9/9, 9/9, 7/9. Groups pooled: const 0.93, coef 0.90, resid_sd 0.88, p 0.92. Study sd
# from the per-fit spread within cases: 0.032 at 12 datasets, 0.028 at 16 (0.017 / 0.015
# without the swapped-label fit; binomial 0.017 / 0.015); the 3 studies spread 0.883-
# 0.930 (sd 0.024). Pooled mean 0.904: at 16 datasets 2.0 sd (0.028) below the upper
# end of the band and 2.7 above the lower, short of 3; with the label swap removed
# (sd 0.015) 3.7 and 5.0. An earlier draft of the same design (cases prior, prior,
# short_regime, close_means; one generator) measured 0.940 and 0.890 (gates 11/12 both
# times, the short regime at T = 400 failing R-hat 1.017-1.018).
# Gates: 4 of the 30 hard-case fits of the four-case studies and drafts failed (none of
# the others), so "at least 95% passing" over all 16 datasets (16/16) would fail about 2
# runs in 3: hence the ordering gap, the refit rule and the gates asserted on the others.
# The former fixed design alone (var_sim.truth, seed 20261122, 10 datasets): coverage
# 0.848, gates 10/10 (2 x 1000 + 1000); 0.872 but gates 7/10 (R-hat 1.011-1.012) with
# 500 + 500, so fewer draws than 1000 do not pass the R-hat gate. Its undercoverage is
# the design, not the comparison: every truth sits on the same side of the priors (own
# and cross lag coefficients 1-1.75 Minnesota sds out, all positive): coef[0, 1] mean
# z -1.04, coef[1, 1] -0.80, the Fed funds intercept gap widened (z -0.45 / +0.46) to
# carry the persistence the shrunk lags lose, p[1, 1] z -0.58; groups const 0.83, coef
# 0.87, resid_sd 0.90, p 0.75.


def test_recovery_truths_lkj_marginals() -> None:
    """The recovery truths' LKJ(eta) draws: each correlation is marginally
    2 Beta(a, a) - 1 with a = eta - 1 + n / 2 (Lewandowski, Kurowicka and Joe 2009)."""
    from scipy import stats

    rng = np.random.default_rng(7)
    for n, eta in ((3, 2.0), (4, 1.0)):
        c = np.array([var_sim._lkj_corr(rng, n, eta) for _ in range(4000)])
        assert (np.linalg.eigvalsh(c) > 0).all()
        a = eta - 1 + n / 2
        for i, j in ((0, 1), (0, n - 1), (n - 2, n - 1)):
            # KS p-values are uniform under the right law: 1e-3 fails 1 run in 1000 a check
            assert stats.kstest((c[:, i, j] + 1) / 2, stats.beta(a, a).cdf).pvalue > 1e-3


@pytest.mark.slow
def test_var_interval_coverage_and_gates() -> None:
    hits: list[bool] = []
    gates: dict[str, list[bool]] = {}
    for i in range(N_DATASETS):
        rng = np.random.default_rng([STUDY_SEED, i])
        tr, nobs = var_sim.draw_case(rng, i)
        x, _ = var_sim.simulate(rng, tr, nobs)
        case = var_sim.CASES[i % len(var_sim.CASES)]
        mod = MarkovSwitchingVAR(x, k_regimes=2, order=1)
        seed = int(rng.integers(1e6))
        res = mod.fit(draws=1000, tune=1000, chains=2, random_seed=seed, progressbar=False)
        refit = not res.diagnostics.passed
        if refit:  # what the failed gate tells the user (Diagnostics.remedy)
            print(f"dataset {i}: " + "; ".join(res.diagnostics.failures()) + "; refitting")
            again = res.diagnostics.refit_settings(draws=1000, tune=1000, target_accept=0.9)
            res = mod.fit(chains=2, random_seed=seed + 1, progressbar=False, **again)
        gates.setdefault(case, []).append(bool(res.diagnostics.passed))
        if not res.diagnostics.passed:
            print(f"dataset {i}: " + "; ".join(res.diagnostics.failures()))
        post = res.idata.posterior
        cov = tr.chol @ np.swapaxes(tr.chol, -1, -2)
        truths = {
            "const": tr.const,
            "coef": tr.coef,
            "resid_sd": np.sqrt(np.einsum("kii->ki", cov)),
            "p": tr.p,
        }
        for name, true in truths.items():
            v = post[name].values.reshape(-1, *true.shape)
            lo, hi = np.quantile(v, [(1 - NOMINAL) / 2, (1 + NOMINAL) / 2], axis=0)
            hits += list(np.ravel((lo <= true) & (true <= hi)))
        secs = res.info["seconds_total"]
        print(
            f"dataset {i} ({case}, T={nobs}): gates {res.diagnostics.passed}"
            f"{' after a refit' if refit else ''}, {secs:.0f} s, "
            f"running coverage {np.mean(hits):.3f}",
            flush=True,
        )
    coverage = float(np.mean(hits))
    well = [g for c, v in gates.items() if c not in HARD_CASES for g in v]
    every = [g for v in gates.values() for g in v]
    print(
        f"recovery: coverage {coverage:.3f} over {len(hits)} intervals; gates "
        + ", ".join(f"{c} {sum(v)}/{len(v)}" for c, v in gates.items())
    )
    assert COVERAGE_BAND[0] <= coverage <= COVERAGE_BAND[1]
    assert len(well) - sum(well) <= MAX_WELL_IDENTIFIED_FAILURES
    assert len(every) - sum(every) <= MAX_FAILURES

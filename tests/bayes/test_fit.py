"""Fitting: agreement with statsmodels' published MLE, results API, saving, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regime.bayes.observed import ObservedRegimes, fit_gmm
from regime.bayes.switching import MarkovSwitching
from regime.errors import BadInputError
from regime.models.io import load_model, save_model

SMALL = {"draws": 300, "tune": 300, "chains": 2, "progressbar": False}


def fedfunds() -> tuple[np.ndarray, pd.DataFrame]:
    """statsmodels' shipped Fed funds example and Stata's smoothed probabilities."""
    from statsmodels.tsa.regime_switching.tests import test_markov_regression as t

    path = Path(t.__file__).parent / "results" / "results_predict_fedfunds.csv"
    return np.asarray(t.fedfunds, dtype=float), pd.read_csv(path)


def test_fedfunds_posterior_agrees_with_published_mle() -> None:
    y, stata = fedfunds()
    # Stata / statsmodels MLE (test_markov_regression.TestFedFundsConst)
    mle = {
        "p[0,0]": 0.9820939,
        "p[1,0]": 0.0503587,
        "mu[0]": 3.70877,
        "mu[1]": 9.556793,
        "sigma": 2.107562,
    }
    res = MarkovSwitching(pd.Series(y), k_regimes=2).fit(
        draws=1000, tune=1000, chains=2, random_seed=1, progressbar=False
    )
    summ = res.summary()
    for name, value in mle.items():
        mean, sd = summ.loc[name, "mean"], summ.loc[name, "sd"]
        assert abs(mean - value) <= 2 * sd, (name, mean, sd, value)
    ours = res.smoothed_probabilities[1].to_numpy() > 0.5
    theirs = stata["const_sm2"].to_numpy() > 0.5
    assert (ours == theirs).mean() >= 0.95
    assert res.diagnostics.passed, res.diagnostics.failures()


@pytest.fixture(scope="module")
def tvtp_fit():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    n = 300
    z = rng.normal(size=n)
    s = np.zeros(n, dtype=int)
    for t in range(1, n):
        logit = (-3.0 + 1.5 * z[t - 1]) if s[t - 1] == 0 else (-2.0 - 1.0 * z[t - 1])
        s[t] = 1 - s[t - 1] if rng.random() < 1 / (1 + np.exp(-logit)) else s[t - 1]
    y = np.where(s == 0, rng.normal(0.5, 1.0, n), rng.normal(-1.0, 3.0, n))
    idx = pd.period_range("1990-01", periods=n, freq="M")
    mod = MarkovSwitching(
        pd.Series(y, index=idx),
        k_regimes=2,
        exog_tvtp=pd.DataFrame({"fed": z}, index=idx),
        switching_variance=True,
        order_by="sigma",
    )
    return mod.fit(random_seed=3, **SMALL), s


def test_results_api(tvtp_fit) -> None:  # type: ignore[no-untyped-def]
    res, truth = tvtp_fit
    summ = res.summary()
    assert list(summ.columns) == [
        "mean",
        "sd",
        "hdi_5%",
        "hdi_95%",
        "ess_bulk",
        "ess_tail",
        "r_hat",
    ]
    assert {
        "mu[0]",
        "mu[1]",
        "sigma[0]",
        "sigma[1]",
        "a[0,1]",
        "a[1,0]",
        "b[0,1,fed]",
        "b[1,0,fed]",
    } == set(summ.index)
    sm = res.smoothed_probabilities
    assert sm.shape == (300, 2) and isinstance(sm.index, pd.PeriodIndex)
    np.testing.assert_allclose(sm.sum(axis=1), 1.0)
    # regimes overlap (means 0.5 vs -1, sds 1 vs 3): ~85% is what the truth allows
    assert ((sm[1] > 0.5).to_numpy() == (truth == 1)).mean() > 0.75
    assert res.filtered_probabilities.shape == (300, 2)
    assert (res.expected_durations > 1).all()
    post = res.idata.posterior
    assert post["regime_path"].dims == ("chain", "draw", "month")
    assert set(np.unique(post["regime_path"].values)) <= {0, 1}
    assert "y" in res.idata.log_likelihood
    assert summ.loc["b[0,1,fed]", "mean"] > 0  # tightening raises calm->stress
    assert summ.loc["b[1,0,fed]", "mean"] < 0


def test_save_and_load_in_a_fresh_process(tvtp_fit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res, _ = tvtp_fit
    folder = save_model(res, tmp_path / "m")
    code = (
        "import regime, sys; m = regime.load_model(sys.argv[1]); "
        "print(m.idata.posterior['mu'].mean().item(), m.spec.k_regimes, m.data.nobs)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout.split()
    assert float(out[0]) == pytest.approx(float(res.idata.posterior["mu"].mean()))
    assert out[1:] == ["2", "300"]
    back = load_model(folder)
    pd.testing.assert_frame_equal(back.smoothed_probabilities, res.smoothed_probabilities)


def test_load_rejects_tampered_or_foreign_folders(tvtp_fit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res, _ = tvtp_fit
    folder = save_model(res, tmp_path / "m")
    doc = json.loads((folder / "model.json").read_text())
    doc["spec"]["k_regimes"] = 3
    (folder / "model.json").write_text(json.dumps(doc))
    with pytest.raises(BadInputError, match="spec-hash check"):
        load_model(folder)
    doc["format"] = 99
    (folder / "model.json").write_text(json.dumps(doc))
    with pytest.raises(BadInputError, match="format 99"):
        load_model(folder)
    with pytest.raises(BadInputError, match="does not exist"):
        load_model(tmp_path / "nope")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"endog": [1.0, np.nan] * 20}, "non-finite"),
        ({"endog": list(range(10))}, "at least 24"),
        ({"exog": np.ones((10, 1))}, "exog has 10 rows but endog has 40"),
        ({"k_regimes": 1}, "k_regimes must be at least 2"),
        ({"priors": {"mu": {"scael": 1.0}}}, "did you mean 'scale'"),
        ({"priors": {"sigmaa": {}}}, "unknown prior 'sigmaa'"),
        ({"order_by": "sigma"}, "needs switching_variance=True"),
    ],
)
def test_bad_input_is_one_clear_sentence(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    args = {"endog": np.random.default_rng(0).normal(size=40)} | kwargs
    with pytest.raises(BadInputError, match=message):
        MarkovSwitching(**args)


def test_observed_regimes_partial_pooling(rng: np.random.Generator) -> None:
    labels = np.repeat(["a", "b", "c"], [120, 100, 4])
    y = np.where(labels == "a", rng.normal(1.0, 1.0, 224), rng.normal(-1.0, 2.0, 224))
    res = ObservedRegimes(pd.Series(y), labels).fit(random_seed=1, **SMALL)
    summ = res.summary()
    assert summ.loc["mu[a]", "mean"] == pytest.approx(1.0, abs=0.3)
    assert summ.loc["mu[b]", "mean"] == pytest.approx(-1.0, abs=0.5)
    # the 4-month regime is shrunk towards the pooled mean, with a wide interval
    assert summ.loc["mu[c]", "sd"] > summ.loc["mu[a]", "sd"]


def test_gmm_picks_k_by_bic_and_is_deterministic(rng: np.random.Generator) -> None:
    x = np.r_[rng.normal(-3, 0.5, (150, 2)), rng.normal(3, 0.5, (150, 2))]
    frame = pd.DataFrame(x, columns=["f1", "f2"])
    a, b = fit_gmm(frame, ["f1", "f2"]), fit_gmm(frame, ["f1", "f2"])
    assert len(a.weights) == 2
    assert min(a.bic, key=lambda k: a.bic[k]) == 2
    np.testing.assert_array_equal(a.predict(frame), b.predict(frame))
    assert a.means[0, 0] < a.means[1, 0]  # ordered by the first feature


def _rehash(folder: Path, doc: dict) -> None:  # type: ignore[type-arg]
    """Store ``doc`` with a valid hash, as a buggy writer (not a hand edit) would."""
    from regime.config import stable_hash
    from regime.models.io import _hashed_fields

    doc["spec_hash"] = stable_hash(_hashed_fields(doc))
    (folder / "model.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("edit", ["gates", "tvtp_mean", "idata", "panel"])
def test_integrity_hash_covers_diagnostics_layout_and_files(  # type: ignore[no-untyped-def]
    tvtp_fit, tmp_path: Path, edit: str
) -> None:
    """Issue 10 item 8: faked gates, a shifted standardisation or an edited file are caught."""
    res, _ = tvtp_fit
    folder = save_model(res, tmp_path / "m")
    load_model(folder)  # intact
    doc = json.loads((folder / "model.json").read_text())
    if edit == "gates":
        doc["diagnostics"]["gates"] = dict.fromkeys(doc["diagnostics"]["gates"], True)
        doc["diagnostics"]["max_rhat"] = 1.0
    elif edit == "tvtp_mean":
        doc["layout"]["tvtp_mean"] = [m + 1.0 for m in doc["layout"]["tvtp_mean"]]
    if edit in ("gates", "tvtp_mean"):
        (folder / "model.json").write_text(json.dumps(doc))
    elif edit == "idata":
        with open(folder / "idata.nc", "ab") as fh:
            fh.write(b"\0")
    else:
        (folder / "panel.csv").write_text("month,rel_return\n2000-01,9\n")  # planted
    with pytest.raises(BadInputError, match="spec-hash check"):
        load_model(folder)


def test_wrong_length_standardisation_is_one_sentence(tvtp_fit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res, _ = tvtp_fit
    folder = save_model(res, tmp_path / "m")
    doc = json.loads((folder / "model.json").read_text())
    doc["layout"]["tvtp_sd"] = doc["layout"]["tvtp_sd"][:-1]
    _rehash(folder, doc)
    with pytest.raises(BadInputError, match=r"layout\.tvtp_sd"):
        load_model(folder)


def test_a_start_with_an_exactly_flat_coordinate_moves_off_it() -> None:
    """nutpie cannot start where a gradient entry is exactly zero (a June effect fitted on
    months before 1989, whose indicator is all zero, at its prior centre): that coordinate
    moves by FLAT_STEP; any other start is returned as it is (same draws as before)."""
    from regime.bayes.fit import FLAT_STEP, off_flat_gradient

    x = np.array([0.5, 0.0, -1.0])

    def flat_in_the_middle(v: np.ndarray) -> tuple[float, np.ndarray]:
        return 0.0, np.array([1.0, -v[1], 2.0])  # a Normal prior alone at its centre

    moved = off_flat_gradient(flat_in_the_middle, x)
    np.testing.assert_array_equal(moved, [0.5, FLAT_STEP, -1.0])
    assert off_flat_gradient(lambda v: (0.0, np.ones(3)), x) is x


def test_failed_gates_name_their_remedy() -> None:
    """Divergences call for smaller steps, slow mixing for longer chains; the CLI's
    error carries the remedy."""
    from regime.bayes.diagnostics import REFIT_TARGET_ACCEPT, Diagnostics
    from regime.cli import _gate
    from regime.errors import ModelCheckError

    ok = {"rhat": True, "ess": True, "divergences": True, "chains_agree": True}
    base = {"max_rhat": 1.0, "min_ess_bulk": 900.0, "min_ess_tail": 900.0, "divergences": 0}
    slow = Diagnostics(**base, chains_agree=True, n_draws=2000, gates={**ok, "rhat": False})
    assert slow.remedy().startswith("Fit longer")
    div = Diagnostics(
        **{**base, "divergences": 40},
        chains_agree=True,
        n_draws=2000,
        gates={**ok, "divergences": False},
    )
    assert f"target_accept towards {REFIT_TARGET_ACCEPT}" in div.remedy()
    longer = {"draws": 2000, "tune": 1000, "target_accept": 0.9}
    assert slow.refit_settings(1000, 500, 0.9) == longer
    assert div.refit_settings(1000, 1000, 0.9)["target_accept"] == REFIT_TARGET_ACCEPT
    assert div.refit_settings(1000, 1000, 0.995)["target_accept"] == 0.995  # never lowered
    with pytest.raises(ModelCheckError, match="target_accept.*--allow-unconverged"):
        _gate(div.to_dict(), allow=False)
    _gate(div.to_dict(), allow=True)  # a warning only

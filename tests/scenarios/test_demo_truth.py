"""Sanity on the demo's known truth: the model's scenario differences against the
simulator's own conditional expectations (slow: one fit, 2M simulated futures).

Truth (:mod:`tests.scenarios.demo_truth`): from the simulator's true state at the end
of the demo sample (2025-12, tightening), 2M 12-month futures; each built-in
scenario's named level paths (the engine's own :func:`~regime.scenarios.paths.
central_path`; replays use the demo panel's windows) are matched on each named
variable's cumulative change at months 6, 11 and 12 (11: the 12-month return depends
on the changes through month 11, its equation uses lagged changes; 12: the regime of
month 12; 6: the path's shape) by a Gaussian kernel of bandwidth 0.5 and 0.35 x each
summary's sd, local-linear. Finer summaries (months 3, 6, 9, 11, 12) leave too few
effective futures for scenarios naming two or three variables (ESS ~1 at 9 dims).
The baseline is the unconditional mean; unnamed variables stay free, as in the VAR.
Differences are of the compounded 12-month relative return, % points, as the
engine's ``cumulative``. The June effect (+0.3 in 2026-06) changes no difference by
more than 0.03 pp; the engine's reconstitution flows are identical across scenarios
(common random numbers), so they cancel too: both checked.

Model: the default VAR (K=2, TVTP) fitted on the demo panel with 500/500 draws, 2
chains; 4000 samples; mean paired difference against the baseline at month 12.

Measured (2026-11-30; truth: seeds 1-3 x bandwidths 0.5/0.35, the spread over them
and the largest batch-means MC error; ESS at bandwidth 0.35; model: fit and run seeds
0, 1, 2, its MC error ~0.09 pp; "oracle": the truth with the return equation
replaced by its OLS estimate on the demo sample given the true regimes, what one
sample of 636 months can tell; "est sd": the sd of the truth due to that estimate,
a lower bound on the model's estimation error)::

    scenario                 truth  range         +-MC     ESS  model s0/s1/s2     oracle  est sd
    fed_cut_75                -1.05  -1.23..-0.96  0.25    1264  -2.21/-2.49/-2.77   -0.22    0.63
    fed_hold                  -3.36  -3.38..-3.34  0.01  299093  -2.79/-2.90/-2.82   -2.44    0.61
    fed_hike_50               -4.35  -4.38..-4.32  0.01  226042  -3.36/-3.39/-3.29   -3.25    0.79
    inflation_reacceleration  -5.44  -5.67..-5.10  0.41     559  -3.03/-3.29/-3.32   -2.68    1.25
    dollar_surge              -2.81  -2.85..-2.78  0.01  219723  -1.89/-1.98/-1.88   -1.98    0.63
    dollar_slide              +1.84  +1.83..+1.86  0.01  252702  +1.09/+0.95/+1.07   +1.33    0.45
    replay_2019_cuts          -7.94  -8.13..-7.80  0.13    2664  -1.98/-2.01/-2.00   -4.81    1.56
    replay_2022_hikes         +4.04  +3.95..+4.19  0.25     861  +0.57/+0.38/+0.36   +2.31    1.08

Shift of the share of the year in tightening (regime 1) against the baseline, truth /
model (mean over seeds): fed_cut_75 +0.02 / +0.27, fed_hold +0.20 / +0.31,
fed_hike_50 +0.25 / +0.33, inflation_reacceleration +0.17 / +0.14, dollar_surge
+0.15 / +0.10, dollar_slide -0.09 / -0.02, replay_2019_cuts +0.39 / -0.01,
replay_2022_hikes -0.18 / -0.14.

The June effect moves no true difference by more than 0.022 pp; the model's flows are
identical across scenarios and move no difference by more than 0.01 pp. The model's
median paired differences (``diff_median_12m``) are within 0.35 pp of its means.

Reading: signs agree everywhere. For the fed, dollar and inflation scenarios the model
gives 52-86 % of the truth, about what the sample's own return equation gives (oracle): the
demo path of 636 months estimates regime means of the return +0.24 / -0.10 (simulator
+0.40 / -0.30) and a CPI coefficient of +0.03 (se 0.31; simulator -0.6). fed_cut_75 is
the one the model overstates (-2.5 vs -1.05): it reads "cut only 75 bp (the baseline
expects -1.4 pp), inflation held, dollar -5 %" as tightening (+0.27 of the year),
the simulator hardly (+0.02). The replays are a real gap beyond that noise (xfail,
non-strict): the model's answer is 25 % (2019) and 10 % (2022) of the truth and below
the oracle. Variants of the 2019 replay on the same fit (seed 0) locate it in the
inflation channel of the regime inference: inflation replayed alone, truth -5.3 pp
with +0.18 more of the year in tightening (the simulator's Fed follows inflation up,
+2.3 pp, and high inflation drives tightening through the TVTP), model +0.9 pp with
-0.18 (the VAR's regimes carry the inflation change's mean, +0.11 / -0.13 pp a month,
so rising YoY inflation reads as easing, and its Fed rises only +0.4 pp); the Fed
replay alone, truth -6.7, model -2.8 (same sign). The simulator's CPI YoY is derived
from an index with a persistent trend (a 12-month sum, not a VAR(1) variable) and its
Fed has an error-correction pull to 1 + CPI YoY: both outside the VAR. The fitted
regimes also last 8-11 months against the simulator's ~21 (TVTP intercepts ~-2 vs -3),
which weakens every regime-channel effect. The 2022 replay splits the same way (truth /
model, seed 0): Fed alone +4.9 / +1.8, inflation alone +2.6 / -0.4 (the model's
tightening share +0.15, the simulator's -0.04; with the sample's CPI coefficient of
~0 the falling inflation buys no return either), dollar alone -1.3 / -0.8, all three
+4.0 / +0.6. So: a named inflation path moves the model's regimes the opposite way
to the simulator's, and large Fed moves are attenuated to ~40 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from regime.config import Config
from regime.data.sample import simulate_sample
from regime.pipeline import panel_for, synthetic_series
from regime.scenarios import builtin_scenarios, run
from tests.scenarios import demo_truth as T

pytestmark = pytest.mark.slow

TRUTH_SEED = 1
BANDWIDTHS = (0.5, 0.35)  # x each summary's sd; their spread enters the truth's error
KERNEL_MONTHS = (6, 11, 12)
MIN_ESS = 300  # effective futures the kernel must keep (measured >= 559 at 0.35)
FIT_SEED = RUN_SEED = 0
DRAWS = 500  # draws and tune per chain, 2 chains
N_SAMPLES = 4000
# A truth is "clearly non-zero" beyond CLEAR_SDS of its own error and CLEAR_FLOOR pp
# (the MC error of the model's mean difference is ~0.09 pp; 0.5 pp is > 5 of those).
CLEAR_SDS = 3.0
CLEAR_FLOOR = 0.5
# Sizes agree within max(SIZE_FLOOR, SIZE_SDS x the combined sd of: the truth's error,
# the model's MC error and seed spread (0.15 pp measured) and the return equation's
# estimation sd from one demo sample). The last dominates (0.45-1.6 pp): the model can
# only learn what one 636-month sample says, e.g. a CPI coefficient of +0.03 (se 0.31)
# where the simulator has -0.6.
SIZE_FLOOR = 1.0
SIZE_SDS = 3.0
MODEL_SEED_SD = 0.15
TRUTH_ERR_MAX = 0.75  # pp
JUNE_TOL = 0.05  # pp: the June effect / flows may change a difference by at most this
# Replays: the model's difference is a quarter (2019) and a tenth (2022) of the truth,
# and beyond the sample's return-equation estimate too (oracle -4.8 / +2.3 vs model
# -2.0 / +0.4). For 2019 the regime channel parts them (the simulator puts +0.39 of
# the year more in tightening, the model -0.01); see the module docstring.
REPLAY_GAP = (
    "Known gap: the fitted VAR gives 25 % (2019) and 10 % (2022) of the simulator's "
    "difference, beyond the demo sample's estimation noise; diagnosis in the docstring."
)


@dataclass(frozen=True)
class Truth:
    diff: float  # pp, the mean over the bandwidths
    err: float  # pp, sqrt(MC error^2 + spread over the bandwidths^2)
    ess: float  # smallest Kish ESS over the bandwidths
    june: float  # pp, largest change of the difference from the June effect
    est_sd: float  # pp, estimation sd of the return equation (see demo_truth.estimation_sd)


@pytest.fixture(scope="module")
def panel() -> Any:
    return panel_for(Config(), synthetic_series())


@pytest.fixture(scope="module")
def futures() -> T.Futures:
    return T.simulate_futures(TRUTH_SEED)


@pytest.fixture(scope="module")
def truth(panel: Any, futures: T.Futures) -> dict[str, Truth]:
    _, regimes = simulate_sample()
    _, cov = T.return_equation_cov(panel.frame, regimes)
    out = {}
    for spec in builtin_scenarios():
        target = T.scenario_targets(spec, panel.frame)
        if not target:
            continue
        ys = {"all": futures.mean_cum, "no_june": futures.mean_cum_no_june}
        both = [T.conditional_diffs(futures, target, bw, KERNEL_MONTHS, ys) for bw in BANDWIDTHS]
        est = [b["all"] for b in both]
        no_june = [b["no_june"] for b in both]
        diffs = np.array([e.diff for e in est])
        out[spec.name] = Truth(
            diff=float(diffs.mean()),
            err=float(np.hypot(max(e.se for e in est), np.ptp(diffs))),
            ess=min(e.ess for e in est),
            june=max(abs(e.diff - j.diff) for e, j in zip(est, no_june, strict=True)),
            est_sd=T.estimation_sd(futures, target, cov, BANDWIDTHS[0], KERNEL_MONTHS),
        )
    return out


@pytest.fixture(scope="module")
def model_run(panel: Any) -> Any:
    from regime.models.api import fit_spec

    cfg = Config()
    res = fit_spec(
        panel, cfg.model, draws=DRAWS, tune=DRAWS, chains=2, seed=FIT_SEED, progressbar=False
    )
    res.panel = panel
    return run(res, builtin_scenarios(), n_samples=N_SAMPLES, seed=RUN_SEED, features=cfg.features)


@dataclass(frozen=True)
class ModelDiff:
    diff: float  # pp, mean paired difference at month 12
    se: float
    no_flow: float  # the same without the reconstitution flows


@pytest.fixture(scope="module")
def model(model_run: Any) -> dict[str, ModelDiff]:
    ds = model_run
    names = [str(n) for n in ds.scenario.values]
    base = names.index(ds.attrs["baseline"])
    cum = ds["cumulative"].values[:, :, -1].astype(float)
    macro = ds["macro"].values.astype(float)
    no_flow = 100.0 * (np.prod(1.0 + macro / 100.0, axis=-1) - 1.0)
    out = {}
    for i, n in enumerate(names):
        d = cum[i] - cum[base]
        out[n] = ModelDiff(
            float(d.mean()),
            float(d.std() / np.sqrt(len(d))),
            float((no_flow[i] - no_flow[base]).mean()),
        )
    return out


def _clear(t: Truth) -> bool:
    return abs(t.diff) > max(CLEAR_SDS * t.err, CLEAR_FLOOR)


def _tolerance(t: Truth, m: ModelDiff) -> float:
    sd = np.sqrt(t.err**2 + m.se**2 + MODEL_SEED_SD**2 + t.est_sd**2)
    return float(max(SIZE_FLOOR, SIZE_SDS * sd))


def test_truth_is_well_estimated(futures: T.Futures, truth: dict[str, Truth]) -> None:
    # Rao-Blackwellisation: the return equation's mean compounds to the realised mean
    raw_se = futures.raw_cum.std() / np.sqrt(len(futures.raw_cum))
    assert abs(futures.raw_cum.mean() - futures.mean_cum.mean()) < 4 * raw_se
    for name, t in truth.items():
        assert t.ess >= MIN_ESS, name
        # stable over bandwidths: measured <= 0.41 MC error, <= 0.57 spread over seeds x bws
        assert t.err < TRUTH_ERR_MAX, name


def test_june_effect_and_flows_cancel(
    truth: dict[str, Truth], model_run: Any, model: dict[str, ModelDiff]
) -> None:
    assert max(t.june for t in truth.values()) < JUNE_TOL
    flow = model_run["flow"].values
    np.testing.assert_array_equal(flow, np.broadcast_to(flow[:1], flow.shape))
    for name, m in model.items():
        assert abs(m.diff - m.no_flow) < JUNE_TOL, name


def test_signs_match_the_truth(truth: dict[str, Truth], model: dict[str, ModelDiff]) -> None:
    clear = [n for n, t in truth.items() if _clear(t)]
    assert len(clear) >= 6  # measured: all 8 non-baseline scenarios
    for name in clear:
        m = model[name]
        assert np.sign(m.diff) == np.sign(truth[name].diff), (name, m, truth[name])
        assert abs(m.diff) > 2 * m.se, (name, m)


@pytest.mark.parametrize(
    "name",
    [
        "fed_cut_75",
        "fed_hold",
        "fed_hike_50",
        "inflation_reacceleration",
        "dollar_surge",
        "dollar_slide",
        pytest.param("replay_2019_cuts", marks=pytest.mark.xfail(strict=False, reason=REPLAY_GAP)),
        pytest.param("replay_2022_hikes", marks=pytest.mark.xfail(strict=False, reason=REPLAY_GAP)),
    ],
)
def test_sizes_agree_roughly(
    name: str, truth: dict[str, Truth], model: dict[str, ModelDiff]
) -> None:
    t, m = truth[name], model[name]
    assert abs(m.diff - t.diff) <= _tolerance(t, m), (name, m, t, _tolerance(t, m))


@pytest.mark.parametrize(
    ("high", "low"),
    [("dollar_slide", "dollar_surge"), ("fed_hold", "fed_hike_50"), ("fed_cut_75", "fed_hike_50")],
)
def test_clearly_separated_pairs_keep_their_order(
    high: str, low: str, truth: dict[str, Truth], model: dict[str, ModelDiff]
) -> None:
    gap = truth[high].diff - truth[low].diff
    assert gap > max(CLEAR_SDS * np.hypot(truth[high].err, truth[low].err), CLEAR_FLOOR)
    model_gap = model[high].diff - model[low].diff
    assert model_gap > 2 * np.hypot(model[high].se, model[low].se), (high, low, model_gap)

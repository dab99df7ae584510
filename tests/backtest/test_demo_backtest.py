"""Demo backtest acceptance (issue 12): the true model family on the synthetic sample.

The demo sample (:func:`regime.data.sample.simulate_sample`, seed ``SAMPLE_SEED``,
1973-01..2025-12) is a two-regime switching VAR of the Fed funds change, the
CPI-YoY change, the dollar log change and the relative return, its regimes
driven by lagged macro levels (TVTP on fedfunds_chg6, cpi_yoy, usd_yoy). The
relative return's predictable part is the regime mean (+0.4 / -0.3 % per
month, sd 3.2 / 2.6) and last month's macro changes (-0.9 x Fed, -0.6 x CPI
YoY, -0.12 x dollar). The configured default model (``var``, K=2, TVTP, order
1) is its family (mildly misspecified: the simulator's inflation and
error-correction terms and the June effect are outside the VAR). Nothing of the
model is changed here.

Design (the acceptance's "enough origins"):

* horizons 1 and 12. At h=1 forecasts made at consecutive origins do not overlap,
  so the n 90 % coverage indicators are close to independent, with binomial sd
  ``sqrt(0.09 / n)`` = 0.0145 for n = 431: coverage is judged there. 12 months is
  the horizon of the scenario questions and of the engine's verdict;
* origins 1990-01..2025-11 (431; 420 at 12 months), refits every 108 months (4
  fits: 1990-01, 1999-01, 2008-01, 2017-01), the VAR's regime filter run forward on
  every variable in between (the engine's ``filtered_forward``). On a stationary
  process refitting more often only buys precision from a few more years of data;
  the fits are the cost (below);
* 500 draws (2 chains x 500 after 500 tuning; also 500 forecast samples) and
  ``n_starts = 8`` MAP starts instead of the library's 32 (the VAR class's own
  default; the MAP only starts NUTS, which tunes for 500 iterations from it): a
  32-start MAP costs more than the sampling itself and the backtest fits four
  times. The library defaults are untouched;
* both kinds: ``unconditional`` (the model's own forecast, nothing after the
  origin) and ``conditional`` (the realised macro path after the origin given as a
  hard scenario, the engine's test of the scenario machinery).

"Beats the constant baseline". History of the assertion, all of it before any
change to the model (there was none): first, before measuring, the h=1
unconditional log score, more than ``BEAT_SE`` = 2 paired SEs below the
constant's. Measured (table 1), it never was, and a power calculation showed it
cannot be on 431 months (below). Second, again fixed before measuring it: the
verdict's own comparison, conditional forecasts at 12 months in CRPS, 2 SEs. It
is better than the constant in every run on the demo sample, but by 0.6-1.5 SEs
(tables 2 and 3), and on one of two other samples it is worse. Both stay
as an expected failure (``..._by_two_standard_errors``), kept so the suite
reports when they start to hold (XPASS) and so nobody tunes the model to them.
What is asserted (``test_true_family_beats_the_constant_baseline``): the engine's
verdict on the demo says the model's 12-month conditional forecasts *beat* the
constant (lower mean CRPS), and their log score is higher too. The demo data are
fixed, so what varies between machines is the fit and the forecast draws: over
three fit seeds (table 3) the CRPS difference is -0.306 with sd 0.044 (7 sds from
zero), the log score difference -0.051 with sd 0.015 (3.4 sds).

The demo sample changed on 2026-11-30: the simulator's inflation cycles are now
made by its regimes (``regime.data.sample``), and the sample is seed 8, chosen by
its end state as before. Tables 1 and 2 are the previous simulator (demo seed
20260125; seeds 1 and 2 other samples of it); table 3 is the current demo sample,
measured after the assertions were fixed and unchanged by it.

Table 1, measured before fixing the assertions, h=1 only, per sample seed of the
previous simulator (20260125 was the demo sample; the others are the same process,
other draws). Differences are model minus constant per month at h=1 with their paired
SE (negative favours the model); cover90 of the unconditional (conditional)
forecasts:

========  =====  =============  ==============  ==============  ==============  ==============
seed      refit  cover90 U (C)  U log score     U CRPS          C log score     C CRPS
========  =====  =============  ==============  ==============  ==============  ==============
20260125  108    0.903 (0.898)  -0.015 ± 0.009  -0.027 ± 0.014  -0.001 ± 0.012  -0.012 ± 0.018
20260125  72     0.910 (0.905)  -0.015 ± 0.010  -0.029 ± 0.014  +0.001 ± 0.013  -0.016 ± 0.018
1         108    0.889 (0.893)  -0.033 ± 0.035  -0.013 ± 0.016  -0.031 ± 0.028  -0.015 ± 0.018
2         108    0.912 (0.916)  -0.015 ± 0.010  -0.017 ± 0.015  +0.009 ± 0.014  +0.004 ± 0.019
========  =====  =============  ==============  ==============  ==============  ==============

All runs: 431 origins 1990-01..2025-11, h=1, 500 draws, 8 MAP starts; U =
unconditional, C = conditional; the constant's own cover90 is 0.900, 0.893 and
0.907 for seeds 20260125, 1 and 2. The primary difference (U log score) is
-1.6, -0.9 and -1.5 paired SEs. Forecasts from the simulator's *true*
parameters and the *true* regime of the origin month (see below), against the
same constant forecasts: log score -0.027 ± 0.011, -0.056 ± 0.039, -0.031 ±
0.013; CRPS -0.041 ± 0.018, -0.026 ± 0.019, -0.033 ± 0.018 (seeds 20260125, 1,
2).

Table 2, this module's design (horizons 1 and 12), 2026-11-30, demo sample; fit
seed = the spec's ``seed`` (fit, filter and forecast draws); 12-month
differences, model minus constant, in CRPS (pp of cumulative return) and log
score (nats), paired SEs with 11 HAC lags, 420 origins:

=========  ================  ================  ================  ================
fit seed   C CRPS            C log score       U CRPS            U log score
=========  ================  ================  ================  ================
0          -0.370 ± 0.255    -0.065 ± 0.045    -0.028 ± 0.119    -0.001 ± 0.019
1          -0.295 ± 0.265    -0.050 ± 0.048    -0.092 ± 0.115    -0.012 ± 0.022
2          -0.307 ± 0.258    -0.052 ± 0.048    -0.094 ± 0.112    -0.007 ± 0.022
=========  ================  ================  ================  ================

12-month 90 % coverage in those runs: 0.874-0.879 for the constant, 0.881-0.895
for the model (both kinds); h=1 log score U -0.007, -0.003, -0.008 (± 0.010).
CRPS at 12 months: constant 5.84-5.87, model conditional 5.50-5.56. Other samples
of the simulator (sample seeds 1 and 2, fit seed 0), 12-month conditional: CRPS
-0.543 ± 0.392 and +0.116 ± 0.315, log score -0.102 ± 0.071 and +0.015 ± 0.045
(seed 2, a more volatile sample, constant CRPS 7.17 and its 90 % coverage 0.82:
the true family *loses* there, within one SE); at h=1 unconditional, log score
-0.017 ± 0.012 and -0.024 ± 0.016. So the demo sample's "beat" is what one
35-year sample of this process shows, not a property of every such sample: the
family's 12-month conditional gain over the samples is about 0.25 pp of CRPS
against a per-sample SE of about 0.3. The demo seed was chosen for its end state
(late-2025-like levels, ``regime.data.sample``) before any backtest was run.
Run time of this module, 2 workers: about 350 s wall (690 CPU-s) on an idle
2-core machine.

Table 3, the current demo sample (seed 8), 2026-11-30, the same design and
columns as table 2:

=========  ================  ================  ================  ================
fit seed   C CRPS            C log score       U CRPS            U log score
=========  ================  ================  ================  ================
0          -0.294 ± 0.470    -0.056 ± 0.078    -0.175 ± 0.299    -0.042 ± 0.055
1          -0.355 ± 0.472    -0.062 ± 0.075    -0.155 ± 0.300    -0.043 ± 0.053
2          -0.269 ± 0.467    -0.034 ± 0.074    -0.147 ± 0.299    -0.031 ± 0.050
=========  ================  ================  ================  ================

h=1 90 % coverage 0.919, 0.912, 0.910 (conditional 0.910, 0.903, 0.910); h=1
unconditional log score -0.016 ± 0.013, -0.000 ± 0.016, +0.001 ± 0.013. A more
volatile 1990-2025 than the previous sample's: CRPS at 12 months constant
7.47-7.50, model conditional 7.15-7.20; 12-month 90 % coverage 0.81 for the
constant and 0.80-0.84 for the model (overlapping 12-month windows: 420 origins
hold about 35 independent years). Run time about 150 s wall per run, 2 workers.

* Coverage: every run inside [0.85, 0.95] (h=1: 0.889-0.919; the binomial sd is
  0.0145, so the worst is 2.1 sd inside the band), the conditional ones too.
* Why no 2-SE beat (measured on the previous demo sample, seed 20260125; the
  current one gains less against its noise): the effect is small against 431
  months of noise. The predictable part of next month's relative return (regime mean, last month's
  macro changes, June) has an sd of about 0.6 % against the return's 2.8 %, an R2
  of 4-5 %, worth about 0.02-0.03 nats a month. Forecasts from the simulator's
  TRUE parameters and the TRUE regime of the origin month (an upper bound: the
  model must filter the regime; 500 samples, the same kernel-density log score)
  beat the constant on the demo seed by only -0.027 ± 0.011 (log score) and
  -0.041 ± 0.018 (CRPS), t = -2.3; a fitted model keeps about half of that (the
  posterior sd of the return's regime means is 0.25-0.28 in a fit as of 2008-01,
  against a true gap of 0.7). Given the realised macro path the 12-month forecast
  knows the sum of eleven months of Fed, inflation and dollar changes that move the
  return (-0.9, -0.6, -0.12 per unit) and much about the regime path: a CRPS 5-6 %
  below the constant's, about 1.3 SEs of 420 overlapping origins. A 2-SE beat at
  either horizon would need roughly 2.5 times more origins than the sample has
  (at the measured t of about 1.3-1.6, with SEs falling as 1 / sqrt(n)), a
  3-SE one about five times; on the current sample (t 0.6-0.75 at 12 months,
  CRPS 4 % below the constant's) 7-11 times.
* Conditional forecasts at h=1 do *not* beat the constant by more, and need not:
  the simulator's return shock is independent of the macro shocks and last
  month's changes are known at the origin, so month t+1's macro values only tell
  about the regime of t+1, which persists (mean spell 21-22 months). Even the
  true-parameter forecast gains nothing from them (+0.001 ± 0.001 nats, demo
  seed). The fitted VAR loses by conditioning (conditional minus unconditional log
  score +0.014 ± 0.007, +0.002 ± 0.010, +0.024 ± 0.013 for seeds 20260125, 1, 2):
  given the same month's macro shocks it moves the return forecast through its
  fitted, regime-specific contemporaneous correlations (dollar-return 0.16 and
  -0.18 in a fit of the demo sample as of 2008-01, about 2 posterior sd from the
  true 0), a shift of sd 0.35 % that is the same for two forecast seeds
  (correlation 0.99; SMC effective sample size median 458 of 500) and unrelated
  to the outcome (correlation with the error -0.04..0.04 over the seeds).
  Estimation noise, not an engine artefact.

Old demo sample (univariate Markov switching of the relative return, Markov
default model, refits every 36 months, 431 origins): coverage 0.87-0.90 over
seeds and start years, no beat either (log score +0.004 ± 0.016, CRPS -0.008
± 0.009 on its demo seed; its two return regimes overlapped too much).
"""

from __future__ import annotations

import pytest

from regime.backtest import REFERENCE, REGIME_MODEL
from regime.backtest import engine as E
from regime.backtest.verdict import judge
from regime.config import Config
from regime.pipeline import synthetic_series

pytestmark = pytest.mark.slow

SPEC = E.BacktestSpec(
    start="1990-01",
    refit_every=108,
    horizons=(1, 12),
    models=(REFERENCE, REGIME_MODEL),
    draws=500,
    seed=0,
)
N_STARTS = 8  # MAP starts per refit (library default 32; see the module docstring)
NOMINAL90 = (0.85, 0.95)  # issue 12: 90 % coverage within sampling error of nominal
MIN_ORIGINS = 400  # binomial sd of 90 % coverage <= 0.015: the band is >= 3.3 sd wide
BEAT_SE = 2.0  # "beats by two standard errors" (expected failure, see the docstring)
VERDICT = (12, "conditional")  # the horizon and kind of the engine's verdict


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> E.BacktestResult:
    out = tmp_path_factory.mktemp("demo") / "demo" / "backtest"
    cfg = Config()
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"n_starts": N_STARTS})})
    assert cfg.model.kind == "var"  # the simulator's family is the default model
    result = E.run_backtest(synthetic_series(), cfg, SPEC, out, workers=2)
    assert not result.failures
    for _, d in result.differences.iterrows():
        print(
            f"\nh={d['horizon']} {d['kind']} {d['metric']}, model - constant: "
            f"{d['difference']:+.4f} ± {d['se']:.4f}"
        )
    return result


def _row(demo: E.BacktestResult, kind: str = "unconditional", horizon: int = 1) -> dict[str, float]:
    s = demo.scores
    sel = (s["model"] == REGIME_MODEL) & (s["horizon"] == horizon) & (s["kind"] == kind)
    return dict(s.loc[sel].iloc[0])


def _difference(demo: E.BacktestResult, kind: str, metric: str, horizon: int) -> dict[str, float]:
    d = demo.differences
    sel = (
        (d["model"] == REGIME_MODEL)
        & (d["horizon"] == horizon)
        & (d["kind"] == kind)
        & (d["metric"] == metric)
    )
    return dict(d.loc[sel].iloc[0])


def test_true_family_has_nominal_coverage(demo: E.BacktestResult) -> None:
    row = _row(demo)
    cond = _row(demo, "conditional")
    print(
        f"\ndemo backtest: {row['n']} origins, 90% coverage {row['cover90']:.3f} "
        f"(conditional {cond['cover90']:.3f})"
    )
    assert row["n"] >= MIN_ORIGINS
    assert NOMINAL90[0] <= row["cover90"] <= NOMINAL90[1]


def test_true_family_beats_the_constant_baseline(demo: E.BacktestResult) -> None:
    """The verdict: 12-month conditional forecasts beat the constant in CRPS and log score."""
    found = judge(demo.differences)
    assert found is not None
    print("\n" + found.text)
    assert (found.model, found.horizon, found.kind) == (REGIME_MODEL, *VERDICT)
    assert found.n >= MIN_ORIGINS
    assert not found.loses
    assert _difference(demo, VERDICT[1], "log_score", VERDICT[0])["difference"] < 0


@pytest.mark.xfail(
    reason="measured: on the demo sample the true family beats the constant baseline at 12 "
    "months (conditional CRPS) in every run, but by 0.6-0.75 paired SEs, and at h=1 (log "
    "score) it is between 1.2 SEs better and 0.1 SE worse; even the simulator's true "
    "parameters gain only 1.4-2.4 SEs at h=1 (see the module docstring); not tuned to pass",
    strict=False,
)
def test_true_family_beats_the_constant_by_two_standard_errors(demo: E.BacktestResult) -> None:
    for horizon, kind, metric in ((1, "unconditional", "log_score"), (*VERDICT, "crps")):
        diff = _difference(demo, kind, metric, horizon)
        assert diff["n"] >= MIN_ORIGINS
        assert diff["difference"] + BEAT_SE * diff["se"] < 0

"""Simulation-based calibration of the default priors (Talts et al. 2018; Modrák et al. 2023).

For K=2 with constant and with time-varying transitions: draw the parameters from the
default prior (``_jobs.draw_prior``, NumPy, written from the documented priors), simulate
``T_MONTHS`` months, fit the model exactly as a user would (multi-start MAP, then NUTS),
and record the rank of each true parameter among ``L_DRAWS`` thinned posterior draws.
If the prior, the likelihood and the sampler are all right, each rank is uniform on
0..L_DRAWS.

Test: per scalar parameter a chi-square test of the ranks in ``BINS`` equal bins; a
parameter family (mu, sigma, p; mu, sigma, a, b) fails when its smallest p-value,
Bonferroni-corrected over its members and over all families of both models, is below
``LEVEL``: the 1% level is family-wise over the whole study, so a calibrated model
fails it on 1 machine in 100, not on 1 in 10 as seven separate 1% tests would.

Data-scaled priors depend on the sample mean and sd of ``endog``; SBC needs a prior
that does not, so the fits pass ``prior_reference=(0, 1)`` and the truths are drawn
with the same reference: the prior is the default prior for data in units of their sd.

``SBC_FITS`` (environment) sets the fits per model (default 200, the study in the
README; CI runs 100; below 80 fits the test uses 5 bins instead of 10); the ranks
go to ``tests/benchmarks/results/sbc.json`` with a histogram figure ``sbc.png`` beside it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from tests.bayes import _jobs

pytestmark = pytest.mark.slow

T_MONTHS = 120
DRAWS = 500  # per chain, after as many tuning steps
CHAINS = 2
L_DRAWS = 99  # thinned posterior draws per fit: ranks 0..99
LEVEL = 0.01  # family-wise over the whole study
N_FITS = int(os.environ.get("SBC_FITS", "200"))
# at least 8 expected ranks per bin for the chi-square approximation: 10 bins for the
# full study, 5 for CI's subset
BINS = 10 if N_FITS >= 80 else 5
RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
CASES = {"constant": 0, "tvtp": 1}  # number of TVTP features
ORDER_BY = "sigma"  # as in configs/default.yaml


def sbc_fit(case: str, n_z: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    truth = _jobs.draw_prior(rng, 2, n_z, ORDER_BY, 0.0, 1.0)
    z = _jobs.features(rng, T_MONTHS, max(n_z, 1))[:, :n_z]
    s, y = _jobs.simulate_path(rng, truth, z if n_z else np.zeros((T_MONTHS, 0)))
    names = tuple(f"z{m}" for m in range(n_z))
    scalars = _jobs.scalar_truths(truth, bool(n_z), names)
    t0 = time.perf_counter()
    out = _jobs.fit_and_summarise(
        y,
        z if n_z else None,
        2,
        ORDER_BY,
        seed,
        DRAWS,
        CHAINS,
        reference=(0.0, 1.0),
        keep_draws=L_DRAWS,
    )
    ranks = {name: int(np.sum(np.asarray(out["draws"][name]) < v)) for name, v in scalars.items()}
    return {
        "case": case,
        "seed": seed,
        "ranks": ranks,
        "passed_gates": out["diagnostics"]["passed"],
        "divergences": out["diagnostics"]["divergences"],
        "min_ess_bulk": out["diagnostics"]["min_ess_bulk"],
        "visited": int(np.bincount(s, minlength=2).min()),
        "seconds": time.perf_counter() - t0,
    }


def family(name: str) -> str:
    return name.split("[")[0]


def chi_square(ranks: np.ndarray) -> float:
    counts = np.bincount(ranks * BINS // (L_DRAWS + 1), minlength=BINS)
    return float(stats.chisquare(counts).pvalue)


def analyse(fits: list[dict]) -> dict:
    """Per-parameter chi-square p-values and the family-wise verdict."""
    per: dict[str, dict[str, float]] = {}
    for case in CASES:
        ranks: dict[str, list[int]] = {}
        for f in fits:
            if f["case"] == case:
                for name, r in f["ranks"].items():
                    ranks.setdefault(name, []).append(r)
        per[case] = {name: chi_square(np.asarray(r)) for name, r in ranks.items()}
    n_families = sum(len({family(n) for n in p}) for p in per.values())
    families = {}
    for case, pvals in per.items():
        for fam in sorted({family(n) for n in pvals}):
            members = [p for n, p in pvals.items() if family(n) == fam]
            adjusted = min(1.0, min(members) * len(members) * n_families)
            families[f"{case}:{fam}"] = {"min_p": min(members), "adjusted_p": adjusted}
    return {"parameters": per, "families": families, "n_families": n_families}


def figure(fits: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure

    names = {c: sorted({n for f in fits if f["case"] == c for n in f["ranks"]}) for c in CASES}
    ncol = max(len(v) for v in names.values())
    fig = Figure(figsize=(2.0 * ncol, 4.2), layout="constrained")
    axes = fig.subplots(len(CASES), ncol, squeeze=False)
    for row, case in enumerate(CASES):
        n = sum(f["case"] == case for f in fits)
        band = stats.binom.ppf([0.005, 0.995], n, 1 / BINS)
        for col in range(ncol):
            ax = axes[row, col]
            if col >= len(names[case]):
                ax.set_axis_off()
                continue
            name = names[case][col]
            r = np.asarray([f["ranks"][name] for f in fits if f["case"] == case])
            ax.axhspan(*band, color="0.85")
            ax.hist(r, bins=np.linspace(0, L_DRAWS + 1, BINS + 1), color="C0")
            ax.set_title(f"{case} {name}", fontsize=8)
            ax.set_yticks([])
    fig.suptitle(f"SBC rank histograms (grey: 99% band per bin), {n} fits per model")
    fig.savefig(path, dpi=80)


def test_default_priors_are_calibrated() -> None:
    jobs = [
        {"case": case, "n_z": n_z, "seed": 1000 * (i + 1) + n_z}
        for i in range(N_FITS)
        for case, n_z in CASES.items()
    ]
    t0 = time.perf_counter()
    fits = _jobs.run_jobs(sbc_fit, jobs)
    wall = time.perf_counter() - t0
    verdict = analyse(fits)
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {
        "design": {
            "k_regimes": 2,
            "months": T_MONTHS,
            "chains": CHAINS,
            "draws_per_chain": DRAWS,
            "thinned_draws": L_DRAWS,
            "bins": BINS,
            "level_familywise": LEVEL,
            "fits_per_model": N_FITS,
            "order_by": ORDER_BY,
        },
        "wall_seconds": wall,
        "gates_passed": {c: sum(f["passed_gates"] for f in fits if f["case"] == c) for c in CASES},
        **verdict,
        "fits": fits,
    }
    (RESULTS / "sbc.json").write_text(json.dumps(doc, indent=1))
    figure(fits, RESULTS / "sbc.png")
    for name, fam in verdict["families"].items():
        print(f"SBC {name}: min p {fam['min_p']:.4f}, adjusted {fam['adjusted_p']:.3f}")
    print(f"SBC: {len(fits)} fits in {wall:.0f} s; gates passed {doc['gates_passed']}")
    failing = [n for n, f in verdict["families"].items() if f["adjusted_p"] < LEVEL]
    assert not failing, f"miscalibrated families: {failing}"

"""Parameter recovery on simulated data with known truth (slow; run by .ci/run).

Designs (``DESIGNS``): persistent regimes that differ in mean and scale (K=2 and 3,
constant and TVTP, 400-800 months), short-lived K=2 regimes (persistence 0.5-0.7 in
both regimes, the case a sticky prior gets wrong), and K=2 truths drawn from the
default prior itself (``_jobs.draw_prior``), so the study is not confined to where the
prior sits. Fits run as a user's would (default priors, 4 chains, multi-start MAP),
two worker processes at a time.

Margins (``RECOVERY_SEED`` picks the study's master seed). Measured with seeds 1, 2 and 3
on 2-core machines (seed 1 also in two fresh-clone CI runs: the same coverage, with 2 and
3 fits needing the longer refit):
- 90% HDI coverage: overall 0.927, 0.907 and 0.910 over 354 intervals, band [0.83, 0.96]
  (the binomial sd of 354 intervals at 0.90 is 0.016); per family mu 0.88/0.88/0.90,
  sigma 0.91/0.91/0.92, p 0.97/0.92/0.87, a 0.95/0.93/0.95, b 0.95/0.90/0.92 over 60-86
  intervals each (binomial sd 0.03-0.04). The p family moves most between seeds (62
  intervals). A family fails below 0.80 (too confident), or above what nominal coverage
  makes plausible for its count: the 99.95% quantile of Binomial(n, 0.90) / n
  (``family_upper``; 1.0 for 62 intervals, 85/86 for 86). The former fixed upper bound
  of 0.98 was two binomial sds for the p family, no margin: with the numba Ops of
  session 8 (other rounding, other draws) CI's seed-1 study covered 61 of 62 p
  intervals, which happens in 1.2 % of such studies even at exactly nominal coverage.
- Gates at 1000 draws: 2-3, 1 and 1 of 37 designs failed, all persistent K=3 designs whose
  chains agreed but mixed slowly (R-hat over 1.01, bulk ESS under 400). A failed gate
  tells a user to fit longer, and the study does the same: such a fit is refitted once
  with twice the draws, and only a design that still fails counts against
  ``MAX_GATE_FAILURES`` (the acceptance criterion's "one or two" of 37). The printout
  says how many needed the longer fit: with it, 36, 36 and 37 of 37 passed (seed 1 in two
clones, seed 3), the one failure each time the same K=3 TVTP design at 800 months.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.bayes import _jobs

pytestmark = pytest.mark.slow

NOMINAL = 0.90
COVERAGE_BAND = (0.83, 0.96)
FAMILY_LOWER = 0.80
FAMILY_UPPER_TAIL = 0.0005  # per family and study: over-coverage beyond this is flagged


def family_upper(n: int) -> float:
    """Highest plausible coverage of ``n`` intervals at nominal coverage (see docstring)."""
    from scipy import stats

    return float(stats.binom.ppf(1.0 - FAMILY_UPPER_TAIL, n, NOMINAL)) / n


MAX_GATE_FAILURES = 2
DRAWS = 1000
CHAINS = 4  # MarkovSwitching.fit's default; the gates ask ESS >= 400 of all chains together
MEANS = np.array([0.6, -0.3, -1.8])  # % per month: calm, normal, stressed
SD_RATIOS = np.array([1.0, 2.2, 4.5])
SEED = int(os.environ.get("RECOVERY_SEED", "1"))

# (kind, k_regimes, tvtp, months, how many)
DESIGNS = [
    ("persistent", 2, False, 400, 8),
    ("persistent", 3, False, 600, 6),
    ("persistent", 2, True, 600, 10),
    ("persistent", 3, True, 800, 6),
    ("short", 2, False, 400, 3),
    ("prior", 2, False, 400, 2),
    ("prior", 2, True, 600, 2),
]


def design_truth(rng: np.random.Generator, kind: str, k: int, n_z: int) -> dict[str, np.ndarray]:
    off = ~np.eye(k, dtype=bool)
    if kind == "prior":
        return _jobs.draw_prior(rng, k, n_z, "sigma", 0.0, 1.0)
    a = np.zeros((k, k))
    if kind == "short":  # staying probability 0.5-0.7 in every regime (K=2)
        stay = rng.uniform(0.5, 0.7, k)
        a[off] = np.log((1.0 - stay) / stay)
    else:  # switching probability ~0.05 per month, regimes lasting ~1.5 years
        a[off] = rng.normal(-3.0, 0.4, k * (k - 1))
    b = np.zeros((k, k, n_z))
    b[off] = rng.normal(0.0, 0.8, (k * (k - 1), n_z))
    return {
        "mu": MEANS[:k] + rng.normal(0.0, 0.1, k),
        "sigma": rng.uniform(0.9, 1.1, k) * SD_RATIOS[:k],
        "a": a,
        "b": b,
    }


def recovery_fit(kind: str, k: int, tvtp: bool, n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n_z = 1 if tvtp else 0
    truth = design_truth(rng, kind, k, n_z)
    z = _jobs.features(rng, n, 1)[:, :n_z]
    _, y = _jobs.simulate_path(rng, truth, z)
    args = (y, z if tvtp else None, k, "sigma", seed)
    ref = (0.0, 1.0) if kind == "prior" else None
    out = _jobs.fit_and_summarise(*args, DRAWS, CHAINS, reference=ref)
    refit = not out["diagnostics"]["passed"]
    if refit:  # what a failed gate tells the user: fit longer (twice the draws and tuning)
        out = _jobs.fit_and_summarise(*args, 2 * DRAWS, CHAINS, reference=ref)
    summ = out["summary"]
    hits = {}
    for name, value in _jobs.scalar_truths(truth, tvtp, ("z0",)).items():
        if name in summ:
            hits[name] = bool(summ[name]["hdi_5%"] <= value <= summ[name]["hdi_95%"])
    label = f"{kind} K={k} tvtp={tvtp} n={n}"
    return {
        "design": label,
        "hits": hits,
        "diagnostics": out["diagnostics"],
        "warnings": out["warnings"],
        "refit": refit,
    }


def test_interval_coverage_and_gates() -> None:
    jobs = [
        {"kind": kind, "k": k, "tvtp": tvtp, "n": n, "seed": SEED * 100_000 + 1000 * d + i}
        for d, (kind, k, tvtp, n, count) in enumerate(DESIGNS)
        for i in range(count)
    ]
    fits = _jobs.run_jobs(recovery_fit, jobs)
    families: dict[str, list[bool]] = {}
    failed = []
    for f in fits:
        for name, inside in f["hits"].items():
            families.setdefault(name.split("[")[0], []).append(inside)
        if not f["diagnostics"]["passed"]:
            failed.append(f["design"] + ": " + str(f["diagnostics"]["gates"]))
        for w in f["warnings"]:
            print(f"{f['design']}: {w}")
    every = [h for fam in families.values() for h in fam]
    coverage = float(np.mean(every))
    by_family = {fam: float(np.mean(h)) for fam, h in families.items()}
    print(
        f"seed {SEED}: coverage {coverage:.3f} over {len(every)} intervals ["
        + ", ".join(f"{f} {c:.2f} ({len(families[f])})" for f, c in by_family.items())
        + f"]; {len(fits) - len(failed)}/{len(fits)} fits passed the gates, "
        + f"{sum(f['refit'] for f in fits)} of them after fitting twice as long"
    )
    for line in failed:
        print("failed gates:", line)
    assert COVERAGE_BAND[0] <= coverage <= COVERAGE_BAND[1]
    outside = {
        f: (c, family_upper(len(families[f])))
        for f, c in by_family.items()
        if not FAMILY_LOWER <= c <= family_upper(len(families[f]))
    }
    assert not outside, f"families outside [{FAMILY_LOWER}, upper]: {outside}"
    assert len(failed) <= MAX_GATE_FAILURES

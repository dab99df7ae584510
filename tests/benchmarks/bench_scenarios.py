"""Scenario engine benchmark: 4000 posterior draws x 10 scenarios x 36 months.

Run: ``python -m tests.benchmarks.bench_scenarios [--out FILE]``. Target <= 2 s
for the whole run (``regime.scenarios.run``: paths, transitions, regimes,
emissions, flows, cumulation). Baseline measured in the same run: the regime
simulation written as a NumPy loop over months (vectorised over samples),
compared with the numba kernel on the same inputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import arviz as az
import numpy as np

from regime.bayes.markov import MarkovSpec, prepare_data
from regime.bayes.switching import MarkovSwitchingResults, simulate_regimes
from regime.config import Config
from regime.data.sample import simulate_sample
from regime.features.panel import build_panel
from regime.scenarios import run
from regime.scenarios.spec import ScenarioSpec, builtin_scenarios
from tests.benchmarks._common import best_of, write_json

DRAWS, N_SCEN, HORIZON, K = 4000, 10, 36, 2
TARGET_S = 2.0


def fake_model() -> MarkovSwitchingResults:
    """A TVTP posterior with 4000 draws around the demo sample's values."""
    cfg = Config()
    panel = build_panel(simulate_sample()[0], cfg.features, cfg.data)
    feats = list(cfg.model.tvtp_features)
    frame = panel.model_frame(["rel_return", *feats])
    data = prepare_data(frame["rel_return"], exog_tvtp=frame[feats])
    rng = np.random.default_rng(0)
    off = ~np.eye(K, dtype=bool)
    a = np.zeros((DRAWS, K, K))
    a[:, off] = rng.normal(-3, 0.3, (DRAWS, K * (K - 1)))
    b = np.zeros((DRAWS, K, K, len(feats)))
    b[:, off] = rng.normal(0, 0.5, (DRAWS, K * (K - 1), len(feats)))
    post = {
        "mu": rng.normal([0.4, -0.5], 0.1, (DRAWS, K)),
        "sigma": rng.normal([2.3, 4.2], 0.1, (DRAWS, K)),
        "a": a,
        "b": b,
        "filtered_last": rng.dirichlet([3, 1], DRAWS),
    }
    idata = az.from_dict(posterior={k: v[None] for k, v in post.items()})
    res = MarkovSwitchingResults(idata, data, MarkovSpec(k_regimes=K, switching_variance=True))
    res.panel = panel
    return res


def numpy_regimes(start: np.ndarray, trans: np.ndarray, u: np.ndarray) -> np.ndarray:
    n, k = start.shape
    state = (u[:, :1] > np.cumsum(start, axis=1)).sum(axis=1).clip(max=k - 1)
    out = np.empty((n, u.shape[1] - 1), dtype=np.int8)
    rows = np.arange(n)
    for h in range(u.shape[1] - 1):
        cum = np.cumsum(
            trans[rows if trans.shape[0] > 1 else 0, min(h, trans.shape[1] - 1), state], axis=-1
        )
        state = (u[:, h + 1 : h + 2] > cum).sum(axis=1).clip(max=k - 1)
        out[:, h] = state
    return out


def main(out: Path | None = None) -> dict[str, object]:
    model = fake_model()
    # built-ins without the 12-month replays, plus soft variants, to make ten
    specs = [
        s.model_copy(update={"horizon": HORIZON})
        for s in builtin_scenarios()
        if not s.name.startswith("replay")
    ]
    for i in range(N_SCEN - len(specs)):
        specs.append(
            ScenarioSpec(
                name=f"soft{i}",
                horizon=HORIZON,
                paths={"fedfunds": {"kind": "linear", "change": 0.25 * (i + 1), "sd": 0.3}},
            )
        )
    run(model, specs[:1], n_samples=100)  # compile the numba kernels
    t_run = best_of(lambda: run(model, specs, n_samples=DRAWS, seed=1), repeat=3)
    # kernel vs NumPy baseline on identical inputs
    rng = np.random.default_rng(0)
    start = rng.dirichlet([1, 1], DRAWS)
    trans = rng.dirichlet([8, 1], (DRAWS, HORIZON, K))
    u = rng.random((DRAWS, HORIZON + 1))
    np.testing.assert_array_equal(simulate_regimes(start, trans, u), numpy_regimes(start, trans, u))
    t_kernel = best_of(lambda: simulate_regimes(start, trans, u))
    t_numpy = best_of(lambda: numpy_regimes(start, trans, u))
    path_months = DRAWS * N_SCEN * HORIZON
    result = {
        "draws": DRAWS,
        "scenarios": N_SCEN,
        "horizon": HORIZON,
        "run_s": t_run,
        "path_months_per_s": path_months / t_run,
        "regime_kernel_path_months_per_s": DRAWS * HORIZON / t_kernel,
        "numpy_baseline_path_months_per_s": DRAWS * HORIZON / t_numpy,
        "kernel_speedup_vs_numpy": t_numpy / t_kernel,
        "target_s": TARGET_S,
        "meets_target": t_run <= TARGET_S,
    }
    write_json("scenarios", result, out)
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=None)
    main(ap.parse_args().out)

"""The configured VAR in the hold-out comparison: scored like the univariate candidates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from regime.config import Config, ModelSpec
from regime.data.sample import simulate_sample
from regime.features.panel import build_panel
from regime.models.compare import _holdout_lpd, candidates


def test_var_is_a_candidate_scored_on_the_held_out_returns() -> None:
    cfg = Config()
    panel = build_panel(simulate_sample(seed=11)[0], cfg.features, cfg.data)
    spec = ModelSpec(kind="var", k_regimes=2, tvtp_features=())
    assert "VAR(1) K=2" in candidates(spec)
    assert not any(c.kind == "var" for c in candidates(ModelSpec(kind="markov")).values())
    lpd, n = _holdout_lpd(panel, spec, 2, draws=60, tune=60, chains=1, seed=0, baseline=False)
    base, _ = _holdout_lpd(panel, spec, 2, draws=60, tune=60, chains=1, seed=0, baseline=True)
    assert n == 24 and lpd.shape == base.shape == (24,)
    assert np.isfinite(lpd).all()
    # a predictive density of a ~3 %-sd return: per-month log scores of the same order
    assert abs(lpd.mean() - base.mean()) < 1.0


def test_candidate_sets() -> None:
    """``regime demo`` scores the VAR against the baselines only; ``regime run`` also
    against the four univariate Markov models."""
    var = ModelSpec(kind="var", k_regimes=2)
    full, short = candidates(var, "full"), candidates(var, "baselines")
    assert set(short) == {"observed regimes", "VAR(1) K=2"}
    assert set(full) - set(short) == {
        "markov K=2 constant",
        "markov K=2 TVTP",
        "markov K=3 constant",
        "markov K=3 TVTP",
    }
    assert set(candidates(ModelSpec(kind="markov"), "baselines")) == {"observed regimes"}


def test_comparison_parts_and_their_merge() -> None:
    """The main model's kind fits late (forked once the main model is compiled); the
    merged table is the one a single run gives: ``vs_baseline`` across the parts."""
    from regime.models.compare import (
        BASELINE,
        comparison_parts,
        comparison_table,
        merge_comparisons,
    )

    early, late = comparison_parts(ModelSpec(kind="var", k_regimes=2), "baselines")
    assert [n for n, _ in early] == ["observed regimes", BASELINE]
    assert [n for n, _ in late] == ["VAR(1) K=2"]
    _, late_m = comparison_parts(ModelSpec(kind="markov"), "full")
    assert {c.kind for _, c in late_m if c is not None} == {"markov"} and len(late_m) == 4

    def row(name: str, lpd: float) -> dict[str, object]:
        return {"model": name, "holdout_months": 24, "lpd": lpd, "lpd_per_month": lpd / 24}

    a = comparison_table([row(BASELINE, -60.0), row("observed regimes", -61.0)])
    b = comparison_table([row("VAR(1) K=2", -58.5)])
    assert np.isnan(b["vs_baseline"]).all()
    merged = merge_comparisons(a, b)
    whole = comparison_table(
        [row(BASELINE, -60.0), row("observed regimes", -61.0), row("VAR(1) K=2", -58.5)]
    )
    pd.testing.assert_frame_equal(merged, whole)
    assert list(merged.index) == ["VAR(1) K=2", BASELINE, "observed regimes"]
    assert merged.loc["VAR(1) K=2", "vs_baseline"] == 1.5

"""``fit_and_save`` runs the hold-out comparison in two forked parts around the main fit
(stubbed fits: this tests the orchestration, not the models)."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import regime.models.api
import regime.models.compare
import regime.models.io
from regime import pipeline
from regime.bayes.fit import MAP_STEP
from regime.config import Config
from regime.errors import BadInputError
from regime.models.compare import BASELINE, comparison_table


def _row(name: str, lpd: float) -> dict[str, Any]:
    return {"model": name, "holdout_months": 60, "lpd": lpd, "lpd_per_month": lpd / 60}


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake_fit(panel: Any, spec: Any, **kw: Any) -> Any:
        progress = kw.get("progress")
        if progress is not None:
            progress(MAP_STEP, 0, 4)  # the main model is compiled: the late part starts
            progress(MAP_STEP, 4, 4)
        return types.SimpleNamespace(kind="var")

    def fake_save(result: Any, folder: Path, **kw: Any) -> None:
        seen["comparison"] = kw["comparison"]

    monkeypatch.setattr(regime.models.api, "fit_spec", fake_fit)
    monkeypatch.setattr(regime.models.io, "save_model", fake_save)
    monkeypatch.chdir(tmp_path)
    return seen


def _fake_comparison(fail_late: bool) -> Any:
    def fake(panel: Any, spec: Any, **kw: Any) -> pd.DataFrame:
        if kw["part"] == "early":
            return comparison_table([_row(BASELINE, -140.0), _row("observed regimes", -141.0)])
        if fail_late:
            raise BadInputError("late part failed.")
        return comparison_table([_row("VAR(1) K=2", -139.0)])

    return fake


@pytest.mark.parametrize("fork", [True, False])
def test_parts_merge_into_one_table(
    stubs: dict[str, Any], monkeypatch: pytest.MonkeyPatch, fork: bool
) -> None:
    import regime.bayes.parallel

    monkeypatch.setattr(regime.models.compare, "holdout_comparison", _fake_comparison(False))
    if not fork:  # the parts then run in this process when their results are asked for
        monkeypatch.setattr(regime.bayes.parallel, "can_fork", lambda: False)
    cfg = Config()
    panel = pipeline.panel_for(cfg, pipeline.synthetic_series())
    counts: list[tuple[float, float]] = []
    pipeline.fit_and_save(
        cfg,
        panel,
        "parts",
        comparison="baselines",
        progressbar=False,
        steps=lambda step, k, n: counts.append((k, n)) if step == "hold-out comparison" else None,
    )
    table = stubs["comparison"]
    assert list(table.index) == ["VAR(1) K=2", BASELINE, "observed regimes"]
    assert table.loc["VAR(1) K=2", "vs_baseline"] == 1.0  # against the early part's baseline
    assert counts and counts[-1] == (3, 3)  # every fit counted, whether forked or not


def test_a_failing_part_fails_the_fit_and_nothing_is_saved(
    stubs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(regime.models.compare, "holdout_comparison", _fake_comparison(True))
    cfg = Config()
    panel = pipeline.panel_for(cfg, pipeline.synthetic_series())
    with pytest.raises(BadInputError, match="late part failed"):
        pipeline.fit_and_save(cfg, panel, "parts", comparison="baselines", progressbar=False)
    assert "comparison" not in stubs

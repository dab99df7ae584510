"""Backtest on the real snapshots (skipped when absent): the machinery, not the result."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from regime.backtest.engine import BASELINES, BacktestSpec, run_backtest
from regime.config import Config
from regime.data.cache import Cache
from regime.data.csvimport import read_file
from regime.pipeline import import_series
from tests.test_realdata import PANEL_FILES

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_real_backtest_2000_on_annual_refits(
    raw_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parsed = [s for f in PANEL_FILES for s in read_file(raw_dir / f)]
    series = {s.meta.series_id: s for s in import_series(Cache(tmp_path / "c"), parsed)}
    spec = BacktestSpec(start="2000-01", refit_every=12, models=BASELINES, draws=200, seed=0)
    res = run_backtest(series, Config(), spec, tmp_path / "real" / "backtest", workers=2)
    table = pd.read_csv(tmp_path / "real" / "backtest" / "scores.csv")
    assert len(table) == len(BASELINES) * len(spec.horizons)
    assert table["n"].min() > 250  # 2000-01 to the last month with a 12-month outcome
    assert table[["crps", "log_score", "cover50", "cover90"]].notna().all().all()
    assert res.verdict.startswith("Over 2000-01 to ")
    with capsys.disabled():
        print(f"\nreal-data verdict: {res.verdict}")

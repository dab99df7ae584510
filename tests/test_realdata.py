"""Acceptance on the real FRED / Ken French snapshots (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from regime import _dims as D
from regime.cli import main
from regime.config import Config
from regime.data.cache import Cache
from regime.data.csvimport import read_file
from regime.pipeline import import_series, panel_for

pytestmark = pytest.mark.realdata

PANEL_FILES = (
    "FEDFUNDS_monthly_1954-2026_liquiditymonitor.csv",
    "CPIAUCSL_monthly_1980-2025_codexmacro.csv",
    "TWEXBMTH_monthly_1973-2019.csv",
    "DTWEXBGS_daily_2006-2026_thecoderstef.csv",
    "FF_Research_Data_Factors_monthly_1926-2025.csv",
)


def test_every_real_file_imports(raw_dir: Path, tmp_path: Path) -> None:
    files = sorted(raw_dir.glob("*.csv"))
    assert len(files) >= 17
    # CPI and dollar vintages differ by seasonal-factor revisions: the newest file wins
    rc = main(
        ["data", "import", *map(str, files), "--prefer", "new", "--cache-dir", str(tmp_path / "c")]
    )
    assert rc == 0
    cache = Cache(tmp_path / "c")
    ids = cache.ids()
    for sid in (
        "FEDFUNDS",
        "CPIAUCSL",
        "CPILFESL",
        "PCEPILFE",
        "DTWEXBGS",
        "TWEXBMTH",
        "TWEXMMTH",
        "SP500",
        "F-F_Research_Data_Factors:SMB",
        "Portfolios_Formed_on_ME:Dec 2",
        "FRED-MD:CPIAUCSL",
    ):
        assert sid in ids, sid
    # the three CPI files combine: long history, newest vintage at the end, the gap kept
    cpi = cache.get("CPIAUCSL")
    assert cpi.first == "1947-01" and cpi.last == "2026-06"
    assert "2025-10" in cpi.meta.missing


@pytest.fixture
def real_panel(raw_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    parsed = [s for f in PANEL_FILES for s in read_file(raw_dir / f)]
    cache = Cache(tmp_path / "c")
    series = {s.meta.series_id: s for s in import_series(cache, parsed)}
    return panel_for(Config(), series), series


def test_known_values(real_panel, raw_dir: Path) -> None:  # type: ignore[no-untyped-def]
    panel, series = real_panel
    frame = panel.frame
    assert series["FEDFUNDS"].values[pd.Period("1981-06", "M")] == pytest.approx(19.10)
    assert frame.loc["1981-06", D.FEDFUNDS] == pytest.approx(19.10)  # lag 0
    ff = pd.read_csv(raw_dir / PANEL_FILES[-1], index_col=0)
    assert frame.loc["2020-11", D.REL_RETURN] == pytest.approx(float(ff.loc[202011, "SMB"]))


def test_dollar_yoy_has_no_gap_from_1974(real_panel) -> None:  # type: ignore[no-untyped-def]
    panel, _ = real_panel
    usd = panel.frame.loc["1974-01":, D.USD_YOY]
    assert usd.notna().all()
    assert usd.index[-1] == pd.Period(panel.meta.end, "M")


def test_panel_ends_at_last_common_month_and_reports_october_2025(real_panel) -> None:  # type: ignore[no-untyped-def]
    panel, series = real_panel
    # FEDFUNDS to 2026-05, CPI to 2025-11 (+1 lag), dollar to 2026-07, SMB to 2025-11
    assert panel.meta.end == "2025-11"
    assert "2025-10" in panel.meta.missing["CPIAUCSL"]
    assert series["CPIAUCSL"].meta.missing == ("2025-10",)

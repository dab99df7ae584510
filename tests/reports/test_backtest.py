"""The scenario report's view of the latest backtest (regime.reports.backtest), without a model."""

from __future__ import annotations

from pathlib import Path

from regime.backtest import REFERENCE
from regime.backtest import engine as E
from regime.reports.backtest import latest_backtest
from tests.backtest.test_report import tiny_result


def test_no_backtest_folder_no_block(tmp_path: Path) -> None:
    assert latest_backtest(tmp_path, {}, synthetic=True) is None


def test_baselines_only_backtest_says_nothing_about_the_model(tmp_path: Path) -> None:
    E._write(tiny_result(models=(REFERENCE, "bootstrap")), tmp_path / "backtest")
    block = latest_backtest(tmp_path, {}, synthetic=True)
    assert block is not None and block["href"] == "backtest/index.html"
    assert block["verdict"] == "" and not block["loses"]
    assert "did not compare the regime model" in block["notes"][0]


def test_losing_model_on_other_data_raises_no_alarm(tmp_path: Path) -> None:
    E._write(tiny_result(regime_bias=6.0), tmp_path / "backtest")
    meta = {"config": {"model": {"kind": "markov"}}}
    block = latest_backtest(tmp_path, meta, synthetic=False)
    assert block is not None and "lose to the constant baseline" in block["verdict"]
    assert not block["loses"]
    notes = " ".join(block["notes"])
    assert "configured differently" in notes
    assert "ran on synthetic data but this model was fitted on market data" in notes


def test_unknown_model_config_still_warns(tmp_path: Path) -> None:
    E._write(tiny_result(regime_bias=6.0), tmp_path / "backtest")
    block = latest_backtest(tmp_path, {}, synthetic=True)
    assert block is not None and block["loses"]
    assert "cannot be checked" in block["notes"][0]


def test_unreadable_backtest_is_one_note(tmp_path: Path) -> None:
    folder = tmp_path / "backtest"
    folder.mkdir()
    (folder / "differences.csv").write_text("model,horizon\n")
    block = latest_backtest(tmp_path, {}, synthetic=True)
    assert block is not None and block["href"] == "" and block["verdict"] == ""
    assert block["notes"] == [
        "The backtest in backtest/ cannot be read (forecasts.nc is missing); "
        "rerun `regime backtest` for this name."
    ]
    (folder / "forecasts.nc").write_bytes(b"not netcdf")
    block = latest_backtest(tmp_path, {}, synthetic=True)
    assert block is not None and "cannot be read (" in block["notes"][0]

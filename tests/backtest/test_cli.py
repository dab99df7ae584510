"""``regime backtest``: bad input is one sentence and a non-zero exit; a tiny run works."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from regime.backtest import workers
from regime.cli import main

TINY = ["--synthetic", "--draws", "60", "--models", "constant,bootstrap", "--horizons", "1,3"]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--start", "1975-01"], 2, "--start 1975-01 leaves fewer than 60 months"),
        (["--horizons", "1,900"], 2, "--horizons 900 reaches beyond the data"),
        (["--horizons", "1,x"], 2, "--horizons must be comma-separated whole months"),
        (["--models", "constant,lstm"], 2, "unknown model 'lstm'"),
        (["--workers", "0"], 2, "--workers must be at least 1"),
        (["--scheduler", "tcp://127.0.0.1:9"], 4, "--scheduler tcp://127.0.0.1:9 cannot be"),
    ],
)
def test_bad_input(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    needle: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(workers, "SCHEDULER_TIMEOUT_S", 1)
    rc = main(["backtest", "demo", *TINY, "--start", "2000-01", "--end", "2000-02", *args])
    err = " ".join(capsys.readouterr().err.split())
    assert rc == code
    assert needle in err
    assert err.count("error:") == 1 and "Traceback" not in err
    assert not (tmp_path / "reports").exists()  # nothing written


def test_tiny_run_writes_scores_and_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    rc = main(["backtest", "demo", *TINY, "--start", "2000-01", "--end", "2000-03"])
    out = " ".join(capsys.readouterr().out.split())
    assert rc == 0
    assert "verdict: Over 2000-01 to 2000-03" in out
    folder = tmp_path / "reports" / "demo" / "backtest"
    table = pd.read_csv(folder / "scores.csv")
    assert len(table) == 4  # 2 models x 2 horizons x unconditional
    assert f"backtest: {Path('reports/demo/backtest/index.html')}" in out
    assert "Backtest: demo" in (folder / "index.html").read_text(encoding="utf-8")

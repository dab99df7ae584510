"""CLI data commands as a user runs them: exit codes, messages, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import responses

from regime.cli import main
from regime.data.cache import Cache
from regime.data.fred import API_URL


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_import_show_and_panel_on_synthetic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "panel.parquet"
    assert main(["data", "panel", "--synthetic", "--out", str(out)]) == 0
    frame = pd.read_parquet(out)
    assert "rel_return" in frame.columns and len(frame) > 500
    assert "SYNTHETIC" in capsys.readouterr().out


def test_import_bad_file_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path / "FEDFUNDS.csv", "DATE,FEDFUNDS\n2020-01-01,1.5\n")
    bad = write(tmp_path / "bad.csv", "DATE,X\n2020-01-01,oops\n")
    cache_dir = tmp_path / "c"
    rc = main(["data", "import", str(good), str(bad), "--cache-dir", str(cache_dir)])
    assert rc == 2
    assert "non-numeric value 'oops'" in capsys.readouterr().err
    assert not cache_dir.exists() or not any(cache_dir.iterdir())


def test_panel_offline_with_empty_cache_is_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["data", "panel", "--cache-dir", str(tmp_path / "empty")])
    assert rc == 4
    assert "not in the cache" in capsys.readouterr().err


def test_unwritable_panel_output_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["data", "panel", "--synthetic", "--out", str(tmp_path / "x.xlsx")])
    assert rc == 2
    assert "must end in .csv or .parquet" in capsys.readouterr().err


def test_pull_as_of_without_key_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write(
        tmp_path / "c.yaml", "data:\n  series: [{id: CPIAUCSL}]\n  fred: {as_of: 2020-03-01}\n"
    )
    rc = main(["data", "pull", "--config", str(cfg), "--cache-dir", str(tmp_path / "c")])
    assert rc == 2
    assert "needs an API key; set FRED_API_KEY" in capsys.readouterr().err


@responses.activate
def test_pull_with_key_from_env_never_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("FRED_API_KEY", key)
    responses.get(f"{API_URL}/series", json={"seriess": [{"units": "Percent"}]})
    responses.get(
        f"{API_URL}/series/observations",
        json={"count": 1, "observations": [{"date": "2020-01-01", "value": "1.55"}]},
    )
    cfg = write(tmp_path / "c.yaml", "data:\n  series: [{id: FEDFUNDS}]\n")
    cache_dir = tmp_path / "c"
    rc = main(["--debug", "data", "pull", "--config", str(cfg), "--cache-dir", str(cache_dir)])
    out = capsys.readouterr()
    assert rc == 0
    assert key not in out.out + out.err
    for f in cache_dir.iterdir():
        assert key not in f.read_text()
    assert Cache(cache_dir).get("FEDFUNDS").meta.source == "fred-api"


SCENARIO_ROW = {
    "median_12m": -1.23,
    "q05_12m": -25.4,
    "q95_12m": 24.9,
    "p_outperform": 0.47,
    "expected_shortfall_5": -31.2,
    "macro_contribution": -0.5,
    "flow_contribution": 0.3,
    "baseline": False,
    "diff_median_12m": -12.34,
    "p_beats_baseline_12m": 0.31,
    "plausibility_pct": 97.1,
    "implausible": False,
}
BUILTIN_NAMES = ["baseline", "inflation_reacceleration", "replay_2022_hikes"]
SHORT_NAMES = ["baseline", "replay_2022_hikes", "cut75_usd_down5_soft"]


def _scenario_text(monkeypatch, columns: int, names: list[str], baseline: bool = True) -> str:  # type: ignore[no-untyped-def]
    import pandas as pd
    from rich.console import Console

    from regime import cli

    table = pd.DataFrame([SCENARIO_ROW] * len(names), index=pd.Index(names, name="scenario"))
    table.loc["baseline", "baseline"] = baseline
    monkeypatch.setenv("COLUMNS", str(columns))
    out = Console(record=True)  # reads COLUMNS, as the CLI's console does
    assert out.width == columns
    monkeypatch.setattr(cli, "console", out)
    cli._print_scenarios(table, synthetic=False)
    text = out.export_text()
    assert max(len(line) for line in text.splitlines()) <= columns
    for name in names:
        assert name in text, (name, text)
    return text


@pytest.mark.parametrize(
    ("columns", "names", "diff", "wide"),
    [
        (80, BUILTIN_NAMES, False, False),  # 24-character names leave no room for the diff
        (80, SHORT_NAMES, True, False),
        (120, BUILTIN_NAMES, True, True),
    ],
)
def test_scenario_table_shows_whole_names_at_80_columns(  # type: ignore[no-untyped-def]
    monkeypatch, columns: int, names: list[str], diff: bool, wide: bool
) -> None:
    text = _scenario_text(monkeypatch, columns, names)
    header = next(line for line in text.splitlines() if "┃ scenario" in line)
    assert ("vs base" in header) == diff
    assert ("P(beat)" in header) == wide
    assert ("┃ macro" in header) == wide
    if diff:
        assert "-12.34" in text and "base " in text  # the baseline's own row says "base"
    if wide:
        assert "0.31" in text
    else:
        assert "P(beats baseline)" in " ".join(text.split())  # where the hidden ones are


def test_scenario_table_without_baseline(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    text = _scenario_text(monkeypatch, 120, SHORT_NAMES, baseline=False)
    assert "vs base" not in text and "P(beat)" not in text
    assert "no baseline to compare against" in text


def test_cli_reaches_the_layers_below_only_through_the_pipeline() -> None:
    """Data flows one way: the CLI imports the pipeline (and config, errors, progress,
    dimension names, its backtest sub-commands), never data, features, models or bayes."""
    import ast
    import inspect

    import regime.cli

    tree = ast.parse(inspect.getsource(regime.cli))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    ours = {m for m in imported if m == "regime" or m.startswith("regime.")}
    allowed = {"regime", "regime.config", "regime.errors", "regime.progress", "regime.backtest.cli"}
    assert ours <= allowed, sorted(ours - allowed)

"""The README's promise, tested as a list (issue 10, items 5, 6, 7, 9, 10, 11).

Every failure is one sentence on stderr (no traceback) and an exit code from
0/2/3/4/130; nothing is half-written. Each case uses the issue's own input.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from regime.cli import INTERRUPTED, main
from regime.config import Config, ReportSpec
from regime.data.base import SeriesData, SeriesMeta
from regime.data.cache import Cache
from regime.errors import BadInputError
from regime.pipeline import report_folder

Setup = Callable[[Path], list[str]]


def _w(path: Path, data: str | bytes) -> str:
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return str(path)


def _flipped_zip(d: Path) -> str:
    body = ",Mkt-RF,SMB,HML,RF\n" + "".join(
        f"{1990 + i // 12}{i % 12 + 1:02d},  1.{i % 97:02d},  -0.{i % 89:02d},  0.50,  0.30\n"
        for i in range(400)
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("F-F_Research_Data_Factors.CSV", body)
    raw = bytearray(buf.getvalue())
    for i in range(120, 180):  # inside the compressed data
        raw[i] ^= 0xFF
    return _w(d / "F-F_Research_Data_Factors_CSV.zip", bytes(raw))


def _scenario(d: Path, body: str) -> str:
    return _w(d / "s.yaml", body)


FRENCH_INF = ",Mkt-RF,SMB,HML,RF\n200001,1.0,2.0,3.0,0.4\n200002,1.0,inf,3.0,0.4\n"

CASES: dict[str, tuple[Setup, int, str]] = {
    "config not UTF-8": (
        lambda d: [
            "data",
            "panel",
            "--synthetic",
            "-c",
            _w(d / "c.yaml", b"data:\n  start: caf\xe9\n"),
        ],
        2,
        "not UTF-8",
    ),
    "scenario not UTF-8": (
        lambda d: ["scenario", "m", "-s", _w(d / "s.yaml", b"name: caf\xe9\n")],
        2,
        "Scenario file",
    ),
    "scenario YAML error is called a scenario file": (
        lambda d: ["scenario", "m", "-s", _scenario(d, "name: [x\n")],
        2,
        "Scenario file",
    ),
    "duplicated YAML key": (
        lambda d: [
            "data",
            "panel",
            "--synthetic",
            "-c",
            _w(d / "c.yaml", "model:\n  k_regimes: 2\n  k_regimes: 3\n"),
        ],
        2,
        "duplicated key 'k_regimes'",
    ),
    "data.start after the data": (
        lambda d: [
            "data",
            "panel",
            "--synthetic",
            "-c",
            _w(d / "c.yaml", "data:\n  start: '2100-01'\n"),
        ],
        2,
        "data.start 2100-01",
    ),
    "--as-of garbage": (
        lambda d: ["data", "panel", "--synthetic", "--as-of", "garbage"],
        2,
        "--as-of",
    ),
    "--as-of 2020-13": (
        lambda d: ["data", "panel", "--synthetic", "--as-of", "2020-13"],
        2,
        "--as-of",
    ),
    "--as-of 1900-01": (
        lambda d: ["data", "panel", "--synthetic", "--as-of", "1900-01"],
        2,
        "--as-of 1900-01",
    ),
    "zip with flipped bytes": (lambda d: ["data", "import", _flipped_zip(d)], 2, "not a valid zip"),
    "scenario change .nan": (
        lambda d: [
            "scenario",
            "m",
            "-s",
            _scenario(d, "name: x\npaths:\n  fedfunds: {kind: linear, change: .nan}\n"),
        ],
        2,
        "paths.fedfunds.change",
    ),
    "reversed flows range": (
        lambda d: ["scenario", "m", "-s", _scenario(d, "name: x\nflows:\n  y_range: [1.0, 0.5]\n")],
        2,
        "y_range",
    ),
    "values path longer than the horizon": (
        lambda d: [
            "scenario",
            "m",
            "-s",
            _scenario(
                d, "name: x\nhorizon: 2\npaths:\n  fedfunds: {kind: values, values: [1, 2, 3]}\n"
            ),
        ],
        2,
        "longer than the horizon",
    ),
    "fit --draws -5 (before compiling)": (
        lambda d: ["fit", "--synthetic", "--draws", "-5"],
        2,
        "--draws -5",
    ),
    "fit --chains 0": (lambda d: ["fit", "--synthetic", "--chains", "0"], 2, "--chains 0"),
    "scenario --samples 0": (lambda d: ["scenario", "m", "--samples", "0"], 2, "--samples"),
    "holdout_years longer than the data (before the fit)": (
        lambda d: ["fit", "--synthetic", "-c", _w(d / "c.yaml", "model:\n  holdout_years: 60\n")],
        2,
        "model.holdout_years 60",
    ),
    "model name with a path": (
        lambda d: ["fit", "--synthetic", "--name", "../x"],
        2,
        "plain folder name",
    ),
    "non-finite value at import": (
        lambda d: [
            "data",
            "import",
            _w(d / "CPIAUCSL.csv", "DATE,CPIAUCSL\n2020-01-01,1e309\n2020-02-01,inf\n"),
        ],
        2,
        "line 2",
    ),
    "non-finite value in a Ken French file": (
        lambda d: ["data", "import", _w(d / "F-F_Research_Data_Factors.csv", FRENCH_INF)],
        2,
        "row 200002 has a non-finite value 'inf' for SMB",
    ),
    "negative price index": (
        lambda d: ["data", "import", _w(d / "CPIAUCSL.csv", "DATE,CPIAUCSL\n2020-01-01,-5\n")],
        2,
        "CPIAUCSL an implausible value -5 at 2020-01",
    ),
    "Fed funds over 100%": (
        lambda d: ["data", "import", _w(d / "FEDFUNDS.csv", "DATE,FEDFUNDS\n2020-01-01,150\n")],
        2,
        "FEDFUNDS an implausible value 150",
    ),
    "malformed HTTPS_PROXY": (lambda d: ["data", "pull"], 2, "HTTPS_PROXY"),
    "offline without data": (lambda d: ["data", "panel"], 4, "not in the cache"),
    "--debug keeps exit 4": (lambda d: ["--debug", "data", "panel"], 4, "not in the cache"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_promise_one_sentence_and_exit_code(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setup, code, phrase = CASES[case]
    monkeypatch.chdir(tmp_path)
    if case == "malformed HTTPS_PROXY":
        monkeypatch.setenv("HTTPS_PROXY", "http://[bad")
    rc = main(setup(tmp_path))
    err = capsys.readouterr().err
    assert rc == code, err
    assert phrase in " ".join(err.split()), err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    if case != "--debug keeps exit 4":
        assert "Traceback" not in err
    assert not (tmp_path / "models").exists()  # nothing written on bad input
    assert not (tmp_path / "reports").exists()


def test_unreadable_cache_file_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = Cache(tmp_path / "c")
    idx = pd.period_range("2020-01", periods=3, freq="M")
    cache.put(
        SeriesData(pd.Series([1.0, 2.0, 3.0], index=idx), SeriesMeta("FEDFUNDS", "file", "M"))
    )
    data = tmp_path / "c" / "FEDFUNDS.csv"
    data.chmod(0)
    if os.access(data, os.R_OK):  # root reads anything: simulate the permission error
        real = Path.read_bytes

        def deny(self: Path) -> bytes:
            if self == data:
                raise PermissionError(13, "Permission denied")
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", deny)
    rc = main(["data", "panel", "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot be read: Permission denied" in err
    data.chmod(0o644)


def test_output_is_confined_under_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10 item 9: ``scenario /path/model/sub/..`` must not write into the project root."""
    monkeypatch.chdir(tmp_path)
    model = tmp_path / "models" / "x"
    (model / "sub").mkdir(parents=True)
    (model / "model.json").write_text("{}")
    cfg = Config(report=ReportSpec(out_dir=Path("reports"), models_dir=Path("models")))
    assert report_folder(cfg, str(model / "sub" / "..")) == Path("reports") / "x"
    assert report_folder(cfg, "x") == Path("reports") / "x"
    for name in ("..", "models/..", "../..", str(tmp_path / "..")):
        assert report_folder(cfg, name).resolve().parent == (tmp_path / "reports").resolve()
    with pytest.raises(BadInputError):
        report_folder(cfg, "/")


def test_colliding_series_ids_never_merge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10 item 11: ``X/Y`` and ``X_Y`` map to one cache file; the second is refused."""
    c = str(tmp_path / "c")
    a = _w(tmp_path / "a.csv", "DATE,X/Y\n2020-01-01,1.0\n")
    b = _w(tmp_path / "b.csv", "DATE,X_Y\n2020-01-01,5.0\n")
    assert main(["data", "import", a, "--cache-dir", c]) == 0
    assert main(["data", "import", b, "--cache-dir", c]) == 2
    assert "same cache file" in capsys.readouterr().err
    assert Cache(Path(c)).get("X/Y").values.iloc[0] == 1.0


def test_latin1_header_keeps_its_letters(tmp_path: Path) -> None:
    f = _w(tmp_path / "x.csv", b"DATE,CAF\xc9\n2020-01-01,1\n")
    assert main(["data", "import", f, "--cache-dir", str(tmp_path / "c")]) == 0
    assert Cache(tmp_path / "c").ids() == ["CAF\u00c9"]


def test_one_corrupt_entry_does_not_hide_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = tmp_path / "c"
    for sid in ("AAA", "BBB"):
        _w(tmp_path / f"{sid}.csv", f"DATE,{sid}\n2020-01-01,1.0\n")
        assert main(["data", "import", str(tmp_path / f"{sid}.csv"), "--cache-dir", str(c)]) == 0
    (c / "AAA.csv").write_text("garbage")
    (c / "CCC.csv").write_text("date,value\n2020-01,1\n")  # an orphan: data, no metadata
    capsys.readouterr()
    assert main(["data", "show", "--cache-dir", str(c)]) == 0
    out = capsys.readouterr()
    assert "BBB" in out.out
    assert "AAA" in out.err and "CCC" in out.err and "no metadata" in " ".join(out.err.split())


def test_ctrl_c_exits_130_with_one_sentence(tmp_path: Path) -> None:
    """Issue 10 item 5: SIGINT during `fit` gives 130, one sentence, no model folder."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "regime", "fit", "--synthetic", "--name", "m", "--no-compare"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    line = ""
    while "fitting" not in line and time.monotonic() < deadline:  # wait until work has begun
        line = proc.stderr.readline() if proc.stderr else ""
        if proc.poll() is not None:
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert INTERRUPTED in " ".join(err.split())
    assert "Traceback" not in err
    assert not (tmp_path / "models" / "m").exists()


def test_cpi_fill_is_reported_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10 item 11: the interpolation of a missing CPI month is printed once."""
    from regime.pipeline import import_series, synthetic_series

    series = synthetic_series()
    cpi = series["CPIAUCSL"]
    values = cpi.values.copy()
    values.iloc[-20] = float("nan")
    month = str(values.index[-20])
    series["CPIAUCSL"] = SeriesData(values, cpi.meta).finalized()
    import_series(Cache(tmp_path / "c"), list(series.values()))
    cfg = _w(
        tmp_path / "c.yaml",
        "data:\n  series:\n    - {id: FEDFUNDS}\n"
        "    - {id: CPIAUCSL, release_lag_months: 1, fill: interpolate}\n"
        "    - {id: DTWEXBGS}\n    - {id: F-F_Research_Data_Factors, source: french}\n"
        "features:\n  dollar: [DTWEXBGS]\n",
    )
    assert main(["data", "panel", "-c", cfg, "--cache-dir", str(tmp_path / "c")]) == 0
    out = capsys.readouterr()
    assert (out.out + out.err).count(month) == 1


def test_tvtp_error_names_the_config_key() -> None:
    """Issue 10 item 11: a non-finite TVTP feature names model.tvtp_features and the month."""
    from regime.features.panel import Panel
    from regime.models.api import model_inputs
    from regime.pipeline import panel_for, synthetic_series

    cfg = Config()
    panel = panel_for(cfg, synthetic_series())
    frame = panel.frame.copy()
    col = cfg.model.tvtp_features[0]
    frame.iloc[-5, frame.columns.get_loc(col)] = float("inf")
    with pytest.raises(
        BadInputError, match=rf"model\.tvtp_features column '{col}'.*{frame.index[-5]}"
    ):
        model_inputs(Panel(frame, panel.meta), cfg.model)

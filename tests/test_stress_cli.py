"""`regime stress`: a saved VAR's reverse stress through the CLI, its table, CSV and bad input.

The models are the known-parameter VAR and observed-regime model of the protocol tests
(posteriors set to the simulator's truth, no sampling), saved once for the module.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from regime.cli import main
from regime.features.panel import Panel
from regime.models.io import save_model
from regime.regimes.conditional import MAX_STRESS_HORIZON, STRESS_SAMPLES
from tests.scenarios.test_engine import calm_stress
from tests.scenarios.test_protocol import known_var
from tests.scenarios.test_protocol import panel as panel  # the module fixture

SAMPLES = "400"  # enough for a 10 pp loss over 12 months (about 37% of baseline samples)


@pytest.fixture(scope="module")
def root(panel: Panel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with models/var (a VAR) and models/mk (a univariate Markov model)."""
    root = tmp_path_factory.mktemp("stress")
    save_model(known_var(panel), root / "models" / "var", panel=panel)
    markov = calm_stress(panel)  # a posterior without the groups a fit saves: add them
    draws, d = markov.idata.posterior.sizes["draw"], markov.data
    markov.idata.add_groups(
        sample_stats=xr.Dataset({"diverging": (("chain", "draw"), np.zeros((1, draws), bool))}),
        observed_data=xr.Dataset({"y": ("month", d.endog)}),
        constant_data=xr.Dataset({"recon": ("month", d.recon)}),
    )
    save_model(markov, root / "models" / "mk", panel=panel)
    return root


def _files(root: Path) -> set[Path]:
    return {p for p in (root / "reports").rglob("*")} if (root / "reports").exists() else set()


def test_stress_prints_fitting_tables_and_writes_the_csv(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "80")
    rc = main(["stress", "var", "--loss", "10", "--horizon", "12", "--samples", SAMPLES])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80, out
    for needle in (
        "baseline P(sum of rel_return",
        "fedfunds_chg",
        "regime sequences",
        "m12",
        "90% m12",
    ):
        assert needle in out, (needle, out)
    path = Path("reports") / "var" / "stress_10_12.csv"
    assert f"wrote {path}" in out
    assert (path.stat().st_mode & 0o777) == 0o666 & ~_umask()
    table = pd.read_csv(path)
    one = table[table["variable"].eq("rel_return") & table["month"].isna()]
    head = dict(zip(one["quantity"], one["value"], strict=True))
    assert head["loss"] == 10 and head["horizon"] == 12 and head["samples"] == int(SAMPLES)
    assert 0 < head["probability"] < 1 and 0 < head["probability_se"] < head["probability"]
    assert abs(head["probability"] - head["probability_mc"]) < 4 * np.sqrt(
        head["probability"] * (1 - head["probability"]) / int(SAMPLES)
    )
    end = table[(table["quantity"] == "median") & (table["month"] == 12)]
    assert set(end["variable"]) == {"fedfunds_chg", "cpi_yoy_chg", "usd_logchg", "rel_return"}
    assert end.set_index("variable").loc["rel_return", "value"] == pytest.approx(-10.0)
    shares = table.loc[table["quantity"] == "share"]
    assert 0 < shares["value"].sum() <= 1 + 1e-12
    assert shares["regimes"].str.fullmatch("[01]( [01]){11}").all()  # text, zeros kept
    assert f"{shares['value'].iloc[0]:.3f}" in out  # the likeliest sequence is on screen


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["var", "--loss", "0", "--horizon", "12"], "must be a positive number"),
        (["var", "--loss", "-5", "--horizon", "12"], "must be a positive number"),
        (["var", "--loss", "nan", "--horizon", "12"], "must be a positive number"),
        (["var", "--loss", "inf", "--horizon", "12"], "must be a positive number"),
        (["var", "--loss", "10", "--horizon", "0"], f"must be 1..{MAX_STRESS_HORIZON} months"),
        (
            ["var", "--loss", "10", "--horizon", str(MAX_STRESS_HORIZON + 1)],
            f"must be 1..{MAX_STRESS_HORIZON} months",
        ),
        (["var", "--loss", "10", "--horizon", "12", "--top", "0"], "at least 1"),
        (["var", "--loss", "10", "--horizon", "12", "--variable", "gdp"], "no variable 'gdp'"),
        (["nope", "--loss", "10", "--horizon", "12"], "does not exist"),
        (["mk", "--loss", "10", "--horizon", "12"], "is a 'markov' model; only a VAR"),
        (["var", "--loss", "5000", "--horizon", "12"], "No baseline sample of 400 reaches"),
    ],
)
def test_bad_stress_input_is_one_sentence_exit_2_and_writes_nothing(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    needle: str,
) -> None:
    monkeypatch.chdir(root)
    before = _files(root)
    rc = main(["stress", *args, "--samples", SAMPLES])
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    msg = " ".join(err.split())
    assert msg.startswith("error: ") and msg.count("error:") == 1, err
    assert needle in msg, msg
    assert msg.endswith(".") and ". " not in msg.removeprefix("error: "), msg  # one sentence
    assert "Traceback" not in err and not out.strip()
    assert _files(root) == before


def test_readme_states_the_stress_limits_the_code_uses() -> None:
    text = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    assert f"the horizon 1..{MAX_STRESS_HORIZON} months" in text
    assert f"({STRESS_SAMPLES} by default)" in text
    assert "regime stress NAME --loss" in text

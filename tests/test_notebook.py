"""The example notebook executes top to bottom against a small fitted model."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from regime.config import Config, ModelSpec, ReportSpec
from regime.pipeline import fit_and_save, panel_for, synthetic_series

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "inspect_posterior.ipynb"


@pytest.mark.parametrize("kind", ["var", "markov"])
def test_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    cfg = Config(
        model=ModelSpec(kind=kind, draws=200, tune=200, chains=2, n_starts=4, holdout_years=0),
        report=ReportSpec(models_dir=tmp_path / "models", out_dir=tmp_path / "r"),
    )
    _, folder = fit_and_save(
        cfg, panel_for(cfg, synthetic_series()), "nb", compare=False, progressbar=False
    )
    monkeypatch.setenv("REGIME_MODEL", str(folder))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert os.environ["REGIME_MODEL"] == str(folder)

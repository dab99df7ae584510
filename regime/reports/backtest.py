"""What the scenario report says about the latest backtest of the same name.

``regime backtest NAME`` writes ``reports/NAME/backtest/`` (replaced whole on
every run, so it is always the latest). The scenario report in
``reports/NAME/index.html`` links to its page and repeats its verdict on the
regime model -- the model that drives the scenarios -- and says at the top when
that model loses to the constant baseline. The verdict is judged from the saved
``differences.csv`` by the engine's own rules (:mod:`regime.backtest.verdict`);
nothing is rescored here.

The verdict is about the scenario model only when the backtest ran a regime
model of the same identity (:meth:`regime.config.ModelSpec.identity`, which
ignores sampler settings) on the same kind of data (synthetic or not);
otherwise the block says why it may not apply and raises no alarm.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from regime._io import recover_directory
from regime.backtest import (
    DIFFERENCES_FILE,
    FOLDER,
    FORECASTS_FILE,
    REFERENCE,
    REGIME_MODEL,
    REPORT_FILE,
)
from regime.backtest.verdict import judge
from regime.config import model_identity


def _read(folder: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``differences.csv`` (empty when no pair was scored) and the attributes of
    ``forecasts.nc``; raises ``OSError``/``ValueError`` when either is unreadable."""
    try:
        differences = pd.read_csv(folder / DIFFERENCES_FILE)
    except pd.errors.EmptyDataError:
        differences = pd.DataFrame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with xr.open_dataset(folder / FORECASTS_FILE, engine="h5netcdf") as ds:
            attrs = dict(ds.attrs)
    return differences, attrs


def latest_backtest(
    report_dir: Path, meta: dict[str, Any], *, synthetic: bool
) -> dict[str, Any] | None:
    """The backtest block of the scenario report in ``report_dir``, or ``None`` without one.

    ``meta`` is the scenario model's ``model.json``; ``synthetic`` whether it was
    fitted on the synthetic sample. Keys: ``href`` (relative link to the
    backtest page, "" when it has none), ``folder``, ``written`` (UTC time of
    the backtest's files), ``verdict`` (the sentence on the regime model, or
    ""), ``loses`` (the scenario model lost to the ``reference`` baseline) and
    ``notes`` (sentences on why the verdict is missing or may not apply).
    """
    folder = Path(report_dir) / FOLDER
    recover_directory(folder)
    if not folder.is_dir():
        return None
    block: dict[str, Any] = {
        "href": f"{FOLDER}/{REPORT_FILE}" if (folder / REPORT_FILE).exists() else "",
        "folder": f"{FOLDER}/",
        "written": "",
        "verdict": "",
        "loses": False,
        "reference": REFERENCE,
        "notes": [],
    }
    missing = [f for f in (DIFFERENCES_FILE, FORECASTS_FILE) if not (folder / f).is_file()]
    try:
        if missing:
            raise FileNotFoundError(f"{missing[0]} is missing")
        differences, attrs = _read(folder)
        stamp = (folder / DIFFERENCES_FILE).stat().st_mtime
    except (OSError, ValueError) as exc:
        why = str(exc) if missing else f"{type(exc).__name__}"
        block["notes"].append(
            f"The backtest in {FOLDER}/ cannot be read ({why}); "
            "rerun `regime backtest` for this name."
        )
        return block
    block["written"] = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    found = judge(differences, REGIME_MODEL)
    if found is None:
        block["notes"].append(
            f"The latest backtest did not compare the regime model with the {REFERENCE} "
            "baseline, so it says nothing about the model behind these scenarios; "
            f"rerun `regime backtest` with --models including {REGIME_MODEL} and {REFERENCE}."
        )
        return block
    block["verdict"] = found.text
    applies = True
    ours = (meta.get("config") or {}).get("model")
    theirs = str(attrs.get("model_identity", ""))
    if not ours or not theirs:
        block["notes"].append(
            "It cannot be checked that the backtest ran this report's model configuration."
        )
    elif model_identity(ours) != theirs:
        applies = False
        block["notes"].append(
            "The backtest ran a regime model configured differently from the one behind "
            "these scenarios, so its verdict may not apply to them; rerun `regime backtest` "
            "with this model's configuration."
        )
    if bool(int(attrs.get("synthetic", 0))) != synthetic:
        applies = False
        ran, fitted = ("synthetic", "market") if not synthetic else ("market", "synthetic")
        block["notes"].append(
            f"The backtest ran on {ran} data but this model was fitted on {fitted} data, "
            "so its verdict may not apply to these scenarios."
        )
    block["loses"] = applies and found.loses
    return block

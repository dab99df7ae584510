"""Saved models: ``models/NAME/`` with the posterior, spec, fingerprint and versions.

Layout::

    models/NAME/
      idata.nc      arviz.InferenceData (netCDF)
      model.json    format, kind, spec, config, spec_hash, data_fingerprint,
                    versions, fit info, diagnostics, data layout, panel provenance
      panel.csv     the feature panel the model was fitted on (for reports)

The folder is written atomically (temporary sibling, then rename). Loading
checks the format version and recomputes the integrity hash (``spec_hash``),
which covers everything that changes results or verdicts: the spec, config,
data fingerprint, fit info, diagnostics, stored standardisation and layout,
comparison, panel provenance and the SHA-256 of ``idata.nc`` and ``panel.csv``.
A mismatch is an error.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from regime._io import atomic_directory, recover_directory
from regime.bayes.observed import ObservedResults
from regime.bayes.protocol import data_fingerprint
from regime.bayes.switching import MarkovSwitchingResults
from regime.bayes.var import MarkovSwitchingVARResults
from regime.config import stable_hash
from regime.errors import BadInputError
from regime.features.panel import Panel, PanelMeta

FORMAT_VERSION = 2  # 2: the integrity hash covers diagnostics, layout and the files
# every model kind that can be saved, by the name stored in model.json
KINDS: dict[str, Any] = {
    c.kind: c for c in (MarkovSwitchingResults, ObservedResults, MarkovSwitchingVARResults)
}
__all__ = ["KINDS", "data_fingerprint", "load_model", "read_meta", "save_model", "versions"]
PACKAGES = ("regime", "pymc", "pytensor", "arviz", "nutpie", "numpy", "pandas", "xarray")


def versions() -> dict[str, str]:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


# Not hashed: the hash itself and the package versions (informational)
_UNHASHED = ("spec_hash", "versions")
DATA_FILES = ("idata.nc", "panel.csv")


def _hashed_fields(doc: dict[str, Any]) -> dict[str, Any]:
    missing = [
        k for k in ("format", "kind", "spec", "config", "data_fingerprint", "files") if k not in doc
    ]
    if missing:
        raise KeyError(missing[0])
    return {k: v for k, v in doc.items() if k not in _UNHASHED}


def _file_digests(folder: Path) -> dict[str, str]:
    out = {}
    for name in DATA_FILES:
        path = folder / name
        if path.exists():
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def save_model(
    result: Any,
    folder: Path,
    *,
    config: dict[str, Any] | None = None,
    panel: Panel | None = None,
    comparison: pd.DataFrame | None = None,
) -> Path:
    """Write a fitted model folder atomically; returns its path."""
    folder = Path(folder)
    kind = result.kind
    if kind not in KINDS:
        raise BadInputError(f"A model of kind {kind!r} cannot be saved; known: {', '.join(KINDS)}.")
    spec, layout, fingerprint = result.layout()
    diag = result.diagnostics
    doc: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "kind": kind,
        "spec": spec,
        "config": config or {},
        "data_fingerprint": fingerprint,
    }
    doc |= {
        "versions": versions(),
        "info": result.info,
        "diagnostics": diag.to_dict(),
        "layout": layout,
        "panel_meta": panel.meta.to_dict() if panel is not None else None,
        "comparison": comparison.reset_index().to_dict(orient="list")
        if comparison is not None
        else None,
    }
    with atomic_directory(folder) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result.idata.to_netcdf(str(tmp / "idata.nc"), engine="h5netcdf")
        if panel is not None:
            frame = panel.frame.copy()
            frame.index = frame.index.astype(str)
            frame.to_csv(tmp / "panel.csv")
        doc["files"] = _file_digests(tmp)
        # round-trip through JSON so the hash is of exactly what is stored
        doc = json.loads(json.dumps(doc, default=_json_default))
        doc["spec_hash"] = stable_hash(_hashed_fields(doc))
        (tmp / "model.json").write_text(json.dumps(doc, indent=1))
    return folder


def _json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def read_meta(folder: Path) -> dict[str, Any]:
    """The validated ``model.json`` of a model folder."""
    folder = Path(folder)
    recover_directory(folder)
    if not folder.is_dir():
        raise BadInputError(f"Model folder {folder} does not exist; run `regime fit` first.")
    path = folder / "model.json"
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(
            f"Model folder {folder} has no model.json; it is not a fitted model."
        ) from None
    except PermissionError as exc:
        raise BadInputError(f"Model file {path} cannot be read: {exc.strerror}.") from None
    except ValueError:
        raise BadInputError(f"Model folder {folder} has a corrupt model.json.") from None
    if not isinstance(doc, dict):
        raise BadInputError(f"Model folder {folder} has a corrupt model.json.")
    fmt = doc.get("format")
    if fmt != FORMAT_VERSION:
        raise BadInputError(
            f"Model folder {folder} was written in format {fmt!r}; this version of regime "
            f"reads format {FORMAT_VERSION}; refit it with `regime fit`."
        )
    try:
        ok = stable_hash(_hashed_fields(doc)) == doc.get("spec_hash")
        ok = ok and _file_digests(folder) == doc["files"]
    except (KeyError, OSError):
        ok = False
    if not ok:
        raise BadInputError(
            f"Model folder {folder} fails its spec-hash check (its spec, diagnostics, layout "
            "or files were edited, or another version wrote it); refit it with `regime fit`."
        )
    return doc


def load_model(folder: Path | str) -> Any:
    """Restore a fitted model without refitting: an object with ``.idata``, ``.spec``, ``.data``."""
    folder = Path(folder)
    doc = read_meta(folder)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata = az.from_netcdf(str(folder / "idata.nc"), engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise BadInputError(f"Model folder {folder} has an unreadable idata.nc ({exc}).") from None
    try:
        res = _restore(folder, doc, idata)
    except BadInputError:
        raise
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise BadInputError(
            f"Model folder {folder} has an inconsistent model.json or idata.nc ({exc}); "
            "refit it with `regime fit`."
        ) from None
    res.meta = doc
    res.folder = folder
    res.panel = _read_panel(folder, doc)
    return res


def _restore(folder: Path, doc: dict[str, Any], idata: Any) -> Any:
    cls = KINDS.get(doc["kind"])
    if cls is None:
        raise BadInputError(
            f"Model folder {folder} holds a model of unknown kind {doc['kind']!r}; "
            "refit it with `regime fit`."
        )
    return cls.from_layout(idata, doc, str(folder))


def _read_panel(folder: Path, doc: dict[str, Any]) -> Panel | None:
    path = folder / "panel.csv"
    if not path.exists() or not doc.get("panel_meta"):
        return None
    frame = pd.read_csv(path, index_col=0)
    frame.index = pd.PeriodIndex(frame.index.astype(str), freq="M")
    return Panel(frame, PanelMeta.from_dict(doc["panel_meta"]))

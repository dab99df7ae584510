"""On-disk cache: one CSV per series plus a JSON metadata file.

Layout: ``<cache_dir>/<key>.csv`` (``date,value``) and ``<key>.json`` (the
:class:`SeriesMeta`, including the SHA-256 of the CSV bytes). Both are written
atomically, data first: a crash between the two leaves a checksum mismatch,
which :meth:`Cache.get` detects. A corrupt, truncated or mismatched entry is
never returned: :class:`CacheCorruptError` is raised and the caller refetches
or reports.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import platformdirs

from regime._io import atomic_write_bytes, atomic_write_text
from regime.data.base import SeriesData, SeriesMeta
from regime.errors import BadInputError, RegimeError

ENV_CACHE_DIR = "REGIME_CACHE_DIR"


class CacheCorruptError(RegimeError):
    """A cache entry failed its checks (exit code 4 when it cannot be refetched)."""

    exit_code = 4


def default_cache_dir(
    configured: Path | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Config value, else ``$REGIME_CACHE_DIR``, else the user cache dir."""
    if configured is not None:
        return Path(configured).expanduser()
    env = os.environ if environ is None else environ
    if env.get(ENV_CACHE_DIR):
        return Path(env[ENV_CACHE_DIR]).expanduser()
    return Path(platformdirs.user_cache_dir("regime")) / "series"


def cache_key(series_id: str) -> str:
    """File-safe key of a series id (``:`` becomes ``__``, other unsafe characters ``_``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", series_id.replace(":", "__"))


class Cache:
    """Series cache in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _paths(self, series_id: str) -> tuple[Path, Path]:
        key = cache_key(series_id)
        return self.directory / f"{key}.csv", self.directory / f"{key}.json"

    def put(self, series: SeriesData) -> SeriesData:
        """Write a series atomically; returns it with checksum and row count set."""
        series = series.finalized()
        data_path, meta_path = self._paths(series.meta.series_id)
        atomic_write_bytes(data_path, series.to_csv_bytes())
        atomic_write_text(meta_path, json.dumps(series.meta.to_dict(), indent=1, sort_keys=True))
        return series

    def has(self, series_id: str) -> bool:
        data_path, meta_path = self._paths(series_id)
        return data_path.exists() or meta_path.exists()

    def meta(self, series_id: str) -> SeriesMeta:
        _, meta_path = self._paths(series_id)
        try:
            return SeriesMeta.from_dict(json.loads(meta_path.read_text()))
        except FileNotFoundError:
            raise KeyError(series_id) from None
        except (ValueError, TypeError) as exc:
            raise CacheCorruptError(
                f"Cache metadata {meta_path} for series {series_id} is corrupt ({exc})."
            ) from None

    def get(self, series_id: str) -> SeriesData:
        """Read a verified series; ``KeyError`` if absent, ``CacheCorruptError`` if damaged."""
        data_path, _ = self._paths(series_id)
        meta = self.meta(series_id)
        try:
            body = data_path.read_bytes()
        except FileNotFoundError:
            raise CacheCorruptError(
                f"Cache file {data_path} for series {series_id} is missing its data."
            ) from None
        if hashlib.sha256(body).hexdigest() != meta.checksum:
            raise CacheCorruptError(
                f"Cache file {data_path} for series {series_id} fails its checksum "
                "(corrupt or partially written)."
            )
        frame = pd.read_csv(io.BytesIO(body), dtype={"date": str}, keep_default_na=False)
        values = pd.to_numeric(frame["value"].replace("", float("nan")), errors="coerce")
        if meta.frequency == "M":
            index: pd.Index = pd.PeriodIndex(frame["date"].to_numpy(), freq="M")
        else:
            index = pd.DatetimeIndex(pd.to_datetime(frame["date"].to_numpy(), format="%Y-%m-%d"))
        if len(frame) != meta.rows:
            raise CacheCorruptError(
                f"Cache file {data_path} for series {series_id} has {len(frame)} rows, "
                f"its metadata says {meta.rows}."
            )
        s = pd.Series(values.to_numpy(dtype=float), index=index, name=series_id)
        return SeriesData(s, meta)

    def remove(self, series_id: str) -> None:
        for p in self._paths(series_id):
            p.unlink(missing_ok=True)

    def ids(self) -> list[str]:
        """Series ids of every entry with metadata (sorted)."""
        if not self.directory.exists():
            return []
        out = []
        for p in sorted(self.directory.glob("*.json")):
            try:
                out.append(json.loads(p.read_text())["series_id"])
            except (ValueError, KeyError, TypeError):
                out.append(p.stem)
        return sorted(out)

    def check_writable(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInputError(
                f"Cache directory {self.directory} cannot be created: {exc.strerror}."
            ) from None

"""On-disk cache: one CSV per series plus a JSON metadata file.

Layout: ``<cache_dir>/<key>.csv`` (``date,value``) and ``<key>.json`` (the
:class:`SeriesMeta`, including the SHA-256 of the CSV bytes). An entry is
written as one unit, metadata being the commit marker:

1. the new data is written (atomically) to a staging file ``<key>.<sha16>.csv``;
2. the metadata is written (atomically): from here on the new entry is the one;
3. the staging file is renamed to ``<key>.csv``.

A kill before 2 leaves the previous entry intact (the stray staging file is
removed by the next write); a kill between 2 and 3 is rolled forward by the next
reader. Writers of one cache are serialised by a file lock (``.lock``), and a
read-merge-write (``regime data import``) holds it throughout. A corrupt,
truncated, orphaned (data without metadata) or mismatched entry is never
returned: :class:`CacheCorruptError` is raised and the caller refetches,
replaces or reports it.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import filelock
import pandas as pd
import platformdirs

from regime._io import atomic_write_bytes, atomic_write_text
from regime.data.base import SeriesData, SeriesMeta
from regime.errors import BadInputError, RegimeError, SourceUnavailableError

ENV_CACHE_DIR = "REGIME_CACHE_DIR"
# How long a writer waits for another regime process to finish writing the cache
LOCK_TIMEOUT_SECONDS = 600.0
_STAGED = re.compile(r"^(?P<key>.+)\.(?P<sha>[0-9a-f]{16})\.csv$")


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

    def __init__(self, directory: Path, *, lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> None:
        self.directory = Path(directory)
        self.lock_timeout = lock_timeout
        self._lock: filelock.FileLock | None = None

    def _paths(self, series_id: str) -> tuple[Path, Path]:
        key = cache_key(series_id)
        return self.directory / f"{key}.csv", self.directory / f"{key}.json"

    def _staged(self, series_id: str, checksum: str) -> Path:
        return self.directory / f"{cache_key(series_id)}.{checksum[:16]}.csv"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cache's write lock (re-entrant within this object)."""
        self.check_writable()
        if self._lock is None:
            self._lock = filelock.FileLock(self.directory / ".lock", timeout=self.lock_timeout)
        try:
            with self._lock:
                yield
        except filelock.Timeout:
            raise SourceUnavailableError(
                f"Cache directory {self.directory} is locked by another regime process "
                f"for more than {self.lock_timeout:.0f} s; try again when it finishes."
            ) from None

    def put(self, series: SeriesData) -> SeriesData:
        """Write a series as one unit; returns it with checksum and row count set."""
        series = series.finalized()
        sid = series.meta.series_id
        data_path, meta_path = self._paths(sid)
        with self.locked():
            self._check_key_owner(sid)
            staged = self._staged(sid, series.meta.checksum)
            atomic_write_bytes(staged, series.to_csv_bytes())
            atomic_write_text(
                meta_path, json.dumps(series.meta.to_dict(), indent=1, sort_keys=True)
            )
            os.replace(staged, data_path)
            self._remove_stale_staging(sid)
        return series

    def _check_key_owner(self, series_id: str) -> None:
        _, meta_path = self._paths(series_id)
        try:
            owner = json.loads(meta_path.read_text()).get("series_id")
        except (OSError, ValueError, AttributeError):
            return
        if owner is not None and owner != series_id:
            raise BadInputError(
                f"Series {series_id} and the cached series {owner} map to the same cache "
                f"file {meta_path.name}; import one of them under another --series-id."
            )

    def _remove_stale_staging(self, series_id: str) -> None:
        key = cache_key(series_id)
        for p in self.directory.glob(f"{glob.escape(key)}.*.csv"):
            m = _STAGED.match(p.name)
            if m is not None and m["key"] == key:
                p.unlink(missing_ok=True)

    def has(self, series_id: str) -> bool:
        data_path, meta_path = self._paths(series_id)
        return data_path.exists() or meta_path.exists()

    def meta(self, series_id: str) -> SeriesMeta:
        data_path, meta_path = self._paths(series_id)
        try:
            doc = json.loads(meta_path.read_text())
        except FileNotFoundError:
            if data_path.exists():
                raise CacheCorruptError(
                    f"Cache file {data_path} for series {series_id} has no metadata (an "
                    "interrupted write); refetch it with `regime data pull` or re-import it."
                ) from None
            raise KeyError(series_id) from None
        except PermissionError as exc:
            raise BadInputError(
                f"Cache file {meta_path} for series {series_id} cannot be read: {exc.strerror}."
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise CacheCorruptError(
                f"Cache metadata {meta_path} for series {series_id} is corrupt ({exc})."
            ) from None
        try:
            meta = SeriesMeta.from_dict(doc)
        except (ValueError, TypeError, AttributeError) as exc:
            raise CacheCorruptError(
                f"Cache metadata {meta_path} for series {series_id} is corrupt ({exc})."
            ) from None
        if meta.series_id != series_id:
            raise CacheCorruptError(
                f"Cache file {meta_path} holds series {meta.series_id}, not {series_id} "
                "(the two ids map to one file); re-import one under another --series-id."
            )
        return meta

    def _read_data(self, series_id: str, meta: SeriesMeta) -> bytes:
        data_path, _ = self._paths(series_id)
        try:
            body = data_path.read_bytes()
        except FileNotFoundError:
            body = b""
        except PermissionError as exc:
            raise BadInputError(
                f"Cache file {data_path} for series {series_id} cannot be read: {exc.strerror}."
            ) from None
        if hashlib.sha256(body).hexdigest() == meta.checksum:
            return body
        # a write committed its metadata but was stopped before publishing the data
        staged = self._staged(series_id, meta.checksum)
        try:
            body = staged.read_bytes()
        except OSError:
            body = b""
        if body and hashlib.sha256(body).hexdigest() == meta.checksum:
            with contextlib.suppress(OSError):
                os.replace(staged, data_path)
            return body
        if not data_path.exists():
            raise CacheCorruptError(
                f"Cache file {data_path} for series {series_id} is missing its data."
            )
        raise CacheCorruptError(
            f"Cache file {data_path} for series {series_id} fails its checksum "
            "(corrupt or partially written)."
        )

    def get(self, series_id: str) -> SeriesData:
        """Read a verified series; ``KeyError`` if absent, ``CacheCorruptError`` if damaged."""
        data_path, _ = self._paths(series_id)
        meta = self.meta(series_id)
        body = self._read_data(series_id, meta)
        try:
            frame = pd.read_csv(io.BytesIO(body), dtype={"date": str}, keep_default_na=False)
            values = pd.to_numeric(frame["value"].replace("", float("nan")), errors="coerce")
            if meta.frequency == "M":
                index: pd.Index = pd.PeriodIndex(frame["date"].to_numpy(), freq="M")
            else:
                index = pd.DatetimeIndex(
                    pd.to_datetime(frame["date"].to_numpy(), format="%Y-%m-%d")
                )
        except (ValueError, KeyError, TypeError) as exc:
            raise CacheCorruptError(
                f"Cache file {data_path} for series {series_id} cannot be parsed ({exc})."
            ) from None
        if len(frame) != meta.rows:
            raise CacheCorruptError(
                f"Cache file {data_path} for series {series_id} has {len(frame)} rows, "
                f"its metadata says {meta.rows}."
            )
        s = pd.Series(values.to_numpy(dtype=float), index=index, name=series_id)
        return SeriesData(s, meta)

    def remove(self, series_id: str) -> None:
        with self.locked():
            for p in self._paths(series_id):
                p.unlink(missing_ok=True)
            self._remove_stale_staging(series_id)

    def ids(self) -> list[str]:
        """Series ids of every entry, including orphans (data without metadata), sorted."""
        if not self.directory.exists():
            return []
        out = set()
        keys = set()
        for p in sorted(self.directory.glob("*.json")):
            keys.add(p.stem)
            try:
                out.add(str(json.loads(p.read_text())["series_id"]))
            except (OSError, ValueError, KeyError, TypeError):
                out.add(_id_from_key(p.stem))
        for p in sorted(self.directory.glob("*.csv")):
            if p.stem not in keys and not p.name.startswith(".") and not _STAGED.match(p.name):
                out.add(_id_from_key(p.stem))
        return sorted(out)

    def check_writable(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInputError(
                f"Cache directory {self.directory} cannot be created: {exc.strerror}."
            ) from None


def _id_from_key(key: str) -> str:
    """Best guess of a series id from its file key (the inverse of ``cache_key`` for ``:``)."""
    return key.replace("__", ":")

"""Fetch the configured series into the cache (or read them from it)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests

from regime.config import DataSpec, SeriesSpec
from regime.data.base import SeriesData
from regime.data.cache import Cache, CacheCorruptError
from regime.data.fred import FredClient, fetch_keyless
from regime.data.french import fetch_french
from regime.errors import BadInputError, SourceUnavailableError

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _cached_ids(cache: Cache, spec: SeriesSpec) -> list[str]:
    if spec.source == "french":
        return [i for i in cache.ids() if i.startswith(f"{spec.id}:")]
    return [spec.id] if cache.has(spec.id) else []


def _read_cached(cache: Cache, ids: list[str]) -> list[SeriesData]:
    return [cache.get(i) for i in ids]


def _fetch(
    spec: SeriesSpec,
    data: DataSpec,
    *,
    api_key: str | None,
    session: requests.Session,
    sleep: Callable[[float], None] | None,
) -> list[SeriesData]:
    if spec.source == "french":
        return fetch_french(spec.id, session=session, max_retries=data.fred.max_retries)
    if spec.source == "file":
        raise SourceUnavailableError(
            f"Series {spec.id} comes from a file and is not in the cache; "
            "run `regime data import FILE`."
        )
    if api_key:
        client = FredClient(
            api_key,
            session=session,
            requests_per_second=data.fred.requests_per_second,
            max_retries=data.fred.max_retries,
            backoff_seconds=data.fred.backoff_seconds,
            timeout_seconds=data.fred.timeout_seconds,
            sleep=sleep or time.sleep,
        )
        return [client.observations(spec.id, as_of=data.fred.as_of)]
    if data.fred.as_of is not None:
        raise BadInputError(
            "data.fred.as_of asks for a point-in-time FRED vintage, which needs an API key; "
            "set FRED_API_KEY."
        )
    return [
        fetch_keyless(
            spec.id,
            session=session,
            max_retries=data.fred.max_retries,
            pause=data.fred.backoff_seconds,
        )
    ]


def pull(
    data: DataSpec,
    cache: Cache,
    *,
    api_key: str | None = None,
    session: requests.Session | None = None,
    refresh: bool = False,
    offline: bool = False,
    progress: Progress | None = None,
    sleep: Callable[[float], None] | None = None,
) -> dict[str, SeriesData]:
    """Make every configured series available; returns them by series id.

    A cached entry is used unless ``refresh``; a corrupt one is refetched (or
    reported when ``offline``). A source that fails while a valid cached copy
    exists falls back to that copy with a warning.
    """
    session = session or requests.Session()
    out: dict[str, SeriesData] = {}
    for spec in data.series:
        if progress is not None:
            progress(spec.id)
        ids = _cached_ids(cache, spec)
        cached: list[SeriesData] | None = None
        if ids:
            try:
                cached = _read_cached(cache, ids)
            except CacheCorruptError as exc:
                if offline:
                    raise CacheCorruptError(
                        f"{exc} It cannot be refetched with --offline; run `regime data pull`."
                    ) from None
                log.warning("%s Refetching.", exc)
        if cached is not None and not refresh:
            out.update({s.meta.series_id: s for s in cached})
            continue
        if offline:
            if cached is not None:
                out.update({s.meta.series_id: s for s in cached})
                continue
            raise SourceUnavailableError(
                f"Series {spec.id} is not in the cache {cache.directory} and --offline forbids "
                "fetching; run `regime data pull` online or `regime data import FILE`."
            )
        try:
            fetched = _fetch(spec, data, api_key=api_key, session=session, sleep=sleep)
        except SourceUnavailableError as exc:
            if cached is None:
                raise
            log.warning("%s Using the cached copy fetched %s.", exc, cached[0].meta.fetched_at)
            out.update({s.meta.series_id: s for s in cached})
            continue
        for s in fetched:
            out[s.meta.series_id] = cache.put(s)
    return out

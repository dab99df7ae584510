"""FRED: the official JSON API (key required) and the keyless CSV fallback.

Official API (``https://api.stlouisfed.org/fred``): ``series/observations``
with ``realtime_start``/``realtime_end`` for point-in-time (ALFRED) vintages.
A request may span at most 2000 vintage dates, so vintage-history queries are
split into chunks of :data:`MAX_VINTAGES` vintage dates. Requests are spaced to
at most ``requests_per_second`` and retried with exponential backoff on 429,
5xx, timeouts and dropped connections.

Keyless fallback: pandas-datareader's FRED reader (``fredgraph.csv``). FRED has
been refusing scripted keyless requests since mid-2026; a 403 or an HTML page
is reported as such, not as a parse error.

The API key is a secret: it is sent as a query parameter (FRED accepts nothing
else) but never appears in provenance, logs or error messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import requests

from regime.data.base import SeriesData, SeriesMeta, is_monthly
from regime.errors import BadInputError, SourceUnavailableError, redact

log = logging.getLogger(__name__)

API_URL = "https://api.stlouisfed.org/fred"
KEYLESS_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
MAX_VINTAGES = 2000
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
KEYLESS_REFUSED = "FRED refused the keyless request; set FRED_API_KEY"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class _RedactFilter(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if self.secret in msg:
            record.msg = redact(msg, self.secret)
            record.args = None
        return True


@contextmanager
def _redacting(secret: str | None) -> Iterator[None]:
    """Redact the key from urllib3's debug log lines (they print request URLs)."""
    if not secret:
        yield
        return
    flt = _RedactFilter(secret)
    loggers = [logging.getLogger(n) for n in ("urllib3.connectionpool", "requests", __name__)]
    for lg in loggers:
        lg.addFilter(flt)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(flt)


class FredClient:
    """Client of the official FRED API.

    Parameters
    ----------
    api_key : str
        FRED API key (32 characters). Never logged.
    session : requests.Session, optional
        HTTP session (a new one if omitted).
    requests_per_second : float
        Upper bound on the request rate (FRED's reported limit is ~2/s).
    max_retries, backoff_seconds, timeout_seconds
        Retry policy: waits ``backoff_seconds * 2**attempt`` after a 429, a 5xx,
        a timeout or a dropped connection.
    clock, sleep, now
        Injected time sources (monotonic seconds, sleeping, ISO timestamps).
    """

    def __init__(
        self,
        api_key: str,
        *,
        session: requests.Session | None = None,
        requests_per_second: float = 2.0,
        max_retries: int = 5,
        backoff_seconds: float = 1.0,
        timeout_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], str] = _now,
    ) -> None:
        if not api_key:
            raise BadInputError("The FRED API needs a key; set FRED_API_KEY.")
        self._key = api_key
        self.session = session or requests.Session()
        self.min_interval = 1.0 / requests_per_second
        self.max_retries = max_retries
        self.backoff = backoff_seconds
        self.timeout = timeout_seconds
        self.clock = clock
        self.sleep = sleep
        self.now = now
        self._last: float | None = None
        self.requests_made = 0

    # ------------------------------------------------------------------ transport
    def _throttle(self) -> None:
        if self._last is not None:
            wait = self.min_interval - (self.clock() - self._last)
            if wait > 0:
                self.sleep(wait)
        self._last = self.clock()

    def _get(self, endpoint: str, series_id: str, **params: Any) -> dict[str, Any]:
        url = f"{API_URL}/{endpoint}"
        query = {"series_id": series_id, "file_type": "json", **params, "api_key": self._key}
        last_problem = ""
        with _redacting(self._key):
            for attempt in range(self.max_retries + 1):
                if attempt:
                    delay = self.backoff * 2 ** (attempt - 1)
                    log.info(
                        "FRED %s for %s: retry %d in %.1fs", last_problem, series_id, attempt, delay
                    )
                    self.sleep(delay)
                self._throttle()
                self.requests_made += 1
                try:
                    resp = self.session.get(url, params=query, timeout=self.timeout)
                except requests.Timeout:
                    last_problem = "timed out"
                    continue
                except requests.ConnectionError:
                    last_problem = "connection failed"
                    continue
                if resp.status_code in RETRY_STATUS:
                    last_problem = f"answered HTTP {resp.status_code}"
                    continue
                if resp.status_code >= 400:
                    raise self._client_error(resp, series_id)
                try:
                    payload: dict[str, Any] = resp.json()
                except ValueError:
                    raise SourceUnavailableError(
                        f"FRED answered series {series_id} with something that is not JSON."
                    ) from None
                return payload
        raise SourceUnavailableError(
            f"FRED API is unavailable for series {series_id}: it {last_problem} "
            f"{self.max_retries + 1} times."
        )

    def _client_error(self, resp: requests.Response, series_id: str) -> Exception:
        try:
            message = str(resp.json().get("error_message", "")).strip()
        except ValueError:
            message = ""
        message = redact(message, self._key) or f"HTTP {resp.status_code}"
        if "series does not exist" in message.lower():
            return BadInputError(f"FRED has no series {series_id!r}: {message}")
        if "api_key" in message.lower():
            return BadInputError(f"FRED rejected the API key for series {series_id}: {message}")
        return BadInputError(f"FRED rejected the request for series {series_id}: {message}")

    # ------------------------------------------------------------------ endpoints
    def info(self, series_id: str) -> dict[str, Any]:
        """``fred/series``: title, units, frequency of a series."""
        payload = self._get("series", series_id)
        seriess = payload.get("seriess") or [{}]
        return dict(seriess[0])

    def _observations(self, series_id: str, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            payload = self._get("series/observations", series_id, offset=offset, **params)
            obs = payload.get("observations", [])
            out.extend(obs)
            count = int(payload.get("count", len(obs)))
            offset += len(obs)
            if not obs or offset >= count:
                return out

    def observations(self, series_id: str, *, as_of: date | None = None) -> SeriesData:
        """Latest values, or the vintage known on ``as_of`` (ALFRED)."""
        params: dict[str, Any] = {}
        if as_of is not None:
            params = {"realtime_start": as_of.isoformat(), "realtime_end": as_of.isoformat()}
        meta = self.info(series_id)
        obs = self._observations(series_id, **params)
        if not obs:
            raise SourceUnavailableError(f"FRED returned no observations for series {series_id}.")
        dates = pd.DatetimeIndex(pd.to_datetime([o["date"] for o in obs], format="%Y-%m-%d"))
        values = np.array([_value(o["value"]) for o in obs], dtype=float)
        s = pd.Series(values, index=dates, name=series_id)
        freq = "M" if is_monthly(dates) else "D"
        if freq == "M":
            s.index = pd.PeriodIndex(dates, freq="M")
        origin = f"{API_URL}/series/observations?series_id={series_id}"
        if as_of is not None:
            origin += f"&realtime_start={as_of}&realtime_end={as_of}"
        sm = SeriesMeta(
            series_id=series_id,
            source="fred-api",
            frequency=freq,  # type: ignore[arg-type]
            units=str(meta.get("units", "")),
            title=str(meta.get("title", "")),
            fetched_at=self.now(),
            vintage=as_of.isoformat() if as_of is not None else None,
            origin=origin,
        )
        return SeriesData(s, sm).finalized()

    def vintage_dates(self, series_id: str, start: date, end: date) -> list[str]:
        out: list[str] = []
        offset = 0
        while True:
            payload = self._get(
                "series/vintagedates",
                series_id,
                realtime_start=start.isoformat(),
                realtime_end=end.isoformat(),
                offset=offset,
            )
            got = list(payload.get("vintage_dates", []))
            out.extend(got)
            offset += len(got)
            if not got or offset >= int(payload.get("count", len(got))):
                return out

    def vintage_history(self, series_id: str, start: date, end: date) -> pd.DataFrame:
        """Every vintage between ``start`` and ``end``: one row per (date, realtime period).

        The vintage range is split so that no request spans more than
        :data:`MAX_VINTAGES` vintage dates (FRED's cap).
        """
        vintages = self.vintage_dates(series_id, start, end)
        rows: list[dict[str, Any]] = []
        for i in range(0, len(vintages), MAX_VINTAGES):
            chunk = vintages[i : i + MAX_VINTAGES]
            rows.extend(
                self._observations(series_id, realtime_start=chunk[0], realtime_end=chunk[-1])
            )
        frame = pd.DataFrame(rows, columns=["realtime_start", "realtime_end", "date", "value"])
        frame["value"] = [_value(v) for v in frame["value"]]
        return frame.drop_duplicates(["date", "realtime_start"]).reset_index(drop=True)


def _value(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")  # FRED writes "." for missing


def fetch_keyless(
    series_id: str,
    *,
    session: requests.Session | None = None,
    max_retries: int = 2,
    pause: float = 1.0,
    timeout: float = 30.0,
    now: Callable[[], str] = _now,
) -> SeriesData:
    """Keyless download via pandas-datareader's FRED reader (fallback path)."""
    from pandas_datareader._utils import RemoteDataError
    from pandas_datareader.fred import FredReader

    session = session or requests.Session()
    seen: list[requests.Response] = []

    def _remember(resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        seen.append(resp)

    session.hooks["response"].append(_remember)
    reader = FredReader(
        series_id,
        start="1900-01-01",
        end=None,
        retry_count=max_retries,
        pause=pause,
        timeout=timeout,
        session=session,
    )
    try:
        frame = reader.read()
    except RemoteDataError:
        if seen and seen[-1].status_code in (400, 404):
            raise BadInputError(f"FRED has no series {series_id!r} (keyless request).") from None
        if seen and seen[-1].status_code == 403:
            raise SourceUnavailableError(f"{KEYLESS_REFUSED} (series {series_id}).") from None
        raise SourceUnavailableError(
            f"FRED could not be reached for series {series_id} (keyless request)."
        ) from None
    except Exception:
        if seen and _looks_html(seen[-1]):
            raise SourceUnavailableError(f"{KEYLESS_REFUSED} (series {series_id}).") from None
        raise SourceUnavailableError(
            f"FRED's keyless answer for series {series_id} could not be parsed."
        ) from None
    finally:
        session.hooks["response"].remove(_remember)
    if seen and _looks_html(seen[-1]):
        raise SourceUnavailableError(f"{KEYLESS_REFUSED} (series {series_id}).")
    s = frame.iloc[:, 0].astype(float)
    dates = pd.DatetimeIndex(s.index)
    if not len(dates):
        raise SourceUnavailableError(f"FRED returned no observations for series {series_id}.")
    s.index = pd.PeriodIndex(dates, freq="M") if is_monthly(dates) else dates
    meta = SeriesMeta(
        series_id=series_id,
        source="fred-keyless",
        frequency="M" if isinstance(s.index, pd.PeriodIndex) else "D",
        fetched_at=now(),
        origin=f"{KEYLESS_URL}?id={series_id}",
    )
    s.name = series_id
    return SeriesData(s, meta).finalized()


def _looks_html(resp: requests.Response) -> bool:
    ctype = resp.headers.get("Content-Type", "")
    head = resp.content[:200].lstrip().lower()
    return "html" in ctype or head.startswith((b"<!doctype", b"<html"))

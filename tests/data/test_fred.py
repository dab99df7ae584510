"""FRED API and keyless fallback against recorded responses (no network)."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import requests
import responses
from responses import matchers

from regime.data.cache import Cache
from regime.data.fred import API_URL, KEYLESS_URL, MAX_VINTAGES, FredClient, fetch_keyless
from regime.errors import BadInputError, SourceUnavailableError

KEY = "abcdef0123456789abcdef0123456789"
OBS_URL = f"{API_URL}/series/observations"
INFO_URL = f"{API_URL}/series"
VINT_URL = f"{API_URL}/series/vintagedates"


def _info(body_id: str = "FEDFUNDS") -> dict:
    return {
        "seriess": [
            {
                "id": body_id,
                "title": "Federal Funds Effective Rate",
                "units": "Percent",
                "frequency_short": "M",
            }
        ]
    }


def _obs(rows: list[tuple[str, str]], rt: str = "2026-11-20") -> dict:
    return {
        "count": len(rows),
        "offset": 0,
        "limit": 100000,
        "observations": [
            {"realtime_start": rt, "realtime_end": rt, "date": d, "value": v} for d, v in rows
        ],
    }


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def _client(fc: FakeClock, **kw: object) -> FredClient:
    return FredClient(
        KEY,
        session=requests.Session(),
        clock=fc.clock,
        sleep=fc.sleep,
        now=lambda: "2026-11-21T00:00:00+00:00",
        **kw,
    )  # type: ignore[arg-type]


@responses.activate
def test_api_observations_parse_missing_and_monthly_index() -> None:
    responses.get(INFO_URL, json=_info())
    responses.get(
        OBS_URL, json=_obs([("1981-05-01", "18.52"), ("1981-06-01", "19.10"), ("1981-07-01", ".")])
    )
    fc = FakeClock()
    s = _client(fc).observations("FEDFUNDS")
    assert s.meta.frequency == "M"
    assert s.values[pd.Period("1981-06", "M")] == pytest.approx(19.10)
    assert s.values.isna().sum() == 1
    assert s.meta.units == "Percent"
    assert s.meta.source == "fred-api"
    assert KEY not in json.dumps(s.meta.to_dict())


@responses.activate
def test_requests_are_spaced_to_the_rate_limit() -> None:
    responses.get(INFO_URL, json=_info())
    responses.get(OBS_URL, json=_obs([("2000-01-01", "5.45")]))
    fc = FakeClock()
    _client(fc, requests_per_second=2.0).observations("FEDFUNDS")
    # two requests at a fake clock that does not move by itself: the second waits 0.5 s
    assert fc.sleeps == [pytest.approx(0.5)]


@responses.activate
def test_as_of_sends_realtime_window() -> None:
    responses.get(INFO_URL, json=_info("CPIAUCSL"))
    responses.get(
        OBS_URL,
        json=_obs([("2020-01-01", "258.7")], rt="2020-03-01"),
        match=[
            matchers.query_param_matcher(
                {"realtime_start": "2020-03-01", "realtime_end": "2020-03-01"}, strict_match=False
            )
        ],
    )
    s = _client(FakeClock()).observations("CPIAUCSL", as_of=date(2020, 3, 1))
    assert s.meta.vintage == "2020-03-01"
    assert "realtime_start=2020-03-01" in s.meta.origin


@responses.activate
def test_vintage_history_is_split_into_chunks_of_at_most_2000_vintages() -> None:
    vintages = [
        f"{1990 + i // 365:04d}-{(i // 28) % 12 + 1:02d}-{i % 28 + 1:02d}" for i in range(4500)
    ]
    vintages = sorted(set(vintages))
    n = len(vintages)
    responses.get(VINT_URL, json={"count": n, "offset": 0, "vintage_dates": vintages})
    expected_chunks = [vintages[i : i + MAX_VINTAGES] for i in range(0, n, MAX_VINTAGES)]
    for k, chunk in enumerate(expected_chunks):
        responses.get(
            OBS_URL,
            json=_obs([("2000-01-01", str(100 + k))], rt=chunk[0]),
            match=[
                matchers.query_param_matcher(
                    {"realtime_start": chunk[0], "realtime_end": chunk[-1]}, strict_match=False
                )
            ],
        )
    frame = _client(FakeClock()).vintage_history("GDP", date(1990, 1, 1), date(2010, 1, 1))
    obs_calls = [c for c in responses.calls if "series/observations" in c.request.url]
    assert len(expected_chunks) >= 3
    assert len(obs_calls) == len(expected_chunks)
    assert list(frame["value"]) == [100.0 + k for k in range(len(expected_chunks))]


@responses.activate
def test_429_then_success_retries_with_backoff() -> None:
    responses.get(INFO_URL, json=_info())
    responses.get(OBS_URL, status=429, json={"error_code": 429, "error_message": "Too Many"})
    responses.get(OBS_URL, json=_obs([("2000-01-01", "5.45")]))
    fc = FakeClock()
    s = _client(fc, backoff_seconds=1.0).observations("FEDFUNDS")
    assert len(s.values) == 1
    assert 1.0 in fc.sleeps  # backoff before the retry


@responses.activate
def test_timeouts_exhaust_retries_as_source_unavailable() -> None:
    responses.get(INFO_URL, body=requests.exceptions.ReadTimeout(f"timed out api_key={KEY}"))
    with pytest.raises(SourceUnavailableError, match="timed out 3 times") as exc:
        _client(FakeClock(), max_retries=2).observations("FEDFUNDS")
    assert KEY not in str(exc.value)


@responses.activate
def test_unknown_series_is_bad_input_with_freds_message() -> None:
    responses.get(
        INFO_URL,
        status=400,
        json={"error_code": 400, "error_message": "Bad Request.  The series does not exist."},
    )
    with pytest.raises(BadInputError, match="FRED has no series 'NOPE'.*does not exist"):
        _client(FakeClock()).observations("NOPE")


@responses.activate
def test_key_never_in_logs_errors_cache_or_metadata(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses.get(INFO_URL, json=_info())
    responses.get(OBS_URL, status=503)
    responses.get(OBS_URL, json=_obs([("2000-01-01", "5.45")]))
    s = _client(FakeClock()).observations("FEDFUNDS")
    cache = Cache(tmp_path)
    cache.put(s)
    for f in tmp_path.iterdir():
        assert KEY not in f.read_text()
    assert KEY not in caplog.text
    responses.replace(
        responses.GET,
        INFO_URL,
        status=400,
        json={"error_code": 400, "error_message": f"api_key {KEY} is not valid"},
    )
    with pytest.raises(BadInputError) as exc:
        _client(FakeClock()).observations("FEDFUNDS")
    assert KEY not in str(exc.value)
    assert "***" in str(exc.value)


@responses.activate
def test_keyless_csv_through_pandas_datareader() -> None:
    body = "observation_date,FEDFUNDS\n2000-01-01,5.45\n2000-02-01,5.73\n2000-03-01,.\n"
    responses.get(
        KEYLESS_URL,
        body=body,
        content_type="text/csv",
        match=[matchers.query_param_matcher({"id": "FEDFUNDS"})],
    )
    s = fetch_keyless("FEDFUNDS", pause=0.0)
    assert s.meta.source == "fred-keyless"
    assert s.meta.frequency == "M"
    assert list(s.values.round(2).fillna(-1)) == [5.45, 5.73, -1]


@responses.activate
def test_keyless_403_html_is_reported_as_refusal() -> None:
    page = "<!DOCTYPE html><html><body>Access Denied</body></html>"
    responses.get(KEYLESS_URL, body=page, status=403, content_type="text/html")
    with pytest.raises(
        SourceUnavailableError, match="FRED refused the keyless request; set FRED_API_KEY"
    ):
        fetch_keyless("CPIAUCSL", max_retries=0, pause=0.0)


@responses.activate
def test_keyless_html_with_200_is_reported_as_refusal_not_parse_error() -> None:
    page = "<!DOCTYPE html>\n<html><head><title>Challenge</title></head><body>x</body></html>"
    responses.get(KEYLESS_URL, body=page, status=200, content_type="text/html")
    with pytest.raises(SourceUnavailableError, match="refused the keyless request"):
        fetch_keyless("CPIAUCSL", max_retries=0, pause=0.0)

"""Cache integrity and the pull policy (offline, refresh, network down, corruption)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import requests
import responses

from regime.config import DataSpec, SeriesSpec
from regime.data.base import SeriesData, SeriesMeta
from regime.data.cache import Cache, CacheCorruptError, cache_key
from regime.data.fred import KEYLESS_URL
from regime.data.pull import pull
from regime.errors import SourceUnavailableError


def series(sid: str = "FEDFUNDS", n: int = 24) -> SeriesData:
    idx = pd.period_range("2000-01", periods=n, freq="M")
    s = pd.Series([float(i) / 4 for i in range(n)], index=idx, name=sid)
    return SeriesData(s, SeriesMeta(series_id=sid, source="file", frequency="M")).finalized()


def keyless_spec(sid: str = "FEDFUNDS") -> DataSpec:
    return DataSpec(series=(SeriesSpec(id=sid),))


def test_roundtrip_preserves_values_and_meta(cache: Cache) -> None:
    s = cache.put(series())
    back = cache.get("FEDFUNDS")
    pd.testing.assert_series_equal(back.values, s.values)
    assert back.meta == s.meta
    assert cache.ids() == ["FEDFUNDS"]


def test_daily_roundtrip(cache: Cache) -> None:
    idx = pd.DatetimeIndex(["2006-01-02", "2006-01-03", "2006-01-05"])
    s = SeriesData(
        pd.Series([1.0, float("nan"), 3.0], index=idx, name="D"),
        SeriesMeta(series_id="D", source="file", frequency="D"),
    )
    cache.put(s)
    back = cache.get("D")
    assert list(back.values.index) == list(idx)
    assert back.values.isna().sum() == 1


@pytest.mark.parametrize("damage", ["truncate", "flip", "meta"])
def test_corrupt_entries_are_detected_never_used(cache: Cache, damage: str) -> None:
    cache.put(series())
    data = cache.directory / "FEDFUNDS.csv"
    if damage == "truncate":
        data.write_bytes(data.read_bytes()[:40])
    elif damage == "flip":
        data.write_text(data.read_text().replace("0.25", "0.26"))
    else:
        (cache.directory / "FEDFUNDS.json").write_text("{not json")
    with pytest.raises(CacheCorruptError, match="FEDFUNDS"):
        cache.get("FEDFUNDS")


def test_no_temporary_files_left_behind(cache: Cache) -> None:
    cache.put(series())
    cache.put(series("CPIAUCSL"))
    # the lock file stays (it is how writers serialise), nothing else does
    assert sorted(p.name for p in cache.directory.iterdir() if p.name != ".lock") == [
        "CPIAUCSL.csv",
        "CPIAUCSL.json",
        "FEDFUNDS.csv",
        "FEDFUNDS.json",
    ]


def test_cache_key_is_file_safe() -> None:
    assert "/" not in cache_key("Portfolios_Formed_on_ME:Lo 10")
    assert cache_key("F-F_Research_Data_Factors:SMB") == "F-F_Research_Data_Factors__SMB"


def test_offline_without_cache_names_the_series(cache: Cache) -> None:
    with pytest.raises(SourceUnavailableError, match="Series FEDFUNDS is not in the cache"):
        pull(keyless_spec(), cache, offline=True)


def test_offline_with_cache_uses_it(cache: Cache) -> None:
    cache.put(series())
    out = pull(keyless_spec(), cache, offline=True)
    assert out["FEDFUNDS"].values.iloc[1] == 0.25


def test_offline_corrupt_cache_is_reported(cache: Cache) -> None:
    cache.put(series())
    (cache.directory / "FEDFUNDS.csv").write_text("date,value\n")
    with pytest.raises(CacheCorruptError, match="cannot be refetched with --offline"):
        pull(keyless_spec(), cache, offline=True)


@responses.activate
def test_corrupt_cache_is_refetched_when_online(cache: Cache) -> None:
    cache.put(series())
    (cache.directory / "FEDFUNDS.csv").write_text("garbage")
    responses.get(KEYLESS_URL, body="observation_date,FEDFUNDS\n2000-01-01,5.45\n")
    out = pull(keyless_spec(), cache, session=requests.Session())
    assert out["FEDFUNDS"].meta.source == "fred-keyless"
    assert cache.get("FEDFUNDS").values.iloc[0] == 5.45


@responses.activate
def test_network_down_without_cache_is_exit_4(cache: Cache) -> None:
    responses.get(KEYLESS_URL, body=requests.exceptions.ConnectionError("down"))
    spec = DataSpec(
        series=(SeriesSpec(id="FEDFUNDS"),), fred={"max_retries": 0, "backoff_seconds": 0}
    )
    with pytest.raises(SourceUnavailableError) as exc:
        pull(spec, cache)
    assert exc.value.exit_code == 4
    assert not list(cache.directory.glob("*")) if cache.directory.exists() else True


@responses.activate
def test_network_down_with_cache_and_refresh_falls_back_with_warning(
    cache: Cache, caplog: pytest.LogCaptureFixture
) -> None:
    cache.put(series())
    responses.get(KEYLESS_URL, body=requests.exceptions.ConnectionError("down"))
    spec = DataSpec(
        series=(SeriesSpec(id="FEDFUNDS"),), fred={"max_retries": 0, "backoff_seconds": 0}
    )
    out = pull(spec, cache, refresh=True)
    assert out["FEDFUNDS"].meta.source == "file"
    assert "Using the cached copy" in caplog.text


# --------------------------------------------------------------------------- issue 10 item 3


def _bumped(s: SeriesData) -> SeriesData:
    return SeriesData(s.values + 1.0, s.meta).finalized()


def test_kill_before_the_metadata_commit_keeps_the_previous_entry(cache: Cache) -> None:
    old = cache.put(series())
    new = _bumped(series())
    # what a kill after step 1 (staged data) leaves: the previous entry is intact
    (cache.directory / f"FEDFUNDS.{new.meta.checksum[:16]}.csv").write_bytes(new.to_csv_bytes())
    pd.testing.assert_series_equal(cache.get("FEDFUNDS").values, old.values)
    assert cache.ids() == ["FEDFUNDS"]
    cache.put(new)  # the next write removes the stray staging file
    assert sorted(p.name for p in cache.directory.iterdir() if p.name != ".lock") == [
        "FEDFUNDS.csv",
        "FEDFUNDS.json",
    ]


def test_kill_after_the_metadata_commit_is_rolled_forward(cache: Cache) -> None:
    import json

    cache.put(series())
    new = _bumped(series())
    staged = cache.directory / f"FEDFUNDS.{new.meta.checksum[:16]}.csv"
    staged.write_bytes(new.to_csv_bytes())
    (cache.directory / "FEDFUNDS.json").write_text(json.dumps(new.meta.to_dict()))
    pd.testing.assert_series_equal(cache.get("FEDFUNDS").values, new.values)
    assert not staged.exists()


def test_orphaned_data_is_reported_refetched_or_replaced(
    cache: Cache, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's probe: a series CSV without its JSON after a SIGKILL."""
    from regime.cli import main
    from regime.pipeline import import_series

    cache.put(series())
    (cache.directory / "FEDFUNDS.json").unlink()
    assert cache.ids() == ["FEDFUNDS"]  # data show no longer hides it
    with pytest.raises(CacheCorruptError, match="no metadata"):
        cache.get("FEDFUNDS")
    with pytest.raises(CacheCorruptError, match="cannot be refetched with --offline"):
        pull(keyless_spec(), cache, offline=True)
    rc = main(["data", "panel", "--cache-dir", str(cache.directory)])
    assert rc == 4 and "no metadata" in " ".join(capsys.readouterr().err.split())
    import_series(cache, [_bumped(series())])  # re-import replaces it
    assert cache.get("FEDFUNDS").values.iloc[0] == 1.0


@responses.activate
def test_orphan_is_refetched_online(cache: Cache) -> None:
    cache.put(series())
    (cache.directory / "FEDFUNDS.json").unlink()
    responses.get(KEYLESS_URL, body="observation_date,FEDFUNDS\n2000-01-01,5.45\n")
    out = pull(keyless_spec(), cache, session=requests.Session())
    assert out["FEDFUNDS"].values.iloc[0] == 5.45
    assert cache.get("FEDFUNDS").values.iloc[0] == 5.45

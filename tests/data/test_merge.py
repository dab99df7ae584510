"""Item 1 of issue 10: a revised file never rewrites history; conflicts stop the import."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regime.cli import main
from regime.data.base import (
    MERGE_ABS_TOL,
    MERGE_REL_TOL,
    SeriesData,
    SeriesMeta,
    merge_history,
    series_kind,
)
from regime.data.cache import Cache
from regime.errors import BadInputError
from regime.pipeline import import_series

SMB = "F-F_Research_Data_Factors:SMB"


def french_text(months: pd.PeriodIndex, smb: np.ndarray) -> str:
    rows = [
        f"{p.strftime('%Y%m')},   1.00,  {v:.2f},   0.50,   0.30"
        for p, v in zip(months, smb, strict=True)
    ]
    return ",Mkt-RF,SMB,HML,RF\n" + "\n".join(rows) + "\n"


def monthly(
    sid: str, values: np.ndarray, start: str, kind: str = "", origin: str = ""
) -> SeriesData:
    idx = pd.period_range(start, periods=len(values), freq="M")
    meta = SeriesMeta(series_id=sid, source="file", frequency="M", kind=kind, origin=origin)
    return SeriesData(pd.Series(values, index=idx, dtype=float, name=sid), meta).finalized()


def test_revised_french_file_never_rescales_history(tmp_path: Path) -> None:
    months = pd.period_range("1990-01", "2020-12", freq="M")
    smb = np.round(np.sin(np.arange(len(months))) * 3 + 0.1, 2)
    smb[months.get_loc(pd.Period("2000-01", "M"))] = 5.16
    full = tmp_path / "F-F_Research_Data_Factors.csv"
    full.write_text(french_text(months, smb))
    revised_months = months[months >= pd.Period("2010-01", "M")]
    revised = smb[months >= pd.Period("2010-01", "M")].copy()
    revised[0] = -0.21  # the revised SMB 2010-01
    rev = tmp_path / "F-F_Research_Data_Factors_revised.csv"
    rev.write_text(french_text(revised_months, revised))
    cache = tmp_path / "c"
    assert main(["data", "import", str(full), "--cache-dir", str(cache)]) == 0
    rc = main(["data", "import", str(rev), "--cache-dir", str(cache)])
    assert rc == 2  # the conflicting 2010-01 stops the import
    assert Cache(cache).get(SMB).values[pd.Period("2000-01", "M")] == 5.16
    assert main(["data", "import", str(rev), "--prefer", "new", "--cache-dir", str(cache)]) == 0
    got = Cache(cache).get(SMB).values
    assert got[pd.Period("2000-01", "M")] == 5.16  # history before the join untouched
    assert got[pd.Period("2010-01", "M")] == -0.21
    np.testing.assert_array_equal(
        got[months < pd.Period("2010-01", "M")], smb[: len(months) - len(revised)]
    )
    assert main(["data", "import", str(full), "--prefer", "old", "--cache-dir", str(cache)]) == 0
    assert Cache(cache).get(SMB).values[pd.Period("2010-01", "M")] == -0.21


def test_conflict_message_names_series_months_and_size(cache: Cache) -> None:
    old = monthly("FEDFUNDS", np.array([1.0, 2.0, 3.0, 4.0]), "2020-01", origin="a.csv")
    new = monthly("FEDFUNDS", np.array([3.5, 4.0, 5.0]), "2020-03", origin="b.csv")
    with pytest.raises(BadInputError) as err:
        merge_history(old, new)
    msg = str(err.value)
    assert "FEDFUNDS" in msg and "2020-03" in msg and "0.5" in msg and "--prefer" in msg


def test_zero_at_the_join_month_keeps_history(cache: Cache) -> None:
    old = monthly(SMB, np.array([1.0, -2.0, 0.0, 4.0]), "2020-01")
    new = monthly(SMB, np.array([0.0, 4.0, 5.0]), "2020-03")
    out = merge_history(old, new).values
    np.testing.assert_array_equal(out.to_numpy(), [1.0, -2.0, 0.0, 4.0, 5.0])


def test_rebased_index_levels_are_chained_by_ratio() -> None:
    old = monthly("CPIAUCSL", np.array([100.0, 101.0, 102.0, 103.0]), "2020-01")
    new = monthly("CPIAUCSL", np.array([204.0, 206.0, 208.0]), "2020-03")  # same series x2
    assert series_kind(new.meta) == "level"
    out = merge_history(old, new).values
    np.testing.assert_allclose(out.to_numpy(), [200.0, 202.0, 204.0, 206.0, 208.0])
    assert any("rebased" in n for n in merge_history(old, new).meta.notes)


def test_rates_are_never_chained() -> None:
    old = monthly("FEDFUNDS", np.array([1.0, 2.0, 3.0]), "2020-01")
    new = monthly("FEDFUNDS", np.array([6.0, 8.0]), "2020-03")
    with pytest.raises(BadInputError, match="FEDFUNDS"):
        merge_history(old, new)


# --------------------------------------------------------------------------- property

KINDS = {"level": "CPIAUCSL", "return": SMB, "rate": "FEDFUNDS"}


@st.composite
def split_series(draw: st.DrawFn) -> tuple[str, np.ndarray, int, int, int, list[int]]:
    kind = draw(st.sampled_from(sorted(KINDS)))
    n = draw(st.integers(4, 60))
    if kind == "level":
        steps = draw(st.lists(st.integers(-300, 300), min_size=n, max_size=n))
        values = 100.0 + np.cumsum(steps) / 100.0 + 10.0
        values = np.maximum(values, 1.0)
    else:
        ints = draw(st.lists(st.integers(-2000, 2000), min_size=n, max_size=n))
        values = np.asarray(ints, dtype=float) / 100.0  # zeros and negatives included
        if kind == "rate":
            values = np.abs(values)
    a_end = draw(st.integers(1, n - 1))  # file A covers [0, a_end)
    b_start = draw(st.integers(0, a_end))  # file B covers [b_start, n): they overlap or touch
    overlap = list(range(b_start, a_end))
    conflicts = draw(st.lists(st.sampled_from(overlap), unique=True)) if overlap else []
    return kind, values, a_end, b_start, n, conflicts


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=split_series(), a_first=st.booleans())
def test_import_merge_is_the_union_and_conflicts_raise(
    tmp_path_factory: pytest.TempPathFactory,
    case: tuple[str, np.ndarray, int, int, int, list[int]],
    a_first: bool,
) -> None:
    kind, values, a_end, b_start, _n, conflicts = case
    sid = KINDS[kind]
    a_vals = values[:a_end].copy()
    b_vals = values[b_start:].copy()
    for i in conflicts:  # B disagrees with A here by far more than the tolerance
        b_vals[i - b_start] = b_vals[i - b_start] + 1.0 + abs(b_vals[i - b_start])
    a = monthly(sid, a_vals, "2000-01", origin="A.csv")
    b = monthly(sid, b_vals, str(pd.Period("2000-01", "M") + b_start), origin="B.csv")
    first, second = (a, b) if a_first else (b, a)
    cache = Cache(tmp_path_factory.mktemp("c"))
    import_series(cache, [first])
    rebase = kind == "level" and bool(conflicts) and _one_ratio(first, second)
    if conflicts and not rebase:
        with pytest.raises(BadInputError, match=sid.split(":")[0]):
            import_series(cache, [second])
        pd.testing.assert_series_equal(cache.get(sid).values, first.values)  # nothing written
        return
    import_series(cache, [second])
    got = cache.get(sid).values
    older = first.values
    if rebase:  # the earlier import is put on the later one's base by one ratio
        join = older.index.intersection(second.values.index)[0]
        older = older * (second.values[join] / older[join])
    expected = second.values.combine_first(older)
    tol = MERGE_ABS_TOL + MERGE_REL_TOL * np.abs(expected.to_numpy())
    assert list(got.index) == list(expected.index)
    assert np.all(np.abs(got.to_numpy() - expected.to_numpy()) <= tol)


def _one_ratio(a: SeriesData, b: SeriesData) -> bool:
    """True when A rebased onto B by the ratio at their first common month agrees with B."""
    common = a.values.index.intersection(b.values.index)
    if common.empty:
        return False
    scaled = a.values[common] * (b.values[common[0]] / a.values[common[0]])
    allowed = MERGE_ABS_TOL + MERGE_REL_TOL * np.maximum(scaled.abs(), b.values[common].abs())
    return bool(((scaled - b.values[common]).abs() <= allowed).all())


@pytest.mark.realdata
def test_revised_real_factors_file_keeps_history(raw_dir: Path, tmp_path: Path) -> None:
    """The issue's probe on the real file: a copy from 2010 with SMB 2010-01 = -0.21."""
    full = raw_dir / "FF_Research_Data_Factors_monthly_1926-2025.csv"
    lines = full.read_text().splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith(","))
    block = [ln for ln in lines[header + 1 :] if ln[:6].isdigit() and len(ln.split(",")[0]) == 6]
    revised = [ln for ln in block if ln[:6] >= "201001"]
    cells = revised[0].split(",")
    cells[2] = "  -0.21"
    revised[0] = ",".join(cells)
    rev = tmp_path / "F-F_Research_Data_Factors_revised.csv"
    rev.write_text(lines[header] + "\n" + "\n".join(revised) + "\n")
    cache = tmp_path / "c"
    assert main(["data", "import", str(full), "--cache-dir", str(cache)]) == 0
    assert main(["data", "import", str(rev), "--cache-dir", str(cache)]) == 2
    assert main(["data", "import", str(rev), "--prefer", "new", "--cache-dir", str(cache)]) == 0
    got = Cache(cache).get(SMB).values
    assert got[pd.Period("2000-01", "M")] == 5.16
    assert got[pd.Period("2010-01", "M")] == -0.21


def test_prefer_records_the_choice_in_the_provenance() -> None:
    old = monthly("FEDFUNDS", np.array([1.0, 2.0, 3.0, 4.0]), "2020-01", origin="a.csv")
    new = monthly("FEDFUNDS", np.array([3.5, 4.0, 5.0]), "2020-03", origin="b.csv")
    for prefer, at_march in (("new", 3.5), ("old", 3.0)):
        out = merge_history(old, new, prefer=prefer)  # type: ignore[arg-type]
        assert out.values[pd.Period("2020-03", "M")] == at_march
        assert list(out.values) == [1.0, 2.0, at_march, 4.0, 5.0]
        assert any(n.startswith(f"--prefer {prefer}: 1 conflicting") for n in out.meta.notes)

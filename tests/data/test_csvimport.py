"""File import: every FRED header variant, Ken French blocks and zips, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from regime.data.csvimport import clean_french_column, read_file
from regime.errors import BadInputError
from tests.data.test_french import french_zip_text, make_zip

MONTHLY = ["2020-01-01", "2020-02-01", "2020-03-01"]


@pytest.mark.parametrize(
    ("header", "expected_id"),
    [
        ("DATE,FEDFUNDS", "FEDFUNDS"),
        ("observation_date,FEDFUNDS", "FEDFUNDS"),
        ('"Date","FEDFUNDS"', "FEDFUNDS"),
        ("date,value", "FEDFUNDS"),  # id from the file name
    ],
)
def test_fred_header_variants(tmp_path: Path, header: str, expected_id: str) -> None:
    f = tmp_path / "FEDFUNDS_monthly_2020.csv"
    f.write_text(
        header
        + "\n"
        + "\n".join(f"{d},{v}" for d, v in zip(MONTHLY, ["1.55", ".", ""], strict=True))
        + "\n"
    )
    (s,) = read_file(f)
    assert s.meta.series_id == expected_id
    assert s.meta.frequency == "M"
    assert s.values.iloc[0] == 1.55
    assert s.values.isna().sum() == 2
    assert s.meta.missing == ()  # blanks after the last value are not gaps inside the range


def test_missing_month_inside_the_range_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("date,CPIAUCSL\n2025-09-01,324.3\n2025-10-01,\n2025-11-01,325.0\n")
    (s,) = read_file(f)
    assert s.meta.missing == ("2025-10",)


def test_daily_series_keeps_dates(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("observation_date,DTWEXBGS\n2006-01-02,101.4\n2006-01-03,.\n2006-01-04,100.2\n")
    (s,) = read_file(f)
    assert s.meta.frequency == "D"
    assert isinstance(s.values.index, pd.DatetimeIndex)


def test_series_id_option_overrides(tmp_path: Path) -> None:
    f = tmp_path / "download.csv"
    f.write_text("date,value\n2020-01-01,1\n")
    (s,) = read_file(f, series_id="IWM")
    assert s.meta.series_id == "IWM"


def test_ken_french_csv_blank_header_and_mangled_deciles(tmp_path: Path) -> None:
    cols = ["<= 0", "Lo 10", *[f"{i}-Dec" for i in range(2, 10)], "Hi 10"]
    lines = [",".join(["", *cols])]
    for i in range(3):
        lines.append(
            ",".join([f"19260{7 + i}", "-99.99", *[f"{1 + i + j / 10:.2f}" for j in range(10)]])
        )
    f = tmp_path / "Portfolios_Formed_on_ME_monthly.csv"
    f.write_text("\n".join(lines) + "\n\n")
    series = {s.meta.series_id: s for s in read_file(f)}
    assert "Portfolios_Formed_on_ME:Dec 2" in series
    assert "Portfolios_Formed_on_ME:2-Dec" not in series
    assert series["Portfolios_Formed_on_ME:<= 0"].values.isna().all()  # -99.99 is missing
    assert series["Portfolios_Formed_on_ME:Lo 10"].values.iloc[0] == 1.0


def test_ken_french_first_monthly_block_only_and_zip(tmp_path: Path) -> None:
    text = french_zip_text(24)
    csv = tmp_path / "F-F_Research_Data_Factors.CSV"
    csv.write_text(text)
    z = tmp_path / "F-F_Research_Data_Factors_CSV.zip"
    z.write_bytes(make_zip(text))
    for f in (csv, z):
        series = {s.meta.series_id: s for s in read_file(f)}
        smb = series["F-F_Research_Data_Factors:SMB"]
        assert len(smb.values) == 24
        assert smb.values.index[-1] == pd.Period("1928-06", "M")


def test_clean_french_column() -> None:
    assert clean_french_column(" 2-Dec ") == "Dec 2"
    assert clean_french_column("Hi 10") == "Hi 10"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("   \n\n", "is empty"),
        ("hello world\nthis is not data\n", "is not a FRED CSV"),
        ("DATE,FEDFUNDS\n", "no data rows"),
        ("DATE,FEDFUNDS\n2020-01-01,1.0,3\n", "line 2 has 3 fields"),
        ("DATE,FEDFUNDS\n2020-01-01,1.0\n2020-13-45,2.0\n", "line 3 has an unparseable date"),
        ("DATE,FEDFUNDS\n2020-01-01,1.0\n2020-01-01,2.0\n", "duplicated date 2020-01-01"),
        ("DATE,FEDFUNDS\n2020-01-01,1.0\n2020-02-01,n/a\n", "line 3 has a non-numeric value"),
    ],
)
def test_bad_files_give_one_sentence_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(content)
    with pytest.raises(BadInputError, match=message) as exc:
        read_file(f)
    text = str(exc.value)
    assert str(f) in text
    assert "\n" not in text


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        read_file(tmp_path / "nope.csv")


def test_nan_never_silently_zero(tmp_path: Path) -> None:
    f = tmp_path / "X.csv"
    f.write_text("DATE,X\n2020-01-01,.\n2020-02-01,2\n")
    (s,) = read_file(f)
    assert math.isnan(s.values.iloc[0])

"""Ken French library through pandas-datareader, against a recorded zip (no network)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
import responses

from regime.data.french import fetch_french
from regime.errors import SourceUnavailableError

URL = "http://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp/F-F_Research_Data_Factors_CSV.zip"


def french_zip_text(n_months: int = 60) -> str:
    """A file laid out like the library's: preamble, monthly block, annual block, CRLF."""
    rows = []
    for i in range(n_months):
        y, m = 1926 + (6 + i) // 12, (6 + i) % 12 + 1
        rows.append(f"{y}{m:02d},   {0.5 + i / 100:5.2f},  {-0.25 + i / 100:5.2f},   0.10,   0.20")
    annual = [f"  {1927 + i},   10.00,   -2.00,   3.00,   2.00" for i in range(30)]
    parts = [
        "This file was created by CMPT_ME_BEME_RETS using the 202511 CRSP database.",
        "The 1-month TBill rate data until 202405 are from Ibbotson and Associates.",
        "",
        "    ,Mkt-RF,SMB,HML,RF",
        *rows,
        "",
        "  Annual Factors: January-December ",
        ",Mkt-RF,SMB,HML,RF",
        *annual,
        "",
        "Copyright 2025 Eugene F. Fama and Kenneth R. French",
    ]
    return "\r\n".join(parts) + "\r\n"


def make_zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("F-F_Research_Data_Factors.CSV", text)
    return buf.getvalue()


@responses.activate
def test_ken_french_zip_monthly_table() -> None:
    responses.get(URL, body=make_zip(french_zip_text()), content_type="application/zip")
    series = {s.meta.series_id: s for s in fetch_french("F-F_Research_Data_Factors", pause=0.0)}
    smb = series["F-F_Research_Data_Factors:SMB"]
    assert smb.meta.source == "french"
    assert smb.meta.frequency == "M"
    assert isinstance(smb.values.index, pd.PeriodIndex)
    assert smb.values.index[0] == pd.Period("1926-07", "M")
    assert len(smb.values) == 60  # the annual block is not mixed in
    np.testing.assert_allclose(smb.values.iloc[:3], [-0.25, -0.24, -0.23], atol=1e-9)


@responses.activate
def test_ken_french_unreachable_is_source_unavailable() -> None:
    responses.get(URL, status=503)
    with pytest.raises(SourceUnavailableError, match="Ken French"):
        fetch_french("F-F_Research_Data_Factors", max_retries=0, pause=0.0)

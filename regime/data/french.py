"""Ken French data library through pandas-datareader's ``famafrench`` reader.

Datasets used: ``F-F_Research_Data_Factors`` (``SMB``, monthly %) and
``Portfolios_Formed_on_ME`` (size deciles, value-weighted monthly %). Table 0
of each zip is the monthly value-weighted block.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import requests

from regime.data.base import SeriesData
from regime.data.csvimport import french_frame
from regime.errors import BadInputError, SourceUnavailableError

LIBRARY_URL = "https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp/"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def fetch_french(
    dataset: str,
    *,
    session: requests.Session | None = None,
    max_retries: int = 2,
    pause: float = 1.0,
    now: Callable[[], str] = _now,
) -> list[SeriesData]:
    """Download ``dataset`` and return its monthly columns as ``DATASET:COLUMN`` series."""
    from pandas_datareader._utils import RemoteDataError
    from pandas_datareader.famafrench import FamaFrenchReader

    seen: list[requests.Response] = []
    session = session or requests.Session()

    def _remember(resp: requests.Response, *args: object, **kwargs: object) -> None:
        seen.append(resp)

    session.hooks["response"].append(_remember)
    reader = FamaFrenchReader(
        dataset, start="1900-01-01", retry_count=max_retries, pause=pause, session=session
    )
    try:
        tables = reader.read()
    except RemoteDataError:
        if seen and seen[-1].status_code == 404:
            raise BadInputError(f"Ken French library has no dataset {dataset!r}.") from None
        raise SourceUnavailableError(
            f"Ken French data library could not be reached for {dataset}."
        ) from None
    except Exception:
        raise SourceUnavailableError(
            f"Ken French answer for {dataset} could not be parsed as a zip of CSV tables."
        ) from None
    finally:
        session.hooks["response"].remove(_remember)
    monthly = tables[0]
    if not isinstance(monthly.index, pd.PeriodIndex) or monthly.index.freqstr[0] != "M":
        raise SourceUnavailableError(f"Ken French table 0 of {dataset} is not monthly.")
    return french_frame(monthly, dataset, f"{LIBRARY_URL}{dataset}_CSV.zip", "french", now)

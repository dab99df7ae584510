"""Import hand-downloaded files: FRED CSVs, FRED-MD, Ken French CSV and zip.

FRED CSV headers vary by vintage: ``DATE,X``, ``observation_date,X``,
``date,value``, quoted ``"Date","X"``; missing values are ``.`` or blank; daily
or monthly. Ken French CSVs have a blank first header cell, ``YYYYMM`` dates,
sometimes several blocks (annual, equal-weighted) and spreadsheet-mangled
column names (``2-Dec`` for ``Dec 2``). FRED-MD has ``sasdate`` and a
``Transform:`` row; its columns are imported as ``FRED-MD:<mnemonic>`` so they
never overwrite the FRED series of the same name. Every problem is one
sentence naming the file and line.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from regime.data.base import (
    PLAUSIBLE,
    SeriesData,
    SeriesMeta,
    implausible,
    is_monthly,
    series_kind,
)
from regime.errors import BadInputError

DATE_HEADERS = {"date", "observation_date", "sasdate"}
FRENCH_MISSING = (-99.99, -999.0)
FACTORS = "F-F_Research_Data_Factors"
SIZE_PORTFOLIOS = "Portfolios_Formed_on_ME"
_ID_FROM_NAME = re.compile(r"^([A-Z][A-Z0-9]{2,})(?:_|\.|$)")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_file(
    path: Path | str,
    *,
    series_id: str | None = None,
    now: Callable[[], str] = _now,
) -> list[SeriesData]:
    """Parse one file into series (one for a FRED CSV, several for Ken French/FRED-MD)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"File {path} does not exist.") from None
    except OSError as exc:
        raise BadInputError(f"File {path} cannot be read: {exc.strerror}.") from None
    if raw[:2] == b"PK":
        text, inner = _unzip(raw, path)
        out = read_french_text(text, path, dataset=series_id or _dataset_from_name(inner), now=now)
        return _checked(out, path)
    text = _decode(raw)
    if not text.strip():
        raise BadInputError(f"File {path} is empty.")
    first = text.lstrip().splitlines()[0]
    if _is_french(text):
        return _checked(read_french_text(text, path, dataset=series_id, now=now), path)
    if first.lower().startswith("sasdate"):
        return _checked(read_fred_md_text(text, path, now=now), path)
    return _checked([read_fred_text(text, path, series_id=series_id, now=now)], path)


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, never with replacement characters."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _checked(series: list[SeriesData], path: Path) -> list[SeriesData]:
    """Reject ids that are not printable text and values implausible for the series' kind.

    Returns the series with their kind (level, rate, return, unknown) stated in
    the metadata, which decides how a later import may combine with them.
    """
    out = []
    for s in series:
        sid = s.meta.series_id
        if not sid.isprintable() or "\ufffd" in sid:
            raise BadInputError(f"File {path} names a series {sid!r} that is not printable text.")
        bad = implausible(s)
        if bad is not None:
            lo, hi = PLAUSIBLE[series_kind(s.meta)]
            raise BadInputError(
                f"File {path} gives series {sid} an implausible value {bad[1]:g} at {bad[0]} "
                f"(a {series_kind(s.meta)} series must lie in "
                f"{'(' if lo == 0 else '['}{lo:g}, {hi:g}])."
            )
        out.append(SeriesData(s.values, replace(s.meta, kind=series_kind(s.meta))))
    return out


def _number(v: str, path: Path, where: str, sid: str) -> float:
    """A finite float from a cell; anything else is one sentence naming the file and row."""
    try:
        x = float(v)
    except ValueError:
        raise BadInputError(
            f"File {path} {where} has a non-numeric value {v!r} for {sid}."
        ) from None
    if not np.isfinite(x):
        raise BadInputError(
            f"File {path} {where} has a non-finite value {v!r} for {sid}; "
            "write a missing value as '.' or leave it blank."
        )
    return x


def _unzip(raw: bytes, path: Path) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise BadInputError(f"Zip file {path} holds no CSV file.")
            data = zf.read(names[0])
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError):
        raise BadInputError(
            f"File {path} is not a valid zip archive (damaged or truncated)."
        ) from None
    try:
        return data.decode("utf-8"), names[0]
    except UnicodeDecodeError:
        return data.decode("cp1252"), names[0]


def _is_french(text: str) -> bool:
    lines = [ln for ln in text.splitlines()[:60] if ln.strip()]
    for i, ln in enumerate(lines[:-1]):
        if ln.lstrip().startswith(",") and re.match(r"^\s*\d{6}\s*,", lines[i + 1]):
            return True
    return False


def _dataset_from_name(name: str) -> str | None:
    stem = Path(name).stem
    stem = re.sub(r"(_CSV|_monthly.*)$", "", stem, flags=re.IGNORECASE)
    return stem or None


# --------------------------------------------------------------------------- FRED CSV


def _split_header(line: str) -> list[str]:
    return [c.strip().strip('"').strip() for c in next(csv.reader([line]))]


def read_fred_text(
    text: str,
    path: Path,
    *,
    series_id: str | None = None,
    source: str = "file",
    now: Callable[[], str] = _now,
) -> SeriesData:
    """Parse a two-column FRED CSV (any header variant, daily or monthly)."""
    lines = text.splitlines()
    header = _split_header(lines[0])
    if len(header) != 2 or header[0].lower() not in DATE_HEADERS:
        raise BadInputError(
            f"File {path} is not a FRED CSV: expected a header like 'DATE,SERIES' "
            f"or 'observation_date,SERIES', found {lines[0][:60]!r}."
        )
    if len(lines) < 2:
        raise BadInputError(f"File {path} has a header but no data rows.")
    sid = series_id or (header[1] if header[1].lower() != "value" else None)
    if sid is None:
        m = _ID_FROM_NAME.match(path.name)
        if m is None:
            raise BadInputError(
                f"File {path} names no series in its header or file name; pass --series-id."
            )
        sid = m.group(1)
    dates: list[str] = []
    values: list[float] = []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = [c.strip().strip('"') for c in line.split(",")]
        if len(cells) != 2:
            raise BadInputError(
                f"File {path} line {lineno} has {len(cells)} fields where 2 were expected."
            )
        d, v = cells
        dates.append(d)
        if v in ("", "."):
            values.append(np.nan)
            continue
        values.append(_number(v, path, f"line {lineno}", sid))
    if not dates:
        raise BadInputError(f"File {path} has a header but no data rows.")
    idx = _parse_dates(dates, path, fmt=None)
    return _build(idx, values, path, sid, source=source, now=now)


def _parse_dates(dates: list[str], path: Path, fmt: str | None) -> pd.DatetimeIndex:
    formats = [fmt] if fmt else ["%Y-%m-%d", "%m/%d/%Y", "%Y-%m"]
    for f in formats:
        parsed = pd.to_datetime(pd.Series(dates), format=f, errors="coerce")
        if not parsed.isna().any():
            return pd.DatetimeIndex(parsed)
    # name the first date no format accepts
    bad = next(
        d
        for d in dates
        if all(pd.isna(pd.to_datetime(d, format=f, errors="coerce")) for f in formats)
    )
    line = dates.index(bad) + 2
    raise BadInputError(f"File {path} line {line} has an unparseable date {bad!r}.")


def _build(
    idx: pd.DatetimeIndex,
    values: list[float],
    path: Path,
    sid: str,
    *,
    source: str,
    now: Callable[[], str],
    units: str = "",
    title: str = "",
) -> SeriesData:
    dup = idx[idx.duplicated()]
    if len(dup):
        raise BadInputError(f"File {path} has duplicated date {dup[0].date()} for series {sid}.")
    s = pd.Series(np.asarray(values, dtype=float), index=idx).sort_index()
    if is_monthly(pd.DatetimeIndex(s.index)):
        s.index = pd.PeriodIndex(pd.DatetimeIndex(s.index), freq="M")
        freq = "M"
    else:
        freq = "D"
    s.name = sid
    meta = SeriesMeta(
        series_id=sid,
        source=source,
        frequency=freq,  # type: ignore[arg-type]
        units=units,
        title=title,
        fetched_at=now(),
        origin=str(path),
    )
    return SeriesData(s, meta).finalized()


# --------------------------------------------------------------------------- FRED-MD


def read_fred_md_text(text: str, path: Path, *, now: Callable[[], str] = _now) -> list[SeriesData]:
    """FRED-MD ``current.csv``: ``sasdate`` column, a ``Transform:`` row, many series."""
    frame = pd.read_csv(io.StringIO(text), dtype={"sasdate": str})
    frame = frame[~frame["sasdate"].astype(str).str.startswith("Transform")]
    frame = frame.dropna(subset=["sasdate"])
    if frame.empty:
        raise BadInputError(f"File {path} has a header but no data rows.")
    idx = _parse_dates(list(frame["sasdate"]), path, fmt="%m/%d/%Y")
    out = []
    for col in frame.columns[1:]:
        vals = pd.to_numeric(frame[col], errors="coerce")
        bad = (frame[col].notna() & vals.isna()) | np.isinf(vals)
        if bad.any():
            # line numbers: header is line 1, the frame keeps read_csv's row positions
            line = int(frame.index[bad.to_numpy()][0]) + 2
            raise BadInputError(
                f"File {path} line {line} has a non-numeric or non-finite value "
                f"{frame[col][bad].iloc[0]!r} in column {col!r}."
            )
        out.append(
            _build(
                idx,
                list(vals),
                path,
                f"FRED-MD:{col}",
                source="fred-md",
                now=now,
                title=f"FRED-MD {col}",
            )
        )
    return out


# --------------------------------------------------------------------------- Ken French


def clean_french_column(name: str) -> str:
    """Undo spreadsheet damage: ``2-Dec`` -> ``Dec 2``; strip blanks."""
    name = str(name).strip()
    m = re.fullmatch(r"(\d+)-Dec", name)
    return f"Dec {m.group(1)}" if m else name


def _guess_dataset(columns: list[str]) -> str | None:
    cols = set(columns)
    if {"Mkt-RF", "SMB", "HML", "RF"} <= cols:
        return FACTORS
    if {"Lo 10", "Hi 10"} <= cols:
        return SIZE_PORTFOLIOS
    return None


def french_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Split a Ken French CSV into (header, rows) blocks, in file order."""
    tables: list[tuple[list[str], list[list[str]]]] = []
    header: list[str] | None = None
    rows: list[list[str]] = []
    for line in text.splitlines():
        if line.lstrip().startswith(","):
            if header is not None and rows:
                tables.append((header, rows))
            header, rows = [c.strip() for c in line.split(",")][1:], []
        elif header is not None and re.match(r"^\s*\d{4,8}\s*,", line):
            rows.append([c.strip() for c in line.split(",")])
        elif header is not None and rows:
            tables.append((header, rows))
            header, rows = None, []
    if header is not None and rows:
        tables.append((header, rows))
    return tables


def french_frame(
    frame: pd.DataFrame, dataset: str, origin: str, source: str, now: Callable[[], str]
) -> list[SeriesData]:
    """Series ``DATASET:COLUMN`` from a monthly Ken French table (``PeriodIndex``)."""
    out = []
    for col in frame.columns:
        name = clean_french_column(str(col))
        s = pd.to_numeric(frame[col], errors="coerce").astype(float)
        s = s.mask(s.isin(FRENCH_MISSING))
        sid = f"{dataset}:{name}"
        s.name = sid
        meta = SeriesMeta(
            series_id=sid,
            source=source,
            frequency="M",
            units="percent per month",
            title=f"Ken French {dataset} {name}",
            fetched_at=now(),
            origin=origin,
        )
        out.append(SeriesData(s, meta).finalized())
    return out


def read_french_text(
    text: str, path: Path, *, dataset: str | None = None, now: Callable[[], str] = _now
) -> list[SeriesData]:
    """The first monthly (``YYYYMM``) block of a Ken French CSV."""
    for header, rows in french_tables(text):
        if not rows or not re.fullmatch(r"\d{6}", rows[0][0]):
            continue
        for lineno, r in enumerate(rows):
            if len(r) != len(header) + 1:
                raise BadInputError(
                    f"File {path} has a Ken French row with {len(r)} fields where "
                    f"{len(header) + 1} were expected (row {lineno + 1} of the monthly block)."
                )
        dates = [r[0] for r in rows]
        idx = _parse_dates(dates, path, fmt="%Y%m")
        if idx.duplicated().any():
            raise BadInputError(f"File {path} has a duplicated month {dates[0]!r}.")
        cols = [clean_french_column(h) for h in header]
        body = {}
        for j, c in enumerate(cols):
            body[c] = [_number(r[j + 1], path, f"row {r[0]}", c) for r in rows]
        frame = pd.DataFrame(body, index=pd.PeriodIndex(idx, freq="M"))
        name = dataset or _guess_dataset(cols) or _dataset_from_name(path.name)
        if not name:
            raise BadInputError(f"File {path} names no Ken French dataset; pass --series-id.")
        return french_frame(frame, name, str(path), "file", now)
    raise BadInputError(f"File {path} has no monthly (YYYYMM) Ken French table.")

"""The in-memory form of one series: values plus provenance."""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

Frequency = Literal["M", "D"]


@dataclass(frozen=True)
class SeriesMeta:
    """Provenance of a series, stored beside it in the cache.

    ``source`` is one of ``fred-api``, ``fred-keyless``, ``french``, ``file``,
    ``fred-md``, ``synthetic``. ``origin`` is a URL (never with the API key) or a
    file path. ``vintage`` is the as-of date of a point-in-time query, if any.
    """

    series_id: str
    source: str
    frequency: Frequency
    units: str = ""
    title: str = ""
    fetched_at: str = ""
    vintage: str | None = None
    origin: str = ""
    rows: int = 0
    checksum: str = ""
    missing: tuple[str, ...] = ()
    synthetic: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["missing"] = list(self.missing)
        d["notes"] = list(self.notes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeriesMeta:
        d = dict(d)
        d["missing"] = tuple(d.get("missing", ()))
        d["notes"] = tuple(d.get("notes", ()))
        return cls(**d)


@dataclass(frozen=True)
class SeriesData:
    """A float series indexed by ``PeriodIndex`` (freq M) or ``DatetimeIndex`` (daily)."""

    values: pd.Series
    meta: SeriesMeta

    @property
    def first(self) -> str:
        v = self.values.dropna()
        return str(v.index[0])[:10] if len(v) else ""

    @property
    def last(self) -> str:
        v = self.values.dropna()
        return str(v.index[-1])[:10] if len(v) else ""

    def to_csv_bytes(self) -> bytes:
        s = self.values
        idx = (
            [str(p) for p in s.index]
            if self.meta.frequency == "M"
            else list(pd.DatetimeIndex(s.index).strftime("%Y-%m-%d"))
        )
        buf = io.StringIO()
        buf.write("date,value\n")
        for i, v in zip(idx, s.to_numpy(dtype=float), strict=True):
            buf.write(f"{i},{'' if np.isnan(v) else repr(float(v))}\n")
        return buf.getvalue().encode()

    def finalized(self, **changes: Any) -> SeriesData:
        """Copy with rows, missing months and checksum filled in from the values."""
        meta = replace(self.meta, **changes)
        body = self.to_csv_bytes()
        missing = tuple(missing_months(self.values)) if meta.frequency == "M" else ()
        meta = replace(
            meta,
            rows=len(self.values),
            missing=missing,
            checksum=hashlib.sha256(body).hexdigest(),
        )
        return SeriesData(self.values, meta)


def missing_months(values: pd.Series) -> list[str]:
    """Months between the first and last observation that are absent or NaN."""
    v = values.dropna()
    if v.empty:
        return []
    full = pd.period_range(v.index[0], v.index[-1], freq="M")
    return [str(p) for p in full.difference(pd.PeriodIndex(v.index))]


def is_monthly(dates: pd.DatetimeIndex) -> bool:
    """True when every date is the first of a month and no month repeats."""
    if len(dates) == 0:
        return True
    if not bool((dates.day == 1).all()):
        return False
    return not pd.PeriodIndex(dates, freq="M").duplicated().any()


def merge_history(a: SeriesData, b: SeriesData) -> SeriesData:
    """Combine two copies of one series, preferring the newest vintage where they overlap.

    The newer copy is the one whose data reach later (``b`` on a tie). It wins
    from its first value on, including its gaps (a month it leaves blank stays
    missing). Earlier months come from the older copy, chained on growth rates:
    scaled by ``new[join] / old[join]`` at the join month when both have it.
    """
    from regime.errors import BadInputError

    a_last, b_last = a.values.dropna().index.max(), b.values.dropna().index.max()
    old, new = (b, a) if (a_last is not None and b_last is not None and a_last > b_last) else (a, b)
    sid = new.meta.series_id
    if old.meta.frequency != new.meta.frequency:
        raise BadInputError(
            f"Series {sid} is cached at frequency {old.meta.frequency} but the new data is "
            f"{new.meta.frequency}; import with --replace."
        )
    n = new.values.dropna()
    o = old.values.dropna()
    if n.empty:
        return new
    join = n.index[0]
    earlier = o[o.index < join]
    if earlier.empty:
        return new
    factor = 1.0
    if join in o.index and o[join] != 0:
        factor = float(n[join] / o[join])
    values = pd.concat([earlier * factor, new.values[new.values.index >= join]]).sort_index()
    note = f"history before {str(join)[:10]} from {old.meta.origin}" + (
        f", chained on growth rates (x{factor:.6f})" if factor != 1.0 else ""
    )
    meta = replace(new.meta, notes=(*old.meta.notes, *new.meta.notes, note))
    return SeriesData(values.rename(sid), meta).finalized()

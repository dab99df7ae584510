"""The in-memory form of one series: values plus provenance."""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

Frequency = Literal["M", "D"]
Kind = Literal["level", "rate", "return", "unknown"]
Prefer = Literal["new", "old"]

# What each known series measures, which decides how two copies combine: only index
# levels may be chained by a ratio (a rebased index is the same series times a
# constant); rates, changes and returns are never chained. Unknown series are
# never chained either.
KNOWN_KINDS: dict[str, Kind] = {
    "FEDFUNDS": "rate",
    "DFF": "rate",
    "CPIAUCSL": "level",
    "CPILFESL": "level",
    "PCEPI": "level",
    "PCEPILFE": "level",
    "TWEXBMTH": "level",
    "TWEXMMTH": "level",
    "DTWEXBGS": "level",
    "SP500": "level",
}
# Plausible range of each kind (percent for rates and returns): a price index is
# positive, a policy rate above 100% or a monthly return below -100% is a data error.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "level": (0.0, float("inf")),
    "rate": (-20.0, 100.0),
    "return": (-100.0, float("inf")),
}
# Two copies of a month agree when they differ by at most half a unit in the second
# decimal (FRED and Ken French print percent to 2 decimals) plus 0.01% of the value
# (rounding of an index level after a rebase).
MERGE_ABS_TOL = 0.005
MERGE_REL_TOL = 1e-4


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
    kind: str = ""

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


def series_kind(meta: SeriesMeta) -> Kind:
    """``level``, ``rate``, ``return`` or ``unknown``: the stored kind, else by source and id."""
    if meta.kind in ("level", "rate", "return", "unknown"):
        return cast(Kind, meta.kind)
    if meta.source == "french" or meta.units == "percent per month":
        return "return"
    sid = meta.series_id.removeprefix("FRED-MD:")
    return KNOWN_KINDS.get(sid, "unknown")


def implausible(series: SeriesData) -> tuple[str, float] | None:
    """The first (date, value) outside the plausible range of the series' kind, if any."""
    bounds = PLAUSIBLE.get(series_kind(series.meta))
    if bounds is None:
        return None
    lo, hi = bounds
    v = series.values.dropna()
    bad = v[(v <= lo) | (v > hi)] if lo == 0.0 else v[(v < lo) | (v > hi)]
    if bad.empty:
        return None
    return str(bad.index[0])[:10], float(bad.iloc[0])


def _months(index: pd.Index, limit: int = 3) -> str:
    labels = [str(i)[:10] for i in index]
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def merge_history(
    old: SeriesData,
    new: SeriesData,
    *,
    prefer: Prefer | None = None,
    abs_tol: float = MERGE_ABS_TOL,
    rel_tol: float = MERGE_REL_TOL,
) -> SeriesData:
    """Combine a cached copy ``old`` of a series with a newly imported copy ``new``.

    The result is the union of the observed months. Where both copies have a
    month they must agree within ``abs_tol + rel_tol * |value|``; otherwise a
    :class:`~regime.errors.BadInputError` names the series, the months and the
    size of the conflict, unless ``prefer`` says which copy wins there.

    Only index levels (:func:`series_kind` ``level``) are chained: when the two
    copies differ by one constant ratio (a rebased index), the other copy is
    scaled onto the preferred one's base by the ratio at the first common
    month. Rates, changes and returns are never scaled.
    """
    from regime.errors import BadInputError

    sid = new.meta.series_id
    if old.meta.frequency != new.meta.frequency:
        raise BadInputError(
            f"Series {sid} is cached at frequency {old.meta.frequency} but the new data is "
            f"{new.meta.frequency}; import with --replace."
        )
    kind, old_kind = series_kind(new.meta), series_kind(old.meta)
    if "unknown" not in (kind, old_kind) and kind != old_kind:
        raise BadInputError(
            f"Series {sid} is cached as a {old_kind} series but the new data is a {kind} "
            "series; import with --replace."
        )
    if kind == "unknown":
        kind = old_kind
    base, other = (old, new) if prefer == "old" else (new, old)
    b = base.values.dropna()
    o = other.values.dropna()
    common = b.index.intersection(o.index)
    factor = 1.0
    notes = [*old.meta.notes, *new.meta.notes]
    if kind == "level" and len(common):
        join = common[0]
        if b[join] > 0 and o[join] > 0:
            ratio = float(b[join] / o[join])
            if abs(ratio - 1.0) > rel_tol:
                factor = ratio
                o = o * factor
                notes.append(
                    f"{other.meta.origin} rebased onto {base.meta.origin} by the ratio at "
                    f"{str(join)[:10]} (x{factor:.6f}; index level)"
                )
    diff = (b[common] - o[common]).abs()
    allowed = abs_tol + rel_tol * np.maximum(b[common].abs(), o[common].abs())
    conflict = diff[diff > allowed]
    if len(conflict) and prefer is None:
        raise BadInputError(
            f"Series {sid} ({kind}): {len(conflict)} overlapping month(s) differ between "
            f"{old.meta.origin or 'the cache'} and {new.meta.origin or 'the new data'} "
            f"({_months(conflict.index)}; largest difference {float(conflict.max()):.6g} at "
            f"{str(conflict.idxmax())[:10]}); pass --prefer new or --prefer old to choose, "
            "or --replace to drop the cached copy."
        )
    only_other = o[~o.index.isin(b.index)]
    values = pd.concat([b, only_other]).sort_index()
    if len(only_other):
        notes.append(
            f"{len(only_other)} month(s) from {other.meta.origin} ({_months(only_other.index)})"
        )
    if len(conflict):
        notes.append(
            f"--prefer {prefer}: {len(conflict)} conflicting month(s) "
            f"({_months(conflict.index)}) taken from {base.meta.origin}"
        )
    meta = replace(new.meta if prefer != "old" else old.meta, notes=tuple(notes), kind=kind)
    return SeriesData(values.astype(float).rename(sid), meta).finalized()

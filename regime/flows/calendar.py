"""Reconstitution dates.

June: rank day April 30; effective after the close on the fourth Friday of June
(2024-06-28, 2025-06-27, 2026-06-26). From December 2026 a second, smaller
event each year (FTSE Russell moved to semi-annual reconstitution); its dates
are configuration values because the schedule is announced year by year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

FRIDAY = 4

# The one home of the calendar's defaults (config, panel, flow spec and scenarios import them)
RECON_FIRST_YEAR = 1989  # first June reconstitution that counts in the history window
SEMIANNUAL_FROM = date(2026, 12, 1)  # first December reconstitution (semi-annual from 2026)
DECEMBER_SIZE = 0.5  # December event size relative to June (assumption)
DECEMBER_FRIDAY = 2  # December effective date: this Friday of December (assumption)
DECEMBER_RANK = (10, 30)  # December rank day (month, day) (assumption)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Mon=0) of a month."""
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


@dataclass(frozen=True)
class ReconEvent:
    """One reconstitution: rank day, effective date (after the close), relative size."""

    rank_day: date
    effective: date
    size: float = 1.0
    kind: str = "june"


def june_event(year: int) -> ReconEvent:
    return ReconEvent(date(year, 4, 30), nth_weekday(year, 6, FRIDAY, 4), 1.0, "june")


def december_event(
    year: int,
    *,
    rank_month_day: tuple[int, int] = DECEMBER_RANK,
    effective_weekday_n: int = DECEMBER_FRIDAY,
    size: float = DECEMBER_SIZE,
) -> ReconEvent:
    """December event: rank day and the n-th Friday of December from config (assumptions)."""
    return ReconEvent(
        date(year, *rank_month_day),
        nth_weekday(year, 12, FRIDAY, effective_weekday_n),
        size,
        "december",
    )


def events_between(
    start: date,
    end: date,
    *,
    semiannual_from: date = SEMIANNUAL_FROM,
    december_size: float = DECEMBER_SIZE,
    december_friday: int = DECEMBER_FRIDAY,
    december_rank: tuple[int, int] = DECEMBER_RANK,
) -> list[ReconEvent]:
    """Events whose effective date lies in ``[start, end]`` or whose run-up overlaps it."""
    out: list[ReconEvent] = []
    for year in range(start.year - 1, end.year + 1):
        evs = [june_event(year)]
        dec = december_event(
            year,
            rank_month_day=december_rank,
            effective_weekday_n=december_friday,
            size=december_size,
        )
        if dec.effective >= semiannual_from:
            evs.append(dec)
        out.extend(
            e for e in evs if e.effective >= start - timedelta(days=120) and e.rank_day <= end
        )
    return sorted(out, key=lambda e: e.effective)

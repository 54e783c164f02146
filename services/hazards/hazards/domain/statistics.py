"""Hazard statistics, the pure part: which counter cells an event adds to, the rectification-time
buckets, how a period is read (whole months, then days at its edges), percentiles from bucket
counts, rates and year-on-year changes. No I/O: the projection (`projections/statistics.py`)
and the report (`application/statistics.py`) build on this.

The cohort rule: a hazard counts in the day it was reported, in the city's local time, for every
figure (accepted, closed, overdue, …): "of the hazards reported in March, how many are closed
now". A figure of a period therefore still grows after the period ends, until its hazards are
settled.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping

# The demo city's local time, Asia/Shanghai: UTC+8 all year (China has kept no summer time since
# 1991), so a fixed offset is exact and needs no time-zone database. The counters are keyed by
# it: another city's offset means rebuilding the projection.
CITY_UTC_OFFSET = dt.timedelta(hours=8)
CITY_TIME_ZONE = "UTC+08:00"

LEVELS = ("grid", "community", "street", "district", "city")
CHILD_LEVEL = {"city": "district", "district": "street", "street": "community", "community": "grid"}
ALL = "*"  # the key of a cell counting every category (or venue kind): a division's total in one row
DAY, MONTH = "day", "month"
MAX_PERIOD_DAYS = 366
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)

# Every count is of hazards, each counted at most once (so a hazard reopened twice is one reopened).
HAZARD_COUNTS = ("reported", "accepted", "rejected", "merged", "closed", "fixed_on_spot", "recurrences", "reopened",
                 "overdue")
INSPECTION_COUNTS = ("inspections_due", "inspections_done", "hazards_found")
# Inspection items that found a hazard (each opened one: InspectionRecorded.items[].hazard_id).
FOUND_RESULTS = frozenset({"failed", "fixed_on_spot"})


def local_day(at: dt.datetime) -> dt.date:
    """The city's calendar day of an aware moment."""
    return (at.astimezone(dt.UTC) + CITY_UTC_OFFSET).date()


def cells(day: dt.date, key: str, jurisdiction: Mapping[str, str]) -> list[tuple[str, str, str, dt.date, str]]:
    """The counter cells (level, code, grain, period, key) a fact of `day` about `key` (a category
    or a venue kind) adds one to: each level of its jurisdiction, by day and by month, under its
    key and under ALL. A grid is no division of the statistical scheme (it has no centre): it
    keeps the ALL cells only, what a community's `by_child_division` reads."""
    periods = ((DAY, day), (MONTH, day.replace(day=1)))
    out = []
    for level in LEVELS:
        for grain, period in periods:
            for k in ((ALL,) if level == "grid" else (key, ALL)):
                out.append((level, jurisdiction[level], grain, period, k))
    return out


def rectification_bucket(took: dt.timedelta) -> int:
    """Hours to rectify, rounded up: whole hours up to 72, whole days (24 h) up to 60 days, whole
    weeks (168 h) beyond. The histogram then has at most a few hundred buckets however many
    hazards close, and a percentile is exact to the hour for the first three days."""
    hours = max(0, math.ceil(took.total_seconds() / 3600))
    if hours <= 72:
        return hours
    if hours <= 24 * 60:
        return math.ceil(hours / 24) * 24
    return math.ceil(hours / 168) * 168


def percentile(buckets: Mapping[int, int], q: float) -> int | None:
    """Nearest rank: the smallest bucket (hours) within which at least q of the counted hazards
    were closed (q = 0.5: the median; 0.9: the 90th percentile). None when none were."""
    total = sum(buckets.values())
    if total <= 0:
        return None
    rank, seen = max(1, math.ceil(q * total)), 0
    for hours in sorted(buckets):
        seen += buckets[hours]
        if seen >= rank:
            return hours
    return max(buckets)  # unreachable: the last bucket reaches the total


def ratio(numerator: int | None, denominator: int | None, *, per: float = 1.0, digits: int = 4) -> float | None:
    """numerator / denominator × per, rounded; None when the denominator is 0 (undefined, not 0)."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator * per, digits)


def change_pct(now: float | None, then: float | None) -> float | None:
    """Year on year, in % of the earlier value (one decimal); None when that was 0 or undefined."""
    if now is None or not then:
        return None
    return round((now - then) / then * 100, 1)


# ---- periods ------------------------------------------------------------------------------------

class PeriodRefused(ValueError):
    """The period asked for cannot be reported on (the message says why)."""


def check_period(start: dt.date, end: dt.date) -> None:
    """Inclusive days [start, end], at most MAX_PERIOD_DAYS, within EARLIEST..LATEST."""
    if end < start:
        raise PeriodRefused(f"to ({end}) is before from ({start})")
    if start < EARLIEST or end > LATEST:
        raise PeriodRefused(f"the period must lie between {EARLIEST} and {LATEST}")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise PeriodRefused(f"at most {MAX_PERIOD_DAYS} days a report ({(end - start).days + 1} asked)")


def _month_after(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def read_ranges(start: dt.date, end: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """How to read the inclusive days [start, end]: (grain, first period, last period) ranges,
    whole months by their month cells and the days outside them by day cells, so that a year is
    at most 12 month cells and about 60 day cells per key, never 366."""
    first_whole = start if start.day == 1 else _month_after(start.replace(day=1))
    months = []
    month = first_whole
    while _month_after(month) - dt.timedelta(days=1) <= end:
        months.append(month)
        month = _month_after(month)
    if not months:
        return [(DAY, start, end)]
    ranges = []
    if start < months[0]:
        ranges.append((DAY, start, months[0] - dt.timedelta(days=1)))
    ranges.append((MONTH, months[0], months[-1]))
    after = _month_after(months[-1])
    if after <= end:
        ranges.append((DAY, after, end))
    return ranges


def year_earlier(day: dt.date) -> dt.date:
    """The same date one year before (29 February: the 28th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


# ---- figures ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Tally:
    """What the counters hold for one scope and period: counts by name, rectification hours."""

    counts: Mapping[str, int]
    rectification_hours: Mapping[int, int]  # bucket (hours) → hazards closed within it


def figures(tally: Tally, *, hazards: bool = True, inspections: bool = True) -> dict[str, float | int | None]:
    """Every figure of a scope (those it has no counters for: None).

    closure_rate = closed / (accepted + fixed_on_spot): of the hazards to be fixed, the share
    closed (a hazard fixed on the spot is closed without triage); recurrence_rate = recurrences /
    reported; hazards_per_100_inspections = hazards_found / inspections_done × 100."""
    c = tally.counts
    out: dict[str, float | int | None] = {}
    for name in HAZARD_COUNTS:
        out[name] = c.get(name, 0) if hazards else None
    if hazards:
        out["closure_rate"] = ratio(c.get("closed", 0), c.get("accepted", 0) + c.get("fixed_on_spot", 0))
        out["recurrence_rate"] = ratio(c.get("recurrences", 0), c.get("reported", 0))
        out["rectification_hours_median"] = percentile(tally.rectification_hours, 0.5)
        out["rectification_hours_p90"] = percentile(tally.rectification_hours, 0.9)
    else:
        out |= dict.fromkeys(("closure_rate", "recurrence_rate", "rectification_hours_median",
                              "rectification_hours_p90"))
    for name in INSPECTION_COUNTS:
        out[name] = c.get(name, 0) if inspections else None
    out["hazards_per_100_inspections"] = (
        ratio(c.get("hazards_found", 0), c.get("inspections_done", 0), per=100, digits=2) if inspections else None)
    return out


FIGURES = (*HAZARD_COUNTS, "closure_rate", "recurrence_rate", "rectification_hours_median", "rectification_hours_p90",
           *INSPECTION_COUNTS, "hazards_per_100_inspections")


def changes(now: Mapping[str, float | int | None], then: Mapping[str, float | int | None]) -> dict[str, float | None]:
    return {name: change_pct(now[name], then[name]) for name in FIGURES}


"""The pure rules of the intake: which open hazards a report may be the same as (duplicates),
which closed one it repeats (recurrence), and when untriaged becomes overdue.

The read model fetches candidates by a bounding box; these rules decide, so the same answer is
given whatever the query fetched around them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping

from hazards.domain.categories import Taxonomy
from hazards.domain.values import CLOSED_STATUSES, OPEN_STATUSES, Severity
from linkduty_shared.jurisdictions import distance_m

DUPLICATE_RADIUS_M = 50.0
RECURRENCE_RADIUS_M = 30.0
RECURRENCE_WINDOW = dt.timedelta(days=90)
MAX_DUPLICATE_CANDIDATES = 5


@dataclasses.dataclass(frozen=True, slots=True)
class Sighting:
    """Another hazard as the rules see it (a row of the hazard list)."""

    hazard_id: str
    category: str
    status: str
    lat: float
    lon: float
    venue_id: str | None = None
    closed_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    """The new report the rules compare with."""

    category: str
    lat: float
    lon: float
    reported_at: dt.datetime
    venue_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Recurrence:
    previous_hazard_id: str
    rule: str  # "same_venue" | "nearby"
    distance_m: float
    previous_closed_at: dt.datetime


def duplicate_distance(taxonomy: Taxonomy, report: Report, other: Sighting, *,
                       radius_m: float = DUPLICATE_RADIUS_M) -> float | None:
    """The distance to `other` if the report may be the same hazard: `other` open, of a
    compatible category, within `radius_m`. None otherwise."""
    if other.status not in OPEN_STATUSES or not taxonomy.compatible(report.category, other.category):
        return None
    d = distance_m(report.lat, report.lon, other.lat, other.lon)
    return d if d <= radius_m else None


def duplicate_candidates(taxonomy: Taxonomy, report: Report, others: Iterable[Sighting], *,
                         radius_m: float = DUPLICATE_RADIUS_M,
                         limit: int = MAX_DUPLICATE_CANDIDATES) -> list[tuple[str, float]]:
    """(hazard id, metres) of the open hazards the report may be, nearest first, at most `limit`."""
    found = [(o.hazard_id, d) for o in others
             if (d := duplicate_distance(taxonomy, report, o, radius_m=radius_m)) is not None]
    return sorted(found, key=lambda c: (c[1], c[0]))[:limit]


def recurrence_of(report: Report, other: Sighting, *, radius_m: float = RECURRENCE_RADIUS_M,
                  window: dt.timedelta = RECURRENCE_WINDOW) -> Recurrence | None:
    """Whether the report repeats `other`: the same category, `other` fixed (closed or confirmed)
    at most `window` before the report, and at the same venue or within `radius_m`."""
    if other.category != report.category or other.status not in CLOSED_STATUSES or other.closed_at is None:
        return None
    if not dt.timedelta(0) <= report.reported_at - other.closed_at <= window:
        return None
    d = distance_m(report.lat, report.lon, other.lat, other.lon)
    if report.venue_id is not None and report.venue_id == other.venue_id:
        return Recurrence(other.hazard_id, "same_venue", d, other.closed_at)
    if d <= radius_m:
        return Recurrence(other.hazard_id, "nearby", d, other.closed_at)
    return None


def latest_recurrence(report: Report, others: Iterable[Sighting], *, radius_m: float = RECURRENCE_RADIUS_M,
                      window: dt.timedelta = RECURRENCE_WINDOW) -> Recurrence | None:
    """The hazard the report repeats, if any: the one fixed most recently (the one to link)."""
    found = [r for o in others if (r := recurrence_of(report, o, radius_m=radius_m, window=window)) is not None]
    return max(found, key=lambda r: (r.previous_closed_at, r.previous_hazard_id)) if found else None


def triage_due(severity: Severity | str, reported_at: dt.datetime,
               triage_within: Mapping[str, dt.timedelta]) -> dt.datetime:
    """When an untriaged report becomes overdue (and escalates to the street)."""
    return reported_at + triage_within[Severity(severity)]

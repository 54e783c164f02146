"""The pre-incident picture (灾前画像) of a 119 alarm, pure: from the venues and open hazards the
read models found around the alarm's point, which venue the alarm is at, which hazards matter,
and the one line a dispatcher reads first.

The read models fetch by bounding box; the distances and every choice are made here, so the
same rows always give the same picture.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from linkduty_shared.contracts.alarm_context import MAX_HAZARDS
from linkduty_shared.domain import Aggregate, DomainEvent
from linkduty_shared.jurisdictions import distance_m

from hazards.domain.events import AlarmContextAttached

VENUE_RADIUS_M = 50.0  # an alarm's geocoded point this close to a venue is taken to be at it
HAZARD_RADIUS_M = 100.0


@dataclasses.dataclass(frozen=True, slots=True)
class NearbyVenue:
    """An active venue near the alarm, as the venue list has it."""

    venue_id: str
    name: str
    kind: str
    kind_name: str
    risk_class: str
    lat: float
    lon: float
    last_inspected_at: dt.datetime | None
    last_inspection_kind: str | None
    inspection_due_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class NearbyHazard:
    """An open hazard near the alarm (or at its venue), as the hazard list has it."""

    hazard_id: str
    category: str
    severity: str
    status: str
    description: str
    lat: float
    lon: float
    venue_id: str | None
    reported_at: dt.datetime
    due_at: dt.datetime | None  # the deadline it waits on now: triage while reported, else the fix


def _iso(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at else None


def _ago(now: dt.datetime, then: dt.datetime) -> str:
    days = (now - then).days
    return "today" if days < 1 else "1 day ago" if days == 1 else f"{days} days ago"


def picture(alarm_id: str, lat: float, lon: float, jurisdiction: dict, venues: Iterable[NearbyVenue],
            hazards: Iterable[NearbyHazard], *,
            now: dt.datetime, venue_radius_m: float = VENUE_RADIUS_M,
            hazard_radius_m: float = HAZARD_RADIUS_M) -> AlarmContextAttached:
    """What prevention knows about the alarm's place at `now`: the nearest active venue within
    `venue_radius_m` (the alarm is at it), and the open hazards within `hazard_radius_m` or at that
    venue, the venue's own first, then the overdue, then by distance."""
    by_distance = sorted(((distance_m(lat, lon, v.lat, v.lon), v.venue_id, v) for v in venues), key=lambda t: t[:2])
    at_venue = next(((d, v) for d, _, v in by_distance if d <= venue_radius_m), None)
    venue_id = at_venue[1].venue_id if at_venue else None

    listed = []
    for h in hazards:
        d = round(distance_m(lat, lon, h.lat, h.lon), 1)
        own = venue_id is not None and h.venue_id == venue_id
        if d <= hazard_radius_m or own:
            listed.append({
                "hazard_id": h.hazard_id, "category": h.category, "severity": h.severity, "status": h.status,
                "description": h.description, "reported_at": h.reported_at.isoformat(), "due_at": _iso(h.due_at),
                "overdue": h.due_at is not None and h.due_at <= now, "distance_m": d, "venue_id": h.venue_id,
                "at_the_venue": own,
            })
    listed.sort(key=lambda x: (not x["at_the_venue"], not x["overdue"], x["distance_m"], x["hazard_id"]))
    overdue_count = sum(x["overdue"] for x in listed)

    venue = None
    if at_venue:
        d, v = at_venue
        venue = {
            "venue_id": v.venue_id, "name": v.name, "kind": v.kind, "kind_name": v.kind_name,
            "risk_class": v.risk_class, "distance_m": round(d, 1),
            "open_hazards": sum(x["at_the_venue"] for x in listed),
            "last_inspected_at": _iso(v.last_inspected_at), "last_inspection_kind": v.last_inspection_kind,
            "inspection_due_at": _iso(v.inspection_due_at),
            "inspection_overdue": v.inspection_due_at is not None and v.inspection_due_at <= now,
        }
    return AlarmContextAttached(
        alarm_id=alarm_id, at=now.isoformat(), lat=lat, lon=lon, jurisdiction=dict(jurisdiction),
        radius_m=hazard_radius_m, venue=venue, hazards=tuple(listed[:MAX_HAZARDS]), open_hazards=len(listed),
        overdue_hazards=overdue_count, headline=headline(venue, listed, overdue_count, now=now, radius_m=hazard_radius_m))


def headline(venue: dict | None, listed: list[dict], overdue: int, *, now: dt.datetime, radius_m: float) -> str:
    """e.g. "At 老街小饭馆 (small restaurant, risk high; last inspected 40 days ago, inspection
    overdue). 2 open hazards within 100 m, 1 overdue: north exit locked, reported 3 days ago, overdue"."""
    parts = []
    if venue:
        inspected = (f"last inspected {_ago(now, dt.datetime.fromisoformat(venue['last_inspected_at']))}"
                     if venue["last_inspected_at"] else "never inspected")
        overdue_note = ", inspection overdue" if venue["inspection_overdue"] else ""
        parts.append(f"At {venue['name']} ({venue['kind_name']}, risk {venue['risk_class']}; {inspected}{overdue_note}).")
    if not listed:
        parts.append(f"No open hazard within {radius_m:.0f} m.")
    else:
        count = f"{len(listed)} open hazard{'s' if len(listed) > 1 else ''} within {radius_m:.0f} m"
        first = listed[0]
        what = " ".join(first["description"].split())[:80] or first["category"]
        reported = _ago(now, dt.datetime.fromisoformat(first["reported_at"]))
        note = f"{what}, reported {reported}{', overdue' if first['overdue'] else ''}"
        parts.append(f"{count}{f', {overdue} overdue' if overdue else ''}: {note}")
    return " ".join(parts)[:1000]


class AlarmContext(Aggregate):
    """One alarm's picture, attached once: its stream id is the alarm id, so a redelivered
    AlarmReported (or a second replica's consumer) attaches nothing more."""

    stream_type = "alarm_context"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.attached: AlarmContextAttached | None = None

    def evolve(self, e: DomainEvent) -> None:
        if isinstance(e, AlarmContextAttached):
            self.attached = e

    def attach(self, taken: AlarmContextAttached) -> list[DomainEvent]:
        """The picture, unless one is attached already (nothing then: the first stands)."""
        if self.attached is not None:
            return []
        return self._record(taken)

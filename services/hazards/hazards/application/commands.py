"""What callers ask of the hazards service, and what it answers."""

from __future__ import annotations

import dataclasses

from hazards.domain.hazard import Hazard


@dataclasses.dataclass(frozen=True)
class ReportHazard:
    """随手拍: a report as a resident's app, a grid worker or an inspector sends it."""

    category: str
    description: str
    lat: float
    lon: float
    source: str
    address: str | None = None
    venue_id: str | None = None
    severity: str | None = None  # the category's default unless the reporter knows better
    reporter_phone: str | None = None
    reporter_name: str | None = None
    # More about the reporter (Open311's email, account_id, device_id): into the vault with the
    # phone and the name, never into an event.
    reporter_other: tuple[tuple[str, str], ...] = ()
    photo_ids: tuple[str, ...] = ()  # uploaded first (POST /v1/photos), by the same caller


@dataclasses.dataclass(frozen=True)
class Assignment:
    kind: str
    id: str
    name: str | None = None


@dataclasses.dataclass(frozen=True)
class Reported:
    hazard: Hazard
    duplicate_candidates: list[dict]  # those the reporter may see: {"hazard_id", "distance_m"}


@dataclasses.dataclass(frozen=True)
class Seen:
    """A hazard as the caller may read it: `as_staff`, everything a centre in its chain sees;
    else as one of its reporters (their own report's fate, nobody's contact)."""

    hazard: Hazard
    as_staff: bool
    duplicate_candidates: list[dict]  # those the caller may see


@dataclasses.dataclass(frozen=True)
class Person:
    """A venue's responsible person or fire-safety contact, as given: into the vault, masked elsewhere."""

    name: str | None = None
    phone: str | None = None


@dataclasses.dataclass(frozen=True)
class RegisterVenue:
    kind: str
    name: str
    lat: float
    lon: float
    address: str | None = None
    floor_area_m2: float | None = None
    risk_class: str = "medium"
    responsible: Person | None = None  # 消防安全责任人
    contact: Person | None = None  # 消防安全管理人, the fire-safety contact
    ledger_ref: str | None = None  # its id in the street's ledger (an import's row)


@dataclasses.dataclass(frozen=True)
class ChangeVenue:
    name: str | None = None
    kind: str | None = None
    floor_area_m2: float | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclasses.dataclass(frozen=True)
class RecordInspection:
    kind: str  # self_check | patrol | joint
    inspected_at: object  # datetime (aware)
    answers: tuple  # ItemAnswer, one per checklist item
    participants: tuple = ()  # Participant
    reinspected: tuple[tuple[str, str], ...] = ()  # (hazard id, confirmed | reopened): 回头看 during this visit
    note: str | None = None


@dataclasses.dataclass(frozen=True)
class Inspected:
    inspection: object  # Inspection
    venue: object  # Venue
    hazards: list  # the Hazards it opened (failed items, and those fixed on the spot)

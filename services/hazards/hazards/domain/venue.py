"""The Venue aggregate: one place in a street's registry (场所台账), its risk class over time and
when it must next be inspected; and the Inspection aggregate: one visit to it, its checklist
filled in (检查).

Pure: commands take the time (`at`) and the data they depend on (the venue's `VenueKind`); the
hazards a failed item opens are the application's to file, in the same transaction, under the ids
the inspection names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from linkduty_shared.contracts.hazards import HANDLING_LEVELS  # community → street → district
from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition, InvariantViolated

from hazards.domain.events import (
    InspectionRecorded,
    VenueContactsChanged,
    VenueDeregistered,
    VenueDetailsChanged,
    VenueInspected,
    VenueInspectionEscalated,
    VenueRegistered,
    VenueRiskClassified,
)
from hazards.domain.hazard import _iso, _one_of
from hazards.domain.values import InspectionKind, ItemResult, ParticipantRole, ReinspectionOutcome, RiskClass, VenueStatus
from hazards.domain.venue_kinds import VenueKind

MAX_NAME = 200


@dataclasses.dataclass(frozen=True)
class Contact:
    """A person's contact as the events hold it: masked, and a reference into the vault."""

    masked: str | None
    ref: str | None


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvariantViolated(f"a venue's name is 1–{MAX_NAME} characters")
    return name


def _area(floor_area_m2: float | None) -> float | None:
    if floor_area_m2 is not None and not 0 < floor_area_m2 <= 10_000_000:
        raise InvariantViolated("floor_area_m2 must be positive (and below 10 km²)")
    return floor_area_m2


class Venue(Aggregate):
    stream_type = "venue"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: VenueStatus | None = None
        self.kind = ""
        self.name = ""
        self.location: dict = {}
        self.jurisdiction: dict = {}
        self.floor_area_m2: float | None = None
        self.risk_class = ""
        self.risk_history: list[dict] = []  # [{"risk_class", "since", "reason", "by"}], oldest first
        self.responsible = Contact(None, None)
        self.contact = Contact(None, None)
        self.ledger_ref: str | None = None
        self.registered_at = ""
        self.inspections: list[dict] = []  # [{"inspection_id", "kind", "inspected_at"}], in recording order
        self.last_inspected_at: str | None = None
        self.inspection_due_at: str | None = None
        self.handling_level = HANDLING_LEVELS[0]
        self.escalations: list[dict] = []

    @property
    def is_active(self) -> bool:
        return self.status is VenueStatus.ACTIVE

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case VenueRegistered():
                self.status, self.kind, self.name, self.location = VenueStatus.ACTIVE, e.kind, e.name, e.location
                self.jurisdiction, self.floor_area_m2, self.risk_class = e.jurisdiction, e.floor_area_m2, e.risk_class
                self.responsible = Contact(e.responsible_masked, e.responsible_ref)
                self.contact = Contact(e.contact_masked, e.contact_ref)
                self.ledger_ref, self.registered_at, self.inspection_due_at = e.ledger_ref, e.at, e.inspection_due_at
                self.risk_history = [{"risk_class": e.risk_class, "since": e.at, "reason": "registered", "by": e.by}]
            case VenueDetailsChanged():
                c = e.changes
                self.name = c.get("name", self.name)
                self.kind = c.get("kind", self.kind)
                self.floor_area_m2 = c.get("floor_area_m2", self.floor_area_m2)
                if "location" in c:
                    self.location, self.jurisdiction = c["location"], c["jurisdiction"]
                elif "address" in c:
                    self.location = {**self.location, "address": c["address"]}
                self.inspection_due_at = c.get("inspection_due_at", self.inspection_due_at)
            case VenueContactsChanged():
                self.responsible = Contact(e.responsible_masked, e.responsible_ref)
                self.contact = Contact(e.contact_masked, e.contact_ref)
            case VenueRiskClassified():
                self.risk_class = e.risk_class
                self.risk_history.append({"risk_class": e.risk_class, "since": e.at, "reason": e.reason, "by": e.by})
            case VenueDeregistered():
                self.status = VenueStatus.DEREGISTERED
            case VenueInspected():
                self.inspections.append({"inspection_id": e.inspection_id, "kind": e.inspection_kind,
                                         "inspected_at": e.inspected_at})
                if self.last_inspected_at is None or e.inspected_at >= self.last_inspected_at:
                    self.last_inspected_at = e.inspected_at
                self.inspection_due_at, self.handling_level = e.inspection_due_at, HANDLING_LEVELS[0]
            case VenueInspectionEscalated():
                self.handling_level, self.inspection_due_at = e.to_level, e.due_at
                self.escalations.append({"from_level": e.from_level, "to_level": e.to_level, "at": e.at,
                                         "overdue_since": e.overdue_since})

    # ---- the registry ------------------------------------------------------------------------

    def register(self, *, kind: VenueKind, name: str, location: dict, jurisdiction: dict, risk_class: str,
                 floor_area_m2: float | None, responsible: Contact, contact: Contact, ledger_ref: str | None,
                 by: str, at: dt.datetime) -> None:
        if self.exists:
            raise IllegalTransition(f"venue {self.id} already exists")
        self._record(VenueRegistered(
            venue_id=self.id, at=_iso(at), kind=kind.id, name=_name(name), location=location,
            jurisdiction=jurisdiction, risk_class=_one_of(RiskClass, risk_class, "risk_class"), by=by,
            floor_area_m2=_area(floor_area_m2), inspection_due_at=_iso(kind.inspection_due(at)),
            responsible_masked=responsible.masked, responsible_ref=responsible.ref, contact_masked=contact.masked,
            contact_ref=contact.ref, ledger_ref=ledger_ref))

    def change_details(self, *, by: str, at: dt.datetime, name: str | None = None, kind: VenueKind | None = None,
                       floor_area_m2: float | None = None, address: str | None = None,
                       location: dict | None = None, jurisdiction: dict | None = None) -> bool:
        """Only what differs is recorded (nothing: no event, returns False). A new kind brings its
        own interval: the next inspection falls due by it, from the last inspection (or the
        registration)."""
        self._require_active("change")
        changes: dict = {}
        if name is not None and _name(name) != self.name:
            changes["name"] = _name(name)
        if kind is not None and kind.id != self.kind:
            changes["kind"] = kind.id
            since = dt.datetime.fromisoformat(self.last_inspected_at or self.registered_at)
            changes["inspection_due_at"] = _iso(kind.inspection_due(since))
        if floor_area_m2 is not None and _area(floor_area_m2) != self.floor_area_m2:
            changes["floor_area_m2"] = floor_area_m2
        if location is not None and (location["lat"], location["lon"]) != (self.location["lat"], self.location["lon"]):
            if jurisdiction is None:
                raise InvariantViolated("a venue moved needs its new micro-grid (jurisdiction)")
            changes |= {"location": location, "jurisdiction": jurisdiction}
        elif address is not None and address != self.location.get("address"):
            changes["address"] = address
        if not changes:
            return False
        self._record(VenueDetailsChanged(changes=changes, by=by, at=_iso(at)))
        return True

    def change_contacts(self, *, responsible: Contact, contact: Contact, by: str, at: dt.datetime) -> None:
        self._require_active("change the contacts of")
        self._record(VenueContactsChanged(by=by, at=_iso(at), responsible_masked=responsible.masked,
                                          responsible_ref=responsible.ref, contact_masked=contact.masked,
                                          contact_ref=contact.ref))

    def classify(self, *, risk_class: str, reason: str, by: str, at: dt.datetime) -> bool:
        """A new risk class, and why; the same class again records nothing (returns False)."""
        self._require_active("classify")
        risk_class = _one_of(RiskClass, risk_class, "risk_class")
        if not reason.strip():
            raise InvariantViolated("a risk classification says why: the reason is empty")
        if risk_class == self.risk_class:
            return False
        self._record(VenueRiskClassified(risk_class=risk_class, previous=self.risk_class, reason=reason, by=by,
                                         at=_iso(at)))
        return True

    def deregister(self, *, reason: str, by: str, at: dt.datetime) -> None:
        self._require_active("deregister")
        if not reason.strip():
            raise InvariantViolated("a deregistration says why: the reason is empty")
        self._record(VenueDeregistered(reason=reason, by=by, at=_iso(at)))

    # ---- inspections -------------------------------------------------------------------------

    def inspected(self, *, inspection_id: str, inspection_kind: str, inspected_at: dt.datetime, kind: VenueKind,
                  at: dt.datetime) -> None:
        """An inspection of it was recorded: the next one falls due by its kind's interval, from the
        latest inspection (an inspection entered late, for an earlier day, moves nothing back)."""
        self._require_active("inspect")
        latest = max(filter(None, (inspected_at, self._time(self.last_inspected_at))))
        self._record(VenueInspected(inspection_id=inspection_id, inspection_kind=inspection_kind,
                                    inspected_at=_iso(inspected_at), inspection_due_at=_iso(kind.inspection_due(latest)),
                                    at=_iso(at)))

    def inspection_overdue(self, at: dt.datetime) -> str | None:
        """When its inspection fell due, if it has by `at` and someone above can still be told."""
        _iso(at)
        if (not self.is_active or self.handling_level == HANDLING_LEVELS[-1] or not self.inspection_due_at
                or at < dt.datetime.fromisoformat(self.inspection_due_at)):
            return None
        return self.inspection_due_at

    def escalate_inspection(self, *, at: dt.datetime, kind: VenueKind) -> bool:
        """Overdue: one level up, which has the kind's interval again, from now, to see it inspected
        (as overdue hazards escalate: once escalated it is not overdue, so a repeated sweep records
        nothing). Returns whether it escalated."""
        overdue_since = self.inspection_overdue(at)
        if overdue_since is None:
            return False
        to_level = HANDLING_LEVELS[HANDLING_LEVELS.index(self.handling_level) + 1]
        self._record(VenueInspectionEscalated(from_level=self.handling_level, to_level=to_level,
                                              overdue_since=overdue_since, due_at=_iso(kind.inspection_due(at)),
                                              at=_iso(at)))
        return True

    # ---- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _time(iso: str | None) -> dt.datetime | None:
        return dt.datetime.fromisoformat(iso) if iso else None

    def _require_active(self, action: str) -> None:
        if not self.exists:
            raise IllegalTransition(f"venue {self.id} was never registered")
        if not self.is_active:
            raise IllegalTransition(f"cannot {action} venue {self.id}: it is {self.status}")


# ---- the Inspection ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ItemAnswer:
    """One checklist item as the inspector answered it."""

    item_id: str
    result: str
    note: str | None = None
    photo_ids: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Participant:
    role: str
    id: str
    name: str | None = None  # an organisation's or station's name; never a person's


JOINT_NEEDS = frozenset({ParticipantRole.STREET_OFFICE, ParticipantRole.FIRE_STATION})  # 防消联勤


class Inspection(Aggregate):
    stream_type = "inspection"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.recorded: InspectionRecorded | None = None

    def evolve(self, e: DomainEvent) -> None:
        if isinstance(e, InspectionRecorded):
            self.recorded = e

    def record(self, *, venue: Venue, kind: VenueKind, checklist_version: str, inspection_kind: str,
               inspected_at: dt.datetime, answers: list[ItemAnswer], participants: list[Participant],
               hazard_ids: dict[str, str], reinspected: list[tuple[str, str]], by: str, at: dt.datetime,
               note: str | None = None) -> None:
        """The checklist of `venue`'s kind, every item answered once; `hazard_ids` names the hazard
        each failed or fixed-on-the-spot item opens (the application files them). A joint inspection
        (防消联勤) names the street's office and a fire station among its participants."""
        if self.exists:
            raise IllegalTransition(f"inspection {self.id} already exists")
        venue._require_active("inspect")
        inspection_kind = _one_of(InspectionKind, inspection_kind, "kind")
        if inspected_at > at:
            raise InvariantViolated("an inspection is recorded after it took place, not before: inspected_at is "
                                    "in the future")
        by_item = {a.item_id: a for a in answers}
        if len(by_item) != len(answers):
            raise InvariantViolated("a checklist item is answered twice")
        expected = [i.id for i in kind.checklist]
        if unknown := [a for a in by_item if a not in expected]:
            raise InvariantViolated(f"not on the {kind.id} checklist: {', '.join(unknown)}")
        if missing := [i for i in expected if i not in by_item]:
            raise InvariantViolated(f"unanswered on the {kind.id} checklist: {', '.join(missing)}")
        roles = set()
        for p in participants:
            roles.add(ParticipantRole(_one_of(ParticipantRole, p.role, "participant role")))
            if not p.id.strip():
                raise InvariantViolated("a participant names who (id)")
        if inspection_kind == InspectionKind.JOINT and (lacking := JOINT_NEEDS - roles):
            raise InvariantViolated("a joint inspection (防消联勤) needs among its participants: "
                                    + ", ".join(sorted(lacking)))
        items = []
        for item in kind.checklist:
            answer = by_item[item.id]
            result = ItemResult(_one_of(ItemResult, answer.result, f"result of {item.id}"))
            opens = result in (ItemResult.FAILED, ItemResult.FIXED_ON_SPOT)
            if opens and item.id not in hazard_ids:
                raise InvariantViolated(f"item {item.id} opens a hazard: name it")
            if result is ItemResult.FAILED and not (answer.note or "").strip():
                raise InvariantViolated(f"item {item.id} failed: say what was found (note)")
            items.append({"item_id": item.id, "result": result.value, "category": item.category,
                          "hazard_id": hazard_ids[item.id] if opens else None, "note": answer.note,
                          "photo_ids": list(answer.photo_ids)})
        self._record(InspectionRecorded(
            inspection_id=self.id, venue_id=venue.id, venue_kind=kind.id, kind=inspection_kind,
            at=_iso(inspected_at), jurisdiction=dict(venue.jurisdiction), checklist_version=checklist_version,
            items=tuple(items), participants=tuple(dataclasses.asdict(p) for p in participants), by=by,
            reinspected=tuple({"hazard_id": h, "outcome": _one_of(ReinspectionOutcome, o, "reinspection outcome")}
                              for h, o in reinspected),
            note=note))

"""The Hazard aggregate: one fire hazard from its report through triage, rectification,
verification and re-inspection (found → assigned → rectified → verified → re-inspected: 闭环).

Commands take the time they happen at (`at`, LinkDuty's clock) and, where a deadline follows
from it, the hazard's `Category`; nothing here reads a clock or a file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from enum import StrEnum

from linkduty_shared.contracts.hazards import HANDLING_LEVELS  # community → street → district
from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition, InvariantViolated
from linkduty_shared.jurisdictions import distance_m

from hazards.domain.categories import Category, Taxonomy
from hazards.domain.events import (
    DuplicateMerged,
    HazardAccepted,
    HazardAssigned,
    HazardEscalated,
    HazardFixedOnSpot,
    HazardMerged,
    HazardRejected,
    HazardReopened,
    HazardReported,
    HazardResolvedAtSource,
    RecurrenceFlagged,
    RectificationFailed,
    RectificationSubmitted,
    RectificationVerified,
    ReinspectionConfirmed,
    ReinspectionScheduled,
)
from hazards.domain.rules import Recurrence, triage_due
from hazards.domain.values import (
    OPEN_STATUSES,
    AssigneeKind,
    RejectionReason,
    ResolvedHow,
    Severity,
    Source,
    Status,
)

TRIAGE, RECTIFICATION = "triage", "rectification"  # the deadlines that escalate (HazardEscalated.deadline)


@dataclasses.dataclass(frozen=True)
class Step:
    """One thing done about the hazard, as its reporter and the consoles read the history."""

    what: str  # the event's name
    at: str
    by: str | None
    note: str | None = None


def _one_of(vocabulary: type[StrEnum], value: str, field: str) -> str:
    try:
        return vocabulary(value).value
    except ValueError:
        raise InvariantViolated(f"{field} {value!r} is not one of {', '.join(vocabulary)}") from None


def _iso(at: dt.datetime) -> str:
    if at.tzinfo is None:
        raise InvariantViolated(f"time {at.isoformat()} has no UTC offset")
    return at.isoformat()


class Hazard(Aggregate):
    stream_type = "hazard"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: Status | None = None
        self.source = ""
        self.category = ""
        self.taxonomy_version = ""
        self.severity = ""
        self.description = ""
        self.location: dict = {}
        self.jurisdiction: dict = {}
        self.venue_id: str | None = None
        self.inspection_id: str | None = None
        self.reported_at = ""
        self.triage_due_at = ""
        self.reporter_masked: str | None = None
        self.reporters = 0  # this report's and those of the duplicates merged into it
        self.duplicate_candidates: list[dict] = []
        self.photo_ids: list[str] = []
        self.recurrence_of: dict | None = None
        self.merged_into: str | None = None
        self.merged_duplicates: list[str] = []
        self.handling_level = HANDLING_LEVELS[0]
        self.rejection: dict | None = None
        self.assignee: dict | None = None
        self.rectification_due_at: str | None = None
        self.rectifications: list[dict] = []
        self.failures = 0
        self.closed_at: str | None = None
        self.reinspection_due_at: str | None = None
        self.reopenings = 0
        self.resolved_at_source: str | None = None  # how its source ended it (HazardResolvedAtSource)
        self.history: list[Step] = []

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    # ---- state ---------------------------------------------------------------------------

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case HazardReported():
                self.status = Status.REPORTED
                self.source, self.category, self.taxonomy_version = e.source, e.category, e.taxonomy_version
                self.severity, self.description, self.location = e.severity, e.description, e.location
                self.jurisdiction, self.venue_id, self.reported_at = e.jurisdiction, e.venue_id, e.at
                self.triage_due_at, self.reporter_masked, self.reporters = e.triage_due_at, e.reporter_masked, 1
                self.duplicate_candidates = [dict(c) for c in e.duplicate_candidates]
                self.photo_ids, self.inspection_id = list(e.photo_ids), e.inspection_id
            case RecurrenceFlagged():
                self.recurrence_of = {"hazard_id": e.previous_hazard_id, "rule": e.rule, "distance_m": e.distance_m,
                                      "closed_at": e.previous_closed_at}
            case HazardMerged():
                self.status, self.merged_into = Status.MERGED, e.into_hazard_id
            case DuplicateMerged():
                self.reporters += e.reporters
                self.merged_duplicates.append(e.duplicate_id)
            case HazardAccepted():
                self.status, self.severity = Status.ACCEPTED, e.severity
            case HazardRejected():
                self.status = Status.REJECTED
                self.rejection = {"reason": e.reason, "message": e.message, "refer_to": e.refer_to}
            case HazardAssigned():
                self.status, self.rectification_due_at = Status.RECTIFYING, e.due_at
                self.assignee = {"kind": e.assignee_kind, "id": e.assignee_id, "name": e.assignee_name}
            case RectificationSubmitted():
                self.status = Status.AWAITING_VERIFICATION
                self.rectifications.append({"note": e.note, "photo_refs": list(e.photo_refs), "at": e.at, "by": e.by})
            case RectificationVerified() | HazardFixedOnSpot():
                self.status, self.closed_at = Status.CLOSED, e.at
            case HazardResolvedAtSource():
                self.status, self.closed_at, self.resolved_at_source = Status.CLOSED, e.at, e.how
            case RectificationFailed():
                self.status, self.failures, self.rectification_due_at = Status.RECTIFYING, e.failures, e.due_at
            case ReinspectionScheduled():
                self.reinspection_due_at = e.due_at
            case ReinspectionConfirmed():
                self.status = Status.CONFIRMED
            case HazardReopened():
                self.status, self.rectification_due_at = Status.RECTIFYING, e.due_at
                self.closed_at, self.reinspection_due_at, self.resolved_at_source = None, None, None
                self.reopenings += 1
            case HazardEscalated():
                self.handling_level = e.to_level
                if e.deadline == TRIAGE and e.due_at:
                    self.triage_due_at = e.due_at
                elif e.deadline == RECTIFICATION and e.due_at:
                    self.rectification_due_at = e.due_at
        self.history.append(Step(e.event_type, e.at, getattr(e, "by", None),
                                 getattr(e, "note", None) or getattr(e, "message", None)))

    # ---- the report ----------------------------------------------------------------------

    def report(self, *, category: Category, taxonomy_version: str, source: str, severity: str | None,
               description: str, location: dict, jurisdiction: dict, venue_id: str | None, at: dt.datetime,
               triage_due_at: dt.datetime, duplicate_candidates: list[tuple[str, float]],
               reporter_masked: str | None, reporter_ref: str | None, free_text_ref: str | None = None,
               recurrence: Recurrence | None = None, photo_ids: tuple[str, ...] = (),
               inspection_id: str | None = None) -> None:
        if self.exists:
            raise IllegalTransition(f"hazard {self.id} already exists")
        self._record(HazardReported(
            hazard_id=self.id, at=_iso(at), source=_one_of(Source, source, "source"), category=category.id,
            taxonomy_version=taxonomy_version,
            severity=_one_of(Severity, severity or category.default_severity, "severity"),
            description=description, location=location, jurisdiction=jurisdiction, triage_due_at=_iso(triage_due_at),
            venue_id=venue_id,
            duplicate_candidates=tuple({"hazard_id": h, "distance_m": round(d, 1)} for h, d in duplicate_candidates),
            reporter_masked=reporter_masked, reporter_ref=reporter_ref, free_text_ref=free_text_ref,
            photo_ids=tuple(photo_ids), inspection_id=inspection_id))
        if recurrence is not None:
            self._record(RecurrenceFlagged(
                previous_hazard_id=recurrence.previous_hazard_id, rule=recurrence.rule,
                distance_m=round(recurrence.distance_m, 1), previous_closed_at=_iso(recurrence.previous_closed_at),
                at=_iso(at)))

    def fix_on_spot(self, *, category: Category, by: str, at: dt.datetime, note: str | None = None) -> None:
        """当场整改: an inspection found it and saw it fixed there and then (just reported, by that
        inspection). Closed, as a verified fix closes a hazard, and looked at again (回头看) by its
        category's interval."""
        self._require({Status.REPORTED}, "fix on the spot")
        self._same_category(category)
        if self.inspection_id is None:
            raise IllegalTransition(f"hazard {self.id} was not found by an inspection: only its inspector fixes it "
                                    "on the spot")
        self._record(HazardFixedOnSpot(by=by, at=_iso(at), note=note),
                     ReinspectionScheduled(due_at=_iso(category.reinspection_due(at)), at=_iso(at)))

    # ---- triage --------------------------------------------------------------------------

    def accept(self, *, by: str, at: dt.datetime, severity: str | None = None, note: str | None = None) -> None:
        self._require({Status.REPORTED}, "accept")
        self._record(HazardAccepted(severity=_one_of(Severity, severity or self.severity, "severity"), by=by,
                                    at=_iso(at), note=note))

    def reject(self, *, by: str, at: dt.datetime, reason: str, message: str, refer_to: str | None = None) -> None:
        self._require({Status.REPORTED}, "reject")
        reason = RejectionReason(_one_of(RejectionReason, reason, "reason"))
        if not message.strip():
            raise InvariantViolated("a rejection says why, to the reporter: the message is empty")
        if reason is RejectionReason.OUTSIDE_REMIT and not (refer_to and refer_to.strip()):
            raise InvariantViolated("outside our remit: say whose (refer_to)")
        if reason is not RejectionReason.OUTSIDE_REMIT and refer_to is not None:
            raise InvariantViolated(f"refer_to is for outside_remit only, not {reason}")
        self._record(HazardRejected(reason=reason.value, message=message, by=by, at=_iso(at), refer_to=refer_to))

    # ---- the closed loop -----------------------------------------------------------------

    def assign(self, *, category: Category, by: str, at: dt.datetime, assignee_kind: str, assignee_id: str,
               assignee_name: str | None = None) -> None:
        """派单 (or 改派 while rectifying): the deadline is counted from now, by category and severity."""
        self._require({Status.ACCEPTED, Status.RECTIFYING}, "assign")
        self._same_category(category)
        if not assignee_id.strip():
            raise InvariantViolated("an assignment names whom (assignee_id)")
        self._record(HazardAssigned(
            assignee_kind=_one_of(AssigneeKind, assignee_kind, "assignee_kind"), assignee_id=assignee_id,
            assignee_name=assignee_name,
            due_at=_iso(category.rectification_due(self.severity, at)), by=by, at=_iso(at)))

    def submit_rectification(self, *, by: str, at: dt.datetime, note: str, photo_refs: tuple[str, ...] = ()) -> None:
        self._require({Status.RECTIFYING}, "submit a rectification of")
        if not note.strip():
            raise InvariantViolated("a rectification says what was done: the note is empty")
        self._record(RectificationSubmitted(note=note, by=by, at=_iso(at), photo_refs=tuple(photo_refs)))

    def pass_verification(self, *, category: Category, by: str, at: dt.datetime, note: str | None = None) -> None:
        """Fixed: closed, and its re-inspection (回头看) scheduled by its category."""
        self._require({Status.AWAITING_VERIFICATION}, "verify")
        self._same_category(category)
        self._record(RectificationVerified(by=by, at=_iso(at), note=note),
                     ReinspectionScheduled(due_at=_iso(category.reinspection_due(at)), at=_iso(at)))

    def fail_verification(self, *, category: Category, by: str, at: dt.datetime, note: str) -> None:
        """Not fixed: back to the fixer with a new deadline, the failure counted."""
        self._require({Status.AWAITING_VERIFICATION}, "verify")
        self._same_category(category)
        if not note.strip():
            raise InvariantViolated("a failed verification says what is still wrong: the note is empty")
        self._record(RectificationFailed(note=note, failures=self.failures + 1,
                                         due_at=_iso(category.rectification_due(self.severity, at)), by=by,
                                         at=_iso(at)))

    def confirm_reinspection(self, *, by: str, at: dt.datetime, note: str | None = None) -> None:
        """Still fixed when looked at again: the loop is closed. Not before it is due, or it would
        not catch the relapse it is there for."""
        self._require({Status.CLOSED}, "confirm the re-inspection of")
        _iso(at)  # an offset first: a naive time is not compared
        if self.reinspection_due_at and at < dt.datetime.fromisoformat(self.reinspection_due_at):
            raise IllegalTransition(
                f"the re-inspection of hazard {self.id} is not due before {self.reinspection_due_at}")
        self._record(ReinspectionConfirmed(by=by, at=_iso(at), note=note))

    def reopen(self, *, category: Category, by: str, at: dt.datetime, note: str) -> None:
        """It came back (at the re-inspection, or found earlier): the same fixer, a new deadline."""
        self._require({Status.CLOSED}, "reopen")
        self._same_category(category)
        if not note.strip():
            raise InvariantViolated("a reopening says what was found: the note is empty")
        self._record(HazardReopened(note=note, due_at=_iso(category.rectification_due(self.severity, at)), by=by,
                                    at=_iso(at)))

    def resolve_at_source(self, *, how: str, at: dt.datetime) -> bool:
        """Its source ended it (a networked detector's trouble is over: heard from again, battery
        good, maintained): closed from whatever open status it is in (reported, accepted,
        rectifying, awaiting verification), with no verification and no re-inspection scheduled.
        Only a hazard a device reported (source device) is its device's to end. One no longer open
        (closed already, by this or a person; confirmed, rejected, merged) stays as it is, and a
        repeated resolution records nothing: returns whether it closed it."""
        if not self.exists:
            raise IllegalTransition(f"hazard {self.id} was never reported")
        if self.source != Source.DEVICE:
            raise IllegalTransition(f"hazard {self.id} was reported by {self.source}, not a device: only a person "
                                    "closes it")
        how = _one_of(ResolvedHow, how, "how")
        at_iso = _iso(at)
        if not self.is_open:
            return False
        self._record(HazardResolvedAtSource(how=how, at=at_iso))
        return True

    def overdue(self, at: dt.datetime) -> tuple[str, str] | None:
        """The deadline in force that has passed at `at`, as (which, when it was due): untriaged
        past `triage_due_at` (status reported), or not rectified past `rectification_due_at`
        (status rectifying). None if neither, or if the hazard is at the top of the chain
        (district): there is nobody above to escalate to. Awaiting verification, the fixer has
        done their part; accepted and not yet assigned, no deadline runs (a gap: see README);
        a re-inspection's due date is not a deadline that escalates."""
        _iso(at)
        if self.handling_level == HANDLING_LEVELS[-1]:
            return None
        due = {Status.REPORTED: (TRIAGE, self.triage_due_at),
               Status.RECTIFYING: (RECTIFICATION, self.rectification_due_at)}.get(self.status)
        if due is None or not due[1] or at < dt.datetime.fromisoformat(due[1]):
            return None
        return due

    def escalate(self, *, at: dt.datetime, category: Category, triage_within: Mapping[str, dt.timedelta]) -> bool:
        """Overdue (`overdue`): one level up (community → street → district), with the same
        window again, counted from now, as the new deadline of what is awaited (triage or the
        fix). Moving the deadline is what makes this idempotent: once escalated, the hazard is
        no longer overdue, so a repeated or concurrent sweep records nothing; and the level
        above gets a real window of its own, even after a sweep that came late. Returns whether
        it escalated."""
        missed = self.overdue(at)
        if missed is None:
            return False
        self._same_category(category)
        deadline, overdue_since = missed
        from_level = self.handling_level
        to_level = HANDLING_LEVELS[HANDLING_LEVELS.index(from_level) + 1]
        due = (triage_due(self.severity, at, triage_within) if deadline == TRIAGE
               else category.rectification_due(self.severity, at))
        what = "untriaged" if deadline == TRIAGE else "not rectified"
        self._record(HazardEscalated(
            from_level=from_level, to_level=to_level, reason=f"{what} by {overdue_since} at the {from_level}",
            at=_iso(at), deadline=deadline, overdue_since=overdue_since, due_at=_iso(due)))
        return True

    # ---- helpers ------------------------------------------------------------------------

    def _require(self, allowed: set[Status], action: str) -> None:
        if not self.exists:
            raise IllegalTransition(f"hazard {self.id} was never reported")
        if self.status not in allowed:
            raise IllegalTransition(f"cannot {action} hazard {self.id} while it is {self.status}")

    def _same_category(self, category: Category) -> None:
        if category.id != self.category:
            raise InvariantViolated(f"hazard {self.id} is {self.category}, not {category.id}")


def merge(duplicate: Hazard, target: Hazard, *, taxonomy: Taxonomy, by: str, at: dt.datetime) -> float:
    """The triager merges an untriaged report into an open hazard it is the same as: the duplicate
    is closed as merged, the target counts its reporters. Returns the distance between them. The
    50 m of duplicate matching is what is offered, not a limit: a pin dropped on the wrong side
    of a building is still the same blocked exit."""
    if duplicate.id == target.id:
        raise IllegalTransition(f"hazard {duplicate.id} cannot be merged into itself")
    duplicate._require({Status.REPORTED}, "merge")
    if not target.is_open:
        raise IllegalTransition(f"cannot merge into hazard {target.id} while it is {target.status}")
    if not taxonomy.compatible(duplicate.category, target.category):
        raise InvariantViolated(f"a {duplicate.category} report cannot be the same hazard as a {target.category}")
    d = round(distance_m(duplicate.location["lat"], duplicate.location["lon"], target.location["lat"],
                         target.location["lon"]), 1)
    duplicate._record(HazardMerged(into_hazard_id=target.id, distance_m=d, by=by, at=_iso(at)))
    target._record(DuplicateMerged(duplicate_id=duplicate.id, reporters=duplicate.reporters, distance_m=d, by=by,
                                   at=_iso(at)))
    return d

"""Events of a hazard (火灾隐患), past-tense facts, from the report to the re-inspection.

Their data is the public contract of `hazards.events` (`linkduty_shared.contracts.hazards`)
except the vault references (`*_ref`, dropped by the relay): no personal data appears here, only
the reporter's masked number, free text with phone and ID numbers masked, and those references.
Every event carries `at` (ISO 8601, with its offset): when it happened by LinkDuty's clock, which
the deadlines are counted from.
"""

from __future__ import annotations

from linkduty_shared.domain import DomainEvent, event


@event("HazardReported")
class HazardReported(DomainEvent):
    """随手拍: someone reported a hazard."""

    hazard_id: str
    at: str
    source: str  # resident_app | grid_worker | volunteer | inspector | joint_patrol | hotline
    category: str  # an id of the taxonomy `taxonomy_version`
    taxonomy_version: str
    severity: str
    description: str  # phone and ID numbers masked
    location: dict  # {"lat", "lon", "address"}
    jurisdiction: dict  # {"grid", "community", "street", "district", "city"} division codes
    triage_due_at: str  # untriaged after this, it escalates to the street (the deadline sweep)
    venue_id: str | None = None
    duplicate_candidates: tuple = ()  # [{"hazard_id", "distance_m"}]: open hazards it may be, nearest first
    reporter_masked: str | None = None  # the reporter's phone, masked
    reporter_ref: str | None = None  # the reporter's contact, in the hazards service's PII vault
    free_text_ref: str | None = None  # the description and address as typed, in the vault (when scrubbed)
    photo_ids: tuple = ()  # the photos' ids (hazards.photos: the bytes are in the object store)


@event("RecurrenceFlagged")
class RecurrenceFlagged(DomainEvent):
    """反弹: the same hazard again where one was fixed within the recurrence window."""

    previous_hazard_id: str
    rule: str  # same_venue | nearby
    distance_m: float
    previous_closed_at: str
    at: str


@event("HazardMerged")
class HazardMerged(DomainEvent):
    """This report is the same hazard as an open one: its reporters follow that one now."""

    into_hazard_id: str
    distance_m: float
    by: str
    at: str


@event("DuplicateMerged")
class DuplicateMerged(DomainEvent):
    """A duplicate report was merged into this hazard; `reporters` of it now follow this one."""

    duplicate_id: str
    reporters: int
    distance_m: float
    by: str
    at: str


@event("HazardAccepted")
class HazardAccepted(DomainEvent):
    """Triage: a hazard, to be fixed (at `severity`, the category's default unless triage changed it)."""

    severity: str
    by: str
    at: str
    note: str | None = None


@event("HazardRejected")
class HazardRejected(DomainEvent):
    """Triage: not ours to fix. `message` is what the reporter reads; `refer_to` whose it is."""

    reason: str  # not_a_hazard | outside_remit | insufficient_information
    message: str
    by: str
    at: str
    refer_to: str | None = None  # set exactly when reason is outside_remit


@event("HazardAssigned")
class HazardAssigned(DomainEvent):
    """派单: who must fix it, by when (限期整改: from the category and severity)."""

    assignee_kind: str  # venue_contact | property_manager | community | volunteer_team
    assignee_id: str
    due_at: str
    by: str
    at: str
    assignee_name: str | None = None  # an organisation's name (a person's, if any, masked)


@event("RectificationSubmitted")
class RectificationSubmitted(DomainEvent):
    """整改: the fixer says it is fixed."""

    note: str
    by: str
    at: str
    photo_refs: tuple = ()  # the 'after' photos' ids (the name predates uploads; not vault refs)


@event("RectificationVerified")
class RectificationVerified(DomainEvent):
    """复查: a verifier found it fixed. The hazard is closed."""

    by: str
    at: str
    note: str | None = None


@event("RectificationFailed")
class RectificationFailed(DomainEvent):
    """复查: not fixed. Back to the fixer with a new deadline; `failures` counts them."""

    note: str
    failures: int
    due_at: str
    by: str
    at: str


@event("ReinspectionScheduled")
class ReinspectionScheduled(DomainEvent):
    """回头看: the closed hazard is looked at again once `due_at` is reached."""

    due_at: str
    at: str


@event("ReinspectionConfirmed")
class ReinspectionConfirmed(DomainEvent):
    """回头看: still fixed. The loop is closed."""

    by: str
    at: str
    note: str | None = None


@event("HazardReopened")
class HazardReopened(DomainEvent):
    """回头看: it came back. The same fixer has a new deadline."""

    note: str
    due_at: str
    by: str
    at: str


@event("HazardEscalated")
class HazardEscalated(DomainEvent):
    """Overdue at `from_level`: the next level up handles it now, by a new deadline."""

    from_level: str  # community | street
    to_level: str  # street | district
    reason: str
    at: str
    deadline: str | None = None  # triage | rectification: the one missed
    overdue_since: str | None = None  # when it was due
    due_at: str | None = None  # the deadline `to_level` has for it now (the same window again, from `at`)

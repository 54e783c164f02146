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
    source: str  # resident_app | grid_worker | volunteer | inspector | joint_patrol | hotline | inspection | device
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
    inspection_id: str | None = None  # the inspection whose failed item it is (source inspection)


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


@event("HazardFixedOnSpot")
class HazardFixedOnSpot(DomainEvent):
    """当场整改: found and fixed at once, in front of the inspector who found it (an inspection's
    item fixed on the spot). The hazard is closed, as a verified rectification closes it, and its
    re-inspection (回头看) follows (ReinspectionScheduled)."""

    by: str
    at: str
    note: str | None = None


@event("HazardResolvedAtSource")
class HazardResolvedAtSource(DomainEvent):
    """The source that reported it says it is over: a networked detector's trouble ended (it was
    heard from again, its battery is good again, it was maintained). The hazard is closed, with no
    verification and no re-inspection: the device's own signals are the check, and a new trouble
    of it is a new hazard."""

    how: str  # reported_again | battery_ok | maintained (values.ResolvedHow)
    at: str


# ---- venues (场所): the registry a street keeps of the places it inspects ---------------------


@event("VenueRegistered")
class VenueRegistered(DomainEvent):
    """A place entered in the registry (by hand or from a street's ledger: `ledger_ref`)."""

    venue_id: str
    at: str
    kind: str  # an id of venue_kinds.toml (the nine small places, compounds, high-rises, …)
    name: str  # a business's or building's name (phone and ID numbers masked)
    location: dict  # {"lat", "lon", "address"}
    jurisdiction: dict  # {"grid", "community", "street", "district", "city"}
    risk_class: str  # low | medium | high (values.RiskClass)
    by: str
    floor_area_m2: float | None = None
    inspection_due_at: str | None = None  # its first inspection, by its kind's interval
    responsible_masked: str | None = None  # 安全责任人: their phone masked (name and phone in the vault)
    responsible_ref: str | None = None
    contact_masked: str | None = None  # 消防安全管理人 / the fire-safety contact, masked
    contact_ref: str | None = None
    ledger_ref: str | None = None  # its id in the ledger it was imported from


@event("VenueDetailsChanged")
class VenueDetailsChanged(DomainEvent):
    """Corrected or changed: only the fields named in `changes` (name, kind, floor_area_m2,
    address; a new location moves its micro-grid: `location` and `jurisdiction` together)."""

    changes: dict
    by: str
    at: str


@event("VenueContactsChanged")
class VenueContactsChanged(DomainEvent):
    """A new responsible person or fire-safety contact (the old ones' vault entries are erased)."""

    by: str
    at: str
    responsible_masked: str | None = None
    responsible_ref: str | None = None
    contact_masked: str | None = None
    contact_ref: str | None = None


@event("VenueRiskClassified")
class VenueRiskClassified(DomainEvent):
    """Its risk class (风险等级) changed, and why: the venue's page shows this over time."""

    risk_class: str
    previous: str
    reason: str
    by: str
    at: str


@event("VenueDeregistered")
class VenueDeregistered(DomainEvent):
    """Closed down, demolished or entered twice: no longer inspected."""

    reason: str
    by: str
    at: str


@event("VenueInspected")
class VenueInspected(DomainEvent):
    """An inspection of it was recorded (the inspection's own stream has the checklist): its next
    inspection falls due `inspection_due_at`, by its kind's interval."""

    inspection_id: str
    inspection_kind: str  # self_check | patrol | joint
    inspected_at: str
    inspection_due_at: str
    at: str


@event("VenueInspectionEscalated")
class VenueInspectionEscalated(DomainEvent):
    """Its inspection overdue at `from_level`: the next level up sees to it now, by `due_at`."""

    from_level: str  # community | street
    to_level: str  # street | district
    overdue_since: str
    due_at: str
    at: str


# ---- inspections (检查): one visit to one venue, with its checklist ---------------------------


@event("InspectionRecorded")
class InspectionRecorded(DomainEvent):
    """An inspection of a venue, as its checklist was filled in. Every failed item opened a hazard
    (`items[].hazard_id`, in the same transaction); an item fixed on the spot opened one that was
    closed at once (HazardFixedOnSpot). `reinspected` are hazards it looked at again (回头看)."""

    inspection_id: str
    venue_id: str
    venue_kind: str
    kind: str  # self_check (the venue's own) | patrol (a grid worker or volunteer) | joint (防消联勤)
    at: str  # when it was done (as the inspector says, never in the future)
    jurisdiction: dict  # the venue's, when inspected
    checklist_version: str
    items: tuple  # [{"item_id", "result": passed|failed|fixed_on_spot|not_applicable, "category", "hazard_id", "note", "photo_ids"}]
    participants: tuple  # [{"role": street_office|venue_contact|fire_station|grid_worker|volunteer|community, "id", "name"}]
    by: str
    reinspected: tuple = ()  # [{"hazard_id", "outcome": confirmed|reopened}]
    note: str | None = None


@event("AlarmContextAttached")
class AlarmContextAttached(DomainEvent):
    """灾前画像: what prevention knew about the place of a 119 alarm when it was reported (stream
    `alarm_context/<alarm id>`; the contract is `linkduty_shared.contracts.alarm_context`)."""

    alarm_id: str
    at: str
    lat: float
    lon: float
    jurisdiction: dict  # the alarm's {"grid", "community", "street", "district", "city"}: who may read it
    radius_m: float
    venue: dict | None  # ContextVenue's fields
    hazards: tuple  # ContextHazard's fields, nearest first
    open_hazards: int
    overdue_hazards: int
    headline: str

"""`hazards.events`: what other services may rely on in the hazards service's events.

Key = hazard id; value = CloudEvent (binary mode), type `linkduty.hazard.<EventName>`,
`dataversion` 1. Every event's data carries `at` (ISO 8601 with its offset: when it happened).
The public events and their data are the dataclasses below; `hazard_event_from_data` checks a
record against them. Data never carries personal data: the reporter's number masked at most,
free text with phone and ID numbers masked, and no vault reference (`*_ref`, dropped before
Kafka). Which reporters follow a hazard is not published.

The loop (闭环): HazardReported (+ RecurrenceFlagged) → HazardAccepted | HazardRejected |
HazardMerged (the duplicate; its target records DuplicateMerged) → HazardAssigned →
RectificationSubmitted → RectificationVerified (+ ReinspectionScheduled) | RectificationFailed
(back to rectifying) → ReinspectionConfirmed | HazardReopened (back to rectifying). A hazard an
inspection found and fixed at once: HazardReported (source inspection) → HazardFixedOnSpot
(closed) + ReinspectionScheduled. A hazard a networked detector reported (source device: its
trouble, devices.events DeviceTroubleBegan) may be closed by the device from any open status:
HazardResolvedAtSource (its trouble ended; no verification, no re-inspection).
HazardEscalated (community → street → district) may come while the hazard is open.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from linkduty_shared.contracts import ContractViolation, validated

STREAM_TYPE = "hazard"
TYPE_PREFIX = f"linkduty.{STREAM_TYPE}."

# The hazard's status after each event that sets it (a HazardReported hazard is "reported").
STATUS_AFTER_EVENT = {
    "HazardReported": "reported",
    "HazardMerged": "merged",
    "HazardAccepted": "accepted",
    "HazardRejected": "rejected",
    "HazardAssigned": "rectifying",
    "RectificationSubmitted": "awaiting_verification",
    "RectificationVerified": "closed",
    "HazardFixedOnSpot": "closed",
    "HazardResolvedAtSource": "closed",
    "RectificationFailed": "rectifying",
    "ReinspectionConfirmed": "confirmed",
    "HazardReopened": "rectifying",
}
OPEN_STATUSES = frozenset({"reported", "accepted", "rectifying", "awaiting_verification"})
# The levels a hazard is handled at, bottom up (HazardEscalated.from_level / to_level).
HANDLING_LEVELS = ("community", "street", "district")

Severity = Literal["minor", "moderate", "major"]
Level = Literal["community", "street", "district"]
Text = Annotated[str, Field(min_length=1)]


@dataclasses.dataclass(frozen=True)
class Location:
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    address: str | None = None


@dataclasses.dataclass(frozen=True)
class Jurisdiction:
    grid: Text
    community: Text
    street: Text
    district: Text
    city: Text


@dataclasses.dataclass(frozen=True)
class DuplicateCandidate:
    hazard_id: Text
    distance_m: float


@dataclasses.dataclass(frozen=True)
class HazardReported:
    hazard_id: Text
    at: Text
    source: Literal["resident_app", "grid_worker", "volunteer", "inspector", "joint_patrol", "hotline", "inspection",
                    "device"]
    category: Text
    taxonomy_version: Text
    severity: Severity
    description: str
    location: Location
    jurisdiction: Jurisdiction
    triage_due_at: Text
    venue_id: str | None = None
    duplicate_candidates: tuple[DuplicateCandidate, ...] = ()
    reporter_masked: str | None = None
    photo_ids: tuple[str, ...] = ()
    inspection_id: str | None = None  # the inspection whose failed item it is (source inspection)


@dataclasses.dataclass(frozen=True)
class RecurrenceFlagged:
    previous_hazard_id: Text
    rule: Literal["same_venue", "nearby"]
    distance_m: float
    previous_closed_at: Text
    at: Text


@dataclasses.dataclass(frozen=True)
class HazardMerged:
    into_hazard_id: Text
    distance_m: float
    by: str
    at: Text


@dataclasses.dataclass(frozen=True)
class DuplicateMerged:
    duplicate_id: Text
    reporters: Annotated[int, Field(ge=1)]
    distance_m: float
    by: str
    at: Text


@dataclasses.dataclass(frozen=True)
class HazardAccepted:
    severity: Severity
    by: str
    at: Text
    note: str | None = None


@dataclasses.dataclass(frozen=True)
class HazardRejected:
    reason: Literal["not_a_hazard", "outside_remit", "insufficient_information"]
    message: Text
    by: str
    at: Text
    refer_to: str | None = None


@dataclasses.dataclass(frozen=True)
class HazardAssigned:
    assignee_kind: Literal["venue_contact", "property_manager", "community", "volunteer_team"]
    assignee_id: Text
    due_at: Text
    by: str
    at: Text
    assignee_name: str | None = None


@dataclasses.dataclass(frozen=True)
class RectificationSubmitted:
    note: Text
    by: str
    at: Text
    photo_refs: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class RectificationVerified:
    by: str
    at: Text
    note: str | None = None


@dataclasses.dataclass(frozen=True)
class HazardFixedOnSpot:
    by: str
    at: Text
    note: str | None = None


@dataclasses.dataclass(frozen=True)
class HazardResolvedAtSource:
    how: Literal["reported_again", "battery_ok", "maintained"]  # as devices.events DeviceTroubleEnded says
    at: Text


@dataclasses.dataclass(frozen=True)
class RectificationFailed:
    note: Text
    failures: Annotated[int, Field(ge=1)]
    due_at: Text
    by: str
    at: Text


@dataclasses.dataclass(frozen=True)
class ReinspectionScheduled:
    due_at: Text
    at: Text


@dataclasses.dataclass(frozen=True)
class ReinspectionConfirmed:
    by: str
    at: Text
    note: str | None = None


@dataclasses.dataclass(frozen=True)
class HazardReopened:
    note: Text
    due_at: Text
    by: str
    at: Text


@dataclasses.dataclass(frozen=True)
class HazardEscalated:
    from_level: Level
    to_level: Level
    reason: str
    at: Text
    # Which deadline was missed, when it was, and the one `to_level` has now (the escalation
    # moves it: the same deadline never escalates twice). Absent from escalations recorded by hand.
    deadline: Literal["triage", "rectification"] | None = None
    overdue_since: str | None = None
    due_at: str | None = None


EVENTS: dict[str, type] = {cls.__name__: cls for cls in (
    HazardReported, RecurrenceFlagged, HazardMerged, DuplicateMerged, HazardAccepted, HazardRejected, HazardAssigned,
    RectificationSubmitted, RectificationVerified, HazardFixedOnSpot, HazardResolvedAtSource, RectificationFailed, ReinspectionScheduled, ReinspectionConfirmed,
    HazardReopened, HazardEscalated)}
EVENT_TYPES = frozenset(TYPE_PREFIX + name for name in EVENTS)
_ADAPTERS = {name: TypeAdapter(cls) for name, cls in EVENTS.items()}


def event_name(event_type: str) -> str | None:
    """`HazardReported` for `linkduty.hazard.HazardReported`; None for a type not of this contract."""
    return event_type.removeprefix(TYPE_PREFIX) if event_type in EVENT_TYPES else None


def hazard_event_from_data(event_type: str, data: Any) -> Any:
    """The event a record of type `event_type` holds, every field of the type the contract gives
    it, or ContractViolation (an unknown type included). Extra fields are dropped."""
    name = event_name(event_type)
    if name is None:
        raise ContractViolation(f"{event_type!r} is no event of the hazards.events v1 contract")
    return validated(_ADAPTERS[name], data, event_type)

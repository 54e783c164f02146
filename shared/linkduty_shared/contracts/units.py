"""`units.events`: what other services may rely on in the units service's events.

Value = CloudEvent (binary mode), type `linkduty.<stream type>.<EventName>`.

Two kinds of stream share the topic:
- records about one alarm: `dispatch` (联调: the plan, the orders, the units' answers and their
  progress to the scene, move-up suggestions) and `joint_operation` (联战: who is on scene, who
  commands, the on-scene log). Their Kafka key is the **alarm id**, so that they land on the same
  partition number as the alarm's own events on `alarms.events` (both topics have the same
  partition count): a consumer keeping per-alarm state (the linkage app) sees them co-partitioned.
  The alarm id is also in every such event's data as `alarm_id`.
- records about one force: `unit` (its status), `duty_roster`, and the patrol and training
  records; key = their stream id.

Data never carries personal data: members are counted, not named.

Joint patrols (联防, stream type `joint_patrol`, key and subject = the patrol id): what a patrol
finds is `PatrolFindingLogged` (below); the finding's stable id is the CloudEvent id (one event
per finding, never re-issued: a redelivery carries the same id). Its text never holds a mobile or
resident ID number (the units service refuses them), and a location, when given, lies in the
patrol's division of the shared city directory. The hazards service files each as a hazard.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, model_validator

from linkduty_shared.contracts import ContractViolation, validated

# Stream types whose events concern one alarm and are keyed by its id.
ALARM_RECORD_STREAM_TYPES = frozenset({"dispatch", "joint_operation"})

# A dispatched unit reached the alarm's scene (`dispatch` stream). Data: alarm_id, unit_id,
# force_kind, role ("main" | "auxiliary_1" | "auxiliary_2"), at (ISO 8601).
UNIT_ARRIVED_EVENT = "DispatchedUnitArrived"

# The roles of 一主两辅 (one main force, two auxiliaries).
ROLES = ("main", "auxiliary_1", "auxiliary_2")

# Every order is issued in the transaction of the DispatchPlanned that lists it (assignments), so
# consoles learn whom a plan sends from the plan: routing each order as well would send every
# centre four notifications where one says it all, the biggest share of linkage's load.
NOT_FOR_CONSOLES = frozenset({"DispatchOrderIssued"})


def is_alarm_record(event_type: str) -> bool:
    """Whether a `units.events` CloudEvent type (`linkduty.<stream type>.<Name>`) is about an alarm."""
    parts = event_type.split(".")
    return len(parts) == 3 and parts[1] in ALARM_RECORD_STREAM_TYPES


def is_for_consoles(event_type: str) -> bool:
    """Whether linkage routes this `units.events` record to the centres that see its alarm."""
    return is_alarm_record(event_type) and event_type.rsplit(".", 1)[-1] not in NOT_FOR_CONSOLES


# ---- 联防: joint patrols ----------------------------------------------------------------------

PATROL_STREAM_TYPE = "joint_patrol"
PATROL_FINDING_EVENT = "PatrolFindingLogged"
PATROL_FINDING_TYPE = f"linkduty.{PATROL_STREAM_TYPE}.{PATROL_FINDING_EVENT}"
# The kinds a finding has today. The set may grow: a consumer must take a kind it does not know
# (as its own default), never refuse the record for it.
PATROL_HAZARD_KINDS = frozenset({
    "e_bike_charging", "blocked_passage", "blocked_fire_lane", "three_in_one_premises", "electrical_wiring",
    "flammables_storage", "fire_equipment_fault", "other",
})


@dataclasses.dataclass(frozen=True)
class PatrolFindingLogged:
    """A hazard a joint patrol found. `at`: ISO 8601 with its offset. `lat`/`lon`: both or neither
    (a finding indoors may have no fix)."""

    text: Annotated[str, Field(min_length=1, max_length=2000)]
    hazard_kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]  # snake_case; see PATROL_HAZARD_KINDS
    at: Annotated[str, Field(min_length=1)]
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> PatrolFindingLogged:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("a location needs both lat and lon, or neither")
        return self

    @property
    def located(self) -> bool:
        return self.lat is not None


_FINDING = TypeAdapter(PatrolFindingLogged)


def patrol_finding_from_data(data: Any) -> PatrolFindingLogged:
    """The finding a `linkduty.joint_patrol.PatrolFindingLogged` record holds, every field of the
    type the contract gives it, or ContractViolation. Extra fields are dropped."""
    return validated(_FINDING, data, PATROL_FINDING_TYPE)


def patrol_finding_ids(subject: str, event_id: str) -> tuple[str, str]:
    """(patrol id, finding id) of a PatrolFindingLogged record: its subject and its CloudEvent id,
    both UUIDs (canonical form), or ContractViolation."""
    ids = []
    for name, value in (("subject (the patrol id)", subject), ("id (the finding id)", event_id)):
        try:
            ids.append(str(uuid.UUID(value)))
        except (ValueError, TypeError, AttributeError):
            raise ContractViolation(f"breaks the {PATROL_FINDING_TYPE} v1 contract: {name} is not a UUID") from None
    return ids[0], ids[1]

"""The pre-incident picture (灾前画像): what fire prevention already knows about the place of a
119 alarm, published by the hazards service on `hazards.events` when the alarm is reported.

Key = **alarm id** (so that it lands on the partition number of the alarm's own events on
`alarms.events`: both topics have the same partition count, and linkage routes it with the alarm's
state); subject = alarm id; CloudEvent type `linkduty.alarm_context.AlarmContextAttached`,
`dataversion` 1; one per alarm (its stream `alarm_context/<alarm id>` holds that one event, so a
redelivered AlarmReported attaches nothing more). Linkage sends it, as an AlarmNotification of
event_type `AlarmContextAttached`, to every centre that sees the alarm; the consoles' boards keep
it beside the alarm.

Data: the venue at the alarm's point, if one is registered there (its kind, risk class, last
inspection, whether one is overdue, how many hazards it has open), and the open hazards within
`radius_m`, nearest first (at most a page of them; `open_hazards` counts them all). No personal
data: the venue's people are not named (their contacts stay in the hazards service's vault), and
hazard descriptions are as the hazards contract publishes them (phone and ID numbers masked).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from linkduty_shared.contracts import ContractViolation, validated
from linkduty_shared.contracts.alarms import AlarmJurisdiction

STREAM_TYPE = "alarm_context"
TYPE_PREFIX = f"linkduty.{STREAM_TYPE}."
CONTEXT_ATTACHED = "AlarmContextAttached"
CONTEXT_ATTACHED_TYPE = f"{TYPE_PREFIX}{CONTEXT_ATTACHED}"
MAX_HAZARDS = 20  # listed in one picture; `open_hazards` counts beyond

Text = Annotated[str, Field(min_length=1, max_length=200)]
Distance = Annotated[float, Field(ge=0)]


@dataclasses.dataclass(frozen=True)
class ContextVenue:
    venue_id: Text
    name: Annotated[str, Field(min_length=1, max_length=500)]
    kind: Text  # the hazards service's venue kind id, e.g. "small_restaurant"
    kind_name: str  # as people say it (zh)
    risk_class: Text
    distance_m: Distance  # from the alarm's point
    open_hazards: Annotated[int, Field(ge=0)]
    last_inspected_at: str | None  # ISO 8601; None: never inspected
    last_inspection_kind: str | None  # self_check | patrol | joint
    inspection_due_at: str | None
    inspection_overdue: bool


@dataclasses.dataclass(frozen=True)
class ContextHazard:
    hazard_id: Text
    category: Text
    severity: Literal["minor", "moderate", "major"]
    status: Text
    description: Annotated[str, Field(max_length=4000)]
    reported_at: Text
    due_at: str | None  # the deadline it is waiting on now (triage or rectification), if any
    overdue: bool
    distance_m: Distance
    venue_id: str | None
    at_the_venue: bool  # it is the context venue's


@dataclasses.dataclass(frozen=True)
class AlarmContextAttached:
    alarm_id: Text
    at: Text  # when the picture was taken (ISO 8601)
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    jurisdiction: AlarmJurisdiction  # the alarm's
    radius_m: Distance
    venue: ContextVenue | None
    hazards: Annotated[tuple[ContextHazard, ...], Field(max_length=MAX_HAZARDS)]
    open_hazards: Annotated[int, Field(ge=0)]  # within radius_m, all of them
    overdue_hazards: Annotated[int, Field(ge=0)]
    headline: Annotated[str, Field(max_length=1000)]  # one line a dispatcher reads first


_ADAPTER = TypeAdapter(AlarmContextAttached)


def is_alarm_context(event_type: str) -> bool:
    return event_type.startswith(TYPE_PREFIX)


def alarm_context_from_data(event_type: str, data: Any) -> AlarmContextAttached:
    """The picture a record holds, every field of the type the contract gives it, or
    ContractViolation (a type of this stream the contract does not know included)."""
    if event_type != CONTEXT_ATTACHED_TYPE:
        raise ContractViolation(f"{event_type!r} is no event of the {STREAM_TYPE} v1 contract")
    return validated(_ADAPTER, data, CONTEXT_ATTACHED_TYPE)

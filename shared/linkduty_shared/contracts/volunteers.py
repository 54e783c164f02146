"""What the volunteers service publishes on `volunteers.events` that other services act on.

1. **The response to a 119 alarm** (stream `alarm_response/<alarm id>`): key = subject = the
   **alarm id**, so that it lands on the partition number of the alarm's own events (the topics
   have the same partition count) and linkage routes it with the alarm's state, like a units
   record about the alarm. Linkage sends these types, as AlarmNotifications of that event_type,
   to every centre that sees the alarm: who was alerted (`VolunteersAlerted`), who is coming and
   when (`VolunteerResponseAccepted`), what they report from the scene (`VolunteerSceneReported`),
   and that the alerts were stood down (`VolunteerAlertsStoodDown`). No position of a volunteer
   is in them, only the alarm's point, their distance (rounded to 50 m) and their masked name.
2. **Service orders** (三单, stream `service_order/<order id>`, key = subject = the order id):
   linkage sends every transition, as a ServiceOrderNotification, to the community and street
   centres of the order (the record's `divisions` extension: the order's chain), with the
   fields of `ORDER_FIELDS` only. The hazards service files each of a ServiceOrderCompleted's
   `hazards_found` as a hazard (source volunteer), once per finding id.

CloudEvent types `linkduty.alarm_response.<event>` and `linkduty.service_order.<event>`,
`dataversion` 1. Free text is scrubbed of phone and ID numbers at the source.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from linkduty_shared.contracts import ContractViolation, validated

RESPONSE_STREAM_TYPE = "alarm_response"
RESPONSE_TYPE_PREFIX = f"linkduty.{RESPONSE_STREAM_TYPE}."
ORDER_COMPLETED_TYPE = "linkduty.service_order.ServiceOrderCompleted"

Text = Annotated[str, Field(min_length=1, max_length=200)]
Note = Annotated[str, Field(max_length=4000)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Metres = Annotated[float, Field(ge=0, le=100_000)]


@dataclasses.dataclass(frozen=True)
class AlertedVolunteer:
    volunteer_id: Text
    name_masked: Annotated[str, Field(max_length=100)]
    grade: Text
    distance_m: Metres


@dataclasses.dataclass(frozen=True)
class VolunteersAlerted:
    alarm_id: Text
    kind: Text
    domain: Text
    place: Literal["public", "home"]
    lat: Lat
    lon: Lon
    radius_m: Metres
    wanted: Annotated[int, Field(ge=1, le=100)]
    alerted: Annotated[tuple[AlertedVolunteer, ...], Field(max_length=100)]
    at: Text


@dataclasses.dataclass(frozen=True)
class VolunteerResponseAccepted:
    alarm_id: Text
    volunteer_id: Text
    name_masked: Annotated[str, Field(max_length=100)]
    grade: Text
    eta_minutes: Annotated[int, Field(ge=1, le=120)]
    distance_m: Metres
    at: Text


@dataclasses.dataclass(frozen=True)
class Guidance:
    kind: Literal["road_blocked", "hydrant", "gate_code", "access", "other"]
    note: Annotated[str, Field(max_length=500)]


@dataclasses.dataclass(frozen=True)
class VolunteerSceneReported:
    alarm_id: Text
    volunteer_id: Text
    name_masked: Annotated[str, Field(max_length=100)]
    lat: Lat
    lon: Lon
    assessment: Note
    guidance: Annotated[tuple[Guidance, ...], Field(max_length=10)]
    photos: Annotated[tuple[Annotated[str, Field(max_length=500)], ...], Field(max_length=9)]
    at: Text


@dataclasses.dataclass(frozen=True)
class VolunteerAlertsStoodDown:
    alarm_id: Text
    reason: Literal["enough_accepted", "alarm_closed"]
    volunteer_ids: Annotated[tuple[Text, ...], Field(max_length=100)]
    at: Text


FOR_CONSOLES = {f"{RESPONSE_TYPE_PREFIX}{cls.__name__}": TypeAdapter(cls) for cls in (
    VolunteersAlerted, VolunteerResponseAccepted, VolunteerSceneReported, VolunteerAlertsStoodDown)}


def is_response_for_consoles(event_type: str) -> bool:
    """Whether linkage routes this record to the centres that see its alarm (a decline, a
    confirmation of hours, are the volunteers service's own business)."""
    return event_type in FOR_CONSOLES


def response_from_data(event_type: str, data: Any) -> Any:
    """The contract's dataclass of a response record, or ContractViolation."""
    adapter = FOR_CONSOLES.get(event_type)
    if adapter is None:
        raise ContractViolation(f"{event_type!r} is no event of the {RESPONSE_STREAM_TYPE} v1 contract for consoles")
    return validated(adapter, data, event_type)


# ---- hazards found on a home visit ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class HazardFound:
    finding_id: Text
    category: Annotated[str, Field(min_length=1, max_length=64)]
    description: Annotated[str, Field(min_length=1, max_length=2000)]
    lat: Lat
    lon: Lon


@dataclasses.dataclass(frozen=True)
class ServiceOrderCompleted:
    volunteer_id: Text
    hazards_found: Annotated[tuple[HazardFound, ...], Field(max_length=20)]
    at: Text


_ORDER_COMPLETED = TypeAdapter(ServiceOrderCompleted)


def order_completed_from_data(data: Any) -> ServiceOrderCompleted:
    return validated(_ORDER_COMPLETED, data, ORDER_COMPLETED_TYPE)


# ---- service orders, for the community and street consoles --------------------------------------

ORDER_TYPE_PREFIX = "linkduty.service_order."
# What a console sees of each transition: no contact (kept in the volunteers service's vault),
# the address and phone masked, free text scrubbed at the source.
ORDER_FIELDS = {
    "ServiceOrderPlaced": ("order_id", "kind", "domain", "min_grade", "community", "lat", "lon", "description",
                           "address_masked", "contact_masked", "wanted_from", "wanted_until", "at"),
    "ServiceOrderAssigned": ("volunteer_id", "team_id", "answer_by", "at"),
    "ServiceOrderPublished": ("answer_by", "at"),
    "ServiceOrderAccepted": ("volunteer_id", "name_masked", "at"),
    "ServiceOrderDeclined": ("volunteer_id", "reason", "at"),
    "ServiceOrderReturned": ("answer_by", "at"),
    "ServiceOrderCompleted": ("volunteer_id", "report", "photos", "hours_spent", "hazards_found", "at"),
    "ServiceOrderConfirmed": ("volunteer_id", "rating", "comment", "hours", "at"),
    "ServiceOrderCancelled": ("reason", "at"),
}
MAX_ORDER_EVENT_BYTES = 64 * 1024
_JSON_OBJECT = TypeAdapter(dict[str, Any])


def is_order_event(event_type: str) -> bool:
    return event_type.startswith(ORDER_TYPE_PREFIX)


def order_event_from_data(event_type: str, data: Any, size: int) -> dict[str, Any]:
    """The fields a console may see of an order's event (`size`: its record's bytes), every one
    the contract lists present; or ContractViolation (an unknown type of the stream included)."""
    fields = ORDER_FIELDS.get(event_type.removeprefix(ORDER_TYPE_PREFIX))
    if fields is None or not event_type.startswith(ORDER_TYPE_PREFIX):
        raise ContractViolation(f"{event_type!r} is no event of the service_order v1 contract")
    if size > MAX_ORDER_EVENT_BYTES:
        raise ContractViolation(f"{event_type}: {size} bytes, over {MAX_ORDER_EVENT_BYTES}")
    data = validated(_JSON_OBJECT, data, event_type)
    missing = [f for f in fields if f not in data]
    if missing:
        raise ContractViolation(f"breaks the {event_type} v1 contract: missing {', '.join(missing)}")
    return {f: data[f] for f in fields}

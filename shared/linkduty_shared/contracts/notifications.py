"""`linkage.notifications`: what the operations centres must see of an alarm event, in one of two
shapes (the linkage setting `notifications_shape`; the gateway reads both, even mixed on the topic).

- per centre (the default): one record per centre. Kafka key = centre id, so one centre's
  notifications stay in order on one partition. CloudEvent (binary mode) of type
  `linkduty.linkage.AlarmNotification`, `dataversion` 1, data `AlarmNotification.to_data()`.
- per event: one record per alarm event (or units record about an alarm) listing its centres,
  each with its reason. Kafka key = alarm id, so one alarm's records stay in order on one
  partition. CloudEvent of type `linkduty.linkage.AlarmRouted`, `dataversion` 1, data
  `AlarmRouted.to_data()`. The gateway fans it out (`AlarmRouted.notifications()`) into exactly
  the AlarmNotifications the per-centre shape would have sent.

A hazard event (`hazards.events`) has one shape: one HazardNotification per centre that sees the
hazard, key = centre id, CloudEvent type `linkduty.linkage.HazardNotification`, `dataversion` 1,
data `HazardNotification.to_data()`. Hazards are few beside alarm events (a handful of events a
hazard, over days), so the per-event shape, which exists to cut the alarms' fan-out, is not worth
a second record type for them.

Consumers (the console gateway) de-duplicate by `notification_id`, which is derived from (event
id, centre id) in every shape, and so is the same when the linkage app re-sends after a restart,
whichever shape it sent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from pydantic import TypeAdapter

from linkduty_shared.contracts import ContractViolation, validated
from linkduty_shared.events.envelope import Envelope

NOTIFICATION_TYPE = "linkduty.linkage.AlarmNotification"
ROUTED_TYPE = "linkduty.linkage.AlarmRouted"
HAZARD_NOTIFICATION_TYPE = "linkduty.linkage.HazardNotification"
ORDER_NOTIFICATION_TYPE = "linkduty.linkage.ServiceOrderNotification"
NOTIFICATION_SOURCE = "/linkduty/linkage"
_NAMESPACE = uuid.UUID("6f1c1f0e-4a43-4f59-9a8e-1e6a1d2c7b10")


def notification_id(event_id: str, centre_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{event_id}/{centre_id}"))


def routed_id(event_id: str) -> str:
    """The CloudEvent id of an AlarmRouted record: one per event, the same when re-sent."""
    return str(uuid.uuid5(_NAMESPACE, f"{event_id}/routed"))


@dataclasses.dataclass(frozen=True)
class AlarmSummary:
    """What a console shows of an alarm, after the event (no personal data)."""

    alarm_id: str
    status: str
    kind: str
    severity: str
    description: str
    received_at: str
    location: dict[str, Any]  # {"lat", "lon", "address"}
    jurisdiction: dict[str, str]  # {"grid", "community", "street", "district", "city"}
    call_count: int
    acknowledged: dict[str, str]  # level → centre id
    escalation_level: str
    version: int
    source: str | None = None  # the first call's: phone, app, partner, cap, device...
    # Who is likely inside (a networked detector's call: age band, mobility, floor, lives alone...;
    # never a name or a number), as the alarms service keeps it; None for other alarms.
    vulnerability: dict[str, Any] | None = None
    # Every active call is a detector's that cleared quickly, with no repeat: shown, a person decides.
    possible_false_alarm: bool = False


@dataclasses.dataclass(frozen=True)
class AlarmNotification:
    notification_id: str
    centre_id: str
    reason: str  # "jurisdiction" | "rule:<name>" — why this centre sees the alarm
    event_id: str  # the event this notification is about: the alarm's own, or a record about it from units.events
    event_type: str  # e.g. "AlarmReported", "AlarmEscalated"; "DispatchOrderIssued", "CommandHandedOver" (units)
    event_data: dict[str, Any]  # that event's data
    occurred_at: str  # when the alarm event happened (ISO 8601)
    routed_at: str  # when the linkage app routed it
    alarm: AlarmSummary
    open: bool  # False once the alarm is closed, cancelled or a false alarm

    def to_data(self) -> dict[str, Any]:
        # Shallow: the event's data and the summary's dicts are shared, not deep-copied as by
        # dataclasses.asdict (a tenth of linkage's routing time, once per centre); the result is
        # serialized at once, never changed.
        return {**self.__dict__, "alarm": dict(self.alarm.__dict__)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> AlarmNotification:
        return cls(**{**data, "alarm": AlarmSummary(**data["alarm"])})

    def envelope(self, *, traceparent: str | None = None, correlationid: str | None = None) -> Envelope:
        return Envelope(
            id=self.notification_id, source=NOTIFICATION_SOURCE, type=NOTIFICATION_TYPE, subject=self.centre_id,
            time=dt.datetime.fromisoformat(self.routed_at), data=self.to_data(), dataversion=1,
            traceparent=traceparent, correlationid=correlationid, causationid=self.event_id,
        )


@dataclasses.dataclass(frozen=True)
class RoutedCentre:
    centre_id: str
    reason: str  # as AlarmNotification.reason


@dataclasses.dataclass(frozen=True)
class AlarmRouted:
    """One alarm event (or units record about an alarm) and every centre that must see it: the
    AlarmNotification fields, with the centre's own (id, reason) listed once per centre."""

    centres: tuple[RoutedCentre, ...]  # chain first, as linkage chose them; never empty, no centre twice
    event_id: str
    event_type: str
    event_data: dict[str, Any]
    occurred_at: str
    routed_at: str
    alarm: AlarmSummary
    open: bool

    def notifications(self) -> list[AlarmNotification]:
        """The per-centre notifications this record stands for, in `centres` order: the same
        notification ids, fields and data as the per-centre shape sends."""
        return [AlarmNotification(notification_id=notification_id(self.event_id, c.centre_id), centre_id=c.centre_id,
                                  reason=c.reason, event_id=self.event_id, event_type=self.event_type,
                                  event_data=self.event_data, occurred_at=self.occurred_at, routed_at=self.routed_at,
                                  alarm=self.alarm, open=self.open)
                for c in self.centres]

    def to_data(self) -> dict[str, Any]:
        # shallow, as AlarmNotification.to_data
        return {**self.__dict__, "centres": [dict(c.__dict__) for c in self.centres], "alarm": dict(self.alarm.__dict__)}

    def envelope(self, *, traceparent: str | None = None, correlationid: str | None = None) -> Envelope:
        return Envelope(
            id=routed_id(self.event_id), source=NOTIFICATION_SOURCE, type=ROUTED_TYPE, subject=self.alarm.alarm_id,
            time=dt.datetime.fromisoformat(self.routed_at), data=self.to_data(), dataversion=1,
            traceparent=traceparent, correlationid=correlationid, causationid=self.event_id,
        )


@dataclasses.dataclass(frozen=True)
class HazardSummary:
    """What a console shows of a fire hazard after the event (from `hazards.events`, whose
    contract carries no personal data; nothing is added here)."""

    hazard_id: str
    status: str  # contracts/hazards.py STATUS_AFTER_EVENT
    category: str  # the hazards service's taxonomy id, e.g. "evacuation_route_blocked"
    severity: str  # minor | moderate | major
    description: str
    source: str
    reported_at: str
    location: dict[str, Any]  # {"lat", "lon", "address"}
    jurisdiction: dict[str, str]  # {"grid", "community", "street", "district", "city"}
    venue_id: str | None
    handling_level: str  # community | street | district: who must deal with it now
    handled_by: str  # the centre id of that level
    triage_due_at: str  # when the triage is (or was) due
    rectification_due_at: str | None  # once assigned
    reinspection_due_at: str | None  # once the fix is verified
    version: int  # the hazard's version after the event; the board keeps the newest


@dataclasses.dataclass(frozen=True)
class HazardNotification:
    """One hazard event for one centre that sees the hazard (its community; its street when a
    rule says so, e.g. a major one; every level it has been escalated to)."""

    notification_id: str
    centre_id: str
    reason: str  # "jurisdiction" | "escalation" | "rule:<name>" — why this centre sees the hazard
    event_id: str
    event_type: str  # e.g. "HazardReported", "HazardEscalated" (contracts/hazards.py)
    event_data: dict[str, Any]  # that event's data, as the hazards.events contract defines it
    occurred_at: str
    routed_at: str
    hazard: HazardSummary
    open: bool  # contracts/hazards.py OPEN_STATUSES: False once closed, confirmed, rejected or merged

    def to_data(self) -> dict[str, Any]:
        return {**self.__dict__, "hazard": dict(self.hazard.__dict__)}  # shallow, as AlarmNotification's

    def envelope(self, *, traceparent: str | None = None, correlationid: str | None = None) -> Envelope:
        return Envelope(
            id=self.notification_id, source=NOTIFICATION_SOURCE, type=HAZARD_NOTIFICATION_TYPE, subject=self.centre_id,
            time=dt.datetime.fromisoformat(self.routed_at), data=self.to_data(), dataversion=1,
            traceparent=traceparent, correlationid=correlationid, causationid=self.event_id,
        )


@dataclasses.dataclass(frozen=True)
class ServiceOrderNotification:
    """One transition of a volunteers' service order (三单, contracts/volunteers.py) for the
    community and street centres of the order's community: every one of them, as it happens."""

    notification_id: str
    centre_id: str
    reason: str  # "jurisdiction"
    event_id: str
    event_type: str  # e.g. "ServiceOrderPlaced", "ServiceOrderAccepted", "ServiceOrderReturned"
    event_data: dict[str, Any]  # that event's data, the fields contracts/volunteers.py lets through
    occurred_at: str
    routed_at: str
    order_id: str

    def to_data(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def envelope(self, *, traceparent: str | None = None, correlationid: str | None = None) -> Envelope:
        return Envelope(
            id=self.notification_id, source=NOTIFICATION_SOURCE, type=ORDER_NOTIFICATION_TYPE, subject=self.centre_id,
            time=dt.datetime.fromisoformat(self.routed_at), data=self.to_data(), dataversion=1,
            traceparent=traceparent, correlationid=correlationid, causationid=self.event_id,
        )


_NOTIFICATION = TypeAdapter(AlarmNotification)
_ROUTED = TypeAdapter(AlarmRouted)
_HAZARD_NOTIFICATION = TypeAdapter(HazardNotification)
_ORDER_NOTIFICATION = TypeAdapter(ServiceOrderNotification)


def notification_from_data(data: Any) -> AlarmNotification:
    """The notification a record's data holds, every field of the type the contract says (a
    string where a string is due, an integer version...), or ContractViolation. Extra fields are
    dropped: a consumer keeps and shows only what the contract defines."""
    return validated(_NOTIFICATION, data, NOTIFICATION_TYPE)


def routed_from_data(data: Any) -> AlarmRouted:
    """The AlarmRouted a record's data holds, checked as `notification_from_data` checks a
    notification, and with at least one centre, none listed twice; or ContractViolation."""
    routed = validated(_ROUTED, data, ROUTED_TYPE)
    ids = [c.centre_id for c in routed.centres]
    if not ids:
        raise ContractViolation(f"breaks the {ROUTED_TYPE} v1 contract: centres: no centre")
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ContractViolation(f"breaks the {ROUTED_TYPE} v1 contract: centres: listed twice: {', '.join(twice)}")
    return routed


def hazard_notification_from_data(data: Any) -> HazardNotification:
    """The hazard notification a record's data holds, checked as `notification_from_data` checks
    an alarm's; or ContractViolation."""
    return validated(_HAZARD_NOTIFICATION, data, HAZARD_NOTIFICATION_TYPE)


def order_notification_from_data(data: Any) -> ServiceOrderNotification:
    """A service order's notification a record's data holds, or ContractViolation."""
    return validated(_ORDER_NOTIFICATION, data, ORDER_NOTIFICATION_TYPE)

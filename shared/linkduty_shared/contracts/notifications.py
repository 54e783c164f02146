"""`linkage.notifications`: one record per operations centre that must see an alarm event.

Kafka key = centre id, so one centre's notifications stay in order on one partition. The value
is a CloudEvent (binary mode) of type `linkduty.linkage.AlarmNotification`, `dataversion` 1,
whose data is `AlarmNotification.to_data()`. Consumers (the console gateway) de-duplicate by
`notification_id`, which is derived from (event id, centre id) and so is the same when the
linkage app re-sends after a restart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from pydantic import TypeAdapter, ValidationError

from linkduty_shared.contracts import ContractViolation
from linkduty_shared.events.envelope import Envelope

NOTIFICATION_TYPE = "linkduty.linkage.AlarmNotification"
NOTIFICATION_SOURCE = "/linkduty/linkage"
_NAMESPACE = uuid.UUID("6f1c1f0e-4a43-4f59-9a8e-1e6a1d2c7b10")


def notification_id(event_id: str, centre_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{event_id}/{centre_id}"))


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


_NOTIFICATION = TypeAdapter(AlarmNotification)


def notification_from_data(data: Any) -> AlarmNotification:
    """The notification a record's data holds, every field of the type the contract says (a
    string where a string is due, an integer version...), or ContractViolation. Extra fields are
    dropped: a consumer keeps and shows only what the contract defines."""
    try:
        return _NOTIFICATION.validate_python(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        raise ContractViolation(f"breaks the {NOTIFICATION_TYPE} v1 contract: {where}: {first['msg']}"
                                f" ({exc.error_count()} error(s))") from None

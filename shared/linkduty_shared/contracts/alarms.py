"""`alarms.events`: what other services may rely on in the alarms service's events.

Key = alarm id; value = CloudEvent (binary mode), type `linkduty.alarm.<EventName>`. The public
event names: AlarmReported, CallLinked, CallSplit, AlarmVerified, AlarmMarkedFalse, AlarmUpdated,
AlarmAcknowledged, AlarmEscalated, AlarmControlled, AlarmCancelled, AlarmClosed, ForceArrivedOnScene
(a dispatched unit reached the scene: unit_id, force_kind, role, arrived_at; no status change),
DeviceClearReported (a networked detector whose alarm is one of the alarm's calls reported "alarm
cleared": call_id, device_id, repeats, after_s, possible_false_alarm, and
alarm_possible_false_alarm, true when every active call is a detector's that cleared quickly with
no repeat; no status change: a person decides).
Data never carries personal data (a masked phone at most). A detector's call (source `device`)
carries `vulnerability`, who is likely inside as the devices contract gives it (age band,
mobility, lives alone...; never a name or a number), on AlarmReported and CallLinked.

`alarm_reported_from_data` checks the AlarmReported fields another service acts on (the hazards
service's pre-incident picture: where, when, what kind), dropping the rest.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from linkduty_shared.contracts import validated
from linkduty_shared.contracts.devices import Vulnerability

TYPE_PREFIX = "linkduty.alarm."
ALARM_REPORTED_TYPE = f"{TYPE_PREFIX}AlarmReported"

# The alarm's status after each event that changes it (an AlarmReported alarm is "reported").
STATUS_AFTER_EVENT = {
    "AlarmVerified": "verified",
    "AlarmMarkedFalse": "false_alarm",
    "AlarmControlled": "controlled",
    "AlarmCancelled": "cancelled",
    "AlarmClosed": "closed",
}
CLOSED_STATUSES = frozenset({"false_alarm", "cancelled", "closed"})
# The CloudEvent types after which an alarm is over (nobody more goes to it).
CLOSING_TYPES = frozenset(f"{TYPE_PREFIX}{name}" for name, status in STATUS_AFTER_EVENT.items()
                          if status in CLOSED_STATUSES)

# The chain a centre sits in, bottom up: acknowledgement and escalation climb it in this order
# (AlarmAcknowledged.level, AlarmEscalated.from_level / to_level take these values).
CHAIN_LEVELS = ("community", "street", "district", "city")


def levels_from(level: str) -> tuple[str, ...]:
    """`level` and every level above it."""
    return CHAIN_LEVELS[CHAIN_LEVELS.index(level):]


_Code = Annotated[str, Field(min_length=1, max_length=64)]


@dataclasses.dataclass(frozen=True)
class AlarmLocation:
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    address: Annotated[str, Field(max_length=500)] | None = None
    place: Literal["home", "public"] | None = None  # when the intake knew; None: unknown


@dataclasses.dataclass(frozen=True)
class AlarmJurisdiction:
    grid: _Code
    community: _Code
    street: _Code
    district: _Code
    city: _Code


@dataclasses.dataclass(frozen=True)
class AlarmReported:
    """What another service may act on in an AlarmReported (its other fields are the alarms
    service's own)."""

    alarm_id: _Code
    received_at: AwareDatetime  # when the first call reached the intake (ISO 8601 with its offset)
    kind: _Code
    severity: _Code
    location: AlarmLocation
    jurisdiction: AlarmJurisdiction
    source: _Code | None = None
    vulnerability: Vulnerability | None = None  # a detector's call: who is likely inside


_ALARM_REPORTED = TypeAdapter(AlarmReported)


def alarm_reported_from_data(data: Any) -> AlarmReported:
    """The AlarmReported a record holds, or ContractViolation (poison). Extra fields are dropped."""
    return validated(_ALARM_REPORTED, data, ALARM_REPORTED_TYPE)

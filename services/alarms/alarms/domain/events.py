"""Events of an alarm (a 119 incident), past-tense facts. Their data is the public contract of
`alarms.events`: personal data never appears here, only a masked phone and a vault reference."""

from __future__ import annotations

from linkduty_shared.domain import DomainEvent, event


@event("AlarmReported")
class AlarmReported(DomainEvent):
    """接警: the first call of an incident was accepted."""

    alarm_id: str
    call_id: str
    source: str  # 119 | 110 | 120 | device | patrol | resident_app | cap
    received_at: str  # ISO 8601, when the call reached the intake
    kind: str
    severity: str
    description: str
    location: dict  # {"lat", "lon", "address"}
    jurisdiction: dict  # {"grid", "community", "street", "district", "city"} division codes
    caller_masked: str | None = None
    caller_ref: str | None = None  # the caller's phone, in the alarms service's PII vault
    free_text_ref: str | None = None  # the description and address as typed, in the vault (when scrubbed)
    cap: dict | None = None  # {"identifier", "sender", "sent"} when it came as a CAP alert
    split_from: str | None = None  # the alarm this call was split out of
    # Who is likely inside (a networked detector's call: the devices contract's Vulnerability,
    # age band, mobility, lives alone...; never a name or a number); None for other calls.
    vulnerability: dict | None = None
    device_id: str | None = None  # a networked detector's call: the detector (from devices.events)


@event("CallLinked")
class CallLinked(DomainEvent):
    """重复报警: a further call about the same incident."""

    call_id: str
    source: str
    received_at: str
    location: dict
    description: str
    distance_m: float
    caller_masked: str | None = None
    caller_ref: str | None = None
    free_text_ref: str | None = None
    cap: dict | None = None  # when the call came as a CAP Alert
    vulnerability: dict | None = None  # as AlarmReported's, for this call
    device_id: str | None = None  # as AlarmReported's


@event("CallSplit")
class CallSplit(DomainEvent):
    """An operator split a wrongly merged call out into an alarm of its own."""

    call_id: str
    new_alarm_id: str
    by: str


@event("AlarmVerified")
class AlarmVerified(DomainEvent):
    by: str


@event("AlarmMarkedFalse")
class AlarmMarkedFalse(DomainEvent):
    """误报."""

    by: str
    reason: str


@event("AlarmUpdated")
class AlarmUpdated(DomainEvent):
    """New facts about the incident (e.g. a CAP Update): only the fields that changed."""

    changes: dict
    by: str
    cap: dict | None = None  # the CAP Update that carried the changes


@event("AlarmAcknowledged")
class AlarmAcknowledged(DomainEvent):
    centre_id: str
    level: str  # community | street | district | city
    by: str


@event("AlarmEscalated")
class AlarmEscalated(DomainEvent):
    """Not acknowledged in time at `from_level`: the next level up must act."""

    from_level: str
    to_level: str
    reason: str


@event("AlarmControlled")
class AlarmControlled(DomainEvent):
    """控制: the fire is under control."""

    by: str


@event("AlarmCancelled")
class AlarmCancelled(DomainEvent):
    by: str
    reason: str
    cap: dict | None = None  # the CAP Cancel that cancelled it


@event("AlarmClosed")
class AlarmClosed(DomainEvent):
    by: str
    outcome: str


@event("ForceArrivedOnScene")
class ForceArrivedOnScene(DomainEvent):
    """到场: a dispatched force reached the scene (as the units service reported it)."""

    unit_id: str
    force_kind: str
    role: str  # main | auxiliary_1 | auxiliary_2 (一主两辅)
    arrived_at: str  # ISO 8601, with its offset


@event("DeviceClearReported")
class DeviceClearReported(DomainEvent):
    """A networked detector whose alarm is a call of this alarm reported "alarm cleared" (the
    devices service's DeviceAlarmCleared). Shown, never acted on: a person decides."""

    call_id: str  # the device alarm's episode id
    device_id: str
    repeats: int  # alarm signals the episode counted
    after_s: float  # how long after the raise it cleared
    possible_false_alarm: bool  # the device's episode: cleared quickly, with no repeat
    alarm_possible_false_alarm: bool  # the alarm's: every active call a device's cleared that way
    at: str  # ISO 8601, when LinkDuty took the clear in

"""Request and response bodies of the alarms API (JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from linkduty_shared.contracts.devices import Vulnerability  # who is likely inside: no name, no number

from alarms.domain.alarm import Alarm
from alarms.domain.values import Kind, Severity, Source


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    address: str | None = Field(default=None, max_length=500)
    # What kind of place the caller is at, when the intake knows: a private dwelling ("home") or
    # anywhere else ("public"). Volunteers nearby are alerted by it (only trusted grades to homes).
    place: Literal["home", "public"] | None = None


class Caller(BaseModel):
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{3,20}$")


class ReportAlarmIn(BaseModel):
    """A call as the intake (接警) system sends it."""

    model_config = ConfigDict(extra="forbid")
    source: Source
    received_at: AwareDatetime | None = None  # defaults to when LinkDuty received the request
    caller: Caller | None = None
    location: Location
    kind: Kind
    severity: Severity = Severity.MODERATE
    description: str = Field(default="", max_length=4000)
    call_id: str | None = Field(default=None, min_length=1, max_length=100)


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: str = Field(min_length=1, max_length=1000)


class PlaceOut(BaseModel):
    lat: float
    lon: float
    address: str | None = None
    place: Literal["home", "public"] | None = None


class DeviceClearOut(BaseModel):
    device_id: str
    repeats: int = Field(description="alarm signals the detector's episode counted")
    after_s: float = Field(description="seconds after the raise")
    possible_false_alarm: bool = Field(description="cleared within the quick-clear window with no repeat")
    at: str


class CallOut(BaseModel):
    call_id: str
    source: str
    received_at: str
    caller: str | None = Field(description="the caller's number, masked (the last four digits at most)")
    location: PlaceOut
    vulnerability: Vulnerability | None = None
    device_clear: DeviceClearOut | None = Field(None, description="the detector's \"alarm cleared\" (source device)")


class ForceOnSceneOut(BaseModel):
    unit_id: str
    force_kind: str
    role: str
    arrived_at: str


class CapRefOut(BaseModel):
    identifier: str
    sender: str
    sent: str


class AlarmOut(BaseModel):
    """An alarm as consoles and partners read it: the caller's number only masked, free text scrubbed
    of phone and ID numbers."""

    alarm_id: str
    version: int
    status: str
    kind: str
    severity: str
    description: str
    source: str
    received_at: str
    location: PlaceOut
    jurisdiction: dict[str, str] = Field(description="division codes by level (grid … city)")
    jurisdiction_names: dict[str, str]
    calls: list[CallOut]
    call_count: int
    acknowledged: dict[str, str] = Field(description="the centre that acknowledged, by level")
    escalation_level: str
    cap: CapRefOut | None
    split_from: str | None
    forces_on_scene: list[ForceOnSceneOut]
    first_arrival_at: str | None
    vulnerability: Vulnerability | None = Field(
        None, description="who is likely inside (a networked detector's call): no name, no number")
    possible_false_alarm: bool = Field(
        False, description="every active call is a detector's that cleared quickly with no repeat: a person decides")


class ReportedOut(AlarmOut):
    linked: bool = Field(description="true: the call joined this open alarm as a further call (200)")
    call_id: str


class AcknowledgedOut(AlarmOut):
    acknowledged_by: str
    level: str


class AlarmSummary(BaseModel):
    """An alarm as the list shows it (the `alarm_list` read model)."""

    alarm_id: str
    status: str
    kind: str
    severity: str
    lat: float
    lon: float
    grid: str | None
    community: str
    street: str
    district: str
    city: str
    received_at: str
    last_call_at: str
    calls: int
    version: int


class AlarmList(BaseModel):
    alarms: list[AlarmSummary]


def alarm_view(alarm: Alarm, names: dict[str, str] | None = None) -> dict:
    """An alarm as consoles and partners read it: the caller's number only masked."""
    return {
        "alarm_id": alarm.id,
        "version": alarm.version,
        "status": alarm.status,
        "kind": alarm.kind,
        "severity": alarm.severity,
        "description": alarm.description,
        "source": alarm.source,
        "received_at": alarm.received_at,
        "location": alarm.location,
        "jurisdiction": alarm.jurisdiction,
        "jurisdiction_names": names or {},
        "calls": [
            {"call_id": c.call_id, "source": c.source, "received_at": c.received_at, "caller": c.caller_masked,
             "location": c.location, "vulnerability": c.vulnerability,
             "device_clear": _device_clear(alarm.device_clears.get(c.call_id))}
            for c in alarm.calls.values() if not c.split
        ],
        "call_count": alarm.active_calls,
        "acknowledged": alarm.acknowledged,
        "escalation_level": alarm.escalation_level,
        "cap": alarm.cap,
        "split_from": alarm.split_from,
        "forces_on_scene": [
            {"unit_id": f.unit_id, "force_kind": f.force_kind, "role": f.role, "arrived_at": f.arrived_at}
            for f in alarm.forces_on_scene.values()
        ],
        "first_arrival_at": alarm.first_arrival_at,
        "vulnerability": alarm.vulnerability,
        "possible_false_alarm": alarm.possible_false_alarm,
    }


def _device_clear(clear) -> dict | None:
    if clear is None:
        return None
    return {"device_id": clear.device_id, "repeats": clear.repeats, "after_s": clear.after_s,
            "possible_false_alarm": clear.possible_false_alarm, "at": clear.at}



"""Request and response bodies of the alarms API (JSON)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alarms.domain.alarm import Alarm
from alarms.domain.values import Kind, Severity, Source


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    address: str | None = Field(default=None, max_length=500)


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
             "location": c.location}
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
    }



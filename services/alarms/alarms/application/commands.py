"""What callers ask of the alarms service, and what it answers."""

from __future__ import annotations

import dataclasses
import datetime as dt

from alarms.domain.alarm import Alarm


@dataclasses.dataclass(frozen=True)
class ReportAlarm:
    """A call reaching the intake (接警). `call_id` de-duplicates a call the intake resends."""

    source: str
    received_at: dt.datetime
    kind: str
    severity: str
    description: str
    lat: float
    lon: float
    address: str | None = None
    caller_phone: str | None = None
    call_id: str | None = None
    cap: dict | None = None
    place: str | None = None  # home | public, when the intake knows
    # Who is likely inside (a networked detector's call: the devices contract's Vulnerability as a
    # dict; no name, no number); kept on the alarm for the consoles.
    vulnerability: dict | None = None
    # The detector whose alarm episode this call is: set by the devices.events consumer only (the
    # HTTP intake has no such field), it makes `call_id` a device call (projections/device_calls).
    device_id: str | None = None


@dataclasses.dataclass(frozen=True)
class Reported:
    alarm: Alarm
    call_id: str
    linked: bool  # True: the call joined an open alarm as a further call

"""The signals a device sends, and the rules that read them (pure)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import StrEnum

from linkduty_shared.contracts.devices import AGE_BANDS, MOBILITIES  # noqa: F401  (re-exported vocabularies)


class SignalType(StrEnum):
    SMOKE_ALARM = "smoke_alarm"
    ALARM_CLEARED = "alarm_cleared"
    TEST = "test"
    TAMPER = "tamper"
    LOW_BATTERY = "low_battery"
    FAULT = "fault"
    HEARTBEAT = "heartbeat"


class Place(StrEnum):
    HOME = "home"
    PUBLIC = "public"


class MaintenanceKind(StrEnum):
    INSTALLED = "installed"
    INSPECTED = "inspected"
    BATTERY_REPLACED = "battery_replaced"
    REPAIRED = "repaired"


# The troubles a signal opens directly (offline is opened by the sweep, never by a signal).
TROUBLE_OF_SIGNAL = {SignalType.TAMPER: "tamper", SignalType.LOW_BATTERY: "low_battery", SignalType.FAULT: "fault"}
# What a maintenance visit puts right.
ENDED_BY_MAINTENANCE = {
    MaintenanceKind.BATTERY_REPLACED: ("low_battery",),
    MaintenanceKind.REPAIRED: ("fault", "tamper", "low_battery"),
    MaintenanceKind.INSTALLED: ("fault", "tamper", "low_battery"),
    MaintenanceKind.INSPECTED: ("tamper",),
}


@dataclasses.dataclass(frozen=True)
class Signal:
    """One signal as the intake took it in (HTTP or MQTT), its platform verified."""

    platform: str
    signal_id: str
    device_id: str
    type: SignalType
    signalled_at: dt.datetime  # the device's (platform's) time
    battery_pct: int | None = None


@dataclasses.dataclass(frozen=True)
class Timing:
    """How the intake reads a device's time: the suppression and quick-clear windows."""

    quick_clear: dt.timedelta = dt.timedelta(seconds=120)  # cleared this soon, no repeat: possibly false
    offline_grace: float = 2.5  # heartbeat periods without a signal before a device is offline
    battery_ok_pct: int = 30  # a heartbeat at or above this ends a low-battery trouble

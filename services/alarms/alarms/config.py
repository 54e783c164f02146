from __future__ import annotations

from linkduty_shared.config import HttpServiceSettings


class AlarmsSettings(HttpServiceSettings):
    service_name: str = "alarms"
    pg_dsn: str = "postgresql://linkduty:linkduty@127.0.0.1:15432/linkduty_alarms"
    port: int = 8101
    # Duplicate calls (重复报警): a report this close in space and time to an open alarm of a
    # compatible kind is a further call about it.
    duplicate_radius_m: float = 300.0
    duplicate_window_s: float = 900.0
    events_topic: str = "alarms.events"
    commands_topic: str = "linkage.commands"
    units_topic: str = "units.events"  # for the arrivals of dispatched units
    # Networked smoke detectors (devices.events DeviceAlarmRaised) become 119-grade alarms, source
    # device, with who is likely inside (the vulnerability, never a name); DeviceAlarmCleared soon
    # after is recorded on the alarm as a possible false alarm. Off: no consumer of devices.events.
    device_alarms_enabled: bool = True
    devices_events_topic: str = "devices.events"
    device_alarms_group: str = "alarms-device-alarms"

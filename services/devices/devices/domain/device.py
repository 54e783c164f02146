"""A networked smoke detector (联网式烟感): where it is, whom it watches over, its maintenance, and
what its signals mean. An open alarm is one episode however often the detector repeats it; a
trouble (offline, low battery, fault, tamper) is one episode until something ends it."""

from __future__ import annotations

import dataclasses
import datetime as dt

from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition
from linkduty_shared.ids import time_ordered_uuid

from devices.domain.events import (
    DeviceAlarmCleared,
    DeviceAlarmRaised,
    DeviceLinked,
    DeviceMaintained,
    DeviceRegistered,
    DeviceTestSignalled,
    DeviceTroubleBegan,
    DeviceTroubleEnded,
)
from devices.domain.values import ENDED_BY_MAINTENANCE, TROUBLE_OF_SIGNAL, MaintenanceKind, Signal, SignalType, Timing


@dataclasses.dataclass(frozen=True)
class OpenAlarm:
    episode_id: str
    signalled_at: dt.datetime


class Device(Aggregate):
    stream_type = "device"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.registered: DeviceRegistered | None = None
        self.resident_id: str | None = None
        self.premises_id: str | None = None
        self.alarm: OpenAlarm | None = None
        self.troubles: dict[str, str] = {}  # open trouble → its episode id
        self.maintenance: list[dict] = []
        self.last_test_at: str | None = None

    @property
    def jurisdiction(self) -> dict:
        return self.registered.jurisdiction if self.registered else {}

    def evolve(self, event: DomainEvent) -> None:
        match event:
            case DeviceRegistered():
                self.registered = event
            case DeviceLinked():
                self.resident_id, self.premises_id = event.resident_id, event.premises_id
            case DeviceMaintained():
                self.maintenance.append({"kind": event.kind, "note": event.note, "by": event.by, "at": event.at})
            case DeviceTestSignalled():
                self.last_test_at = event.signalled_at
            case DeviceAlarmRaised():
                self.alarm = OpenAlarm(event.episode_id, dt.datetime.fromisoformat(event.signalled_at))
            case DeviceAlarmCleared():
                self.alarm = None
            case DeviceTroubleBegan():
                self.troubles[event.trouble] = event.episode_id
            case DeviceTroubleEnded():
                self.troubles.pop(event.trouble, None)

    # ---- the registry ------------------------------------------------------------------------

    def register(self, registered: DeviceRegistered) -> list[DomainEvent]:
        if self.exists:
            raise IllegalTransition(f"device {self.id} is registered already")
        return self._record(registered)

    def link(self, *, resident_id: str | None, premises_id: str | None, by: str, at: dt.datetime) -> list[DomainEvent]:
        if (resident_id, premises_id) == (self.resident_id, self.premises_id):
            return []
        return self._record(DeviceLinked(resident_id=resident_id, premises_id=premises_id, by=by, at=at.isoformat()))

    def maintain(self, kind: MaintenanceKind, note: str, *, by: str, at: dt.datetime) -> list[DomainEvent]:
        ended = [self._ended(t, "maintained", at) for t in ENDED_BY_MAINTENANCE[kind] if t in self.troubles]
        return self._record(DeviceMaintained(kind=kind.value, note=note, by=by, at=at.isoformat()), *ended)

    # ---- signals -----------------------------------------------------------------------------

    def take(self, signal: Signal, *, now: dt.datetime, timing: Timing, vulnerability: dict | None = None,
             repeats: int = 1) -> list[DomainEvent]:
        """What one verified signal means. `repeats`: alarm signals the open episode counted so
        far, this one included (the intake counts them on the state row); `vulnerability`: the
        summary of whom the detector watches over, for a smoke alarm that opens an episode."""
        decided: list[DomainEvent] = []
        if "offline" in self.troubles:
            decided.append(self._ended("offline", "reported_again", now))
        match signal.type:
            case SignalType.SMOKE_ALARM if self.alarm is None:
                r = self.registered
                decided.append(DeviceAlarmRaised(
                    device_id=self.id, episode_id=signal.signal_id, platform=r.platform, model=r.model,
                    location=r.location, place=r.place, vulnerability=vulnerability,
                    signalled_at=signal.signalled_at.isoformat(), at=now.isoformat()))
            case SignalType.ALARM_CLEARED if self.alarm is not None:
                after = max(0.0, (signal.signalled_at - self.alarm.signalled_at).total_seconds())
                decided.append(DeviceAlarmCleared(
                    device_id=self.id, episode_id=self.alarm.episode_id, repeats=max(1, repeats), after_s=after,
                    possible_false_alarm=after <= timing.quick_clear.total_seconds() and repeats <= 1,
                    at=now.isoformat()))
            case SignalType.TEST:
                decided.append(DeviceTestSignalled(signal_id=signal.signal_id,
                                                   signalled_at=signal.signalled_at.isoformat(), at=now.isoformat()))
            case SignalType.TAMPER | SignalType.LOW_BATTERY | SignalType.FAULT:
                trouble = TROUBLE_OF_SIGNAL[signal.type]
                if trouble not in self.troubles:
                    decided.append(self._began(trouble, signal.signal_id, f"the device reported {trouble}", now))
            case SignalType.HEARTBEAT if signal.battery_pct is not None:
                low = signal.battery_pct < timing.battery_ok_pct
                if low and "low_battery" not in self.troubles:
                    decided.append(self._began("low_battery", signal.signal_id,
                                               f"battery at {signal.battery_pct}%", now))
                elif not low and "low_battery" in self.troubles:
                    decided.append(self._ended("low_battery", "battery_ok", now))
        return self._record(*decided)

    def went_silent(self, *, last_seen: dt.datetime, now: dt.datetime) -> list[DomainEvent]:
        """No signal past the heartbeat period and its grace: offline, once per episode."""
        if "offline" in self.troubles:
            return []
        return self._record(self._began("offline", str(time_ordered_uuid()),
                                        f"no signal since {last_seen.isoformat(timespec='seconds')}", now))

    def _began(self, trouble: str, episode_id: str, detail: str, now: dt.datetime) -> DeviceTroubleBegan:
        r = self.registered
        return DeviceTroubleBegan(device_id=self.id, episode_id=episode_id, trouble=trouble, model=r.model,
                                  location=r.location, detail=detail, at=now.isoformat())

    def _ended(self, trouble: str, how: str, now: dt.datetime) -> DeviceTroubleEnded:
        return DeviceTroubleEnded(device_id=self.id, episode_id=self.troubles[trouble], trouble=trouble, how=how,
                                  at=now.isoformat())

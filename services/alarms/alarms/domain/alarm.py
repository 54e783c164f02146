"""The Alarm aggregate: one incident, its calls, its acknowledgements, the forces on scene and its
lifecycle."""

from __future__ import annotations

import dataclasses
import datetime as dt

from linkduty_shared.contracts.alarms import CHAIN_LEVELS, levels_from
from linkduty_shared.contracts.units import ROLES
from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition, InvariantViolated

from alarms.domain.events import (
    AlarmAcknowledged,
    AlarmCancelled,
    AlarmClosed,
    AlarmControlled,
    AlarmEscalated,
    AlarmMarkedFalse,
    AlarmReported,
    AlarmUpdated,
    AlarmVerified,
    CallLinked,
    CallSplit,
    DeviceClearReported,
    ForceArrivedOnScene,
)
from alarms.domain.values import OPEN_STATUSES, Status

# The facts a CAP Update (or an operator) may change on an alarm.
UPDATABLE_FIELDS = ("kind", "severity", "description")


@dataclasses.dataclass
class Call:
    call_id: str
    source: str
    received_at: str
    caller_masked: str | None
    location: dict
    split: bool = False
    vulnerability: dict | None = None  # who is likely inside (a networked detector's call)
    device_id: str | None = None  # the detector whose episode the call is


@dataclasses.dataclass(frozen=True)
class ForceOnScene:
    unit_id: str
    force_kind: str
    role: str
    arrived_at: str


class Alarm(Aggregate):
    stream_type = "alarm"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: Status | None = None
        self.kind = ""
        self.severity = ""
        self.description = ""
        self.source = ""
        self.received_at = ""
        self.location: dict = {}
        self.jurisdiction: dict = {}
        self.calls: dict[str, Call] = {}
        self.acknowledged: dict[str, str] = {}  # level → centre id
        self.escalation_level = CHAIN_LEVELS[0]
        self.cap: dict | None = None
        self.split_from: str | None = None
        self.forces_on_scene: dict[str, ForceOnScene] = {}  # unit id → its arrival
        self.first_arrival_at: str | None = None
        self.vulnerability: dict | None = None  # the first call's that had one (no name, no number)
        self.device_clears: dict[str, DeviceClearReported] = {}  # call id → its detector's clear
        # Every active call is a detector's that cleared quickly with no repeat: shown, a person decides.
        self.possible_false_alarm = False

    # ---- state ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def active_calls(self) -> int:
        return sum(1 for c in self.calls.values() if not c.split)

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case AlarmReported():
                self.status = Status.REPORTED
                self.kind, self.severity, self.description = e.kind, e.severity, e.description
                self.source, self.received_at = e.source, e.received_at
                self.location, self.jurisdiction, self.cap, self.split_from = e.location, e.jurisdiction, e.cap, e.split_from
                self.vulnerability = e.vulnerability
                self.calls[e.call_id] = Call(e.call_id, e.source, e.received_at, e.caller_masked, e.location,
                                             vulnerability=e.vulnerability, device_id=e.device_id)
            case CallLinked():
                self.calls[e.call_id] = Call(e.call_id, e.source, e.received_at, e.caller_masked, e.location,
                                             vulnerability=e.vulnerability, device_id=e.device_id)
                if self.vulnerability is None:
                    self.vulnerability = e.vulnerability
                self.possible_false_alarm = False  # a further call: not every call has cleared
            case DeviceClearReported():
                self.device_clears[e.call_id] = e
                self.possible_false_alarm = e.alarm_possible_false_alarm
            case CallSplit():
                self.calls[e.call_id].split = True
            case AlarmVerified():
                self.status = Status.VERIFIED
                self.possible_false_alarm = False  # a person saw the fire
            case AlarmMarkedFalse():
                self.status = Status.FALSE_ALARM
            case AlarmUpdated():
                for name, value in e.changes.items():
                    setattr(self, name, value)
            case AlarmAcknowledged():
                self.acknowledged.setdefault(e.level, e.centre_id)
            case AlarmEscalated():
                self.escalation_level = e.to_level
            case AlarmControlled():
                self.status = Status.CONTROLLED
            case AlarmCancelled():
                self.status = Status.CANCELLED
            case AlarmClosed():
                self.status = Status.CLOSED
            case ForceArrivedOnScene():
                self.forces_on_scene[e.unit_id] = ForceOnScene(e.unit_id, e.force_kind, e.role, e.arrived_at)
                first = self.first_arrival_at
                if first is None or dt.datetime.fromisoformat(e.arrived_at) < dt.datetime.fromisoformat(first):
                    self.first_arrival_at = e.arrived_at

    # ---- commands ------------------------------------------------------------------------

    def report(self, *, call_id: str, source: str, received_at: str, kind: str, severity: str, description: str,
               location: dict, jurisdiction: dict, caller_masked: str | None, caller_ref: str | None,
               free_text_ref: str | None = None, cap: dict | None = None, split_from: str | None = None,
               vulnerability: dict | None = None, device_id: str | None = None) -> None:
        if self.exists:
            raise IllegalTransition(f"alarm {self.id} already exists")
        self._record(AlarmReported(alarm_id=self.id, call_id=call_id, source=source, received_at=received_at,
                                   kind=kind, severity=severity, description=description, location=location,
                                   jurisdiction=jurisdiction, caller_masked=caller_masked, caller_ref=caller_ref,
                                   free_text_ref=free_text_ref, cap=cap, split_from=split_from,
                                   vulnerability=vulnerability, device_id=device_id))

    def link_call(self, *, call_id: str, source: str, received_at: str, location: dict, description: str,
                  distance_m: float, caller_masked: str | None, caller_ref: str | None,
                  free_text_ref: str | None = None, cap: dict | None = None,
                  vulnerability: dict | None = None, device_id: str | None = None) -> None:
        self._require_open("link a call to")
        if call_id in self.calls:
            return  # the same call again: already linked
        self._record(CallLinked(call_id=call_id, source=source, received_at=received_at, location=location,
                                description=description, distance_m=round(distance_m, 1),
                                caller_masked=caller_masked, caller_ref=caller_ref, free_text_ref=free_text_ref,
                                cap=cap, vulnerability=vulnerability, device_id=device_id))

    def split_call(self, call_id: str, new_alarm_id: str, by: str) -> Call:
        call = self.calls.get(call_id)
        if call is None:
            raise InvariantViolated(f"alarm {self.id} has no call {call_id}")
        if call.split:
            raise IllegalTransition(f"call {call_id} was already split out")
        if self.active_calls <= 1:
            raise IllegalTransition(f"call {call_id} is the alarm's only call: nothing to split it from")
        self._record(CallSplit(call_id=call_id, new_alarm_id=new_alarm_id, by=by))
        return call

    def verify(self, by: str) -> None:
        self._require(Status.REPORTED, "verify")
        self._record(AlarmVerified(by=by))

    def mark_false(self, by: str, reason: str) -> None:
        self._require({Status.REPORTED, Status.VERIFIED}, "mark as false")
        self._record(AlarmMarkedFalse(by=by, reason=reason))

    def update(self, changes: dict, by: str, cap: dict | None = None) -> None:
        self._require_open("update")
        unknown = set(changes) - set(UPDATABLE_FIELDS)
        if unknown:
            raise InvariantViolated(f"cannot update {', '.join(sorted(unknown))}")
        changed = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if changed or cap:
            self._record(AlarmUpdated(changes=changed, by=by, cap=cap))

    def acknowledge(self, centre_id: str, level: str, by: str) -> None:
        if self.status == Status.CLOSED:
            raise IllegalTransition(f"alarm {self.id} is closed")
        if self.acknowledged.get(level) == centre_id:
            return  # acknowledged already: idempotent
        self._record(AlarmAcknowledged(centre_id=centre_id, level=level, by=by))

    def escalate(self, from_level: str, reason: str) -> None:
        """Escalate from `from_level` one level up, unless someone there or above has acknowledged."""
        if not self.is_open or from_level != self.escalation_level:
            return  # a late or repeated timer: nothing to do
        if self.acknowledged_at_or_above(from_level):
            return
        index = CHAIN_LEVELS.index(from_level)
        if index + 1 >= len(CHAIN_LEVELS):
            return  # the city is the top: nobody further to escalate to
        self._record(AlarmEscalated(from_level=from_level, to_level=CHAIN_LEVELS[index + 1], reason=reason))

    def acknowledged_at_or_above(self, level: str) -> bool:
        return any(lvl in self.acknowledged for lvl in levels_from(level))

    def control(self, by: str) -> None:
        self._require({Status.REPORTED, Status.VERIFIED}, "mark as controlled")
        self._record(AlarmControlled(by=by))

    def cancel(self, by: str, reason: str, cap: dict | None = None) -> None:
        self._require({Status.REPORTED, Status.VERIFIED}, "cancel")
        self._record(AlarmCancelled(by=by, reason=reason, cap=cap))

    def close(self, by: str, outcome: str) -> None:
        self._require({Status.CONTROLLED, Status.FALSE_ALARM, Status.CANCELLED}, "close")
        self._record(AlarmClosed(by=by, outcome=outcome))

    def record_arrival(self, *, unit_id: str, force_kind: str, role: str, arrived_at: dt.datetime) -> None:
        """A dispatched force reached the scene. Recorded once per unit (arrivals are delivered at
        least once); an arrival at an alarm no longer open changes nothing."""
        if role not in ROLES:
            raise InvariantViolated(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        if arrived_at.tzinfo is None:
            raise InvariantViolated(f"arrival time {arrived_at.isoformat()} has no UTC offset")
        if not self.is_open or unit_id in self.forces_on_scene:
            return
        self._record(ForceArrivedOnScene(unit_id=unit_id, force_kind=force_kind, role=role,
                                         arrived_at=arrived_at.isoformat()))

    def record_device_clear(self, *, call_id: str, device_id: str, repeats: int, after_s: float,
                            possible_false_alarm: bool, at: dt.datetime) -> None:
        """A detector reported "alarm cleared" for the episode that is the call `call_id`. Recorded
        once per call (records are delivered at least once); a clear at an alarm no longer open
        changes nothing. Nothing is closed or cancelled: the alarm shows `possible_false_alarm`
        when every active call is a detector's that cleared that way, and a person decides."""
        if at.tzinfo is None:
            raise InvariantViolated(f"clear time {at.isoformat()} has no UTC offset")
        call = self.calls.get(call_id)
        if call is None or call.split or call.device_id != device_id:
            raise InvariantViolated(f"alarm {self.id} holds no call {call_id} of device {device_id}")
        if not self.is_open or call_id in self.device_clears:
            return

        def cleared_false(c: Call) -> bool:
            if c.call_id == call_id:
                return possible_false_alarm
            clear = self.device_clears.get(c.call_id)
            return clear is not None and clear.possible_false_alarm

        # Only while nobody has verified the fire: once a person saw it, a detector silenced
        # (the resident fleeing, a neighbour) says nothing about it.
        whole = self.status is Status.REPORTED and all(
            c.device_id is not None and cleared_false(c) for c in self.calls.values() if not c.split)
        self._record(DeviceClearReported(call_id=call_id, device_id=device_id, repeats=repeats, after_s=after_s,
                                         possible_false_alarm=possible_false_alarm, alarm_possible_false_alarm=whole,
                                         at=at.isoformat()))

    def _require(self, allowed: Status | set[Status], action: str) -> None:
        allowed = {allowed} if isinstance(allowed, Status) else allowed
        if self.status not in allowed:
            raise IllegalTransition(f"cannot {action} alarm {self.id} while it is {self.status}")

    def _require_open(self, action: str) -> None:
        if not self.is_open:
            raise IllegalTransition(f"cannot {action} alarm {self.id} while it is {self.status}")

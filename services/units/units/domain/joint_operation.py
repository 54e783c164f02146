"""联战 — the joint operation at one alarm: who is on scene, who commands, and the on-scene log.

The first unit on scene takes command (often the community squad: 打早灭小). When the first
main-force unit (a fire-rescue station) arrives while an auxiliary commands, command passes to it:
that handover is an event of its own (`CommandHandedOver`), visible to every centre.
"""

from __future__ import annotations

from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition, InvariantViolated
from linkduty_shared.domain.personal_data import scrub_personal_numbers

from units.domain.events import (
    CommandHandedOver,
    CommandTaken,
    JointOperationClosed,
    JointOperationOpened,
    OperationLogged,
    UnitJoinedOperation,
)

MAIN = "main"


class JointOperation(Aggregate):
    stream_type = "joint_operation"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.on_scene: dict[str, str] = {}  # unit id → role
        self.commander: tuple[str, str] | None = None  # (unit id, role)
        self.entries: list[dict] = []  # the on-scene log, oldest first
        self.closed = False
        self.alarm_id = ""

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case JointOperationOpened():
                self.alarm_id = e.alarm_id
            case UnitJoinedOperation():
                self.on_scene[e.unit_id] = e.role
            case CommandTaken():
                self.commander = (e.unit_id, e.role)
            case CommandHandedOver():
                self.commander = (e.to_unit, e.to_role)
            case OperationLogged():
                self.entries.append({"entry": e.entry, "by": e.by})
            case JointOperationClosed():
                self.closed = True

    def open(self, alarm_id: str) -> None:
        if self.exists:
            raise IllegalTransition(f"joint operation {self.id} is already open")
        self._record(JointOperationOpened(alarm_id=alarm_id))

    def unit_arrived(self, unit_id: str, role: str, at: str) -> None:
        """A unit is on scene; command is taken or handed over as the model says."""
        self._require_open()
        if unit_id in self.on_scene:
            return  # its arrival was already recorded
        self._record(UnitJoinedOperation(unit_id=unit_id, role=role, at=at, alarm_id=self.alarm_id))
        if self.commander is None:
            self._record(CommandTaken(unit_id=unit_id, role=role, alarm_id=self.alarm_id))
        elif role == MAIN and self.commander[1] != MAIN:
            self._record(CommandHandedOver(from_unit=self.commander[0], from_role=self.commander[1],
                                           to_unit=unit_id, to_role=role, alarm_id=self.alarm_id))

    def log(self, entry: str, by: str) -> None:
        self._require_open()
        if not entry.strip():
            raise InvariantViolated("an on-scene log entry needs text")
        self._record(OperationLogged(entry=scrub_personal_numbers(entry), by=by, alarm_id=self.alarm_id))

    def close(self, by: str) -> None:
        self._require_open()
        self._record(JointOperationClosed(by=by, alarm_id=self.alarm_id))

    def _require_open(self) -> None:
        if not self.exists or self.closed:
            raise IllegalTransition(f"joint operation {self.id} is not open")

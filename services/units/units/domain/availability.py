"""Who can be sent: a force's status (from unit status events) and the joint standby roster (联合备勤).

A force is available unless its last status says it is dispatched or out of service, or the roster
has it off duty at that moment. A force with no roster entry is on duty: most forces (the stations)
are on duty round the clock, and the roster only lists the ones that are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Mapping


class PlanningStatus(StrEnum):
    """What the planner needs to know of a force at a moment: can it be sent, and if not, why. Not
    the unit's own status (`unit.Status`, six stages of a call-out): every stage from dispatched to
    returning is DISPATCHED here, and OFF_DUTY comes from the roster, not from the unit."""

    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    OUT_OF_SERVICE = "out_of_service"
    OFF_DUTY = "off_duty"


# How a plan explains a force it passed over.
WHY_NOT = MappingProxyType({
    PlanningStatus.DISPATCHED: "already dispatched",
    PlanningStatus.OUT_OF_SERVICE: "out of service",
    PlanningStatus.OFF_DUTY: "off duty",
})


@dataclass(frozen=True, slots=True)
class DutyWindow:
    """On duty from `start` (included) to `end` (excluded); both timezone-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("duty windows need timezone-aware times (a roster crosses no clock ambiguity)")
        if not self.start < self.end:
            raise ValueError(f"duty window ends ({self.end}) before it starts ({self.start})")

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class DutyRoster:
    """On-duty windows per force id; a force not listed is always on duty."""

    windows: Mapping[str, tuple[DutyWindow, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def on_duty(self, force_id: str, moment: datetime) -> bool:
        windows = self.windows.get(force_id)
        return windows is None or any(w.covers(moment) for w in windows)


@dataclass(frozen=True, slots=True)
class Availability:
    """The status of every force at a moment: `statuses` holds the non-available ones only."""

    statuses: Mapping[str, PlanningStatus] = field(default_factory=lambda: MappingProxyType({}))
    roster: DutyRoster = field(default_factory=DutyRoster)

    def status(self, force_id: str, moment: datetime) -> PlanningStatus:
        # A unit on another incident is busy whatever the roster says, so its status comes first.
        status = PlanningStatus(self.statuses.get(force_id, PlanningStatus.AVAILABLE))
        if status == PlanningStatus.AVAILABLE and not self.roster.on_duty(force_id, moment):
            return PlanningStatus.OFF_DUTY
        return status

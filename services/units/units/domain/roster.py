"""联勤 / 联合备勤 — a force's joint standby roster: the shifts in which it is on duty.

One roster per force (stream `"{force_id}/roster"`). A force that has a roster is on duty only in
its shifts (availability.DutyRoster); a force that never had one is on duty round the clock.
Shifts are half-open [start, end), timezone-aware, and one force's shifts never overlap.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from linkduty_shared.domain import Aggregate, DomainError, DomainEvent, IllegalTransition, InvariantViolated
from linkduty_shared.domain.personal_data import scrub_personal_numbers

from units.domain.events import ShiftCancelled, ShiftScheduled


def roster_id(force_id: str) -> str:
    return f"{force_id}/roster"


class UnknownShift(DomainError):
    type_slug = "not-found"
    status = 404


@dataclasses.dataclass(frozen=True, slots=True)
class Shift:
    shift_id: str
    start: datetime
    end: datetime
    members: int

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


class StandbyRoster(Aggregate):
    stream_type = "standby_roster"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.force_id: str | None = None
        self.division_code: str | None = None
        self.shifts: dict[str, Shift] = {}  # scheduled and not cancelled
        self.cancelled: set[str] = set()

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case ShiftScheduled():
                self.force_id, self.division_code = e.force_id, e.division_code
                self.shifts[e.shift_id] = Shift(e.shift_id, datetime.fromisoformat(e.start),
                                                datetime.fromisoformat(e.end), e.members)
            case ShiftCancelled():
                self.shifts.pop(e.shift_id, None)
                self.cancelled.add(e.shift_id)

    def schedule(self, force_id: str, division_code: str, shift_id: str, start: datetime, end: datetime,
                 members: int) -> None:
        """Schedule a shift; the same shift again is a no-op (a retried PUT)."""
        if start.tzinfo is None or end.tzinfo is None:
            raise InvariantViolated("shift times need a UTC offset (e.g. 2026-03-01T08:00:00+08:00)")
        if not start < end:
            raise InvariantViolated(f"shift {shift_id} ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        if members < 1:
            raise InvariantViolated(f"shift {shift_id} needs at least one member on duty, not {members}")
        if self.force_id is not None and force_id != self.force_id:
            raise InvariantViolated(f"roster {self.id} is {self.force_id}'s, not {force_id}'s")
        existing = self.shifts.get(shift_id)
        if existing is not None:
            if existing == Shift(shift_id, start, end, members):
                return
            raise IllegalTransition(f"shift {shift_id} is already scheduled otherwise: cancel it and schedule a new one")
        if shift_id in self.cancelled:
            raise IllegalTransition(f"shift {shift_id} was cancelled; shift ids are not reused")
        clash = next((s for s in self.shifts.values() if s.overlaps(start, end)), None)
        if clash is not None:
            raise InvariantViolated(f"shift {shift_id} overlaps shift {clash.shift_id} "
                                    f"({clash.start.isoformat()} to {clash.end.isoformat()}) of {force_id}")
        self._record(ShiftScheduled(force_id=force_id, division_code=division_code, shift_id=shift_id,
                                    start=start.isoformat(), end=end.isoformat(), members=members))

    def cancel(self, shift_id: str, reason: str = "") -> None:
        """Cancel a shift; cancelling it again is a no-op (a retried DELETE)."""
        if shift_id in self.cancelled:
            return
        if shift_id not in self.shifts:
            raise UnknownShift(f"{self.force_id or self.id} has no shift {shift_id}")
        self._record(ShiftCancelled(shift_id=shift_id, reason=scrub_personal_numbers(reason)))

    def upcoming(self, moment: datetime) -> list[Shift]:
        """Shifts not ended by `moment`, in order."""
        return sorted((s for s in self.shifts.values() if s.end > moment), key=lambda s: s.start)

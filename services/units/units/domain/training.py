"""联训 — a joint training session and who came to it.

    scheduled → (attendance recorded per invited force) → completed
    scheduled → cancelled

Attendance is a count of members present per force (never names). Recording a force again
corrects its count; a session with no attendance cannot be completed (cancel it instead).
"""

from __future__ import annotations

from datetime import datetime

from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition, InvariantViolated
from linkduty_shared.domain.personal_data import scrub_personal_numbers

from units.domain.events import (
    TrainingAttendanceRecorded,
    TrainingCancelled,
    TrainingCompleted,
    TrainingScheduled,
)


class JointTraining(Aggregate):
    stream_type = "joint_training"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: str | None = None  # scheduled | completed | cancelled
        self.topic: str | None = None
        self.division_code: str | None = None
        self.at: str | None = None
        self.forces: tuple[str, ...] = ()
        self.attendance: dict[str, int] = {}  # force id → members present
        self.summary: str | None = None
        self.reason: str | None = None

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case TrainingScheduled():
                self.status, self.topic, self.division_code = "scheduled", e.topic, e.division_code
                self.at, self.forces = e.at, tuple(e.forces)
            case TrainingAttendanceRecorded():
                self.attendance[e.force_id] = e.present
            case TrainingCompleted():
                self.status, self.summary = "completed", e.summary
            case TrainingCancelled():
                self.status, self.reason = "cancelled", e.reason

    def schedule(self, topic: str, division_code: str, at: datetime, forces: list[str]) -> None:
        if self.exists:
            raise IllegalTransition(f"training {self.id} is already scheduled")
        if not topic.strip():
            raise InvariantViolated("a training needs a topic")
        if at.tzinfo is None:
            raise InvariantViolated("the training time needs a UTC offset (e.g. 2026-03-01T14:00:00+08:00)")
        forces = list(dict.fromkeys(forces))
        if not forces:
            raise InvariantViolated("a joint training invites at least one force")
        self._record(TrainingScheduled(topic=scrub_personal_numbers(topic.strip()),
                                       division_code=division_code, at=at.isoformat(), forces=forces))

    def record_attendance(self, force_id: str, present: int) -> None:
        """Record (or correct) how many of a force's members were present; the same count again is a no-op."""
        self._require_scheduled("record attendance at")
        if force_id not in self.forces:
            raise InvariantViolated(f"{force_id} was not invited to training {self.id}")
        if present < 0:
            raise InvariantViolated(f"members present cannot be negative ({present})")
        before = self.attendance.get(force_id)
        if before == present:
            return
        self._record(TrainingAttendanceRecorded(force_id=force_id, present=present, corrects=before))

    def complete(self, summary: str = "") -> None:
        self._require_scheduled("complete")
        if not self.attendance:
            raise InvariantViolated(f"training {self.id} has no attendance recorded: record it, or cancel the training")
        self._record(TrainingCompleted(summary=scrub_personal_numbers(summary.strip())))

    def cancel(self, reason: str) -> None:
        self._require_scheduled("cancel")
        if not reason.strip():
            raise InvariantViolated("a cancellation needs a reason")
        self._record(TrainingCancelled(reason=scrub_personal_numbers(reason.strip())))

    @property
    def present(self) -> int:
        return sum(self.attendance.values())

    def _require_scheduled(self, action: str) -> None:
        if self.status != "scheduled":
            raise IllegalTransition(f"cannot {action} training {self.id}: it is {self.status or 'not scheduled'}")

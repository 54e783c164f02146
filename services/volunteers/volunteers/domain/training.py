"""A training session of a course, as an aggregate: scheduled, volunteers enrolled up to its
seats, attendance taken once it has begun, and only those present examined in it (a result of
the session is recorded on each volunteer's file). Pure: no I/O, the time passed in."""

from __future__ import annotations

import datetime as dt

from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition, InvariantViolated

from volunteers.domain.events import TrainingAttendanceTaken, TrainingEnrolled, TrainingSessionScheduled
from volunteers.domain.volunteer import ReviewStatus, Volunteer, iso_time

MAX_CAPACITY = 500


class TrainingSession(Aggregate):
    stream_type = "training_session"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.scheduled: TrainingSessionScheduled | None = None
        self.enrolled: list[str] = []
        self.present: set[str] | None = None  # None until attendance is taken

    @property
    def jurisdiction(self) -> dict:
        return self.scheduled.jurisdiction if self.scheduled else {}

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case TrainingSessionScheduled():
                self.scheduled = e
            case TrainingEnrolled():
                self.enrolled.append(e.volunteer_id)
            case TrainingAttendanceTaken():
                self.present = set(e.present)

    def schedule(self, scheduled: TrainingSessionScheduled) -> list[DomainEvent]:
        if self.exists:
            raise IllegalTransition(f"session {self.id} is scheduled already")
        if scheduled.ends_at <= scheduled.starts_at:
            raise InvariantViolated("a session ends after it starts")
        if not 1 <= scheduled.capacity <= MAX_CAPACITY:
            raise InvariantViolated(f"a session seats 1 to {MAX_CAPACITY}")
        return self._record(scheduled)

    def enrol(self, volunteer: Volunteer, *, by: str, at: dt.datetime) -> list[DomainEvent]:
        self._must_exist()
        if volunteer.id in self.enrolled:
            return []
        if volunteer.status is not ReviewStatus.APPROVED:
            raise IllegalTransition("only an approved volunteer is trained")
        if self.present is not None:
            raise IllegalTransition(f"session {self.id} has taken its attendance")
        if len(self.enrolled) >= self.scheduled.capacity:
            raise IllegalTransition(f"session {self.id} is full ({self.scheduled.capacity} seats)")
        return self._record(TrainingEnrolled(volunteer.id, by=by, at=iso_time(at)))

    def take_attendance(self, present: tuple[str, ...], *, by: str, at: dt.datetime) -> list[DomainEvent]:
        self._must_exist()
        if self.present is not None:
            raise IllegalTransition(f"session {self.id} has taken its attendance")
        if at < dt.datetime.fromisoformat(self.scheduled.starts_at):
            raise IllegalTransition("attendance is taken once the session has begun")
        strangers = sorted(set(present) - set(self.enrolled))
        if strangers:
            raise InvariantViolated(f"not enrolled: {', '.join(s[:64] for s in strangers[:10])}")
        absent = tuple(v for v in self.enrolled if v not in present)
        return self._record(TrainingAttendanceTaken(tuple(dict.fromkeys(present)), absent, by=by, at=iso_time(at)))

    def must_have_attended(self, volunteer_id: str) -> None:
        """Examined in the session only if present at it."""
        self._must_exist()
        if self.present is None:
            raise IllegalTransition(f"session {self.id}: attendance first, then its exam")
        if volunteer_id not in self.present:
            raise IllegalTransition(f"volunteer {volunteer_id} was not present at session {self.id}")

    def _must_exist(self) -> None:
        if not self.exists:
            raise IllegalTransition(f"no session {self.id}")

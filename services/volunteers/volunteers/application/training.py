"""Training sessions: scheduled under a community or a street, volunteers enrolled, attendance
taken, and the exam of those present recorded on each one's file (with the grade review it may
bring) in one transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt

from linkduty_shared.application import CommandContext, EventSourcedRepository
from linkduty_shared.auth import Principal
from linkduty_shared.ids import time_ordered_uuid
from linkduty_shared.jurisdictions import Level

from volunteers.application.errors import NotATeamDivision, UnknownCourse
from volunteers.application.service import SOURCE, VolunteersService
from volunteers.domain.events import TrainingSessionScheduled
from volunteers.domain.training import TrainingSession


@dataclasses.dataclass(frozen=True)
class Session:
    course_id: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    place: str
    capacity: int
    trainer: str
    division: str


@dataclasses.dataclass(frozen=True)
class ExamResult:
    volunteer_id: str
    passed: bool
    score: float | None = None


class TrainingService:
    def __init__(self, volunteers: VolunteersService, *, topic: str) -> None:
        self.volunteers, self.clock, self.uow = volunteers, volunteers.clock, volunteers.uow
        self.repo = EventSourcedRepository(volunteers.store, TrainingSession, source=SOURCE, topic=topic,
                                           chain=lambda s: tuple(s.jurisdiction.values()))

    async def schedule(self, session: Session, ctx: CommandContext, principal: Principal) -> TrainingSession:
        v = self.volunteers
        if session.course_id not in v.courses:
            raise UnknownCourse(session.course_id, v.courses.ids())
        jurisdiction = v.chain_of(session.division, (Level.COMMUNITY, Level.STREET), NotATeamDivision, principal)
        session_id = str(time_ordered_uuid())
        scheduled = TrainingSessionScheduled(
            session_id, session.course_id, session.starts_at.isoformat(), session.ends_at.isoformat(),
            session.place.strip(), session.capacity, session.trainer.strip(), session.division, jurisdiction,
            by=principal.client_id, at=self.clock().isoformat())
        return await self.uow.execute(self.repo, session_id, lambda s: s.schedule(scheduled), ctx,
                                      principal=principal, must_exist=False)

    async def enrol(self, session_id: str, volunteer_id: str, ctx: CommandContext,
                    principal: Principal) -> TrainingSession:
        by, at = principal.client_id, self.clock()

        async def work(tx) -> TrainingSession:
            session = await tx.get(self.repo, session_id)
            session.enrol(await tx.get(self.volunteers.repo, volunteer_id), by=by, at=at)
            await tx.save(self.repo, session)
            return session

        return await self.uow.run(work, ctx, principal=principal)

    async def take_attendance(self, session_id: str, present: tuple[str, ...], ctx: CommandContext,
                              principal: Principal) -> TrainingSession:
        by, at = principal.client_id, self.clock()
        return await self.uow.execute(self.repo, session_id, lambda s: s.take_attendance(present, by=by, at=at),
                                      ctx, principal=principal)

    async def record_results(self, session_id: str, results: tuple[ExamResult, ...], ctx: CommandContext,
                             principal: Principal) -> TrainingSession:
        """The exam of the session: each result on its volunteer's file, dated the session's
        first day; refused whole (nothing recorded) if anyone examined was not present."""
        v, by, at = self.volunteers, principal.client_id, self.clock()

        async def work(tx) -> TrainingSession:
            session = await tx.get(self.repo, session_id)
            course = v.courses[session.scheduled.course_id]
            exam_on = dt.datetime.fromisoformat(session.scheduled.starts_at).date()
            for result in results:
                session.must_have_attended(result.volunteer_id)
                volunteer = await tx.get(v.repo, result.volunteer_id)
                volunteer.record_result(course, passed=result.passed, exam_on=exam_on, by=by, at=at,
                                        score=result.score, session_id=session_id)
                volunteer.regrade(v.grades, v.courses, at.date(), by=by, at=at)
                await tx.save(v.repo, volunteer)
            return session

        return await self.uow.run(work, ctx, principal=principal)

"""Training sessions of the courses: scheduled by a community or street, volunteers enrolled,
attendance taken (签到), and the session's exam recorded for those present.

Who: `volunteers:train` inside its jurisdiction; `volunteers:read` reads."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from linkduty_shared.api.answers import versioned
from linkduty_shared.api.deps import Context

from volunteers.api.schemas import AttendanceIn, EnrolmentIn, SessionIn, SessionOut, SessionResultsIn
from volunteers.api.volunteers import Reader, Trainer
from volunteers.application.training import ExamResult, Session, TrainingService
from volunteers.domain.training import TrainingSession

router = APIRouter(prefix="/v1", tags=["training"])


def training_of(request: Request) -> TrainingService:
    return request.app.state.training


def _answer(response: Response, s: TrainingSession, status: int | None = None) -> dict:
    d = s.scheduled
    body = {"session_id": s.id, "course_id": d.course_id, "starts_at": d.starts_at, "ends_at": d.ends_at,
            "place": d.place, "capacity": d.capacity, "trainer": d.trainer, "division": d.division,
            "jurisdiction": d.jurisdiction, "enrolled": s.enrolled,
            "present": sorted(s.present) if s.present is not None else None, "version": s.version}
    return versioned(response, body, s.version, status=status, location=f"/v1/training-sessions/{s.id}")


@router.post("/training-sessions", status_code=201, response_model=SessionOut, summary="Schedule a session of a course")
async def schedule(body: SessionIn, request: Request, response: Response, principal: Trainer, ctx: Context) -> dict:
    s = await training_of(request).schedule(Session(body.course_id, body.starts_at, body.ends_at, body.place,
                                                    body.capacity, body.trainer, body.division), ctx, principal)
    return _answer(response, s, 201)


@router.get("/training-sessions/{session_id}", response_model=SessionOut, summary="A session, who enrolled and came")
async def read(session_id: str, request: Request, response: Response, principal: Reader) -> dict:
    return _answer(response, await training_of(request).repo.get(session_id, visible_to=principal))


@router.post("/training-sessions/{session_id}/enrolments", response_model=SessionOut,
             summary="Enrol an approved volunteer (409 when full or attendance was taken)")
async def enrol(session_id: str, body: EnrolmentIn, request: Request, response: Response, principal: Trainer,
                ctx: Context) -> dict:
    return _answer(response, await training_of(request).enrol(session_id, body.volunteer_id, ctx, principal))


@router.post("/training-sessions/{session_id}/attendance", response_model=SessionOut,
             summary="Take attendance (签到) once the session has begun: only those present are examined")
async def attendance(session_id: str, body: AttendanceIn, request: Request, response: Response, principal: Trainer,
                     ctx: Context) -> dict:
    s = await training_of(request).take_attendance(session_id, tuple(body.present), ctx, principal)
    return _answer(response, s)


@router.post("/training-sessions/{session_id}/results", response_model=SessionOut,
             summary="The session's exam: each result on its volunteer's file (refused whole if one was absent)")
async def results(session_id: str, body: SessionResultsIn, request: Request, response: Response, principal: Trainer,
                  ctx: Context) -> dict:
    s = await training_of(request).record_results(
        session_id, tuple(ExamResult(r.volunteer_id, r.passed, r.score) for r in body.results), ctx, principal)
    return _answer(response, s)

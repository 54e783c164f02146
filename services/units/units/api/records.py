"""The joint records: standby rosters (联勤), joint patrols (联防), joint trainings (联训).

Every record has a division; a caller sees and changes only those whose division chain meets its
jurisdiction claim (404 otherwise).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from linkduty_shared.api.deps import Context
from linkduty_shared.api.answers import json_row, versioned
from linkduty_shared.api.etag import parse_if_match
from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import Principal

from units.api.deps import Operator, Reader, require_visible
from units.domain.patrol import HAZARD_KINDS, JointPatrol
from units.domain.roster import StandbyRoster, roster_id
from units.domain.training import JointTraining
from units.projections.joint_records import list_patrols, list_trainings
from units.records import JointRecords

router = APIRouter(tags=["joint records"])
IfMatch = Annotated[str | None, Header()]
Id = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
Division = Annotated[str, Field(min_length=1, max_length=40)]
ShiftId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]


async def joint_records(request: Request) -> JointRecords:
    return request.app.state.records


Records = Annotated[JointRecords, Depends(joint_records)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _ordered(start: dt.datetime, end: dt.datetime, what: str) -> None:
    if not start < end:
        raise ValueError(f"{what} must end after it starts")


class ShiftIn(_In):
    start: AwareDatetime
    end: AwareDatetime
    members: int = Field(ge=1, le=10_000, description="members on duty (a count, never names)")

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        _ordered(self.start, self.end, "a shift")
        return self


class NewShiftIn(ShiftIn):
    shift_id: Id | None = None


class PatrolIn(_In):
    division_code: Division
    forces: list[Id] = Field(min_length=1, max_length=50)
    planned_start: AwareDatetime
    planned_end: AwareDatetime

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        _ordered(self.planned_start, self.planned_end, "a patrol")
        return self


class FindingIn(_In):
    text: str = Field(min_length=1, max_length=2000, description="the place and the hazard, never a person")
    hazard_kind: Literal[tuple(sorted(HAZARD_KINDS))]  # type: ignore[valid-type]
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class SummaryIn(_In):
    summary: str = Field(min_length=1, max_length=4000)


class TrainingIn(_In):
    topic: str = Field(min_length=1, max_length=200)
    division_code: Division
    at: AwareDatetime
    forces: list[Id] = Field(min_length=1, max_length=100)


class AttendanceIn(_In):
    force_id: Id
    present: int = Field(ge=0, le=10_000, description="members present (a count, never names)")


class CompleteTrainingIn(_In):
    summary: str = Field(default="", max_length=4000)


class CancelIn(_In):
    reason: str = Field(min_length=1, max_length=1000)


# ---- views -----------------------------------------------------------------------------------

def roster_view(roster: StandbyRoster, force_id: str, division_code: str, since: dt.datetime, now: dt.datetime) -> dict:
    shifts = roster.upcoming(since)
    return {
        "unit_id": force_id, "division_code": division_code, "rostered": roster.exists,
        "on_duty_now": not roster.exists or any(s.start <= now < s.end for s in roster.shifts.values()),
        "shifts": [{"shift_id": s.shift_id, "start": s.start.isoformat(), "end": s.end.isoformat(),
                    "members": s.members} for s in shifts],
        "version": roster.version,
    }


def patrol_view(p: JointPatrol) -> dict:
    return {
        "patrol_id": p.id, "status": p.status, "division_code": p.division_code, "forces": list(p.forces),
        "planned_start": p.planned_start, "planned_end": p.planned_end, "started_at": p.started_at,
        "completed_at": p.completed_at, "summary": p.summary, "version": p.version,
        "findings": [{"text": f.text, "hazard_kind": f.hazard_kind, "at": f.at,
                      "location": None if f.lat is None else {"lat": f.lat, "lon": f.lon}} for f in p.findings],
    }


def training_view(t: JointTraining) -> dict:
    return {
        "training_id": t.id, "status": t.status, "topic": t.topic, "division_code": t.division_code, "at": t.at,
        "forces": list(t.forces), "attendance": dict(t.attendance), "present": t.present, "summary": t.summary,
        "reason": t.reason, "version": t.version,
    }


def _row(r) -> dict:
    return json_row(r, leave_out=("within",))


# ---- 联勤: rosters -------------------------------------------------------------------------

async def _visible_force(records: JointRecords, principal: Principal, unit_id: str):
    force = await records.force(unit_id)
    if force is None:
        raise Problem(404, "not-found", "No such resource", f"unit {unit_id} does not exist")
    require_visible(principal, force["within"], f"unit {unit_id}")
    return force


@router.get("/v1/units/{unit_id}/roster", summary="A force's standby roster: shifts not ended by `since` (now)")
async def read_roster(unit_id: str, response: Response, records: Records, principal: Reader,
                      since: AwareDatetime | None = None) -> dict:
    force = await _visible_force(records, principal, unit_id)
    roster = await records.rosters.load(roster_id(unit_id))
    now = records.clock()
    return versioned(response, roster_view(roster, unit_id, force["division_code"], since or now, now), roster.version)


async def _schedule(unit_id: str, shift_id: str, body: ShiftIn, response: Response, records: JointRecords,
                    principal: Principal, ctx, if_match: str | None) -> dict:
    force = await _visible_force(records, principal, unit_id)
    before = (await records.rosters.load(roster_id(unit_id))).version
    roster = await records.schedule_shift(force, shift_id, body.start, body.end, body.members, ctx,
                                          parse_if_match(if_match))
    now = records.clock()
    return versioned(response, roster_view(roster, unit_id, force["division_code"], now, now), roster.version,
                     status=201 if roster.version > before else 200,
                     location=f"/v1/units/{unit_id}/roster/shifts/{shift_id}")


@router.post("/v1/units/{unit_id}/roster/shifts", status_code=201, summary="Schedule a shift (id chosen here unless given)")
async def add_shift(unit_id: str, body: NewShiftIn, response: Response, records: Records, principal: Operator,
                    ctx: Context, if_match: IfMatch = None) -> dict:
    """422 for a shift overlapping another of the force's shifts."""
    return await _schedule(unit_id, body.shift_id or str(uuid.uuid4()), body, response, records, principal, ctx,
                           if_match)


@router.put("/v1/units/{unit_id}/roster/shifts/{shift_id}", summary="Schedule the shift `shift_id` (the same again: no-op)")
async def put_shift(unit_id: str, shift_id: ShiftId, body: ShiftIn, response: Response, records: Records,
                    principal: Operator, ctx: Context, if_match: IfMatch = None) -> dict:
    return await _schedule(unit_id, shift_id, body, response, records, principal, ctx, if_match)


@router.delete("/v1/units/{unit_id}/roster/shifts/{shift_id}", summary="Cancel a shift")
async def cancel_shift(unit_id: str, shift_id: str, response: Response, records: Records, principal: Operator,
                       ctx: Context, reason: Annotated[str, Query(max_length=1000)] = "",
                       if_match: IfMatch = None) -> dict:
    force = await _visible_force(records, principal, unit_id)
    roster = await records.cancel_shift(unit_id, shift_id, reason, ctx, parse_if_match(if_match))
    now = records.clock()
    return versioned(response, roster_view(roster, unit_id, force["division_code"], now, now), roster.version)


# ---- 联防: patrols -------------------------------------------------------------------------

async def _visible_patrol(records: JointRecords, principal: Principal, patrol_id: str) -> JointPatrol:
    patrol = await records.patrols.get(patrol_id)
    require_visible(principal, records.chain(patrol.division_code), f"patrol {patrol_id}")
    return patrol


@router.post("/v1/patrols", status_code=201, summary="Plan a joint prevention patrol (联防)")
async def plan_patrol(body: PatrolIn, response: Response, records: Records, principal: Operator, ctx: Context) -> dict:
    require_visible(principal, records.chain(body.division_code), f"division {body.division_code}")
    patrol = await records.plan_patrol(body.division_code, body.forces, body.planned_start, body.planned_end, ctx,
                                       principal)
    return versioned(response, patrol_view(patrol), patrol.version, status=201, location=f"/v1/patrols/{patrol.id}")


@router.get("/v1/patrols", summary="Joint patrols inside the caller's jurisdiction (or one division of it)")
async def patrols(records: Records, principal: Reader, division: str | None = None,
                  status: Literal["planned", "started", "completed"] | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    async with records.store.pool.acquire() as conn:
        rows = await list_patrols(conn, jurisdiction=list(principal.jurisdiction), division=division, status=status,
                                  limit=limit)
    return {"patrols": [_row(r) for r in rows]}


@router.get("/v1/patrols/{patrol_id}")
async def read_patrol(patrol_id: str, response: Response, records: Records, principal: Reader) -> dict:
    patrol = await _visible_patrol(records, principal, patrol_id)
    return versioned(response, patrol_view(patrol), patrol.version)


@router.post("/v1/patrols/{patrol_id}/start", summary="The patrol sets out (409 unless planned)")
async def start_patrol(patrol_id: str, response: Response, records: Records, principal: Operator, ctx: Context,
                       if_match: IfMatch = None) -> dict:
    await _visible_patrol(records, principal, patrol_id)
    patrol = await records.uow.execute(records.patrols, patrol_id, lambda p: p.start(records.clock()), ctx,
                                       expected_version=parse_if_match(if_match))
    return versioned(response, patrol_view(patrol), patrol.version)


@router.post("/v1/patrols/{patrol_id}/findings", status_code=201, summary="Log a finding (409 unless started)")
async def log_finding(patrol_id: str, body: FindingIn, response: Response, records: Records, principal: Operator,
                      ctx: Context, if_match: IfMatch = None) -> dict:
    """422 for a text carrying a phone or ID number, or a location outside the patrol's division."""
    patrol = await _visible_patrol(records, principal, patrol_id)
    patrol = await records.log_finding(patrol, body.text, body.hazard_kind, body.lat, body.lon, ctx,
                                       parse_if_match(if_match))
    return versioned(response, patrol_view(patrol), patrol.version, status=201)


@router.post("/v1/patrols/{patrol_id}/complete", summary="The patrol is done (409 unless started)")
async def complete_patrol(patrol_id: str, body: SummaryIn, response: Response, records: Records,
                          principal: Operator, ctx: Context, if_match: IfMatch = None) -> dict:
    await _visible_patrol(records, principal, patrol_id)
    patrol = await records.uow.execute(records.patrols, patrol_id, lambda p: p.complete(body.summary, records.clock()),
                                       ctx, expected_version=parse_if_match(if_match))
    return versioned(response, patrol_view(patrol), patrol.version)


# ---- 联训: trainings -----------------------------------------------------------------------

async def _visible_training(records: JointRecords, principal: Principal, training_id: str) -> JointTraining:
    training = await records.trainings.get(training_id)
    require_visible(principal, records.chain(training.division_code), f"training {training_id}")
    return training


async def _act_on_training(training_id: str, decide, records: JointRecords, principal: Principal, ctx,
                           if_match: str | None, response: Response) -> dict:
    await _visible_training(records, principal, training_id)
    training = await records.uow.execute(records.trainings, training_id, decide, ctx,
                                         expected_version=parse_if_match(if_match))
    return versioned(response, training_view(training), training.version)


@router.post("/v1/trainings", status_code=201, summary="Schedule a joint training (联训)")
async def schedule_training(body: TrainingIn, response: Response, records: Records, principal: Operator,
                            ctx: Context) -> dict:
    require_visible(principal, records.chain(body.division_code), f"division {body.division_code}")
    training = await records.schedule_training(body.topic, body.division_code, body.at, body.forces, ctx, principal)
    return versioned(response, training_view(training), training.version, status=201,
                     location=f"/v1/trainings/{training.id}")


@router.get("/v1/trainings", summary="Joint trainings inside the caller's jurisdiction (or one division of it)")
async def trainings(records: Records, principal: Reader, division: str | None = None,
                    status: Literal["scheduled", "completed", "cancelled"] | None = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    async with records.store.pool.acquire() as conn:
        rows = await list_trainings(conn, jurisdiction=list(principal.jurisdiction), division=division,
                                    status=status, limit=limit)
    return {"trainings": [_row(r) for r in rows]}


@router.get("/v1/trainings/{training_id}")
async def read_training(training_id: str, response: Response, records: Records, principal: Reader) -> dict:
    training = await _visible_training(records, principal, training_id)
    return versioned(response, training_view(training), training.version)


@router.post("/v1/trainings/{training_id}/attendance", summary="Record (or correct) a force's attendance")
async def record_attendance(training_id: str, body: AttendanceIn, response: Response, records: Records,
                            principal: Operator, ctx: Context, if_match: IfMatch = None) -> dict:
    """422 for a force not invited; 409 once the training is completed or cancelled."""
    return await _act_on_training(training_id, lambda t: t.record_attendance(body.force_id, body.present), records,
                                  principal, ctx, if_match, response)


@router.post("/v1/trainings/{training_id}/complete", summary="The training took place (needs attendance)")
async def complete_training(training_id: str, response: Response, records: Records, principal: Operator,
                            ctx: Context, body: CompleteTrainingIn | None = None, if_match: IfMatch = None) -> dict:
    summary = body.summary if body else ""
    return await _act_on_training(training_id, lambda t: t.complete(summary), records, principal, ctx, if_match,
                                  response)


@router.post("/v1/trainings/{training_id}/cancel", summary="Call the training off")
async def cancel_training(training_id: str, body: CancelIn, response: Response, records: Records,
                          principal: Operator, ctx: Context, if_match: IfMatch = None) -> dict:
    return await _act_on_training(training_id, lambda t: t.cancel(body.reason), records, principal, ctx, if_match,
                                  response)

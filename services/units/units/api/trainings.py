"""联训: joint trainings — schedule one, record who came, complete or cancel it. A caller sees and
changes the trainings whose division chain meets its jurisdiction claim (404 otherwise)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from linkduty_shared.api.answers import json_row, versioned
from linkduty_shared.api.deps import Context
from linkduty_shared.api.etag import parse_if_match
from linkduty_shared.api.openapi import problem_responses

from units.api.deps import IfMatch, Operator, Reader, RecordsService
from units.api.schemas import AttendanceIn, CancelIn, CompleteTrainingIn, TrainingIn, TrainingList, TrainingOut
from units.domain.training import JointTraining
from units.projections.joint_records import list_trainings

router = APIRouter(prefix="/v1/trainings", tags=["joint records"])


def training_view(t: JointTraining) -> dict:
    return {
        "training_id": t.id, "status": t.status, "topic": t.topic, "division_code": t.division_code, "at": t.at,
        "forces": list(t.forces), "attendance": dict(t.attendance), "present": t.present, "summary": t.summary,
        "reason": t.reason, "version": t.version,
    }


def _answer(training: JointTraining, response: Response, status: int | None = None,
            location: str | None = None) -> dict:
    return versioned(response, training_view(training), training.version, status=status, location=location)


@router.post("", status_code=201, summary="Schedule a joint training (联训)", response_model=TrainingOut,
             responses=problem_responses(404))
async def schedule_training(body: TrainingIn, response: Response, records: RecordsService, principal: Operator,
                            ctx: Context) -> dict:
    """422 for an unknown division or forces (`unknown` lists them); 404 for a division outside the
    caller's jurisdiction."""
    training = await records.schedule_training(ctx, principal, topic=body.topic, division_code=body.division_code,
                                               at=body.at, forces=body.forces)
    return _answer(training, response, 201, f"/v1/trainings/{training.id}")


@router.get("", summary="Joint trainings inside the caller's jurisdiction (or one division of it)",
            response_model=TrainingList)
async def trainings(records: RecordsService, principal: Reader, division: str | None = None,
                    status: Literal["scheduled", "completed", "cancelled"] | None = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    async with records.store.pool.acquire() as conn:
        rows = await list_trainings(conn, jurisdiction=list(principal.jurisdiction), division=division,
                                    status=status, limit=limit)
    return {"trainings": [json_row(r, leave_out=("within",)) for r in rows]}


@router.get("/{training_id}", response_model=TrainingOut)
async def read_training(training_id: str, response: Response, records: RecordsService, principal: Reader) -> dict:
    return _answer(await records.read_training(training_id, principal), response)


@router.post("/{training_id}/attendance", summary="Record (or correct) a force's attendance",
             response_model=TrainingOut)
async def record_attendance(training_id: str, body: AttendanceIn, response: Response, records: RecordsService,
                            principal: Operator, ctx: Context, if_match: IfMatch = None) -> dict:
    """422 for a force not invited; 409 once the training is completed or cancelled."""
    training = await records.record_attendance(training_id, ctx, principal, force_id=body.force_id,
                                               present=body.present, expected_version=parse_if_match(if_match))
    return _answer(training, response)


@router.post("/{training_id}/complete", summary="The training took place (needs attendance)",
             response_model=TrainingOut)
async def complete_training(training_id: str, response: Response, records: RecordsService, principal: Operator,
                            ctx: Context, body: CompleteTrainingIn | None = None, if_match: IfMatch = None) -> dict:
    training = await records.complete_training(training_id, ctx, principal, summary=body.summary if body else "",
                                               expected_version=parse_if_match(if_match))
    return _answer(training, response)


@router.post("/{training_id}/cancel", summary="Call the training off", response_model=TrainingOut)
async def cancel_training(training_id: str, body: CancelIn, response: Response, records: RecordsService,
                          principal: Operator, ctx: Context, if_match: IfMatch = None) -> dict:
    training = await records.cancel_training(training_id, ctx, principal, reason=body.reason,
                                             expected_version=parse_if_match(if_match))
    return _answer(training, response)

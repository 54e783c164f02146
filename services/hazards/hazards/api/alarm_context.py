"""The pre-incident picture of a 119 alarm (灾前画像), as it was attached when the alarm was
reported: for the station dispatched to it and any console that missed the event on its stream.

Who: `hazards:read` within the alarm's jurisdiction (outside it, or before the picture is taken,
a 404)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.contracts.alarm_context import AlarmContextAttached

from hazards.api.deps import Reader

router = APIRouter(prefix="/v1", tags=["alarm context"])


@router.get("/alarms/{alarm_id}/context", response_model=AlarmContextAttached, responses=problem_responses(404),
            summary="What prevention knew about an alarm's place when it was reported")
async def read(alarm_id: str, request: Request, principal: Reader) -> dict:
    """The venue at the alarm's point (kind, risk class, last inspection) and the open hazards
    around it, nearest first, each flagged overdue or not."""
    attached = await request.app.state.alarm_context.get(alarm_id, principal)
    return attached.to_data()

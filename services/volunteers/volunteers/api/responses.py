"""The volunteers' response to a 119 alarm, as the dispatched station and the consoles read it
(who was alerted, who is coming and when, what they report from the scene), and the community's
confirmation that credits a response's hours.

Who: `volunteers:read` inside the alarm's jurisdiction reads (outside it, or before any alert,
a 404); `volunteers:review` confirms."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request

from linkduty_shared.api.deps import Context
from linkduty_shared.api.openapi import problem_responses

from volunteers.api.schemas import ResponseConfirmationIn, ResponseOut
from volunteers.api.volunteers import Reader, Reviewer
from volunteers.application.responses import ResponsesService
from volunteers.domain.response import AlarmResponse

router = APIRouter(prefix="/v1", tags=["alarm responses"])


def responses_of(request: Request) -> ResponsesService:
    return request.app.state.responses


def _status(r: AlarmResponse, volunteer_id: str) -> str:
    if volunteer_id in r.accepted:
        return "accepted"
    if volunteer_id in r.declined:
        return "declined"
    return "stood_down" if volunteer_id in r.stood_down else "alerted"


def response_view(r: AlarmResponse) -> dict:
    a = r.alerted
    return {
        "alarm_id": r.id, "kind": a.kind, "domain": a.domain, "place": a.place, "radius_m": a.radius_m,
        "wanted": a.wanted, "alerted": [{**line, "status": _status(r, v)} for v, line in r.alerts.items()],
        "coming": [{"volunteer_id": e.volunteer_id, "name_masked": e.name_masked, "grade": e.grade,
                    "eta_minutes": e.eta_minutes, "distance_m": e.distance_m, "accepted_at": e.at,
                    "eta_at": (dt.datetime.fromisoformat(e.at) + dt.timedelta(minutes=e.eta_minutes)).isoformat(),
                    "confirmed_hours": r.confirmed.get(e.volunteer_id)} for e in r.accepted.values()],
        "scene_reports": [{"volunteer_id": s.volunteer_id, "name_masked": s.name_masked, "lat": s.lat, "lon": s.lon,
                           "assessment": s.assessment, "guidance": list(s.guidance), "photos": list(s.photos),
                           "at": s.at} for s in r.scene_reports],
        "closed": r.closed, "version": r.version,
    }


@router.get("/alarm-responses/{alarm_id}", response_model=ResponseOut, responses=problem_responses(404),
            summary="Who was alerted near an alarm, who is coming and when, and their reports from the scene")
async def read(alarm_id: str, request: Request, principal: Reader) -> dict:
    return response_view(await responses_of(request).repo.get(alarm_id, visible_to=principal))


@router.post("/alarm-responses/{alarm_id}/confirmations", response_model=ResponseOut,
             summary="Confirm a volunteer's response: its hours go to their ledger")
async def confirm(alarm_id: str, body: ResponseConfirmationIn, request: Request, principal: Reviewer,
                  ctx: Context) -> dict:
    """409 unless the volunteer accepted the alert; a second confirmation changes nothing."""
    r = await responses_of(request).confirm(alarm_id, body.volunteer_id, body.hours, ctx, principal)
    return response_view(r)

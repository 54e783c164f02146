"""联防: joint prevention patrols — plan one, set out, log what it finds, complete it. A caller
sees and changes the patrols whose division chain meets its jurisdiction claim (404 otherwise)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from linkduty_shared.api.answers import json_row, versioned
from linkduty_shared.api.deps import Context
from linkduty_shared.api.etag import parse_if_match
from linkduty_shared.api.openapi import problem_responses

from units.api.deps import IfMatch, Operator, Reader, RecordsService
from units.api.schemas import FindingIn, PatrolIn, PatrolList, PatrolOut, SummaryIn
from units.domain.patrol import JointPatrol
from units.projections.joint_records import list_patrols

router = APIRouter(prefix="/v1/patrols", tags=["joint records"])


def patrol_view(p: JointPatrol) -> dict:
    return {
        "patrol_id": p.id, "status": p.status, "division_code": p.division_code, "forces": list(p.forces),
        "planned_start": p.planned_start, "planned_end": p.planned_end, "started_at": p.started_at,
        "completed_at": p.completed_at, "summary": p.summary, "version": p.version,
        "findings": [{"text": f.text, "hazard_kind": f.hazard_kind, "at": f.at,
                      "location": None if f.lat is None else {"lat": f.lat, "lon": f.lon}} for f in p.findings],
    }


def _answer(patrol: JointPatrol, response: Response, status: int | None = None, location: str | None = None) -> dict:
    return versioned(response, patrol_view(patrol), patrol.version, status=status, location=location)


@router.post("", status_code=201, summary="Plan a joint prevention patrol (联防)", response_model=PatrolOut,
             responses=problem_responses(404))
async def plan_patrol(body: PatrolIn, response: Response, records: RecordsService, principal: Operator,
                      ctx: Context) -> dict:
    """422 for an unknown division or forces (`unknown` lists them); 404 for a division outside the
    caller's jurisdiction."""
    patrol = await records.plan_patrol(ctx, principal, division_code=body.division_code, forces=body.forces,
                                       start=body.planned_start, end=body.planned_end)
    return _answer(patrol, response, 201, f"/v1/patrols/{patrol.id}")


@router.get("", summary="Joint patrols inside the caller's jurisdiction (or one division of it)",
            response_model=PatrolList)
async def patrols(records: RecordsService, principal: Reader, division: str | None = None,
                  status: Literal["planned", "started", "completed"] | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    async with records.store.pool.acquire() as conn:
        rows = await list_patrols(conn, jurisdiction=list(principal.jurisdiction), division=division, status=status,
                                  limit=limit)
    return {"patrols": [json_row(r, leave_out=("within",)) for r in rows]}


@router.get("/{patrol_id}", response_model=PatrolOut)
async def read_patrol(patrol_id: str, response: Response, records: RecordsService, principal: Reader) -> dict:
    return _answer(await records.read_patrol(patrol_id, principal), response)


@router.post("/{patrol_id}/start", summary="The patrol sets out (409 unless planned)", response_model=PatrolOut)
async def start_patrol(patrol_id: str, response: Response, records: RecordsService, principal: Operator,
                       ctx: Context, if_match: IfMatch = None) -> dict:
    patrol = await records.start_patrol(patrol_id, ctx, principal, expected_version=parse_if_match(if_match))
    return _answer(patrol, response)


@router.post("/{patrol_id}/findings", status_code=201, summary="Log a finding (409 unless started)",
             response_model=PatrolOut)
async def log_finding(patrol_id: str, body: FindingIn, response: Response, records: RecordsService,
                      principal: Operator, ctx: Context, if_match: IfMatch = None) -> dict:
    """422 for a text carrying a phone or ID number, or a location outside the patrol's division."""
    patrol = await records.log_finding(patrol_id, ctx, principal, text=body.text, hazard_kind=body.hazard_kind,
                                       lat=body.lat, lon=body.lon, expected_version=parse_if_match(if_match))
    return _answer(patrol, response, 201)


@router.post("/{patrol_id}/complete", summary="The patrol is done (409 unless started)", response_model=PatrolOut)
async def complete_patrol(patrol_id: str, body: SummaryIn, response: Response, records: RecordsService,
                          principal: Operator, ctx: Context, if_match: IfMatch = None) -> dict:
    patrol = await records.complete_patrol(patrol_id, ctx, principal, summary=body.summary,
                                           expected_version=parse_if_match(if_match))
    return _answer(patrol, response)

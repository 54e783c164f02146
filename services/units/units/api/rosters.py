"""联勤: a force's joint standby roster — its shifts on duty. A caller sees and changes the
rosters of the forces inside its jurisdiction (404 otherwise, as for a force that does not exist)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime

from linkduty_shared.api.answers import versioned
from linkduty_shared.api.deps import Context
from linkduty_shared.api.etag import parse_if_match
from linkduty_shared.auth import Principal

from units.api.deps import IfMatch, Operator, Reader, RecordsService
from units.api.schemas import NewShiftIn, RosterOut, ShiftIn
from units.application import ForceRoster, JointRecords

router = APIRouter(tags=["joint records"])
ShiftId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]


def roster_view(found: ForceRoster, since: dt.datetime, now: dt.datetime) -> dict:
    roster = found.roster
    return {
        "unit_id": found.force_id, "division_code": found.division_code, "rostered": roster.exists,
        "on_duty_now": not roster.exists or any(s.start <= now < s.end for s in roster.shifts.values()),
        "shifts": [{"shift_id": s.shift_id, "start": s.start.isoformat(), "end": s.end.isoformat(),
                    "members": s.members} for s in roster.upcoming(since)],
        "version": roster.version,
    }


@router.get("/v1/units/{unit_id}/roster", summary="A force's standby roster: shifts not ended by `since` (now)",
            response_model=RosterOut)
async def read_roster(unit_id: str, response: Response, records: RecordsService, principal: Reader,
                      since: AwareDatetime | None = None) -> dict:
    found = await records.read_roster(unit_id, principal)
    now = records.clock()
    return versioned(response, roster_view(found, since or now, now), found.roster.version)


async def _schedule(unit_id: str, shift_id: str, body: ShiftIn, response: Response, records: JointRecords,
                    principal: Principal, ctx, if_match: str | None) -> dict:
    found = await records.schedule_shift(unit_id, shift_id, ctx, principal, start=body.start, end=body.end,
                                         members=body.members, expected_version=parse_if_match(if_match))
    now = records.clock()
    return versioned(response, roster_view(found, now, now), found.roster.version,
                     status=201 if found.scheduled else 200, location=f"/v1/units/{unit_id}/roster/shifts/{shift_id}")


@router.post("/v1/units/{unit_id}/roster/shifts", status_code=201, response_model=RosterOut,
             responses={200: {"model": RosterOut, "description": "The same shift again: nothing new"}},
             summary="Schedule a shift (id chosen here unless given)")
async def add_shift(unit_id: str, body: NewShiftIn, response: Response, records: RecordsService, principal: Operator,
                    ctx: Context, if_match: IfMatch = None) -> dict:
    """422 for a shift overlapping another of the force's shifts."""
    return await _schedule(unit_id, body.shift_id or str(uuid.uuid4()), body, response, records, principal, ctx,
                           if_match)


@router.put("/v1/units/{unit_id}/roster/shifts/{shift_id}", response_model=RosterOut,
            responses={201: {"model": RosterOut, "description": "The shift was scheduled"}},
            summary="Schedule the shift `shift_id` (the same again: no-op)")
async def put_shift(unit_id: str, shift_id: ShiftId, body: ShiftIn, response: Response, records: RecordsService,
                    principal: Operator, ctx: Context, if_match: IfMatch = None) -> dict:
    return await _schedule(unit_id, shift_id, body, response, records, principal, ctx, if_match)


@router.delete("/v1/units/{unit_id}/roster/shifts/{shift_id}", summary="Cancel a shift", response_model=RosterOut)
async def cancel_shift(unit_id: str, shift_id: str, response: Response, records: RecordsService, principal: Operator,
                       ctx: Context, reason: Annotated[str, Query(max_length=1000)] = "",
                       if_match: IfMatch = None) -> dict:
    found = await records.cancel_shift(unit_id, shift_id, ctx, principal, reason=reason,
                                       expected_version=parse_if_match(if_match))
    now = records.clock()
    return versioned(response, roster_view(found, now, now), found.roster.version)

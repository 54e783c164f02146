"""The alarms API: intake (JSON or CAP 1.2), reads (JSON or CAP), and the alarm's lifecycle."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from linkduty_shared.api.deps import Context, require_scopes
from linkduty_shared.api.answers import json_row, versioned
from linkduty_shared.api.etag import MAX_VERSION, etag, parse_if_match
from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import Principal
from linkduty_shared.cap import (
    CAP_CONTENT_TYPE,
    CapAlert,
    CapError,
    CapForbiddenMarkupError,
    CapTooLargeError,
    parse_cap,
    to_cap_xml,
)

from alarms.api.deps import Service
from alarms.api.schemas import (
    AcknowledgedOut,
    AlarmList,
    AlarmOut,
    Outcome,
    Reason,
    ReportAlarmIn,
    ReportedOut,
    alarm_view,
)
from alarms.application import ReportAlarm, Reported
from alarms.cap_mapping import alarm_to_cap
from alarms.projections.open_alarms import list_alarms

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/alarms", tags=["alarms"])

Reporter = Annotated[Principal, require_scopes("alarms:report")]
Reader = Annotated[Principal, require_scopes("alarms:read")]
Operator = Annotated[Principal, require_scopes("alarms:operate")]
Acknowledger = Annotated[Principal, require_scopes("alarms:acknowledge")]
IfMatch = Annotated[str | None, Header()]

_INTAKE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ReportAlarmIn.model_json_schema()},
            CAP_CONTENT_TYPE: {"schema": {"type": "string", "description": "an OASIS CAP 1.2 alert"}},
        },
    }
}


def _answer(service, alarm, response: Response, status: int, **extra) -> dict:
    body = {**alarm_view(alarm, service.division_names(alarm.jurisdiction)), **extra}
    return versioned(response, body, alarm.version, status=status, location=f"/v1/alarms/{alarm.id}")


def _reported(service, outcome: Reported, response: Response) -> dict:
    return _answer(service, outcome.alarm, response, 200 if outcome.linked else 201, linked=outcome.linked,
                   call_id=outcome.call_id)


@router.post("", status_code=201, openapi_extra=_INTAKE_BODY, responses=problem_responses(415),
             response_model=ReportedOut | AlarmOut,
             summary="Report an alarm (JSON) or take in a CAP 1.2 alert (application/cap+xml)")
async def report_alarm(request: Request, response: Response, service: Service, principal: Reporter,
                       ctx: Context) -> dict:
    """201 with a new alarm, or 200 with the open alarm the call was linked to as a duplicate (or
    that a CAP Update or Cancel changed)."""
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in (CAP_CONTENT_TYPE, "application/xml", "text/xml"):
        outcome = await service.take_cap(_parse_cap(body, principal), ctx, principal)
        if isinstance(outcome, Reported):
            return _reported(service, outcome, response)
        return _answer(service, outcome, response, 200)
    if content_type not in ("application/json", ""):
        raise Problem(415, "unsupported-media-type", "Unsupported Content-Type",
                      f"send application/json or {CAP_CONTENT_TYPE}, not {content_type}")
    try:
        data = ReportAlarmIn.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None
    cmd = ReportAlarm(
        source=data.source, received_at=data.received_at or service.clock(), kind=data.kind, severity=data.severity,
        description=data.description, lat=data.location.lat, lon=data.location.lon, address=data.location.address,
        caller_phone=data.caller.phone if data.caller else None, call_id=data.call_id, place=data.location.place,
    )
    return _reported(service, await service.report(cmd, ctx, principal), response)


def _parse_cap(body: bytes, principal: Principal) -> CapAlert:
    try:
        return parse_cap(body)
    except CapTooLargeError as exc:
        raise Problem(413, "payload-too-large", "CAP alert too large", str(exc)) from None
    except CapForbiddenMarkupError as exc:
        log.warning("refused CAP markup from %s: %s", principal.client_id, exc)  # likely an attack
        raise Problem(400, "invalid-cap", "Not a valid CAP 1.2 alert", str(exc)) from None
    except CapError as exc:
        raise Problem(400, "invalid-cap", "Not a valid CAP 1.2 alert", str(exc)) from None


@router.get("", summary="Alarms inside the caller's jurisdiction, newest first", response_model=AlarmList)
async def list_visible(service: Service, principal: Reader, open_only: Annotated[bool, Query(alias="open")] = True,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    async with service.store.pool.acquire() as conn:
        rows = await list_alarms(conn, within=list(principal.jurisdiction), open_only=open_only, limit=limit)
    return {"alarms": [json_row(r) for r in rows]}


@router.get("/{alarm_id}", response_model=AlarmOut,
            responses={200: {"content": {CAP_CONTENT_TYPE: {"schema": {"type": "string"}}}}})
async def get_alarm(alarm_id: str, request: Request, service: Service, principal: Reader,
                    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
                    as_of: Annotated[dt.datetime | None, Query()] = None):
    """The alarm now, or as it was at `version` or `as_of`. `Accept: application/cap+xml` for CAP 1.2."""
    alarm = await service.read(alarm_id, principal, version=version, as_of=as_of)
    headers = {"ETag": etag(alarm.version)}
    if CAP_CONTENT_TYPE in request.headers.get("accept", ""):
        return Response(to_cap_xml(alarm_to_cap(alarm)), media_type=CAP_CONTENT_TYPE, headers=headers)
    return JSONResponse(alarm_view(alarm, service.division_names(alarm.jurisdiction)), headers=headers)


async def _act(alarm_id: str, decide, service, principal: Principal, ctx, if_match: str | None,
               response: Response) -> dict:
    """The shape of every lifecycle command: on an alarm the caller may see, at the version it names."""
    alarm = await service.change(alarm_id, decide, ctx, principal, expected_version=parse_if_match(if_match))
    return _answer(service, alarm, response, 200)


@router.post("/{alarm_id}/acknowledgements", status_code=201, response_model=AcknowledgedOut)
async def acknowledge(alarm_id: str, response: Response, service: Service, principal: Acknowledger, ctx: Context) -> dict:
    """The caller's operations centre (the token's `centre` claim) acknowledges the alarm."""
    alarm, centre_id, level = await service.acknowledge(alarm_id, ctx, principal)
    return _answer(service, alarm, response, 201, acknowledged_by=centre_id, level=level)


@router.post("/{alarm_id}/verification", response_model=AlarmOut)
async def verify(alarm_id: str, response: Response, service: Service, principal: Operator, ctx: Context,
                 if_match: IfMatch = None) -> dict:
    return await _act(alarm_id, lambda a: a.verify(by=principal.client_id), service, principal, ctx, if_match, response)


@router.post("/{alarm_id}/false-alarm", response_model=AlarmOut)
async def mark_false(alarm_id: str, body: Reason, response: Response, service: Service, principal: Operator,
                     ctx: Context, if_match: IfMatch = None) -> dict:
    return await _act(alarm_id, lambda a: a.mark_false(principal.client_id, body.reason), service, principal, ctx,
                      if_match, response)


@router.post("/{alarm_id}/control", response_model=AlarmOut)
async def control(alarm_id: str, response: Response, service: Service, principal: Operator, ctx: Context,
                  if_match: IfMatch = None) -> dict:
    return await _act(alarm_id, lambda a: a.control(principal.client_id), service, principal, ctx, if_match, response)


@router.post("/{alarm_id}/cancellation", response_model=AlarmOut)
async def cancel(alarm_id: str, body: Reason, response: Response, service: Service, principal: Operator,
                 ctx: Context, if_match: IfMatch = None) -> dict:
    return await _act(alarm_id, lambda a: a.cancel(principal.client_id, body.reason), service, principal, ctx,
                      if_match, response)


@router.post("/{alarm_id}/closure", response_model=AlarmOut)
async def close(alarm_id: str, body: Outcome, response: Response, service: Service, principal: Operator,
                ctx: Context, if_match: IfMatch = None) -> dict:
    return await _act(alarm_id, lambda a: a.close(principal.client_id, body.outcome), service, principal, ctx,
                      if_match, response)


@router.post("/{alarm_id}/calls/{call_id}/split", status_code=201, response_model=AlarmOut)
async def split_call(alarm_id: str, call_id: str, response: Response, service: Service, principal: Operator,
                     ctx: Context) -> dict:
    """Split a wrongly merged call out into a new alarm (201 with the new alarm)."""
    new_alarm = await service.split_call(alarm_id, call_id, ctx, principal)
    return _answer(service, new_alarm, response, 201)

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
    CapError,
    CapForbiddenMarkupError,
    CapTooLargeError,
    parse_cap,
    to_cap_xml,
)

from alarms.api.deps import Service, can_see, require_visible
from alarms.api.schemas import Outcome, Reason, ReportAlarmIn, alarm_view
from alarms.application import ReportAlarm
from alarms.cap_mapping import alarm_to_cap, changes_from_cap, report_from_cap
from alarms.domain.values import refuse_future
from alarms.projections.cap_messages import alarm_for_references, known_message
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


def _names(service, jurisdiction: dict) -> dict[str, str]:
    return {level: service.directory.division(code).name for level, code in jurisdiction.items() if level != "grid"}


def _answer(service, alarm, response: Response, status: int) -> dict:
    return versioned(response, alarm_view(alarm, _names(service, alarm.jurisdiction)), alarm.version, status=status,
                     location=f"/v1/alarms/{alarm.id}")


@router.post("", status_code=201, openapi_extra=_INTAKE_BODY, responses=problem_responses(415),
             summary="Report an alarm (JSON) or take in a CAP 1.2 alert (application/cap+xml)")
async def report_alarm(request: Request, response: Response, service: Service, principal: Reporter,
                       ctx: Context) -> dict:
    """201 with a new alarm, or 200 with the open alarm the call was linked to as a duplicate."""
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in (CAP_CONTENT_TYPE, "application/xml", "text/xml"):
        return await _take_cap(body, response, service, principal, ctx)
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
        caller_phone=data.caller.phone if data.caller else None, call_id=data.call_id,
    )
    return await _report(cmd, response, service, principal, ctx)


async def _report(cmd: ReportAlarm, response: Response, service, principal: Principal, ctx) -> dict:
    chain = service.resolve(cmd.lat, cmd.lon)
    if not can_see(principal, {d.level.value: d.code for d in chain.divisions()}):
        raise Problem(403, "outside-your-jurisdiction", "Location is outside your jurisdiction",
                      f"{chain.community.name} ({chain.community.code}) is not in your jurisdiction claim")
    outcome = await service.report(cmd, ctx, chain, within=principal.jurisdiction)
    body = _answer(service, outcome.alarm, response, 200 if outcome.linked else 201)
    return {**body, "linked": outcome.linked, "call_id": outcome.call_id}


async def _take_cap(body: bytes, response: Response, service, principal: Principal, ctx) -> dict:
    try:
        alert = parse_cap(body)
    except CapTooLargeError as exc:
        raise Problem(413, "payload-too-large", "CAP alert too large", str(exc)) from None
    except CapForbiddenMarkupError as exc:
        log.warning("refused CAP markup from %s: %s", principal.client_id, exc)  # likely an attack
        raise Problem(400, "invalid-cap", "Not a valid CAP 1.2 alert", str(exc)) from None
    except CapError as exc:
        raise Problem(400, "invalid-cap", "Not a valid CAP 1.2 alert", str(exc)) from None
    if alert.status != "Actual":
        raise Problem(422, "cap-status-not-accepted", "Only Actual alerts become alarms",
                      f"status {alert.status} is not acted on")
    async with service.store.pool.acquire() as conn:
        if await known_message(conn, alert.sender, alert.identifier):
            raise Problem(409, "cap-already-received", "This CAP message was already taken in",
                          f"{alert.sender}/{alert.identifier}")
        target = await alarm_for_references(conn, [(r.sender, r.identifier) for r in alert.references])
    if alert.msg_type == "Alert":
        return await _report(report_from_cap(alert), response, service, principal, ctx)
    if alert.msg_type not in ("Update", "Cancel"):
        raise Problem(422, "cap-msgtype-not-accepted", f"CAP {alert.msg_type} messages are not acted on",
                      "send Alert, Update or Cancel")
    if target is None:
        refs = ", ".join(f"{r.sender}/{r.identifier}" for r in alert.references)
        raise Problem(422, "unknown-referenced-alert", "The referenced alert is unknown here",
                      f"no alarm was made from {refs}")
    principal.require("alarms:operate")  # changing an alarm is more than reporting one
    alarm = await service.repo.get(target)
    require_visible(principal, alarm)
    if alarm.cap and alarm.cap["sender"] != alert.sender:
        raise Problem(403, "not-the-original-sender", "Only the alert's sender may update or cancel it",
                      f"the alarm came from {alarm.cap['sender']}")
    refuse_future(alert.sent, service.clock(), "sent")
    ref = {"identifier": alert.identifier, "sender": alert.sender, "sent": alert.sent.isoformat()}
    if alert.msg_type == "Update":
        changes = changes_from_cap(alert)
        alarm = await service.repo.execute(target, lambda a: a.update(changes, by=alert.sender, cap=ref), ctx)
    else:
        alarm = await service.repo.execute(
            target, lambda a: a.cancel(by=alert.sender, reason=alert.note or "cancelled by CAP", cap=ref), ctx)
    return _answer(service, alarm, response, 200)


@router.get("", summary="Alarms inside the caller's jurisdiction, newest first")
async def list_visible(service: Service, principal: Reader, open_only: Annotated[bool, Query(alias="open")] = True,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    async with service.store.pool.acquire() as conn:
        rows = await list_alarms(conn, within=list(principal.jurisdiction), open_only=open_only, limit=limit)
    return {"alarms": [json_row(r) for r in rows]}


@router.get("/{alarm_id}", responses={200: {"content": {CAP_CONTENT_TYPE: {}}}})
async def get_alarm(alarm_id: str, request: Request, service: Service, principal: Reader,
                    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
                    as_of: Annotated[dt.datetime | None, Query()] = None):
    """The alarm now, or as it was at `version` or `as_of`. `Accept: application/cap+xml` for CAP 1.2."""
    alarm = await service.repo.get(alarm_id, up_to_version=version, as_of=as_of)
    require_visible(principal, alarm)
    headers = {"ETag": etag(alarm.version)}
    if CAP_CONTENT_TYPE in request.headers.get("accept", ""):
        return Response(to_cap_xml(alarm_to_cap(alarm)), media_type=CAP_CONTENT_TYPE, headers=headers)
    return JSONResponse(alarm_view(alarm, _names(service, alarm.jurisdiction)), headers=headers)


async def _act(alarm_id: str, decide, service, principal: Principal, ctx, if_match: str | None,
               response: Response) -> dict:
    """Load, check the caller may see it, decide, append: the shape of every lifecycle command."""
    require_visible(principal, await service.repo.get(alarm_id))
    alarm = await service.repo.execute(alarm_id, decide, ctx, expected_version=parse_if_match(if_match))
    return _answer(service, alarm, response, 200)


@router.post("/{alarm_id}/acknowledgements", status_code=201)
async def acknowledge(alarm_id: str, response: Response, service: Service, principal: Acknowledger, ctx: Context) -> dict:
    """The caller's operations centre (the token's `centre` claim) acknowledges the alarm."""
    if not principal.centre:
        raise Problem(403, "not-a-centre", "Only an operations centre acknowledges", "the token has no centre claim")
    try:
        centre = service.directory.centre(principal.centre)
    except KeyError:
        raise Problem(403, "unknown-centre", "Unknown operations centre", principal.centre) from None
    alarm = await service.repo.get(alarm_id)
    require_visible(principal, alarm)
    level = service.level_of_centre(alarm, centre.division_code)
    if level is None:
        raise Problem(403, "not-responsible", "This centre is not in the alarm's chain",
                      f"{centre.name} does not cover {alarm.jurisdiction['community']}")
    alarm = await service.repo.execute(alarm_id, lambda a: a.acknowledge(centre.id, level, by=principal.client_id), ctx)
    body = _answer(service, alarm, response, 201)
    return {**body, "acknowledged_by": centre.id, "level": level}


@router.post("/{alarm_id}/verification")
async def verify(alarm_id: str, response: Response, service: Service, principal: Operator, ctx: Context,
                 if_match: IfMatch = None) -> dict:
    return await _act(alarm_id, lambda a: a.verify(by=principal.client_id), service, principal, ctx, if_match, response)


@router.post("/{alarm_id}/false-alarm")
async def mark_false(alarm_id: str, body: Reason, response: Response, service: Service, principal: Operator,
                     ctx: Context, if_match: IfMatch = None) -> dict:
    return await _act(alarm_id, lambda a: a.mark_false(principal.client_id, body.reason), service, principal, ctx,
                      if_match, response)


@router.post("/{alarm_id}/control")
async def control(alarm_id: str, response: Response, service: Service, principal: Operator, ctx: Context,
                  if_match: IfMatch = None) -> dict:
    return await _act(alarm_id, lambda a: a.control(principal.client_id), service, principal, ctx, if_match, response)


@router.post("/{alarm_id}/cancellation")
async def cancel(alarm_id: str, body: Reason, response: Response, service: Service, principal: Operator,
                 ctx: Context, if_match: IfMatch = None) -> dict:
    return await _act(alarm_id, lambda a: a.cancel(principal.client_id, body.reason), service, principal, ctx,
                      if_match, response)


@router.post("/{alarm_id}/closure")
async def close(alarm_id: str, body: Outcome, response: Response, service: Service, principal: Operator,
                ctx: Context, if_match: IfMatch = None) -> dict:
    return await _act(alarm_id, lambda a: a.close(principal.client_id, body.outcome), service, principal, ctx,
                      if_match, response)


@router.post("/{alarm_id}/calls/{call_id}/split", status_code=201)
async def split_call(alarm_id: str, call_id: str, response: Response, service: Service, principal: Operator,
                     ctx: Context) -> dict:
    """Split a wrongly merged call out into a new alarm (201 with the new alarm)."""
    require_visible(principal, await service.repo.get(alarm_id))
    new_alarm = await service.split_call(alarm_id, call_id, ctx)
    return _answer(service, new_alarm, response, 201)

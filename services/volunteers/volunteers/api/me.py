"""The volunteer's own app: going on and off duty (the position the alerts are matched against),
the alerts it got and its answers (accept with an ETA, decline, report from the scene), the
orders it may claim or was given (接单, decline, complete), and its star application.

Who: a token with `volunteers:respond` whose subject is `volunteer:<volunteer id>` (the identity
provider issues one to an approved volunteer's app). Anything else is a 403: nobody answers for
another volunteer."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from linkduty_shared.api.answers import json_row
from linkduty_shared.api.deps import Context, require_scopes
from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.api.problems import Problem
from linkduty_shared.api.sse import sse_comment, sse_event, sse_retry
from linkduty_shared.auth import Principal

from volunteers import positions
from volunteers.alert_stream import TooManyStreams
from volunteers.api.orders import answer as order_answer
from volunteers.api.orders import orders_of
from volunteers.api.responses import response_view, responses_of
from volunteers.api.schemas import (
    AcceptIn,
    AlertsOut,
    CompletionIn,
    DeclineIn,
    OrderOut,
    OrderPage,
    PositionIn,
    PositionOut,
    ResponseOut,
    SceneReportIn,
    VolunteerOut,
)
from volunteers.api.volunteers import _answer as volunteer_answer
from volunteers.api.volunteers import service_of
from volunteers.application.errors import NotAVolunteerToken
from volunteers.projections.alerts import alerts_of
from volunteers.projections.order_list import list_orders
from volunteers.projections.volunteer_list import FIRST_PAGE

router = APIRouter(prefix="/v1/me", tags=["the volunteer's app"])
PREFIX = "volunteer:"


VolunteerApp = Annotated[Principal, require_scopes("volunteers:respond")]


def volunteer_of(principal: Principal) -> str:
    if not principal.client_id.startswith(PREFIX) or len(principal.client_id) <= len(PREFIX):
        raise NotAVolunteerToken(f"the token's subject {principal.client_id[:80]!r} is not volunteer:<id>")
    return principal.client_id[len(PREFIX):]


async def _me(principal: VolunteerApp) -> str:
    return volunteer_of(principal)


Me = Annotated[str, Depends(_me)]
HEARTBEAT_S = 15.0


# ---- on duty -----------------------------------------------------------------------------------

@router.put("/position", response_model=PositionOut, responses=problem_responses(409),
            summary="On duty here: the position alerts are matched against (fresh for a few minutes)")
async def report_position(body: PositionIn, request: Request, me: Me) -> dict:
    """409 `not-fit-for-duty` for a volunteer off the duty roll (not approved, not insured today):
    their position is not kept."""
    service = responses_of(request)
    await service.report_position(me, lat=body.lat, lon=body.lon, accuracy_m=body.accuracy_m)
    return {"on_duty": True, "reported_at": service.clock(), "fresh_for_s": service.position_fresh.total_seconds()}


@router.delete("/position", response_model=PositionOut, summary="Off duty: the position is deleted")
async def go_off_duty(request: Request, me: Me) -> dict:
    service = responses_of(request)
    await service.go_off_duty(me)
    return {"on_duty": False, "reported_at": None, "fresh_for_s": service.position_fresh.total_seconds()}


@router.get("/position", response_model=PositionOut, summary="Whether the app counts as on duty now")
async def position(request: Request, me: Me) -> dict:
    service = responses_of(request)
    async with service.pool.acquire() as conn:
        row = await positions.of(conn, me)
    fresh = row is not None and row["reported_at"] >= service.clock() - service.position_fresh
    return {"on_duty": fresh, "reported_at": row["reported_at"] if row else None,
            "fresh_for_s": service.position_fresh.total_seconds()}


# ---- alerts ------------------------------------------------------------------------------------

@router.get("/alerts", response_model=AlertsOut, summary="The alerts this volunteer got, newest first")
async def alerts(request: Request, me: Me, open: bool = False,
                 limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict:
    """`open=true`: only those still waiting for an answer (not stood down)."""
    async with responses_of(request).pool.acquire() as conn:
        rows = await alerts_of(conn, me, open_only=open, limit=limit)
    return {"alerts": [json_row(r) for r in rows]}


@router.get("/alerts/stream", responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                                            "description": "`event: alert`, one AlertOut each"}, 503: {}},
            summary="The volunteer's own alert stream (SSE): open alerts first, then each change as it commits")
async def alert_stream(request: Request, principal: VolunteerApp) -> StreamingResponse:
    """Every alert still waiting for an answer, then each new alert or change of one (accepted,
    declined, stood down) the moment it is committed. Ends when the token expires (reconnect
    with a new one: the open alerts come first again). 503 when this replica holds as many
    streams as it may, or this volunteer three already."""
    me, hub, pool = volunteer_of(principal), request.app.state.alert_hub, responses_of(request).pool
    try:
        doorbell = hub.subscribe(me)
    except TooManyStreams:
        raise Problem(503, "too-many-streams", "Too many alert streams", "close one, or try another replica") from None

    async def frames():
        sent: dict[str, str] = {}  # alarm id → the status last sent
        try:
            yield sse_retry(2000)
            first = True
            while principal.expires_at is None or time.time() < principal.expires_at:
                async with pool.acquire() as conn:
                    rows = await alerts_of(conn, me, open_only=False, limit=20)
                for row in reversed(rows):  # oldest first
                    changed = sent.get(row["alarm_id"]) != row["status"]
                    sent[row["alarm_id"]] = row["status"]
                    if changed and (not first or row["status"] == "alerted"):  # on opening: the open ones
                        yield sse_event(orjson.dumps(json_row(row)).decode(), event="alert", id=row["alarm_id"])
                first = False
                try:
                    await asyncio.wait_for(doorbell.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield sse_comment("heartbeat")
            yield sse_event('{"reason":"the access token expired: reconnect with a new one"}', event="token-expired")
        finally:
            hub.unsubscribe(me, doorbell)

    return StreamingResponse(frames(), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


@router.post("/alerts/{alarm_id}/acceptance", response_model=ResponseOut, responses=problem_responses(409),
             summary="Coming, with an ETA")
async def accept(alarm_id: str, body: AcceptIn, request: Request, me: Me, ctx: Context) -> dict:
    """403 unless alerted for this alarm; 409 when stood down (enough are coming, or the alarm
    closed) or no longer fit for duty (`missing` names what)."""
    service = responses_of(request)
    return response_view(await service.answer(alarm_id, me, ctx, accept=True, eta_minutes=body.eta_minutes))


@router.post("/alerts/{alarm_id}/decline", response_model=ResponseOut, summary="Not coming")
async def decline(alarm_id: str, request: Request, me: Me, ctx: Context) -> dict:
    return response_view(await responses_of(request).answer(alarm_id, me, ctx, accept=False))


@router.post("/alerts/{alarm_id}/scene-reports", response_model=ResponseOut, status_code=201,
             summary="From the scene: position, assessment, photos, how to get the appliance in")
async def scene_report(alarm_id: str, body: SceneReportIn, request: Request, me: Me, ctx: Context) -> dict:
    """403 unless this volunteer accepted the alert."""
    r = await responses_of(request).report_scene(
        alarm_id, me, ctx, lat=body.lat, lon=body.lon, assessment=body.assessment,
        guidance=tuple(g.model_dump() for g in body.guidance), photos=tuple(body.photos))
    return response_view(r)


# ---- orders ------------------------------------------------------------------------------------

@router.get("/orders", response_model=OrderPage, summary="Orders published in the volunteer's street to claim")
async def claimable(request: Request, me: Me, limit: Annotated[int, Query(ge=1, le=100)] = 50) -> dict:
    service = orders_of(request)
    volunteer = await service.volunteers.repo.load(me)
    within = [volunteer.jurisdiction[level] for level in ("community", "street") if volunteer.jurisdiction]
    async with service.volunteers.store.pool.acquire() as conn:
        rows = await list_orders(conn, within=within, limit=limit, status="published", kind=None, after=FIRST_PAGE)
    return {"orders": [json_row(r) for r in rows], "next_cursor": None}


@router.post("/orders/{order_id}/acceptance", response_model=OrderOut, responses=problem_responses(409),
             summary="Take the order (接单)")
async def accept_order(order_id: str, request: Request, response: Response, me: Me, ctx: Context) -> dict:
    """403 when it is assigned to someone else; 409 `not-fit-for-duty` naming what is missing
    (the kind's courses, insurance, grade)."""
    return order_answer(response, await orders_of(request).answer(order_id, me, ctx, accept=True))


@router.post("/orders/{order_id}/decline", response_model=OrderOut, summary="Decline an order assigned to you")
async def decline_order(order_id: str, body: DeclineIn, request: Request, response: Response, me: Me,
                        ctx: Context) -> dict:
    return order_answer(response, await orders_of(request).answer(order_id, me, ctx, accept=False,
                                                                  reason=body.reason))


@router.post("/orders/{order_id}/completion", response_model=OrderOut,
             summary="Done: the report, photos, the time it took, and hazards found (filed with the hazards service)")
async def complete(order_id: str, body: CompletionIn, request: Request, response: Response, me: Me,
                   ctx: Context) -> dict:
    o = await orders_of(request).complete(order_id, me, ctx, report=body.report, photos=tuple(body.photos),
                                          hours_spent=body.hours_spent,
                                          hazards_found=tuple(h.model_dump() for h in body.hazards_found))
    return order_answer(response, o)


# ---- stars -------------------------------------------------------------------------------------

@router.post("/star-applications", response_model=VolunteerOut, responses=problem_responses(409),
             summary="Apply for star certification (星级认证) by the hours in the ledger")
async def star_application(request: Request, response: Response, me: Me, ctx: Context) -> dict:
    """409 `not-enough-hours` naming the hours held and those the next star needs."""
    service = service_of(request)
    return volunteer_answer(response, service, await service.certify_stars(me, ctx))

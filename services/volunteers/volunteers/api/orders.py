"""Service orders (三单): ordered (点单) by a resident's app or a community, assigned or published
(派单) by the community or the fire service, confirmed and rated by whoever ordered. The
volunteer's side (接单, completing) is in `api.me`.

Who: `volunteers:order` orders, confirms and cancels its own orders; `volunteers:assign` (a
community, a street, a fire station) reads, assigns, publishes and cancels orders inside its
jurisdiction, and reads an order's contact (`…/contact`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from linkduty_shared.api.answers import json_row, versioned
from linkduty_shared.api.cursors import MAX_CURSOR, decode_cursor, next_cursor
from linkduty_shared.api.deps import Authenticated, Context, require_scopes
from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import Principal

from volunteers.api.schemas import (
    AssignmentIn,
    CancellationIn,
    ConfirmationIn,
    ContactOut,
    OrderIn,
    OrderKindsOut,
    OrderOut,
    OrderPage,
)
from volunteers.application.orders import Order, OrdersService
from volunteers.domain.order import ServiceOrder
from volunteers.projections.order_list import list_orders
from volunteers.projections.volunteer_list import FIRST_PAGE

router = APIRouter(prefix="/v1", tags=["service orders"])
Orderer = Annotated[Principal, require_scopes("volunteers:order")]
Assigner = Annotated[Principal, require_scopes("volunteers:assign")]


def orders_of(request: Request) -> OrdersService:
    return request.app.state.orders


def order_view(o: ServiceOrder) -> dict:
    p, done, ok = o.placed, o.completed, o.confirmed
    return {
        "order_id": o.id, "kind": p.kind, "domain": p.domain, "min_grade": p.min_grade, "status": o.status.value,
        "community": p.community, "jurisdiction": p.jurisdiction, "lat": p.lat, "lon": p.lon,
        "description": p.description, "address": p.address_masked, "contact": p.contact_masked,
        "wanted_from": p.wanted_from, "wanted_until": p.wanted_until, "requested_by": p.requested_by,
        "assigned_to": o.assigned_to, "answer_by": o.answer_by, "volunteer_id": o.volunteer_id,
        "completion": {"report": done.report, "photos": list(done.photos), "hours_spent": done.hours_spent,
                       "hazards_found": list(done.hazards_found), "at": done.at} if done else None,
        "confirmation": {"rating": ok.rating, "comment": ok.comment, "hours": ok.hours, "at": ok.at} if ok else None,
        "history": o.history, "version": o.version,
    }


def answer(response: Response, o: ServiceOrder, status: int | None = None) -> dict:
    return versioned(response, order_view(o), o.version, status=status, location=f"/v1/orders/{o.id}")


@router.get("/order-kinds", response_model=OrderKindsOut, summary="What can be ordered, and who may take it")
async def kinds(request: Request, _: Authenticated) -> dict:
    k = orders_of(request).kinds
    return {"version": k.version, "kinds": [vars(x) for x in k.kinds]}


@router.post("/orders", status_code=201, response_model=OrderOut, summary="Order a service (点单)")
async def place(body: OrderIn, request: Request, response: Response, principal: Orderer, ctx: Context) -> dict:
    """422 for an unknown kind or a community that is none; 403 for one outside the caller's
    jurisdiction. The address and the phone are kept in the vault and shown masked."""
    o = await orders_of(request).place(Order(body.kind, body.community, body.lat, body.lon, body.address,
                                             body.contact_phone, body.description, body.wanted_from,
                                             body.wanted_until), ctx, principal)
    return answer(response, o, 201)


@router.get("/orders", response_model=OrderPage, responses=problem_responses(400),
            summary="Orders in the caller's jurisdiction, newest first")
async def list_(request: Request, principal: Assigner,
                status: Annotated[str | None, Query(
                    pattern=r"^(placed|assigned|published|accepted|completed|confirmed|cancelled)$")] = None,
                kind: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                limit: Annotated[int, Query(ge=1, le=200)] = 50,
                cursor: Annotated[str | None, Query(min_length=1, max_length=MAX_CURSOR)] = None) -> dict:
    service = orders_of(request)
    async with service.volunteers.store.pool.acquire() as conn:
        rows = await list_orders(conn, within=principal.jurisdiction, limit=limit, status=status, kind=kind,
                                 after=decode_cursor(cursor) if cursor else FIRST_PAGE)
    return {"orders": [json_row(r) for r in rows], "next_cursor": next_cursor(rows, limit, "placed_at", "order_id")}


@router.get("/orders/{order_id}", response_model=OrderOut, summary="An order and every transition it went through")
async def read(order_id: str, request: Request, response: Response, principal: Assigner) -> dict:
    return answer(response, await orders_of(request).repo.get(order_id, visible_to=principal))


@router.get("/orders/{order_id}/contact", response_model=ContactOut, responses=problem_responses(404),
            summary="The order's address and phone, for its assigner")
async def contact(order_id: str, request: Request, principal: Assigner) -> dict:
    service = orders_of(request)
    revealed = await service.contact(await service.repo.get(order_id, visible_to=principal))
    if revealed is None:
        raise Problem(404, "personal-data-erased", "This order's contact was erased", order_id[:64])
    return revealed


@router.post("/orders/{order_id}/assignment", response_model=OrderOut,
             summary="Assign the order (派单) to a volunteer or a team")
async def assign(order_id: str, body: AssignmentIn, request: Request, response: Response, principal: Assigner,
                 ctx: Context) -> dict:
    """409 `not-fit-for-duty` naming what the volunteer lacks (the kind's courses, insurance,
    grade); 404 for a volunteer or team not found in the caller's jurisdiction."""
    o = await orders_of(request).assign(order_id, ctx, principal, volunteer_id=body.volunteer_id,
                                        team_id=body.team_id)
    return answer(response, o)


@router.post("/orders/{order_id}/publication", response_model=OrderOut,
             summary="Publish the order for any qualified volunteer to claim")
async def publish(order_id: str, request: Request, response: Response, principal: Assigner, ctx: Context) -> dict:
    return answer(response, await orders_of(request).publish(order_id, ctx, principal))


@router.post("/orders/{order_id}/confirmation", response_model=OrderOut,
             summary="Confirm and rate a completed order: its hours go to the volunteer's ledger")
async def confirm(order_id: str, body: ConfirmationIn, request: Request, response: Response, principal: Orderer,
                  ctx: Context) -> dict:
    """403 unless the caller ordered it; 409 unless completed."""
    o = await orders_of(request).confirm(order_id, ctx, principal, rating=body.rating, comment=body.comment,
                                         hours=body.hours)
    return answer(response, o)


@router.post("/orders/{order_id}/cancellation", response_model=OrderOut, summary="Cancel an order not yet completed")
async def cancel(order_id: str, body: CancellationIn, request: Request, response: Response,
                 principal: Authenticated, ctx: Context) -> dict:
    """By the one who ordered it, or an assigner of its community (`volunteers:assign`)."""
    if "volunteers:order" not in principal.scopes and "volunteers:assign" not in principal.scopes:
        raise Problem(403, "forbidden", "Forbidden", "cancelling needs volunteers:order or volunteers:assign")
    return answer(response, await orders_of(request).cancel(order_id, ctx, principal, reason=body.reason))

"""The registry and unit status: list and read units, register one, report a unit's status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from linkduty_shared.api.deps import Authenticated, Context
from linkduty_shared.api.answers import versioned
from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import Principal

from units.api.deps import Reader, Registrar, Service, require_visible
from units.api.schemas import ForceKind, RegisterUnitIn, StatusIn, board_view, unit_view
from units.projections.dispatch_orders import orders_for_unit
from units.projections.unit_board import list_units, unit_row

router = APIRouter(prefix="/v1/units", tags=["units"])


async def visible_unit(service, principal: Principal, unit_id: str):
    async with service.store.pool.acquire() as conn:
        row = await unit_row(conn, unit_id)
    if row is None:
        raise Problem(404, "not-found", "No such resource", f"unit {unit_id} does not exist")
    if principal.client_id != unit_id:  # a unit's own app always sees itself
        require_visible(principal, row["within"], f"unit {unit_id}")
    return row


async def require_speaks_for(service, principal: Principal, unit_id: str) -> None:
    """A unit's own app (client id = unit id, scope units:report) or a centre over it (units:operate)."""
    if principal.client_id == unit_id and "units:report" in principal.scopes:
        return
    principal.require("units:operate")
    await visible_unit(service, principal, unit_id)


@router.get("", summary="Units covering a division inside the caller's jurisdiction")
async def list_visible(service: Service, principal: Reader, kind: ForceKind | None = None,
                       status: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict:
    async with service.store.pool.acquire() as conn:
        rows = await list_units(conn, within=list(principal.jurisdiction), kind=kind, status=status, limit=limit)
    return {"units": [board_view(r) for r in rows]}


@router.post("", status_code=201, summary="Register a force (a civil rescue team, a new squad, …)")
async def register(body: RegisterUnitIn, response: Response, service: Service, principal: Registrar,
                   ctx: Context) -> dict:
    try:
        division = service.directory.division(body.division_code)
    except KeyError:
        raise Problem(422, "unknown-division", "Unknown division",
                      f"{body.division_code} is no division of {service.directory.city.name}") from None
    require_visible(principal, service.directory.lineage(division.code), f"division {division.code}")
    unit = await service.units.load(body.unit_id)
    if unit.exists:
        raise Problem(409, "already-registered", "Unit already registered", f"unit {body.unit_id} exists")
    unit = await service.register(body.unit_id, ctx, **body.model_dump(exclude={"unit_id"}))
    return versioned(response, unit_view(unit), unit.version, location=f"/v1/units/{unit.id}")


@router.get("/{unit_id}", summary="A unit, its status and its latest dispatch orders")
async def read_unit(unit_id: str, response: Response, service: Service, principal: Authenticated) -> dict:
    if principal.client_id != unit_id:
        principal.require("units:read")
    await visible_unit(service, principal, unit_id)
    unit = await service.units.get(unit_id)
    async with service.store.pool.acquire() as conn:
        orders = await orders_for_unit(conn, unit_id)
    return versioned(response, {**unit_view(unit), "orders": [
        {"alarm_id": o["alarm_id"], "role": o["role"], "status": o["status"], "issued_at": o["issued_at"].isoformat(),
         "answer_by": o["answer_by"].isoformat(), "eta_s": o["eta_s"]} for o in orders]}, unit.version)


@router.post("/{unit_id}/status", summary="Report a unit's status (from its app, or a centre for it)")
async def report_status(unit_id: str, body: StatusIn, response: Response, service: Service,
                        principal: Authenticated, ctx: Context) -> dict:
    """409 for a transition the state machine does not allow (e.g. on scene before being dispatched)."""
    await require_speaks_for(service, principal, unit_id)
    unit = await service.report_status(unit_id, body.status, ctx, reason=body.reason, eta_s=body.eta_s)
    return versioned(response, unit_view(unit), unit.version)

"""The registry and unit status: list and read units, register one, report a unit's status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from linkduty_shared.api.answers import versioned
from linkduty_shared.api.deps import Authenticated, Context
from linkduty_shared.api.openapi import problem_responses

from units.api.deps import DispatchService, Reader, Registrar, RegistryService
from units.api.schemas import (
    ForceKind,
    RegisterUnitIn,
    StatusIn,
    UnitList,
    UnitOut,
    UnitWithOrdersOut,
    board_view,
    unit_view,
)
from units.projections.dispatch_orders import orders_for_unit
from units.projections.unit_board import list_units

router = APIRouter(prefix="/v1/units", tags=["units"])


@router.get("", summary="Units covering a division inside the caller's jurisdiction", response_model=UnitList)
async def list_visible(registry: RegistryService, principal: Reader, kind: ForceKind | None = None,
                       status: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict:
    async with registry.store.pool.acquire() as conn:
        rows = await list_units(conn, within=list(principal.jurisdiction), kind=kind, status=status, limit=limit)
    return {"units": [board_view(r) for r in rows]}


@router.post("", status_code=201, summary="Register a force (a civil rescue team, a new squad, …)",
             response_model=UnitOut, responses=problem_responses(404))
async def register(body: RegisterUnitIn, response: Response, registry: RegistryService, principal: Registrar,
                   ctx: Context) -> dict:
    """404 for a division outside the caller's jurisdiction, 409 for a unit registered already."""
    unit = await registry.register(body.unit_id, ctx, principal, force_kind=body.force_kind, name=body.name,
                                   division_code=body.division_code, lat=body.lat, lon=body.lon,
                                   appliances=body.appliances, members=body.members, capabilities=body.capabilities)
    return versioned(response, unit_view(unit), unit.version, location=f"/v1/units/{unit.id}")


@router.get("/{unit_id}", summary="A unit, its status and its latest dispatch orders", response_model=UnitWithOrdersOut)
async def read_unit(unit_id: str, response: Response, registry: RegistryService, principal: Authenticated) -> dict:
    """A unit's own app (client id = unit id) reads itself; anyone else needs units:read."""
    if principal.client_id != unit_id:
        principal.require("units:read")
    unit = await registry.read(unit_id, principal)
    async with registry.store.pool.acquire() as conn:
        orders = await orders_for_unit(conn, unit_id)
    return versioned(response, {**unit_view(unit), "orders": [
        {"alarm_id": o["alarm_id"], "role": o["role"], "status": o["status"], "issued_at": o["issued_at"].isoformat(),
         "answer_by": o["answer_by"].isoformat(), "eta_s": o["eta_s"]} for o in orders]}, unit.version)


@router.post("/{unit_id}/status", summary="Report a unit's status (from its app, or a centre for it)",
             response_model=UnitOut)
async def report_status(unit_id: str, body: StatusIn, response: Response, dispatcher: DispatchService,
                        principal: Authenticated, ctx: Context) -> dict:
    """409 for a transition the state machine does not allow (e.g. on scene before being dispatched)."""
    unit = await dispatcher.report_status(unit_id, ctx, principal, status=body.status, reason=body.reason,
                                          eta_s=body.eta_s)
    return versioned(response, unit_view(unit), unit.version)

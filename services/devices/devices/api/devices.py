"""Devices (联网式烟感): registration, whom a detector watches over, maintenance, state.

Who: `devices:register` registers devices, links them and records maintenance (community staff,
the installer); `devices:read` reads them in its jurisdiction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from linkduty_shared.api.answers import json_row, versioned
from linkduty_shared.api.deps import Context, require_scopes
from linkduty_shared.api.etag import parse_if_match
from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.auth import Principal

from devices.api.schemas import DeviceIn, DeviceOut, DevicePage, LinkIn, MaintenanceIn, TroubleName
from devices.application.registry import DeviceDetails, Registry
from devices.domain.device import Device
from devices.projections import device_state

router = APIRouter(prefix="/v1", tags=["devices"])
Registrar = Annotated[Principal, require_scopes("devices:register")]
Reader = Annotated[Principal, require_scopes("devices:read")]
MAX_PAGE = 500


def registry_of(request: Request) -> Registry:
    return request.app.state.registry


async def view(registry: Registry, d: Device) -> dict:
    r = d.registered
    async with registry.store.pool.acquire() as conn:
        row = await device_state.state_of(conn, d.id)
    state = None if row is None else {
        "last_seen_at": row["last_seen_at"], "online": not row["offline"], "battery_pct": row["battery_pct"],
        "alarm_repeats": row["alarm_repeats"]}
    return {
        "device_id": d.id, "platform": r.platform, "model": r.model, "location": r.location, "place": r.place,
        "jurisdiction": r.jurisdiction, "heartbeat_period_s": r.heartbeat_period_s, "resident_id": d.resident_id,
        "premises_id": d.premises_id,
        "open_alarm": None if d.alarm is None else {"episode_id": d.alarm.episode_id,
                                                     "signalled_at": d.alarm.signalled_at.isoformat()},
        "troubles": dict(d.troubles), "maintenance": d.maintenance, "last_test_at": d.last_test_at, "state": state, "version": d.version,
    }


async def _answer(response: Response, registry: Registry, d: Device, status: int | None = None) -> dict:
    return versioned(response, await view(registry, d), d.version, status=status, location=f"/v1/devices/{d.id}")


@router.post("/devices", status_code=201, response_model=DeviceOut, responses=problem_responses(401),
             summary="Register a detector: where it is, its platform, whom it watches over")
async def register(body: DeviceIn, request: Request, response: Response, principal: Registrar, ctx: Context) -> dict:
    """401 for a platform this service does not know (no signal of it could be verified); 422 for
    a point outside the city or a resident or premises not registered in your jurisdiction; 409
    for a device id registered already."""
    registry = registry_of(request)
    loc = body.location
    device = await registry.register_device(DeviceDetails(
        device_id=body.device_id, platform=body.platform, model=body.model, lat=loc.lat, lon=loc.lon,
        building=loc.building, floor=loc.floor, flat=loc.flat, place=body.place.value,
        heartbeat_period_s=body.heartbeat_period_s, resident_id=body.resident_id, premises_id=body.premises_id),
        ctx, principal)
    return await _answer(response, registry, device, 201)


@router.get("/devices", response_model=DevicePage,
            summary="Devices in the caller's jurisdiction, by id; `trouble` keeps those with that trouble open")
async def list_(request: Request, principal: Reader,
                trouble: TroubleName | None = None,
                after: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100) -> dict:
    registry = registry_of(request)
    async with registry.store.pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT device_id, platform, model, community, street, last_seen_at, NOT offline AS online,
                      troubles, battery_pct, alarm_episode IS NOT NULL AS alarm_open, alarm_repeats
               FROM device_state
               WHERE (community = ANY($1) OR street = ANY($1) OR district = ANY($1) OR city = ANY($1))
                 AND device_id > $2 AND ($3::text IS NULL OR $3 = ANY(troubles))
               ORDER BY device_id LIMIT $4""", list(principal.jurisdiction), after or "", trouble, limit)
    return {"devices": [json_row(r) for r in rows],
            "next_cursor": rows[-1]["device_id"] if len(rows) == limit else None}


@router.get("/devices/{device_id}", response_model=DeviceOut, summary="A device, its open alarm and troubles")
async def read(device_id: str, request: Request, response: Response, principal: Reader) -> dict:
    registry = registry_of(request)
    return await _answer(response, registry, await registry.devices.get(device_id, visible_to=principal))


@router.put("/devices/{device_id}/link", response_model=DeviceOut,
            summary="Whom the detector watches over: a resident, a premises, or nobody")
async def link(device_id: str, body: LinkIn, request: Request, response: Response, principal: Registrar,
               ctx: Context) -> dict:
    registry = registry_of(request)
    device = await registry.link_device(device_id, body.resident_id, body.premises_id, ctx, principal,
                                        expected_version=parse_if_match(request.headers.get("if-match")))
    return await _answer(response, registry, device)


@router.post("/devices/{device_id}/maintenance", response_model=DeviceOut,
             summary="A maintenance record (installed, inspected, battery replaced, repaired): it ends the "
                     "troubles it puts right")
async def maintain(device_id: str, body: MaintenanceIn, request: Request, response: Response, principal: Registrar,
                   ctx: Context) -> dict:
    registry = registry_of(request)
    return await _answer(response, registry, await registry.maintain(device_id, body.kind, body.note, ctx, principal))

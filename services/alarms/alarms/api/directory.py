"""The jurisdiction directory over HTTP: resolve a point, list the operations centres."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from linkduty_shared.api.deps import Authenticated
from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.api.problems import Problem
from linkduty_shared.jurisdictions import Level, OutsideJurisdiction

router = APIRouter(prefix="/v1", tags=["jurisdictions"])


class DivisionOut(BaseModel):
    code: str
    name: str
    level: str


class Resolved(BaseModel):
    dataset_version: str
    chain: list[DivisionOut]
    centres: list[str]


class CentreOut(BaseModel):
    id: str
    name: str
    level: str
    division_code: str
    lat: float
    lon: float


class Centres(BaseModel):
    dataset_version: str
    centres: list[CentreOut]


def _division(d) -> dict:
    return {"code": d.code, "name": d.name, "level": d.level.value}


@router.get("/jurisdictions/resolve", summary="The micro-grid and chain (grid → city) of a point",
            responses=problem_responses(404), response_model=Resolved)
async def resolve(request: Request, _: Authenticated, lat: Annotated[float, Query(ge=-90, le=90)],
                  lon: Annotated[float, Query(ge=-180, le=180)]) -> dict:
    directory = request.app.state.alarms.directory
    try:
        chain = directory.resolve(lat, lon)
    except OutsideJurisdiction:
        raise Problem(404, "outside-jurisdiction", "Location is outside the city's jurisdiction",
                      f"({lat}, {lon}) is in no micro-grid of {directory.city.name}") from None
    return {
        "dataset_version": directory.version,
        "chain": [_division(d) for d in chain.divisions()],
        "centres": list(chain.centre_ids()),
    }


@router.get("/centres", summary="The operations centres (city, district, street, community)", response_model=Centres)
async def centres(request: Request, _: Authenticated, level: Level | None = None) -> dict:
    directory = request.app.state.alarms.directory
    return {
        "dataset_version": directory.version,
        "centres": [
            {"id": c.id, "name": c.name, "level": c.level.value, "division_code": c.division_code,
             "lat": c.lat, "lon": c.lon}
            for c in directory.centres(level)
        ],
    }

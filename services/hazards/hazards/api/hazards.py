"""The hazards API: the intake (随手拍), a hazard now or as it was, the centres' lists, the taxonomy."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from linkduty_shared.api.cursors import MAX_CURSOR, decode_cursor, next_cursor
from linkduty_shared.api.answers import json_row, versioned
from linkduty_shared.api.deps import Authenticated, Context
from linkduty_shared.api.etag import MAX_VERSION
from linkduty_shared.api.problems import Problem

from hazards.api.deps import Reader, Reporter, Service
from hazards.api.schemas import Categories, HazardOut, HazardPage, ReportHazardIn
from hazards.api.views import hazard_view, location_of
from hazards.application import ReportHazard, Seen
from hazards.domain.values import Status
from hazards.projections.hazard_list import FIRST_PAGE, list_hazards

router = APIRouter(prefix="/v1", tags=["hazards"])
MAX_PAGE = 200


@router.post("/hazards", status_code=201, response_model=HazardOut, summary="Report a hazard (随手拍)")
async def report_hazard(body: ReportHazardIn, response: Response, service: Service, principal: Reporter,
                        ctx: Context) -> dict:
    """201 with the hazard: its status, grid, who handles it now, and the open hazards nearby it may
    be the same as (those the caller may see). 422 for an unknown category or a point outside the
    city; 403 for a point outside the caller's jurisdiction."""
    reporter = body.reporter
    cmd = ReportHazard(
        category=body.category, description=body.description, lat=body.location.lat, lon=body.location.lon,
        source=body.source, address=body.location.address, venue_id=body.venue_id, severity=body.severity,
        reporter_phone=reporter.phone if reporter else None, reporter_name=reporter.name if reporter else None,
        photo_ids=tuple(body.photo_ids))
    outcome = await service.report(cmd, ctx, principal)
    seen = Seen(outcome.hazard, "hazards:read" in principal.scopes, outcome.duplicate_candidates)
    return versioned(response, hazard_view(service, seen), outcome.hazard.version, status=201,
                     location=location_of(outcome.hazard))


@router.get("/hazards", response_model=HazardPage, summary="Hazards inside the caller's jurisdiction, newest first")
async def list_visible(service: Service, principal: Reader, status: Status | None = None,
                       category: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                       limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                       cursor: Annotated[str | None, Query(min_length=1, max_length=MAX_CURSOR)] = None) -> dict:
    after = decode_cursor(cursor) if cursor else FIRST_PAGE
    async with service.store.pool.acquire() as conn:
        rows = await list_hazards(conn, within=list(principal.jurisdiction), statuses=[status] if status else None,
                                  categories=[category] if category else None, limit=limit, after=after)
    return {"hazards": [json_row(r) for r in rows], "next_cursor": next_cursor(rows, limit, "reported_at", "hazard_id")}


@router.get("/hazards/{hazard_id}", response_model=HazardOut)
async def read_hazard(hazard_id: str, response: Response, service: Service, principal: Authenticated,
                      version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
                      as_of: AwareDatetime | None = None) -> dict:
    """The hazard now, or as it was at `version` or at `as_of`. A centre (`hazards:read`) sees a
    hazard in its jurisdiction; a reporter (`hazards:report`) the hazards they reported or follow."""
    if as_of is not None:
        try:
            as_of = as_of.astimezone(dt.UTC)
        except OverflowError:
            raise Problem(422, "time-out-of-range", "as_of is no time that can be asked for",
                          "as_of lies outside the years 1 to 9999 in UTC") from None
    seen = await service.read(hazard_id, principal, version=version, as_of=as_of)
    return versioned(response, hazard_view(service, seen), seen.hazard.version)


@router.get("/hazard-categories", response_model=Categories, summary="The hazard taxonomy (what `category` may be)")
async def categories(service: Service, _: Authenticated) -> dict:
    taxonomy = service.taxonomy
    return {"version": taxonomy.version, "categories": [
        {"id": c.id, "name_zh": c.name_zh, "name_en": c.name_en, "default_severity": c.default_severity,
         "rectify_within_hours": {s: d.total_seconds() / 3600 for s, d in c.rectify_within.items()},
         "reinspect_after_days": c.reinspect_after.days}
        for c in taxonomy.categories.values()]}

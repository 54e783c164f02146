"""The venue registry (场所台账): register, import a street's ledger, a venue's page, the lists
(overdue inspections among them), its risk class, its people, and erasing them.

Who: a centre reads (`hazards:read`), whoever keeps the registry writes (`hazards:venues`: the
street's emergency office, the community platform), a data-protection officer erases
(`hazards:erase`). A venue outside the caller's jurisdiction is not found (404)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from linkduty_shared.api.answers import json_row, versioned
from linkduty_shared.api.deps import Authenticated, Context, require_scopes
from linkduty_shared.api.etag import parse_if_match
from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import Principal

from hazards.api.deps import IfMatch, Reader
from hazards.api.venue_schemas import (
    ChangeVenueIn,
    ClassifyIn,
    ContactsIn,
    DeregisterIn,
    ErasedContactsOut,
    ImportOut,
    RegisterVenueIn,
    VenueKindsOut,
    VenueList,
    VenueOut,
    VenuePage,
)
from hazards.application.commands import ChangeVenue, Person, RegisterVenue
from hazards.application.venue_import import LedgerUnreadable, csv_rows, geojson_rows
from hazards.application.venues import VenuesService
from hazards.domain.venue import Venue
from hazards.projections.hazard_list import hazards_at_venue
from hazards.projections.venue_list import list_venues

router = APIRouter(prefix="/v1", tags=["venues"])
Keeper = Annotated[Principal, require_scopes("hazards:venues")]  # who keeps the registry
Eraser = Annotated[Principal, require_scopes("hazards:erase")]
MAX_LEDGER_BYTES = 4 * 1024 * 1024
MAX_PAGE = 200
PAGE_HAZARDS = 100  # a venue page's hazards, newest first
CSV_TYPES, GEOJSON_TYPES = ("text/csv",), ("application/geo+json",)


def body_limits() -> dict[str, int]:
    """What `create_app` lets through by Content-Type: ledgers are only this router's."""
    return dict.fromkeys(CSV_TYPES + GEOJSON_TYPES, MAX_LEDGER_BYTES)


async def venues_service(request: Request) -> VenuesService:
    return request.app.state.venues


Venues = Annotated[VenuesService, Depends(venues_service)]


def _person(p) -> Person | None:
    return Person(p.name, p.phone) if p else None


def venue_view(service: VenuesService, v: Venue) -> dict:
    kind = service.kinds.kinds.get(v.kind)
    now = service.clock()
    return {
        "venue_id": v.id, "version": v.version, "status": v.status, "kind": v.kind,
        "kind_name": {"zh": kind.name_zh, "en": kind.name_en} if kind else {"zh": v.kind, "en": v.kind},
        "name": v.name, "location": v.location, "jurisdiction": v.jurisdiction, "floor_area_m2": v.floor_area_m2,
        "risk_class": v.risk_class,
        "risk_history": [{k: s[k] for k in ("risk_class", "since", "reason")} for s in v.risk_history],
        "responsible": {"masked": v.responsible.masked}, "contact": {"masked": v.contact.masked},
        "ledger_ref": v.ledger_ref, "registered_at": v.registered_at, "last_inspected_at": v.last_inspected_at,
        "inspection_due_at": v.inspection_due_at,
        "inspection_overdue": v.is_active and bool(v.inspection_due_at)
        and dt.datetime.fromisoformat(v.inspection_due_at) <= now,
        "handled_by_level": v.handling_level,
    }


def _hazard_row(row, now: dt.datetime) -> dict:
    due = row["triage_due_at"] if row["status"] == "reported" else row["rectification_due_at"]
    return {"hazard_id": row["hazard_id"], "status": row["status"], "category": row["category"],
            "severity": row["severity"], "source": row["source"], "reported_at": row["reported_at"].isoformat(),
            "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
            "rectification_due_at": row["rectification_due_at"].isoformat() if row["rectification_due_at"] else None,
            "overdue": row["status"] in ("reported", "rectifying") and due is not None and due <= now,
            "recurrence_of": row["recurrence_of"], "description": row["description"]}


def _location(venue: Venue) -> str:
    return f"/v1/venues/{venue.id}"


# ---- the registry ----------------------------------------------------------------------------------

@router.post("/venues", status_code=201, response_model=VenueOut, summary="Register a venue (场所)")
async def register(body: RegisterVenueIn, response: Response, service: Venues, principal: Keeper,
                   ctx: Context) -> dict:
    """201 with the venue; 200 with it for a `ledger_ref` registered before (updated to this).
    422 for an unknown kind or a point outside the city; 403 outside the caller's jurisdiction."""
    cmd = RegisterVenue(kind=body.kind, name=body.name, lat=body.location.lat, lon=body.location.lon,
                        address=body.location.address, floor_area_m2=body.floor_area_m2,
                        risk_class=body.risk_class, responsible=_person(body.responsible),
                        contact=_person(body.contact), ledger_ref=body.ledger_ref)
    venue, new = await service.register(cmd, ctx, principal)
    return versioned(response, venue_view(service, venue), venue.version, status=201 if new else 200,
                     location=_location(venue))


PARSE_SLICE = 200  # ledger rows parsed between two chances for the event loop to run something else


@router.post("/venue-imports", response_model=ImportOut, responses=problem_responses(400, 415),
             summary="Import a street's venue ledger (CSV or GeoJSON): bad rows reported by line, good ones kept",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/csv": {"schema": {"type": "string"}},
                 "application/geo+json": {"schema": {"type": "object"}}}}})
async def import_ledger(request: Request, service: Venues, principal: Keeper, ctx: Context) -> dict:
    """Columns: services/hazards/README.md ("Venues"). 415 for another content type, 400 for a
    file that cannot be read as a whole, 413 over 4 MiB; otherwise 200 with what was registered,
    updated (a row whose ledger id was imported before) and rejected, by line."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES + GEOJSON_TYPES:
        raise Problem(415, "unsupported-media-type", "A ledger is text/csv or application/geo+json",
                      f"got {content_type[:80] or 'no content type'}")
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Problem(400, "not-utf-8", "The ledger is not UTF-8", "save it as UTF-8 (CSV UTF-8 in a spreadsheet)") \
            from None
    rows = []
    try:
        # On the loop, a slice at a time: 5,000 rows are ~50 ms of pure Python, which a thread
        # would spend holding the GIL against the loop anyway.
        for row in (csv_rows if content_type in CSV_TYPES else geojson_rows)(text):
            rows.append(row)
            if len(rows) % PARSE_SLICE == 0:
                await asyncio.sleep(0)
    except LedgerUnreadable as error:
        raise Problem(400, "ledger-unreadable", "The ledger cannot be read", str(error)) from None
    return await service.import_ledger(rows, ctx, principal)


@router.get("/venue-kinds", response_model=VenueKindsOut, summary="Venue kinds, their inspection interval and checklist")
async def kinds(service: Venues, _: Authenticated) -> dict:
    return {"version": service.kinds.version, "kinds": [
        {"id": k.id, "name": {"zh": k.name_zh, "en": k.name_en}, "group": k.group,
         "inspect_every_days": k.inspect_every.days,
         "checklist": [{"id": i.id, "text": {"zh": i.text_zh, "en": i.text_en}, "category": i.category}
                       for i in k.checklist]}
        for k in service.kinds.kinds.values()]}


def _cursor(name: str, venue_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([name, venue_id]).encode()).decode().rstrip("=")


def _after(cursor: str) -> tuple[str, str]:
    try:
        name, venue_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (isinstance(name, str) and isinstance(venue_id, str)) or "\x00" in name + venue_id:
            raise ValueError
        return name, venue_id
    except (ValueError, TypeError, UnicodeDecodeError):
        raise Problem(400, "bad-cursor", "Not a cursor this list gave", "pass next_cursor as it came") from None


@router.get("/venues", response_model=VenueList, responses=problem_responses(400, 404),
            summary="Venues inside the caller's jurisdiction (or one division of it), by name; overdue=true: "
                    "those whose inspection is overdue")
async def list_(service: Venues, principal: Reader,
                division: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                kind: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                overdue: bool = False, include_deregistered: bool = False,
                limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                cursor: Annotated[str | None, Query(min_length=1, max_length=400)] = None) -> dict:
    within = list(principal.jurisdiction)
    if division is not None:
        try:
            lineage = service.directory.lineage(division)
        except KeyError:
            lineage = []
        if not principal.may_see(lineage):  # unknown, or not the caller's: the same answer
            raise Problem(404, "not-found", "No such division in your jurisdiction", division[:64])
        within = [division]
    async with service.store.pool.acquire() as conn:
        rows = await list_venues(conn, within=within, limit=limit, kinds=[kind] if kind else None,
                                 status=None if include_deregistered else "active",
                                 due_by=service.clock() if overdue else None,
                                 after=_after(cursor) if cursor else ("", ""))
    last = rows[-1] if len(rows) == limit else None
    keep = set(VenueList.model_fields["venues"].annotation.__args__[0].model_fields)
    return {"venues": [{k: v for k, v in json_row(r).items() if k in keep} for r in rows],
            "next_cursor": _cursor(last["name"], last["venue_id"]) if last else None}


@router.get("/venues/{venue_id}", response_model=VenuePage,
            summary="A venue's page: details, risk class over time, inspections, hazards open and past")
async def read(venue_id: str, response: Response, service: Venues, principal: Reader) -> dict:
    venue = await service.repo.get(venue_id, visible_to=principal)
    now = service.clock()
    async with service.store.pool.acquire() as conn:
        rows = await hazards_at_venue(conn, venue.id, PAGE_HAZARDS)
    hazards = [_hazard_row(r, now) for r in rows]
    open_statuses = ("reported", "accepted", "rectifying", "awaiting_verification")
    return versioned(response, {
        **venue_view(service, venue),
        "inspections": list(reversed(venue.inspections[-50:])),
        "open_hazards": [h for h in hazards if h["status"] in open_statuses],
        "past_hazards": [h for h in hazards if h["status"] not in open_statuses],
        "recurrences": sum(1 for h in hazards if h["recurrence_of"]),
    }, venue.version)


@router.patch("/venues/{venue_id}", response_model=VenueOut, summary="Correct or change a venue's details")
async def change(venue_id: str, body: ChangeVenueIn, response: Response, service: Venues, principal: Keeper,
                 ctx: Context, if_match: IfMatch = None) -> dict:
    loc = body.location
    venue = await service.change(
        venue_id, ChangeVenue(name=body.name, kind=body.kind, floor_area_m2=body.floor_area_m2,
                              address=loc.address if loc else None, lat=loc.lat if loc else None,
                              lon=loc.lon if loc else None),
        ctx, principal, expected_version=parse_if_match(if_match))
    return versioned(response, venue_view(service, venue), venue.version, location=_location(venue))


@router.post("/venues/{venue_id}/risk-class", response_model=VenueOut, summary="Classify a venue's fire risk")
async def classify(venue_id: str, body: ClassifyIn, response: Response, service: Venues, principal: Keeper,
                   ctx: Context, if_match: IfMatch = None) -> dict:
    venue = await service.classify(venue_id, body.risk_class, body.reason, ctx, principal,
                                   expected_version=parse_if_match(if_match))
    return versioned(response, venue_view(service, venue), venue.version, location=_location(venue))


@router.put("/venues/{venue_id}/contacts", response_model=VenueOut,
            summary="New responsible person or fire-safety contact (the old ones are erased)")
async def contacts(venue_id: str, body: ContactsIn, response: Response, service: Venues, principal: Keeper,
                   ctx: Context, if_match: IfMatch = None) -> dict:
    venue = await service.change_contacts(venue_id, _person(body.responsible), _person(body.contact), ctx,
                                          principal, expected_version=parse_if_match(if_match))
    return versioned(response, venue_view(service, venue), venue.version, location=_location(venue))


@router.post("/venues/{venue_id}/deregistration", response_model=VenueOut,
             summary="Closed down, demolished or entered twice: no longer inspected")
async def deregister(venue_id: str, body: DeregisterIn, response: Response, service: Venues, principal: Keeper,
                     ctx: Context, if_match: IfMatch = None) -> dict:
    venue = await service.deregister(venue_id, body.reason, ctx, principal, expected_version=parse_if_match(if_match))
    return versioned(response, venue_view(service, venue), venue.version, location=_location(venue))


@router.delete("/venues/{venue_id}/personal-data", response_model=ErasedContactsOut, tags=["personal data"],
               summary="Erase a venue's people (a data-protection officer): shredded in the vault, events kept")
async def erase(venue_id: str, service: Venues, _: Eraser) -> dict:
    return {"erased": await service.erase_contacts(venue_id)}

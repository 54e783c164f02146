"""Inspections (检查): a venue's checklist filled in by its own contact (self_check), a grid worker
or volunteer (patrol), or a joint working group (joint, 防消联勤). A failed item opens a hazard in
the closed loop with its deadline; an item fixed on the spot is found and fixed at once.

Who: `hazards:inspect` records (inspectors, grid workers, the venue's contact), a centre reads
(`hazards:read`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from linkduty_shared.api.answers import versioned
from linkduty_shared.api.deps import Context, require_scopes
from linkduty_shared.auth import Principal

from hazards.api.deps import Reader
from hazards.api.venue_schemas import InspectionIn, InspectionOut
from hazards.api.venues import Venues
from hazards.application.commands import RecordInspection
from hazards.domain.venue import Inspection, ItemAnswer, Participant

router = APIRouter(prefix="/v1", tags=["inspections"])
Inspector = Annotated[Principal, require_scopes("hazards:inspect")]


def inspection_view(inspection: Inspection) -> dict:
    r = inspection.recorded
    items = [dict(i) for i in r.items]
    return {
        "inspection_id": inspection.id, "venue_id": r.venue_id, "venue_kind": r.venue_kind, "kind": r.kind,
        "inspected_at": r.at, "jurisdiction": r.jurisdiction, "checklist_version": r.checklist_version,
        "items": items, "participants": [dict(p) for p in r.participants],
        "reinspected": [dict(x) for x in r.reinspected], "note": r.note,
        "found": sum(i["result"] in ("failed", "fixed_on_spot") for i in items),
        "fixed_on_spot": sum(i["result"] == "fixed_on_spot" for i in items),
    }


@router.post("/venues/{venue_id}/inspections", status_code=201, response_model=InspectionOut,
             summary="Record an inspection of a venue: every failed item opens a hazard with its deadline")
async def record(venue_id: str, body: InspectionIn, response: Response, service: Venues, principal: Inspector,
                 ctx: Context) -> dict:
    """422 when the checklist is not the venue kind's (an item missing, unknown or answered twice),
    a failed item says nothing, a joint inspection lacks the street's office or a fire station, or
    a fire station is unknown; 409 for a deregistered venue; 404 outside the caller's jurisdiction."""
    cmd = RecordInspection(
        kind=body.kind, inspected_at=body.inspected_at or service.clock(),
        answers=tuple(ItemAnswer(i.item_id, i.result, i.note, tuple(i.photo_ids)) for i in body.items),
        participants=tuple(Participant(p.role, p.id, p.name) for p in body.participants),
        reinspected=tuple((x.hazard_id, x.outcome) for x in body.reinspected), note=body.note)
    done = await service.record_inspection(venue_id, cmd, ctx, principal)
    item_of = {i["hazard_id"]: i["item_id"] for i in done.inspection.recorded.items if i["hazard_id"]}
    opened = [{"hazard_id": h.id, "item_id": item_of[h.id], "status": h.status, "category": h.category,
               "severity": h.severity, "rectification_due_at": h.rectification_due_at,
               "triage_due_at": h.triage_due_at} for h in done.hazards]
    return versioned(response, {**inspection_view(done.inspection), "opened_hazards": opened},
                     done.inspection.version, status=201, location=f"/v1/inspections/{done.inspection.id}")


@router.get("/inspections/{inspection_id}", response_model=InspectionOut, summary="An inspection, as recorded")
async def read(inspection_id: str, response: Response, service: Venues, principal: Reader) -> dict:
    inspection = await service.inspections.get(inspection_id, visible_to=principal)
    return versioned(response, inspection_view(inspection), inspection.version)

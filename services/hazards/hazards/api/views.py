"""How a hazard is shown: everything for a centre in its chain, its own report's fate for one of
its reporters. Never anyone's contact: the first reporter's number masked, for centres only."""

from __future__ import annotations

from hazards.application import HazardsService, Seen
from hazards.domain.hazard import Hazard


def hazard_view(service: HazardsService, seen: Seen) -> dict:
    h, staff = seen.hazard, seen.as_staff
    category = service.taxonomy.categories.get(h.category)
    centre = service.handler(h)
    return {
        "hazard_id": h.id, "version": h.version, "status": h.status, "category": h.category,
        "category_name": {"zh": category.name_zh, "en": category.name_en} if category else {},
        "severity": h.severity, "source": h.source, "description": h.description, "location": h.location,
        "venue_id": h.venue_id, "reported_at": h.reported_at, "jurisdiction": h.jurisdiction,
        "jurisdiction_names": service.division_names(h.jurisdiction), "grid": h.jurisdiction["grid"],
        "handled_by": {"level": h.handling_level, "centre_id": centre.id, "centre_name": centre.name},
        "assignee": h.assignee, "triage_due_at": h.triage_due_at, "rectification_due_at": h.rectification_due_at,
        "reinspection_due_at": h.reinspection_due_at, "closed_at": h.closed_at, "failures": h.failures,
        "reopenings": h.reopenings, "reporters": h.reporters,
        "reporter_masked": h.reporter_masked if staff else None,
        "rejection": h.rejection, "merged_into": h.merged_into,
        "merged_duplicates": list(h.merged_duplicates) if staff else [],
        "duplicate_candidates": seen.duplicate_candidates,
        "recurrence_of": h.recurrence_of if staff else None,
        "photos": photo_links(h.id, h.photo_ids),
        "rectifications": [{"note": r["note"], "photos": photo_links(h.id, r["photo_refs"]), "at": r["at"]}
                           for r in h.rectifications],
        "history": [{"what": s.what, "at": s.at, "by": s.by if staff else None, "note": s.note} for s in h.history],
    }


def photo_links(hazard_id: str, photo_ids: list[str]) -> list[dict]:
    links = []
    for photo_id in photo_ids:
        url = f"/v1/hazards/{hazard_id}/photos/{photo_id}"
        links.append({"photo_id": photo_id, "url": url, "thumbnail_url": f"{url}?size=thumbnail"})
    return links


def location_of(hazard: Hazard) -> str:
    return f"/v1/hazards/{hazard.id}"



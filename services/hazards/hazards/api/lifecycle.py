"""Triage and the closed loop (闭环): accept, reject, merge, assign, rectify, verify, re-inspect.

Every command acts on a hazard the caller may see (404 otherwise), at the version its If-Match
names (412 otherwise), and answers with the hazard after it; a command the hazard's state
refuses is a 409, one whose content the domain refuses a 422."""

from __future__ import annotations

from fastapi import APIRouter, Response

from linkduty_shared.api.answers import versioned
from linkduty_shared.api.deps import Context
from linkduty_shared.api.etag import parse_if_match

from hazards.api.deps import IfMatch, Rectifier, Service, Triager, Verifier
from hazards.api.schemas import (
    AcceptIn,
    AssignIn,
    HazardOut,
    MergeIn,
    RectificationIn,
    ReinspectionIn,
    RejectIn,
    VerificationIn,
)
from hazards.api.views import hazard_view, location_of
from hazards.application import Assignment, HazardsService, Seen
from hazards.domain.hazard import Hazard

router = APIRouter(prefix="/v1/hazards", tags=["triage and rectification"])


async def _answer(service: HazardsService, hazard: Hazard, principal, response: Response) -> dict:
    candidates = await service.visible_candidates(hazard.duplicate_candidates, principal)
    return versioned(response, hazard_view(service, Seen(hazard, True, candidates)), hazard.version,
                     location=location_of(hazard))


@router.post("/{hazard_id}/acceptance", response_model=HazardOut, summary="Triage: a hazard, to be fixed")
async def accept(hazard_id: str, body: AcceptIn, response: Response, service: Service, principal: Triager,
                 ctx: Context, if_match: IfMatch = None) -> dict:
    hazard = await service.accept(hazard_id, ctx, principal, severity=body.severity, note=body.note,
                                  expected_version=parse_if_match(if_match))
    return await _answer(service, hazard, principal, response)


@router.post("/{hazard_id}/rejection", response_model=HazardOut,
             summary="Triage: not a hazard, or not ours (say whose); the reporter reads the message")
async def reject(hazard_id: str, body: RejectIn, response: Response, service: Service, principal: Triager,
                 ctx: Context, if_match: IfMatch = None) -> dict:
    hazard = await service.reject(hazard_id, ctx, principal, reason=body.reason, message=body.message,
                                  refer_to=body.refer_to, expected_version=parse_if_match(if_match))
    return await _answer(service, hazard, principal, response)


@router.post("/{hazard_id}/merge", response_model=HazardOut,
             summary="Triage: this report is the same as an open hazard (answers with that one)")
async def merge(hazard_id: str, body: MergeIn, response: Response, service: Service, principal: Triager,
                ctx: Context, if_match: IfMatch = None) -> dict:
    """If-Match names the version of the report merged (`hazard_id`); 404 when either hazard is
    not the caller's to see."""
    target = await service.merge(hazard_id, body.into, ctx, principal, expected_version=parse_if_match(if_match))
    return await _answer(service, target, principal, response)


@router.post("/{hazard_id}/assignment", response_model=HazardOut,
             summary="派单: who must fix it; the deadline follows from its category and severity")
async def assign(hazard_id: str, body: AssignIn, response: Response, service: Service, principal: Triager,
                 ctx: Context, if_match: IfMatch = None) -> dict:
    hazard = await service.assign(hazard_id, ctx, principal,
                                  assignee=Assignment(body.assignee_kind, body.assignee_id, body.assignee_name),
                                  expected_version=parse_if_match(if_match))
    return await _answer(service, hazard, principal, response)


@router.post("/{hazard_id}/rectification", response_model=HazardOut, summary="整改: the fixer says it is fixed")
async def submit_rectification(hazard_id: str, body: RectificationIn, response: Response, service: Service,
                               principal: Rectifier, ctx: Context, if_match: IfMatch = None) -> dict:
    hazard = await service.submit_rectification(hazard_id, ctx, principal, note=body.note,
                                                photo_ids=tuple(body.photo_ids),
                                                expected_version=parse_if_match(if_match))
    return await _answer(service, hazard, principal, response)


@router.post("/{hazard_id}/verification", response_model=HazardOut,
             summary="复查: passed (closed, re-inspection scheduled) or failed (back to the fixer)")
async def verify(hazard_id: str, body: VerificationIn, response: Response, service: Service, principal: Verifier,
                 ctx: Context, if_match: IfMatch = None) -> dict:
    hazard = await service.verify(hazard_id, ctx, principal, passed=body.outcome == "passed", note=body.note,
                                  expected_version=parse_if_match(if_match))
    return await _answer(service, hazard, principal, response)


@router.post("/{hazard_id}/reinspection", response_model=HazardOut,
             summary="回头看: still fixed (confirmed, once due) or it came back (reopened)")
async def reinspect(hazard_id: str, body: ReinspectionIn, response: Response, service: Service,
                    principal: Verifier, ctx: Context, if_match: IfMatch = None) -> dict:
    hazard = await service.reinspect(hazard_id, ctx, principal, confirmed=body.outcome == "confirmed",
                                     note=body.note, expected_version=parse_if_match(if_match))
    return await _answer(service, hazard, principal, response)

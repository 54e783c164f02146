"""The vulnerable-resident registry (易受损人群) and vulnerable premises (脆弱性单元).

Who: `residents:register` registers and changes (community staff, volunteers); `residents:review`
confirms or returns a registration (the community); `residents:read` reads the masked file and
the responder's summary; `residents:read-personal` reads the whole record, each read audited
with its purpose; `residents:audit` reads that audit; `residents:erase` erases the person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from linkduty_shared.api.answers import json_row, versioned
from linkduty_shared.api.deps import Context, require_scopes
from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.auth import Principal

from devices.api.schemas import (
    PersonalDataReads,
    PersonOut,
    PremisesIn,
    PremisesOut,
    ResidentChangeIn,
    ResidentIn,
    ResidentOut,
    ReviewIn,
)
from devices.application.registry import Registry, ResidentDetails
from devices.domain.resident import Premises, Resident

router = APIRouter(prefix="/v1", tags=["residents"])
Registrar = Annotated[Principal, require_scopes("residents:register")]
Reviewer = Annotated[Principal, require_scopes("residents:review")]
Reader = Annotated[Principal, require_scopes("residents:read")]
PersonalReader = Annotated[Principal, require_scopes("residents:read-personal")]
Auditor = Annotated[Principal, require_scopes("residents:audit")]
Eraser = Annotated[Principal, require_scopes("residents:erase")]


def registry_of(request: Request) -> Registry:
    return request.app.state.registry


def details(body: ResidentIn) -> ResidentDetails:
    return ResidentDetails(
        name=body.name, id_number=body.id_number, phone=body.phone, address=body.address,
        emergency_contacts=tuple(c.model_dump() for c in body.emergency_contacts), age_band=body.age_band,
        mobility=body.mobility, floor=body.floor, lives_alone=body.lives_alone,
        hearing_impaired=body.hearing_impaired, sight_impaired=body.sight_impaired,
        oxygen_at_home=body.oxygen_at_home, needs=body.needs)


async def _answer(response: Response, registry: Registry, r: Resident, status: int | None = None) -> dict:
    reg = r.registered
    body = {"resident_id": r.id, "community": reg.community, "jurisdiction": reg.jurisdiction,
            "consent_by": reg.consent_by, "review": r.review, "history": r.history,
            "person": await registry.masked_person(r), "vulnerability": await registry.summary_of(r),
            "personal_data_erased": r.erased, "version": r.version}
    return versioned(response, body, r.version, status=status, location=f"/v1/residents/{r.id}")


@router.post("/residents", status_code=201, response_model=ResidentOut,
             summary="Register a vulnerable resident, with consent: the person is vaulted, the review waits")
async def register(body: ResidentIn, request: Request, response: Response, principal: Registrar,
                   ctx: Context) -> dict:
    registry = registry_of(request)
    resident = await registry.register_resident(body.community, body.consent_by, details(body), ctx, principal)
    return await _answer(response, registry, resident, 201)


@router.get("/residents/{resident_id}", response_model=ResidentOut,
            summary="A resident's registration, masked, with what a responder sees")
async def read(resident_id: str, request: Request, response: Response, principal: Reader) -> dict:
    registry = registry_of(request)
    return await _answer(response, registry, await registry.residents.get(resident_id, visible_to=principal))


@router.put("/residents/{resident_id}", response_model=ResidentOut,
            summary="Replace the person's record and summary (the old vault entries are shredded; reviewed again)")
async def change(resident_id: str, body: ResidentChangeIn, request: Request, response: Response,
                 principal: Registrar, ctx: Context) -> dict:
    registry = registry_of(request)
    return await _answer(response, registry, await registry.change_resident(resident_id, details(body), ctx,
                                                                            principal))


@router.post("/residents/{resident_id}/review", response_model=ResidentOut,
             summary="The community confirms or returns a registration")
async def review(resident_id: str, body: ReviewIn, request: Request, response: Response, principal: Reviewer,
                 ctx: Context) -> dict:
    registry = registry_of(request)
    return await _answer(response, registry,
                         await registry.review_resident(resident_id, body.outcome, body.note, ctx, principal))


@router.get("/residents/{resident_id}/person", response_model=PersonOut, responses=problem_responses(404),
            tags=["personal data"], summary="The whole record (name, ID number, phone, address, contacts): audited")
async def person(resident_id: str, request: Request, principal: PersonalReader,
                 purpose: Annotated[str, Query(min_length=3, max_length=200,
                                               description="why you read it: recorded with the read")]) -> dict:
    return await registry_of(request).read_person(resident_id, purpose, principal)


@router.get("/residents/{resident_id}/personal-data-reads", response_model=PersonalDataReads,
            tags=["personal data"], summary="Every read of the resident's whole record, oldest first")
async def reads(resident_id: str, request: Request, principal: Auditor,
                after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    rows = await registry_of(request).reads_of(resident_id, principal, limit=limit, after=after)
    return {"reads": [json_row(r) for r in rows], "next_after": rows[-1]["read_id"] if len(rows) == limit else None}


@router.delete("/residents/{resident_id}/personal-data", response_model=ResidentOut, tags=["personal data"],
               summary="Erase the person (crypto-shredded): the registration's events stay, the person is gone")
async def erase(resident_id: str, request: Request, response: Response, principal: Eraser, ctx: Context) -> dict:
    registry = registry_of(request)
    return await _answer(response, registry, await registry.erase_resident(resident_id, ctx, principal))


def _premises(response: Response, p: Premises, status: int | None = None) -> dict:
    r = p.registered
    body = {"premises_id": p.id, "name": r.name, "premises_kind": r.premises_kind, "occupants": r.occupants,
            "needs": r.needs, "location": r.location, "jurisdiction": r.jurisdiction, "version": p.version}
    return versioned(response, body, p.version, status=status, location=f"/v1/premises/{p.id}")


@router.post("/premises", status_code=201, response_model=PremisesOut, tags=["premises"],
             summary="Register a vulnerable premises (a nursery, a care home, a market)")
async def register_premises(body: PremisesIn, request: Request, response: Response, principal: Registrar,
                            ctx: Context) -> dict:
    premises = await registry_of(request).register_premises(
        name=body.name, premises_kind=body.premises_kind, occupants=body.occupants, needs=body.needs, lat=body.lat,
        lon=body.lon, ctx=ctx, principal=principal)
    return _premises(response, premises, 201)


@router.get("/premises/{premises_id}", response_model=PremisesOut, tags=["premises"], summary="A vulnerable premises")
async def read_premises(premises_id: str, request: Request, response: Response, principal: Reader) -> dict:
    return _premises(response, await registry_of(request).premises.get(premises_id, visible_to=principal))

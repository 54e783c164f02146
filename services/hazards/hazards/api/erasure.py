"""Erasure of a reporter's personal data (the right to erasure): their contacts and the texts they
typed shredded in the vault, and which hazards they follow forgotten (`pii.erase_reporter`).

Two doors, in the scope style of every route here: the reporter's own token erases its subject
(`hazards:report`), and a data-protection officer erases one on request (`hazards:erase`, a scope
no centre's token holds). Both are idempotent: erasing again, or a subject never seen, answers 200
with nothing forgotten. The hazards and their events stay as they are: they carry a masked number
and scrubbed text only, and the vault references in them now point at shredded keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from linkduty_shared.api.deps import require_scopes
from linkduty_shared.auth import Principal

from hazards.api.deps import Reporter, Service

router = APIRouter(tags=["personal data"])
Eraser = Annotated[Principal, require_scopes("hazards:erase")]  # a data-protection officer


class ErasedOut(BaseModel):
    hazards_followed: int = Field(description="how many hazards the subject reported or followed (they stay)")


@router.delete("/v1/me/personal-data", response_model=ErasedOut,
               summary="Erase the token's subject: their contacts, typed texts and what they follow")
async def erase_me(service: Service, principal: Reporter) -> dict:
    return {"hazards_followed": await service.erase_reporter(principal.client_id)}


@router.delete("/v1/reporters/{subject}/personal-data", response_model=ErasedOut,
               summary="Erase a reporter by their token subject (a data-protection officer)")
async def erase_reporter(subject: Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00]+$")],
                         service: Service, principal: Eraser) -> dict:
    return {"hazards_followed": await service.erase_reporter(subject)}

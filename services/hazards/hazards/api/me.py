"""What a reporter follows: the hazards they reported, and those their reports were merged into."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from linkduty_shared.api.cursors import MAX_CURSOR, decode_cursor, next_cursor
from linkduty_shared.api.answers import json_row

from hazards.api.deps import Reporter, Service
from hazards.api.schemas import MyHazardPage
from hazards.projections.hazard_list import FIRST_PAGE, list_followed

router = APIRouter(prefix="/v1/me", tags=["reporters"])


@router.get("/hazards", response_model=MyHazardPage, summary="The hazards the token's subject reported or follows")
async def my_hazards(service: Service, principal: Reporter, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                     cursor: Annotated[str | None, Query(min_length=1, max_length=MAX_CURSOR)] = None) -> dict:
    after = decode_cursor(cursor) if cursor else FIRST_PAGE
    async with service.store.pool.acquire() as conn:
        rows = await list_followed(conn, subject=principal.client_id, limit=limit, after=after)
    return {"hazards": [json_row(r) for r in rows], "next_cursor": next_cursor(rows, limit, "following_at", "hazard_id")}

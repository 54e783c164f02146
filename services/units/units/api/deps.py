from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from linkduty_shared.api.deps import require_scopes
from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import Principal

from units.application import UnitsService
from units.config import UnitsSettings


async def units_service(request: Request) -> UnitsService:
    return request.app.state.units


async def units_settings(request: Request) -> UnitsSettings:
    return request.app.state.settings


Service = Annotated[UnitsService, Depends(units_service)]
Settings = Annotated[UnitsSettings, Depends(units_settings)]
# The callers of the units API, by the scope their token must hold.
Reader = Annotated[Principal, require_scopes("units:read")]
Operator = Annotated[Principal, require_scopes("units:operate")]
Registrar = Annotated[Principal, require_scopes("units:register")]


def can_see(principal: Principal, within: list[str] | tuple[str, ...]) -> bool:
    """A caller sees a record whose division chain (its division and those above) meets its claim."""
    return principal.may_see(within)


def require_visible(principal: Principal, within: list[str] | tuple[str, ...], what: str) -> None:
    """404, not 403, outside the caller's jurisdiction: its existence is not theirs to know."""
    if not can_see(principal, within):
        raise Problem(404, "not-found", "No such resource", f"{what} does not exist")

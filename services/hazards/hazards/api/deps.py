from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from linkduty_shared.api.deps import require_scopes
from linkduty_shared.auth import Principal

from hazards.application import HazardsService


async def hazards_service(request: Request) -> HazardsService:
    return request.app.state.hazards


Service = Annotated[HazardsService, Depends(hazards_service)]
# The callers of the hazards API, by the scope their token must hold.
Reporter = Annotated[Principal, require_scopes("hazards:report")]  # residents' apps, grid workers, inspectors
Reader = Annotated[Principal, require_scopes("hazards:read")]  # the centres
Triager = Annotated[Principal, require_scopes("hazards:triage")]  # the community platform, its grid workers
Rectifier = Annotated[Principal, require_scopes("hazards:rectify")]  # who fixes it
Verifier = Annotated[Principal, require_scopes("hazards:verify")]  # grid workers, inspectors
IfMatch = Annotated[str | None, Header()]

"""FastAPI dependencies shared by every service's routes.

All `async def`: FastAPI runs a plain `def` dependency in a worker thread, and those thread
hand-offs were most of the intake's overhead under load (py-spy on the alarms service).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from linkduty_shared.application import CommandContext
from linkduty_shared.auth.tokens import AuthError, Principal


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if not header or not header.lower().startswith("bearer "):
        raise AuthError(401, "an Authorization: Bearer token is required")
    return request.app.state.runtime.verifier.verify(header[7:].strip())


def require_scopes(*scopes: str):
    """A dependency that authenticates the caller and checks its scopes (403 when missing)."""

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        principal.require(*scopes)
        return principal

    return Depends(dependency)


async def command_context(
    principal: Annotated[Principal, Depends(authenticate)],
    x_correlation_id: Annotated[str | None, Header()] = None,
) -> CommandContext:
    return CommandContext(actor=principal.client_id, agency=principal.agency, correlation_id=x_correlation_id)


Authenticated = Annotated[Principal, Depends(authenticate)]
Context = Annotated[CommandContext, Depends(command_context)]

"""Who may watch a centre's stream: the centre's own console, or a caller whose jurisdiction
contains the centre's division (a district console watches its streets and communities)."""

from __future__ import annotations

from collections.abc import Callable

from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import AuthError, Principal, TokenVerifier
from linkduty_shared.jurisdictions import Centre, Directory

from gateway.state import GatewayState
from gateway.streams import TooManyStreams

STREAM_SCOPE = "stream:read"


def may_watch(principal: Principal, centre: Centre, directory: Directory) -> bool:
    if principal.centre == centre.id:
        return True
    return any(_contains(directory, code, centre.division_code) for code in principal.jurisdiction)


def _contains(directory: Directory, ancestor: str, code: str) -> bool:
    try:
        return directory.contains(ancestor, code)
    except KeyError:  # a claim naming a division this city does not have grants nothing
        return False


def bearer_token(authorization: str | None, access_token: str | None) -> str:
    """The token from `Authorization: Bearer` or, for clients that cannot set headers (browser
    EventSource and WebSocket), from `?access_token=` (RFC 6750 §2.3)."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        raise AuthError(401, "the Authorization header must be 'Bearer <token>'")
    if access_token:
        return access_token
    raise AuthError(401, "an access token is required (Authorization: Bearer, or ?access_token=)")


def authorize(verifier: TokenVerifier, directory: Directory, token: str, centre_id: str) -> tuple[Principal, Centre]:
    """The token's principal and the centre, if it may watch it: 401 bad token, 403 scope or
    jurisdiction, 404 centre."""
    principal = verifier.verify(token)
    principal.require(STREAM_SCOPE)
    try:
        centre = directory.centre(centre_id)
    except KeyError:
        raise Problem(404, "unknown-centre", "No such operations centre", f"{centre_id!r} is not a centre of {directory.city.name}") from None
    if not may_watch(principal, centre, directory):
        raise AuthError(403, f"{centre_id} is outside the token's centre and jurisdiction")
    return principal, centre


def parse_last_event_id(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise Problem(400, "bad-last-event-id", "Last-Event-ID is not an event id of this stream",
                      f"got {value[:40]!r}; expected the id: of an event received earlier")
    return int(value)


def take_stream_slot(gw: GatewayState, principal: Principal) -> Callable[[], None]:
    """One of the client's streams (its release), or 429 when it holds its quota already."""
    try:
        return gw.streams.acquire(principal.client_id)
    except TooManyStreams as exc:
        raise Problem(429, "too-many-streams", "Too many open streams for this client", str(exc),
                      max_streams=gw.streams.per_client) from None

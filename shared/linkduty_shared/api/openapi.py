"""What every operation can answer because of the shared stack, written into its OpenAPI once.

A client (and schemathesis, in the suite) reads from the document every status an operation can
answer. The middleware and handlers every service shares answer some of them for any route: they
are added here from the route's shape, so a route documents by hand only what it decides itself
(a 415, a 404 of a lookup without a path id)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from linkduty_shared.api.problems import PROBLEM_JSON

DESCRIPTIONS = {
    400: "Malformed request: a NUL character, an invalid header (Content-Length, If-Match, Idempotency-Key), "
         "JSON that does not parse",
    401: "Missing or invalid access token",
    403: "The token lacks the scope, or the resource lies outside its jurisdiction",
    404: "No such resource (or none the caller may see)",
    409: "Changed concurrently, in a state that refuses the command, or the same Idempotency-Key still in progress",
    412: "If-Match names another version than the current one",
    413: "Request body over the service's limit",
    415: "Content-Type not accepted",
    422: "The request failed validation, or the command was refused",
    429: "Too many requests",
    503: "A service this request needs (the database) is unavailable; retry after Retry-After",
}
EVERY_OPERATION = (400, 401, 403, 413, 422, 503)  # limits, auth, validation, outages
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def problem_responses(*statuses: int) -> dict[int | str, dict]:
    """`responses=` for a route: each status a problem+json document."""
    return {status: {"description": DESCRIPTIONS[status], "content": {PROBLEM_JSON: {}}} for status in statuses}


def shared_answers(route: APIRoute) -> tuple[int, ...]:
    statuses = list(EVERY_OPERATION)
    if route.methods & WRITES:
        statuses.append(409)  # a concurrent update; an Idempotency-Key in progress
    if route.dependant.path_params:
        statuses.append(404)
    if any(p.alias.lower() == "if-match" for p in route.dependant.header_params):
        statuses.append(412)
    return tuple(statuses)


def document_shared_answers(router: APIRouter) -> APIRouter:
    """Add to every route of `router` the statuses the shared stack can answer for it (before the
    router is included: an app's included routes are built from these)."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for status, response in problem_responses(*shared_answers(route)).items():
                route.responses.setdefault(status, response)
    return router

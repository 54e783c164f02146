"""Every error a client can get, as `application/problem+json` (RFC 9457), mapped in one place.

Each kind of problem has a stable `type` URI; clients switch on it, not on the title text.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from linkduty_shared.application import AggregateNotFound, PreconditionFailed
from linkduty_shared.auth.tokens import AuthError, KeysUnavailable
from linkduty_shared.db import OUTAGE_ERRORS
from linkduty_shared.domain.errors import DomainError
from linkduty_shared.objects import ObjectStoreUnavailable
from linkduty_shared.eventstore.store import ConcurrencyConflict

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://linkduty.dev/problems/"
PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(self, status: int, type_slug: str, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.type_slug = type_slug
        self.title = title
        self.detail = detail
        self.extra = extra


def problem_response(
    request: Request, status: int, type_slug: str, title: str, detail: str | None = None,
    headers: dict[str, str] | None = None, **extra: Any,
) -> JSONResponse:
    body = {"type": PROBLEM_BASE + type_slug, "title": title, "status": status, "instance": request.url.path}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def send_problem(send, status: int, type_slug: str, title: str, detail: str, *, instance: str | None = None,
                       headers: list[tuple[bytes, bytes]] = (), **extra: Any) -> None:
    """The same document from ASGI middleware, which has no Request (`send` is the ASGI callable)."""
    body = {"type": PROBLEM_BASE + type_slug, "title": title, "status": status, "detail": detail}
    if instance is not None:
        body["instance"] = instance
    payload = orjson.dumps(body | extra)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(payload)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": payload})


def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = "; ".join(str(e.get("ctx", {}).get("error", e.get("msg"))) for e in errors)
        return problem_response(request, 400, "malformed-json", "Request body is not valid JSON", detail)
    # Bounded, and never the input: a body of 90,000 unknown keys made 90,000 errors, each naming
    # its key (a key may be long), and the answer was 97 MiB.
    invalid = [
        {"location": [_clip(part) for part in e.get("loc", ())], "message": _clip(e.get("msg")), "type": e.get("type")}
        for e in errors[:MAX_REPORTED_ERRORS]
    ]
    shown = "" if len(errors) <= MAX_REPORTED_ERRORS else f" (the first {MAX_REPORTED_ERRORS} listed)"
    return problem_response(
        request, 422, "validation-failed", "Request failed validation",
        f"{len(errors)} invalid field(s){shown}", errors=invalid,
    )


MAX_REPORTED_ERRORS = 20
MAX_ECHOED_CHARS = 64


def _clip(value: Any) -> Any:
    """A location part or message as the client sent it, cut short (it may be the client's own text)."""
    if isinstance(value, str) and len(value) > MAX_ECHOED_CHARS:
        return value[:MAX_ECHOED_CHARS] + "…"
    return value


_STATUS_SLUGS = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
    406: "not-acceptable", 409: "conflict", 412: "precondition-failed", 413: "payload-too-large",
    415: "unsupported-media-type", 422: "unprocessable", 428: "precondition-required", 429: "too-many-requests",
}


def refusal_response(request, exc: Problem | AuthError | KeysUnavailable) -> JSONResponse:
    """The problem document of a refusal, for an HTTP route or a WebSocket handshake alike."""
    if isinstance(exc, KeysUnavailable):
        return _unavailable(request, "token-issuer", exc)
    if isinstance(exc, Problem):
        return problem_response(request, exc.status, exc.type_slug, exc.title, exc.detail, **exc.extra)
    if exc.status == 401:
        return problem_response(request, 401, "unauthorized", "Missing or invalid access token", exc.detail,
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return problem_response(request, 403, "forbidden", "Not allowed", exc.detail)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return refusal_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(request, exc)

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        return refusal_response(request, exc)

    @app.exception_handler(KeysUnavailable)
    async def _keys(request: Request, exc: KeysUnavailable) -> JSONResponse:
        return refusal_response(request, exc)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(request, exc.status, exc.type_slug, exc.title, str(exc),
                                headers=exc.headers, **getattr(exc, "extra", {}))

    @app.exception_handler(AggregateNotFound)
    async def _not_found(request: Request, exc: AggregateNotFound) -> JSONResponse:
        return problem_response(request, 404, "not-found", "No such resource", f"{exc.args[0]} does not exist")

    @app.exception_handler(PreconditionFailed)
    async def _precondition(request: Request, exc: PreconditionFailed) -> JSONResponse:
        return problem_response(
            request, 412, "stale-version", "If-Match does not match the current version", str(exc),
            current_version=exc.actual, headers={"ETag": f'"{exc.actual}"'},
        )

    @app.exception_handler(ConcurrencyConflict)
    async def _conflict(request: Request, exc: ConcurrencyConflict) -> JSONResponse:
        return problem_response(request, 409, "concurrent-update", "Someone else changed this resource", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = _STATUS_SLUGS.get(exc.status_code, "http-error")
        return problem_response(request, exc.status_code, slug, str(exc.detail), headers=getattr(exc, "headers", None))

    async def _outage(request: Request, exc: Exception) -> JSONResponse:
        return _unavailable(request, "postgres", exc)  # down or restarting: the client retries

    @app.exception_handler(ObjectStoreUnavailable)
    async def _objects(request: Request, exc: ObjectStoreUnavailable) -> JSONResponse:
        return _unavailable(request, "object store", exc)

    for outage in OUTAGE_ERRORS:  # one handler per class: a handler of Exception would re-raise after answering
        app.add_exception_handler(outage, _outage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "internal-error", "Internal error")


RETRY_AFTER_S = 2  # a 119 intake retried this soon finds a restarted database within a few tries
UNAVAILABLE_SLUG, UNAVAILABLE_TITLE = "dependency-unavailable", "A service this request needs is unavailable"


def unavailable_detail(dependency: str) -> str:
    return f"{dependency} cannot be reached; nothing was recorded. Retry with the same Idempotency-Key."


def log_unavailable(method: str, path: str, dependency: str, exc: BaseException) -> None:
    log.warning("%s %s: %s unavailable (%s: %s)", method, path, dependency, type(exc).__name__, str(exc)[:200])


def _unavailable(request: Request, dependency: str, exc: BaseException) -> JSONResponse:
    log_unavailable(getattr(request, "method", "WEBSOCKET"), request.url.path, dependency, exc)
    return problem_response(request, 503, UNAVAILABLE_SLUG, UNAVAILABLE_TITLE, unavailable_detail(dependency),
                            dependency=dependency, headers={"Retry-After": str(RETRY_AFTER_S)})

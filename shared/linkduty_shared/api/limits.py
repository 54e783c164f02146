"""Request size limits, enforced before anything parses a body, and no NUL characters.

`BodyLimitMiddleware` is the outermost middleware of every service (`create_app`). A request whose
Content-Length is over the limit is refused at once, without reading it; any other body is read
in full, counting, up to the limit, and only then handed on, so that no route, validator or
middleware behind it ever holds or parses more. One 11 MiB JSON body had kept the alarms
service's event loop busy for 14 s (issue 10), `/healthz` of the same process waiting with it.

PostgreSQL text cannot hold a NUL character: one in a path, a query or a JSON string reached the
database and answered 500 (a 119 call with one in its description was lost, and so was each
retry). It is refused here, for every service, with a 400 that says so.
"""

from __future__ import annotations

import asyncio
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkduty_shared.api.problems import send_problem

# An alarm report is about 1 KiB. Validating 64 KiB of the worst JSON (5,000 unknown keys, each an
# error) costs about 20 ms of the event loop; 1 MiB cost 0.4 s. XML is for CAP alerts (at most
# 256 KiB, cap.parse), parsed by a bounded, entity-free parser.
DEFAULT_MAX_BODY_BYTES = 16 * 1024
XML_MEDIA_TYPES = ("application/cap+xml", "application/xml", "text/xml")
# A run of backslashes before "u0000": a JSON \u0000 escape when the run is odd (its last
# backslash not itself escaped). A run, not a lookbehind at every byte: the lookbehind pattern
# took 89 ms over a 4 MiB ledger, on the event loop.
_BACKSLASHES_BEFORE_U0000 = re.compile(rb"\\+u0000")
_RUNS_PER_SLICE = 10_000  # matches examined between two chances for the event loop to run


async def has_json_nul(body: bytes) -> bool:
    """Whether `body` holds a JSON \u0000 escape; a body without "u0000" costs one substring search."""
    if b"u0000" not in body:
        return False
    for n, match in enumerate(_BACKSLASHES_BEFORE_U0000.finditer(body), 1):
        if (match.end() - match.start() - len(b"u0000")) % 2 == 1:
            return True
        if n % _RUNS_PER_SLICE == 0:
            await asyncio.sleep(0)
    return False


class BodyLimitMiddleware:
    """`max_bytes` for every body; `by_media_type` for bodies of those Content-Types."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 by_media_type: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.by_media_type = by_media_type or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            return await self._nul(send, scope, "the path or the query")
        declared = [v for k, v in scope["headers"] if k == b"content-length"]
        if declared and not (len(declared) == 1 and declared[0].isdigit()):
            return await send_problem(send, 400, "bad-request", "Invalid Content-Length",
                                      "one Content-Length, a number of bytes", instance=scope["path"])
        headers = dict(scope["headers"])
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        limit = self.by_media_type.get(media_type.decode("latin-1"), self.max_bytes)
        if declared and int(declared[0]) > limit:
            return await self._too_large(send, scope, limit)
        if not declared and b"chunked" not in headers.get(b"transfer-encoding", b""):
            return await self.app(scope, receive, send)  # no body (a GET, an SSE stream): nothing to hold
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away before sending it all
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await self._too_large(send, scope, limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if media_type.decode("latin-1") not in XML_MEDIA_TYPES and (b"%00" in body or await has_json_nul(body)):
            return await self._nul(send, scope, "the body")  # any JSON (application/*+json too), or a form
        await self.app(scope, replay_body(body, receive), send)

    @staticmethod
    async def _too_large(send: Send, scope: Scope, limit: int) -> None:
        await send_problem(send, 413, "payload-too-large", "Request body too large",
                           f"at most {limit} bytes", instance=scope["path"], max_bytes=limit)


    @staticmethod
    async def _nul(send: Send, scope: Scope, where: str) -> None:
        await send_problem(send, 400, "nul-character", "NUL characters are not accepted",
                           f"{where} holds a NUL character (U+0000)", instance=scope["path"].replace("\x00", "%00"))


def replay_body(body: bytes, receive: Receive) -> Receive:
    """The body, read already, as one message; then the client's own messages (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

"""`Idempotency-Key` on POST: a retried request gets the first answer, not a second effect.

An ASGI middleware, so every POST route of every service gets it without code of its own. Keys
are scoped to the authenticated client (the token is verified here, so nobody can read another
client's stored answer). The key row is claimed before the request runs: a concurrent retry
gets 409 while the first is in flight; the same key with a different request (method, path,
query, Content-Type or body) gets 422.

Only an accepted command's answer is stored (2xx, 3xx): a request refused by authentication,
authorization, validation, a limit or the state (a 409: a concurrent update three times over is
one; retried it may succeed), or failed by the server, leaves nothing, and its retry runs again (a stored 403 had been replayed for 24 h to a client that
had got the scope since). A stored answer is replayed only to a token with every right the first
one had (scopes, jurisdiction, centre): a token of the same client with fewer gets 403, never the
stored body.
"""

from __future__ import annotations

import hashlib
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkduty_shared.api.problems import (
    RETRY_AFTER_S,
    UNAVAILABLE_SLUG,
    UNAVAILABLE_TITLE,
    log_unavailable,
    send_problem,
    unavailable_detail,
)
from linkduty_shared.api.limits import replay_body
from linkduty_shared.auth.tokens import AuthError, KeysUnavailable, Principal
from linkduty_shared.db import OUTAGE_ERRORS
from linkduty_shared.retention import bounded_delete, purge_in_batches

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
# An in-flight claim older than this belonged to a crashed request (or one whose database went
# away before its answer was stored): a 119 client retrying after a PostgreSQL restart waits at
# most this long. Requests take milliseconds; none runs this long.
STALE_CLAIM_S = 15
KEEP_ANSWERS = "24 hours"  # how long a retry can still get the first answer


def _stored(status: int) -> bool:
    return 200 <= status < 400


def rights(principal: Principal) -> dict:
    return {"scopes": sorted(principal.scopes), "jurisdiction": sorted(principal.jurisdiction),
            "centre": principal.centre}


def holds(principal: Principal, first: dict) -> bool:
    """Whether `principal` has every right the token that got the stored answer had."""
    return (set(first["scopes"]) <= principal.scopes and set(first["jurisdiction"]) <= set(principal.jurisdiction)
            and first["centre"] in (None, principal.centre))


PURGE_EXPIRED = bounded_delete("idempotency_keys", f"created_at < now() - interval '{KEEP_ANSWERS}'", "created_at", "$1")


async def purge_expired_keys(pool, *, batch: int = 2000) -> int:
    """Forget answers older than KEEP_ANSWERS, `batch` rows per statement (retention.py; the
    runtime runs it): the table is on the intake's hot path and would otherwise grow with every POST."""
    return await purge_in_batches(pool, "expired Idempotency-Key answers", PURGE_EXPIRED, batch=batch)


async def _send_response(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [h for h in headers if h[0].lower() != b"content-length"] + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        key = headers.get(b"idempotency-key")
        runtime = getattr(scope["app"].state, "runtime", None)
        if key is None or runtime is None:
            return await self.app(scope, receive, send)
        if not key or len(key) > MAX_KEY_LENGTH:
            return await send_problem(send, 400, "bad-idempotency-key", "Invalid Idempotency-Key",
                                      f"must be 1 to {MAX_KEY_LENGTH} characters")
        try:
            scheme, _, credentials = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            if scheme.lower() != "bearer":
                raise AuthError(401, "not a bearer token")
            principal = runtime.verifier.verify(credentials.strip())
        except (AuthError, KeysUnavailable, UnicodeDecodeError):
            return await self.app(scope, receive, send)  # the route answers 401 (or 503)

        body, more = b"", True  # bounded: BodyLimitMiddleware, outside this one, read it already
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            await self._claim_or_replay(scope, replay_body(body, receive), body, send, runtime.pool, principal,
                                        key.decode("latin-1"))
        except OUTAGE_ERRORS as exc:  # PostgreSQL down: nothing claimed or stored, the client retries
            log_unavailable(scope["method"], scope["path"], "postgres", exc)
            await send_problem(send, 503, UNAVAILABLE_SLUG, UNAVAILABLE_TITLE, unavailable_detail("postgres"),
                               headers=[(b"retry-after", str(RETRY_AFTER_S).encode())], dependency="postgres")

    async def _claim_or_replay(self, scope: Scope, receive: Receive, body: bytes, send: Send, pool,
                               principal: Principal, key_text: str) -> None:
        client_id = principal.client_id
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        request_hash = hashlib.sha256(b"\0".join([scope["method"].encode(), scope["path"].encode(),
                                                   scope["query_string"], content_type, body])).digest()
        while True:
            async with pool.acquire() as conn:
                claimed = await conn.fetchval(
                    f"""INSERT INTO idempotency_keys (client_id, key, request_hash) VALUES ($1, $2, $3)
                       ON CONFLICT (client_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, created_at = now(),
                           status = NULL, headers = NULL, body = NULL, completed_at = NULL, rights = NULL
                       WHERE (idempotency_keys.completed_at IS NULL
                              AND idempotency_keys.created_at < now() - make_interval(secs => $4))
                          OR idempotency_keys.created_at < now() - interval '{KEEP_ANSWERS}'
                       RETURNING true""",
                    client_id, key_text, request_hash, STALE_CLAIM_S,
                )
                row = None if claimed else await conn.fetchrow(
                    "SELECT request_hash, status, headers, body, completed_at, rights FROM idempotency_keys"
                    " WHERE client_id = $1 AND key = $2",
                    client_id, key_text,
                )
            if claimed or row is not None:
                break
            # the first request's claim was dropped (not stored) between the two: claim again
        if row is not None:
            if row["request_hash"] != request_hash:
                return await send_problem(send, 422, "idempotency-key-reused",
                                          "Idempotency-Key reused for a different request",
                                          "use a new key for a new request")
            if row["completed_at"] is None:
                return await send_problem(send, 409, "request-in-progress",
                                          "A request with this Idempotency-Key is in progress",
                                          "retry after it completes", headers=[(b"retry-after", b"1")])
            if row["rights"] is not None and not holds(principal, row["rights"]):  # None: stored before rights were
                return await send_problem(send, 403, "idempotency-key-other-rights",
                                          "This Idempotency-Key was answered to a token with more rights",
                                          "the stored answer is replayed only to a token with every scope, "
                                          "jurisdiction and centre of the first")
            stored = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in row["headers"]]
            return await _send_response(send, row["status"], stored + [(b"idempotent-replayed", b"true")], row["body"])

        await self._run_and_store(scope, receive, send, pool, principal, key_text)

    async def _run_and_store(self, scope: Scope, receive: Receive, send: Send, pool, principal: Principal,
                             key: str) -> None:
        """`receive` replays the body read already."""
        status, response_headers, chunks = 500, [], []

        async def capture_send(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture_send)
        finally:
            await self._store(pool, principal, key, status, response_headers, chunks)

    async def _store(self, pool, principal: Principal, key: str, status: int, response_headers, chunks) -> None:
        try:
            async with pool.acquire() as conn:
                if not _stored(status):
                    await conn.execute("DELETE FROM idempotency_keys WHERE client_id = $1 AND key = $2",
                                       principal.client_id, key)
                else:
                    await conn.execute(
                        """UPDATE idempotency_keys SET status = $3, headers = $4, body = $5, completed_at = now(),
                                  rights = $6
                           WHERE client_id = $1 AND key = $2""",
                        principal.client_id, key, status,
                        [[k.decode("latin-1"), v.decode("latin-1")] for k, v in response_headers],
                        b"".join(chunks), rights(principal),
                    )
        except OUTAGE_ERRORS as exc:  # the claim stays until STALE_CLAIM_S; a retry meanwhile gets 409
            log.warning("Idempotency-Key answer not stored, PostgreSQL unavailable (%s)", type(exc).__name__)

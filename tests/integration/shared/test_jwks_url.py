"""Token keys from a JWKS URL (production's issuer), served here by a real HTTP server on
127.0.0.1: fetched off the request path, refetched for a rotated key, and a request that cannot
be verified yet is a 503 with Retry-After, never a wait of the event loop nor a 500."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time

import httpx
import pytest

from linkduty_shared.api.app import create_app
from linkduty_shared.auth import KeysUnavailable, TokenVerifier
from linkduty_shared.auth.issuer import LocalIssuer
from linkduty_shared.config import ServiceSettings
from tests.conftest import eventually
from tests.support.tally import tally_router


class JwksServer:
    """Serves `document` at /jwks.json; `failing` answers 503 instead."""

    def __init__(self) -> None:
        self.document: dict = {"keys": []}
        self.failing = False
        self.fetches = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.fetches += 1
                body, status = (b"down", 503) if outer.failing else (json.dumps(outer.document).encode(), 200)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, issuer: LocalIssuer) -> None:
        self.document = json.loads(issuer.jwks_file.read_text())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks():
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture
def issuers(tmp_path) -> tuple[LocalIssuer, LocalIssuer]:
    """The issuer's key before and after a rotation (same issuer name, two keys)."""
    return LocalIssuer(tmp_path / "before"), LocalIssuer(tmp_path / "after")


async def test_keys_are_fetched_off_the_request_path_and_refetched_for_a_rotated_key(jwks, issuers):
    before, after = issuers
    jwks.serve(before)
    verifier = TokenVerifier(issuer=before.issuer, audience="linkduty", jwks_url=jwks.url, min_refetch_s=0.5)
    token = before.issue("c", ["x"])
    with pytest.raises(KeysUnavailable):  # not fetched yet: refused at once, no fetch on the request path
        verifier.verify(token)
    keeper = asyncio.create_task(verifier.keep_keys_fresh())
    try:
        await eventually(lambda: jwks.fetches >= 1, what="the first fetch")
        await eventually(lambda: _verifies(verifier, token), what="keys fetched")
        jwks.serve(after)  # the issuer rotates its key
        rotated = after.issue("c", ["x"])
        await asyncio.sleep(0.6)  # past min_refetch_s since the last fetch
        with pytest.raises(KeysUnavailable):
            verifier.verify(rotated)  # unknown key id: a refetch is asked for, this request not held
        await eventually(lambda: _verifies(verifier, rotated), timeout=10, what="the rotated key fetched")
    finally:
        keeper.cancel()


def _verifies(verifier: TokenVerifier, token: str) -> bool:
    try:
        return verifier.verify(token).client_id == "c"
    except KeysUnavailable:
        return False


async def test_with_the_issuer_unreachable_a_request_is_a_503_at_once_and_healthz_answers(
        jwks, issuers, schema_dsn, kafka_bootstrap, topic):
    jwks.failing = True
    before, _ = issuers
    settings = ServiceSettings(service_name="tally-jwks", pg_dsn=schema_dsn, kafka_bootstrap=kafka_bootstrap,
                               auth_jwks_url=jwks.url, auth_issuer=before.issuer)
    app = create_app(settings, title="Tally", routers=[tally_router(topic)])
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tally") as client:
            await eventually(lambda: jwks.fetches >= 1, what="a fetch tried")
            started = time.monotonic()
            r = await client.post("/v1/tallies", json={"id": "t1", "title": "x"},
                                  headers={"Authorization": "Bearer " + before.issue("c", ["tallies:write"]),
                                           "Idempotency-Key": "k1"})
            assert time.monotonic() - started < 0.5
            assert r.status_code == 503 and r.headers["retry-after"]
            assert r.headers["content-type"] == "application/problem+json" and r.json()["dependency"] == "token-issuer"
            assert (await client.get("/healthz")).status_code == 200
            jwks.failing = False
            jwks.serve(before)  # the issuer is back: within a retry or two the same request succeeds
            async def created() -> bool:
                again = await client.post("/v1/tallies", json={"id": "t1", "title": "x"},
                                          headers={"Authorization": "Bearer " + before.issue("c", ["tallies:write"]),
                                                   "Idempotency-Key": "k1"})
                return again.status_code == 201
            await eventually(created, timeout=15, interval=0.5, what="the request verified once the keys came")

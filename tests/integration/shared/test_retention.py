"""Retention against the real PostgreSQL: expired Idempotency-Key answers and old processed_events
rows go, in bounded batches, and nothing younger; a key used again after 24 h is a new request."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from linkduty_shared.api.app import create_app
from linkduty_shared.api.idempotency import purge_expired_keys
from linkduty_shared.auth.issuer import LocalIssuer
from linkduty_shared.config import ServiceSettings
from linkduty_shared.projections.runners import purge_processed_events
from tests.support.tally import tally_router


async def _keys(pool, client_id: str, ages_h: list[float]) -> None:
    async with pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO idempotency_keys (client_id, key, request_hash, status, headers, body, created_at, completed_at)
               VALUES ($1, $2, '\\x00', 200, '[]', '', now() - make_interval(hours => $3), now())""",
            [(client_id, f"k-{i}", age) for i, age in enumerate(ages_h)])


async def test_expired_answers_are_purged_in_batches_and_younger_ones_kept(pool):
    await _keys(pool, "partner-a", [30, 25, 48, 24.5, 26, 700, 23.5, 1, 0])
    purged = await purge_expired_keys(pool, batch=2)  # six expired: three full batches, then an empty one
    async with pool.acquire() as conn:
        left = await conn.fetch("SELECT key FROM idempotency_keys ORDER BY key")
    assert purged == 6 and [r["key"] for r in left] == ["k-6", "k-7", "k-8"]
    assert await purge_expired_keys(pool, batch=2) == 0


async def test_processed_events_older_than_kept_are_purged(pool):
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ('p', $1, now() - make_interval(days => $2))",
            [(uuid.uuid4(), days) for days in (40, 38, 90, 36, 2)])
    assert await purge_processed_events(pool, dt.timedelta(days=37), batch=2) == 3
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM processed_events") == 2


@pytest.fixture
async def tally(schema_dsn, kafka_bootstrap, topic, tmp_path, pool):
    issuer = LocalIssuer(tmp_path / "auth")
    settings = ServiceSettings(service_name="tally-retention", pg_dsn=schema_dsn, kafka_bootstrap=kafka_bootstrap,
                               auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer)
    app = create_app(settings, title="Tally", routers=[tally_router(topic)])
    auth = {"Authorization": "Bearer " + issuer.issue("console-1", ["tallies:read", "tallies:write"])}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tally") as client:
            yield client, auth


async def test_a_key_used_again_after_24_hours_is_a_new_request_purged_or_not(tally, pool):
    client, auth = tally
    await client.post("/v1/tallies", json={"id": "r1", "title": "x"}, headers=auth)
    key = {**auth, "Idempotency-Key": "daily-report"}
    first = await client.post("/v1/tallies/r1/increments", json={"by": 1}, headers=key)
    assert first.status_code == 200 and first.json()["total"] == 1
    async with pool.acquire() as conn:  # a day and an hour later, before any purge ran
        await conn.execute("UPDATE idempotency_keys SET created_at = created_at - interval '25 hours'")
    later = await client.post("/v1/tallies/r1/increments", json={"by": 5}, headers=key)  # another body: no 422
    assert later.status_code == 200 and later.json()["total"] == 6 and "idempotent-replayed" not in later.headers
    again = await client.post("/v1/tallies/r1/increments", json={"by": 5}, headers=key)  # and it is kept anew
    assert again.headers["idempotent-replayed"] == "true" and again.json()["total"] == 6

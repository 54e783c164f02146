"""The app factory's promises, through a tiny service: problem+json for every kind of bad input,
Idempotency-Key, ETag/If-Match, scopes, health probes."""

import asyncio
import uuid

import httpx
import pytest
from opentelemetry import trace

from linkduty_shared.api.app import create_app
from linkduty_shared.api.limits import DEFAULT_MAX_BODY_BYTES
from linkduty_shared.api.problems import PROBLEM_JSON
from linkduty_shared.auth.issuer import LocalIssuer
from linkduty_shared.config import ServiceSettings
from linkduty_shared.messaging.consumer import ConsumerRunner
from tests.conftest import eventually
from tests.support.kafka import read_topic
from tests.support.proxy import Proxy
from tests.support.tally import tally_router


@pytest.fixture
def issuer(tmp_path) -> LocalIssuer:
    return LocalIssuer(tmp_path / "auth")


@pytest.fixture
async def client(schema_dsn, kafka_bootstrap, topic, issuer):
    settings = ServiceSettings(
        service_name="tally-test", pg_dsn=schema_dsn, kafka_bootstrap=kafka_bootstrap,
        auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer,
    )
    app = create_app(settings, title="Tally", routers=[tally_router(topic)])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tally") as c:
            yield c


@pytest.fixture
def auth(issuer) -> dict[str, str]:
    return {"Authorization": "Bearer " + issuer.issue("console-1", ["tallies:read", "tallies:write"])}


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"].endswith("/" + slug) and body["status"] == status and body["title"]
    return body


async def test_open_then_read_carries_the_version_as_etag(client, auth):
    created = await client.post("/v1/tallies", json={"id": "t1", "title": "drills"}, headers=auth)
    assert created.status_code == 201 and created.headers["etag"] == '"1"'
    read = await client.get("/v1/tallies/t1", headers=auth)
    assert read.json() == {"id": "t1", "version": 1, "total": 0, "closed": False}


async def test_malformed_json_is_a_400_problem(client, auth):
    r = await client.post("/v1/tallies", content=b'{"id": "t1", "title": ', headers={**auth, "content-type": "application/json"})
    assert_problem(r, 400, "malformed-json")


async def test_wrong_types_are_a_422_problem_naming_the_fields(client, auth):
    r = await client.post("/v1/tallies", json={"id": 5, "title": ["x"]}, headers=auth)
    body = assert_problem(r, 422, "validation-failed")
    assert {tuple(e["location"]) for e in body["errors"]} == {("body", "id"), ("body", "title")}


async def test_stale_if_match_is_a_412_and_writes_nothing(client, auth):
    await client.post("/v1/tallies", json={"id": "t2", "title": "x"}, headers=auth)
    ok = await client.post("/v1/tallies/t2/increments", json={"by": 2}, headers={**auth, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    stale = await client.post("/v1/tallies/t2/increments", json={"by": 5}, headers={**auth, "If-Match": '"1"'})
    assert assert_problem(stale, 412, "stale-version")["current_version"] == 2
    assert (await client.get("/v1/tallies/t2", headers=auth)).json()["total"] == 2
    bad = await client.post("/v1/tallies/t2/increments", json={"by": 5}, headers={**auth, "If-Match": "yesterday"})
    assert_problem(bad, 400, "bad-if-match")


async def test_missing_expired_or_foreign_tokens_are_401_and_missing_scope_is_403(client, issuer, tmp_path):
    assert_problem(await client.get("/v1/tallies/x"), 401, "unauthorized")
    garbage = await client.get("/v1/tallies/x", headers={"Authorization": "Bearer not.a.jwt"})
    assert_problem(garbage, 401, "unauthorized")
    expired = issuer.issue("c", ["tallies:read"], ttl_s=-120)
    assert_problem(await client.get("/v1/tallies/x", headers={"Authorization": f"Bearer {expired}"}), 401, "unauthorized")
    other_audience = issuer.issue("c", ["tallies:read"], audience="someone-else")
    r = await client.get("/v1/tallies/x", headers={"Authorization": f"Bearer {other_audience}"})
    assert_problem(r, 401, "unauthorized")
    forged = LocalIssuer(tmp_path / "other-issuer").issue("c", ["tallies:read"])  # same claims, wrong key
    assert_problem(await client.get("/v1/tallies/x", headers={"Authorization": f"Bearer {forged}"}), 401, "unauthorized")
    read_only = issuer.issue("c", ["tallies:read"])
    r = await client.post("/v1/tallies", json={"id": "t3", "title": "x"}, headers={"Authorization": f"Bearer {read_only}"})
    assert_problem(r, 403, "forbidden")


async def test_domain_refusals_and_unknown_resources_are_problems(client, auth):
    await client.post("/v1/tallies", json={"id": "t4", "title": "x"}, headers=auth)
    assert_problem(await client.post("/v1/tallies", json={"id": "t4", "title": "x"}, headers=auth), 409, "illegal-transition")
    assert_problem(await client.post("/v1/tallies/t4/increments", json={"by": -1}, headers=auth), 422, "invariant-violated")
    assert_problem(await client.get("/v1/tallies/nope", headers=auth), 404, "not-found")
    assert_problem(await client.post("/v1/tallies/nope/increments", json={"by": 1}, headers=auth), 404, "not-found")


async def test_idempotency_key_replays_the_first_answer_and_refuses_reuse(client, auth):
    await client.post("/v1/tallies", json={"id": "t5", "title": "x"}, headers=auth)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/v1/tallies/t5/increments", json={"by": 3}, headers={**auth, **key})
    again = await client.post("/v1/tallies/t5/increments", json={"by": 3}, headers={**auth, **key})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() == {"id": "t5", "version": 2, "total": 3}
    assert again.headers["idempotent-replayed"] == "true"
    assert (await client.get("/v1/tallies/t5", headers=auth)).json()["total"] == 3  # applied once
    reused = await client.post("/v1/tallies/t5/increments", json={"by": 4}, headers={**auth, **key})
    assert_problem(reused, 422, "idempotency-key-reused")


async def test_a_request_and_the_events_it_causes_share_one_trace(client, auth, topic, kafka_bootstrap):
    trace_id = uuid.uuid4().hex
    traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
    r = await client.post("/v1/tallies", json={"id": "traced", "title": "x"}, headers={**auth, "traceparent": traceparent})
    assert r.status_code == 201
    [record] = await read_topic(kafka_bootstrap, topic, until_count=1)
    carried = dict(record.headers)["ce_traceparent"].decode()
    assert carried.split("-")[1] == trace_id  # same trace, the service's own span as parent

    seen = []

    async def handler(envelope, rec) -> None:
        seen.append(format(trace.get_current_span().get_span_context().trace_id, "032x"))

    runner = ConsumerRunner(bootstrap=kafka_bootstrap, group_id=f"g-{topic}", topics=[topic], handler=handler)
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: seen, what="the consumer to handle the event")
    finally:
        task.cancel()
    assert seen == [trace_id]


async def test_health_and_readiness_report_postgres_and_kafka(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"postgres": "ok", "kafka": "ok"}


@pytest.mark.parametrize("requires, status", [(("postgres", "kafka"), 503), (("postgres",), 200)])
async def test_readiness_with_kafka_down_depends_on_what_the_deployment_requires(
        schema_dsn, topic, issuer, requires, status):
    settings = ServiceSettings(
        service_name="tally-test", pg_dsn=schema_dsn, kafka_bootstrap="127.0.0.1:9",  # nothing listens there
        auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer, ready_requires=requires,
    )
    app = create_app(settings, title="Tally", routers=[tally_router(topic)])
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tally") as c:
            ready = await c.get("/readyz")
    assert ready.status_code == status
    assert ready.json()["checks"]["postgres"] == "ok" and ready.json()["checks"]["kafka"].startswith("unavailable")


async def test_with_postgres_unreachable_a_write_is_a_503_with_retry_after_and_readiness_names_it(
        schema_dsn, kafka_bootstrap, topic, issuer, auth):
    """The service reaches PostgreSQL through a proxy, which is cut mid-run, then restored."""
    dsn = httpx.URL(schema_dsn.replace("postgresql://", "http://"))
    proxy = Proxy(dsn.host, dsn.port)
    await proxy.open()
    settings = ServiceSettings(
        service_name="tally-test", pg_dsn=schema_dsn.replace(f":{dsn.port}/", f":{proxy.port}/"),
        kafka_bootstrap=kafka_bootstrap, auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer,
    )
    app = create_app(settings, title="Tally", routers=[tally_router(topic)])
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tally") as c:
            assert (await c.post("/v1/tallies", json={"id": "before", "title": "x"}, headers=auth)).status_code == 201
            await proxy.cut()
            refused = await c.post("/v1/tallies", json={"id": "during", "title": "x"},
                                   headers={**auth, "Idempotency-Key": "k-during"})
            ready = await c.get("/readyz")
            await proxy.open()
            retried = await c.post("/v1/tallies", json={"id": "during", "title": "x"},
                                   headers={**auth, "Idempotency-Key": "k-during"})
    body = assert_problem(refused, 503, "dependency-unavailable")
    assert refused.headers["retry-after"] == "2" and body["dependency"] == "postgres"
    assert ready.status_code == 503 and ready.json()["checks"]["postgres"].startswith("unavailable")
    assert retried.status_code == 201  # the refused request stored no answer under its key


async def test_a_body_over_the_limit_is_a_413_problem_before_any_route_reads_it(client, auth):
    over = b'{"id": "t9", "title": "' + b"x" * DEFAULT_MAX_BODY_BYTES + b'"}'
    body = assert_problem(await client.post("/v1/tallies", content=over, headers={**auth, "content-type": "application/json"}),
                          413, "payload-too-large")
    assert body["max_bytes"] == DEFAULT_MAX_BODY_BYTES
    with_key = {**auth, "content-type": "application/json", "Idempotency-Key": "k-413"}
    assert_problem(await client.post("/v1/tallies", content=over, headers=with_key), 413, "payload-too-large")
    assert (await client.get("/v1/tallies/t9", headers=auth)).status_code == 404  # nothing written


async def test_a_stored_answer_is_replayed_only_to_a_token_with_every_right_of_the_first(client, auth, issuer):
    await client.post("/v1/tallies", json={"id": "t6", "title": "x"}, headers=auth)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/v1/tallies/t6/increments", json={"by": 2}, headers={**auth, **key})
    assert first.status_code == 200
    no_scope = {"Authorization": "Bearer " + issuer.issue("console-1", [])}  # the same client, no scope
    refused = await client.post("/v1/tallies/t6/increments", json={"by": 2}, headers={**no_scope, **key})
    body = assert_problem(refused, 403, "idempotency-key-other-rights")
    assert "total" not in refused.text and body["status"] == 403
    again = await client.post("/v1/tallies/t6/increments", json={"by": 2}, headers={**auth, **key})
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()


async def test_a_refusal_is_not_stored_and_the_retry_with_the_scope_runs(client, auth, issuer):
    await client.post("/v1/tallies", json={"id": "t7", "title": "x"}, headers=auth)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    read_only = {"Authorization": "Bearer " + issuer.issue("console-1", ["tallies:read"])}
    assert_problem(await client.post("/v1/tallies/t7/increments", json={"by": 5}, headers={**read_only, **key}),
                   403, "forbidden")
    assert_problem(await client.post("/v1/tallies/t7/increments", json={"by": "x"}, headers={**auth, **key}),
                   422, "validation-failed")
    granted = await client.post("/v1/tallies/t7/increments", json={"by": 5}, headers={**auth, **key})
    assert granted.status_code == 200 and "idempotent-replayed" not in granted.headers
    assert granted.json()["total"] == 5


async def test_the_key_covers_the_query_and_the_content_type_not_only_path_and_body(client, auth):
    await client.post("/v1/tallies", json={"id": "t8", "title": "x"}, headers=auth)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = b'{"by": 1}'
    first = await client.post("/v1/tallies/t8/increments", content=body, headers={**auth, **key, "content-type": "application/json"})
    assert first.status_code == 200
    other_query = await client.post("/v1/tallies/t8/increments?x=1", content=body,
                                    headers={**auth, **key, "content-type": "application/json"})
    assert_problem(other_query, 422, "idempotency-key-reused")
    other_type = await client.post("/v1/tallies/t8/increments", content=body,
                                   headers={**auth, **key, "content-type": "text/plain"})
    assert_problem(other_type, 422, "idempotency-key-reused")


async def test_a_service_without_an_event_store_gets_no_event_tables_and_no_relay(schema_dsn, schema, kafka_bootstrap,
                                                                                   issuer):
    settings = ServiceSettings(service_name="feed-only", pg_dsn=schema_dsn, kafka_bootstrap=kafka_bootstrap,
                               auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer)
    app = create_app(settings, title="Feed only", event_store=False)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        assert runtime.store is None and runtime.relay is None
        assert "outbox relay" not in {t.get_name() for t in runtime.tasks}
        tables = {r["tablename"] for r in await runtime.pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1",
                                                                   schema)}
    assert "idempotency_keys" in tables and not {"events", "outbox"} & tables


async def test_a_409_is_not_stored_so_a_retry_with_the_key_runs_again(client, auth):
    """A 409 may be a concurrent update lost three times over: stored, it would refuse the retry for 24 h."""
    await client.post("/v1/tallies", json={"id": "t9", "title": "x"}, headers=auth)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    for _ in range(2):
        again = await client.post("/v1/tallies", json={"id": "t9", "title": "x"}, headers={**auth, **key})
        assert_problem(again, 409, "illegal-transition")
        assert "idempotent-replayed" not in again.headers

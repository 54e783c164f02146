"""Durable deadlines against the real stack: the sweep finds overdue hazards in PostgreSQL and
escalates each one level up (community → street → district) through the unit of work, once per
missed deadline, on Kafka; a triage or a second sweep racing it changes nothing twice.

Time moves by the service's injected clock (the conftest's `clock`), or, for the background
loop, by deadlines shortened through settings: the read model is never written by a test."""

import asyncio
import datetime as dt

import httpx
import pytest

from hazards.bootstrap import build_app
from hazards.projections.hazard_list import _OVERDUE, overdue_hazards
from linkduty_shared.application import CommandContext
from linkduty_shared.events import envelope_from_kafka
from tests.conftest import eventually
from tests.integration.hazards.conftest import a_point, report
from tests.support.kafka import read_topic

SWEEP = CommandContext(actor="test-sweep")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


async def reported(client, headers, city, index: int, **overrides) -> dict:
    lat, lon, _ = a_point(city, index)
    r = await client.post("/v1/hazards", json=report(lat, lon, **overrides), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def seen(client, headers, hazard_id: str) -> dict:
    r = await client.get(f"/v1/hazards/{hazard_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def escalations(hazard: dict) -> list[dict]:
    return [s for s in hazard["history"] if s["what"] == "HazardEscalated"]


async def test_an_untriaged_hazard_past_its_triage_deadline_goes_to_the_street_in_one_sweep_and_not_again(
        client, token, city, clock, service, hazards_topics, kafka_bootstrap):
    staff = token()
    hazard = await reported(client, staff, city, 20)  # ebike_indoors, moderate: triage within 24 h
    assert await service.escalate_overdue() == 0  # not yet due
    clock.advance(hours=24, minutes=1)
    assert await service.escalate_overdue() == 1
    assert await service.escalate_overdue() == 0  # the next sweep: the street has its own 24 h now
    now = await seen(client, staff, hazard["hazard_id"])
    assert now["handled_by"]["level"] == "street"
    assert now["handled_by"]["centre_id"] == f"centre-{now['jurisdiction']['street']}"
    assert len(escalations(now)) == 1
    assert at(now["triage_due_at"]) == at(escalations(now)[0]["at"]) + dt.timedelta(hours=24)

    records = await read_topic(kafka_bootstrap, hazards_topics["events"], until_count=2)
    published = [envelope_from_kafka(r.headers, r.key, r.value) for r in records]
    assert [e.event_name for e in published] == ["HazardReported", "HazardEscalated"]
    escalated = published[1]
    assert escalated.subject == hazard["hazard_id"] and escalated.streamversion == 2
    assert {k: escalated.data[k] for k in ("from_level", "to_level", "deadline", "overdue_since")} == {
        "from_level": "community", "to_level": "street", "deadline": "triage",
        "overdue_since": hazard["triage_due_at"]}
    assert escalated.data["due_at"] == now["triage_due_at"]


async def test_an_assigned_hazard_not_rectified_escalates_community_street_district_and_stops_there(
        client, token, city, clock, service):
    staff = token()
    hazard_id = (await reported(client, staff, city, 21))["hazard_id"]
    for action, body in (("acceptance", {}),
                         ("assignment", {"assignee_kind": "property_manager", "assignee_id": "pm-9"})):
        r = await client.post(f"/v1/hazards/{hazard_id}/{action}", json=body, headers=staff)
        assert r.status_code == 200, r.text
    assigned = r.json()
    window = service.taxonomy["ebike_indoors"].rectify_within["moderate"]  # 24 h
    assert at(assigned["rectification_due_at"]) - at(assigned["history"][-1]["at"]) == window

    levels = []
    for _ in range(4):  # a pass past each deadline in force, and one more at the top
        clock.advance(seconds=window.total_seconds() + 60)
        assert await service.escalate_overdue() == (1 if len(levels) < 2 else 0)
        assert await service.escalate_overdue() == 0
        levels.append((await seen(client, staff, hazard_id))["handled_by"]["level"])
    assert levels == ["street", "district", "district", "district"]
    now = await seen(client, staff, hazard_id)
    assert len(escalations(now)) == 2 and now["status"] == "rectifying"
    async with service.store.pool.acquire() as conn:
        assert hazard_id not in await overdue_hazards(conn, clock(), 100)  # the top: not even a candidate


async def test_a_hazard_triaged_before_the_sweep_or_while_it_runs_is_not_escalated(
        client, token, city, clock, service, monkeypatch):
    staff = token()
    before = (await reported(client, staff, city, 22))["hazard_id"]
    racing = (await reported(client, staff, city, 23))["hazard_id"]
    clock.advance(hours=25)
    r = await client.post(f"/v1/hazards/{before}/acceptance", json={}, headers=staff)
    assert r.status_code == 200, r.text  # triaged late, but before the sweep came by

    # The other is triaged between the sweep's load and its append: the append conflicts, the
    # unit of work loads it again and finds it triaged, so nothing is recorded.
    load, triaged = service.repo.get, {}

    async def load_then_triage(aggregate_id, **kwargs):
        hazard = await load(aggregate_id, **kwargs)
        if aggregate_id == racing and "answer" not in triaged and not triaged.setdefault("started", False):
            triaged["started"] = True  # once: the triage's own load (and the sweep's retry) pass through
            triaged["answer"] = await client.post(f"/v1/hazards/{racing}/acceptance", json={}, headers=staff)
        return hazard

    monkeypatch.setattr(service.repo, "get", load_then_triage)
    async with service.store.pool.acquire() as conn:
        assert await overdue_hazards(conn, clock(), 100) == [racing]  # `before` is no candidate any more
    assert await service.escalate_overdue() == 0
    assert triaged["answer"].status_code == 200, triaged["answer"].text
    for hazard_id in (before, racing):
        now = await seen(client, staff, hazard_id)
        assert now["status"] == "accepted" and now["handled_by"]["level"] == "community" and not escalations(now)


async def test_two_sweeps_at_once_escalate_each_overdue_hazard_once(
        client, token, city, clock, service, hazards_topics, kafka_bootstrap):
    staff = token()
    ids = [(await reported(client, staff, city, 30 + i))["hazard_id"] for i in range(6)]
    clock.advance(hours=25)
    first, second = await asyncio.gather(service.escalate_overdue(), service.escalate_overdue())
    assert first + second == len(ids)
    for hazard_id in ids:
        assert len(escalations(await seen(client, staff, hazard_id))) == 1
    records = await read_topic(kafka_bootstrap, hazards_topics["events"], until_count=2 * len(ids))
    names = [envelope_from_kafka(r.headers, r.key, r.value).event_name for r in records]
    assert names.count("HazardEscalated") == len(ids) and len(names) == 2 * len(ids)


@pytest.fixture
async def fast_deadlines_app(hazards_settings):
    """The service with its own loop sweeping every 0.2 s and triage deadlines of 3.6 s."""
    settings = hazards_settings.model_copy(update={
        "deadline_sweep_interval_s": 0.2,
        "triage_within_hours": {"minor": 0.001, "moderate": 0.001, "major": 0.001}})
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_the_background_sweep_escalates_by_the_deadlines_in_settings(fast_deadlines_app, token, city):
    staff = token()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fast_deadlines_app),
                                 base_url="http://hazards") as client:
        hazard = await reported(client, staff, city, 40)
        assert at(hazard["triage_due_at"]) - at(hazard["reported_at"]) == dt.timedelta(seconds=3.6)

        async def level():
            return (await seen(client, staff, hazard["hazard_id"]))["handled_by"]["level"]

        await eventually(lambda: _is(level(), "street"), timeout=20, what="escalated to the street")
        await eventually(lambda: _is(level(), "district"), timeout=20, what="escalated to the district")
        await asyncio.sleep(4.5)  # past the district's window: the top stays the top
        assert len(escalations(await seen(client, staff, hazard["hazard_id"]))) == 2


async def _is(value, expected) -> bool:
    return (await value) == expected


async def test_the_overdue_query_walks_its_two_partial_indexes_and_stops_at_the_batch(service):
    """The plan only (5,000 rows written straight into the read model for it, 96 % of them fixed
    long ago: what the table grows into): each half is an index scan of its partial index under a
    limit, for the generic plan of the prepared statement too; no sequential scan of the table."""
    async with service.store.pool.acquire() as conn:
        await conn.execute("""
            INSERT INTO hazard_list (hazard_id, status, category, severity, source, lat, lon, grid, community, street,
                district, city, handling_level, reported_at, triage_due_at, rectification_due_at, reporters,
                failures, version)
            SELECT 'plan-' || i, CASE i % 50 WHEN 0 THEN 'reported' WHEN 1 THEN 'rectifying'
                                             WHEN 2 THEN 'awaiting_verification' ELSE 'confirmed' END,
                   'ebike_indoors', 'moderate', 'resident_app', 30 + i * 1e-5, 120, 'g', 'c', 's', 'd', 'x',
                   CASE WHEN i % 200 = 0 THEN 'district' ELSE 'community' END,
                   now() - make_interval(mins => i), now() - make_interval(mins => i) + interval '24 hours',
                   now() - make_interval(mins => i) + interval '30 hours', 1, 0, 1
            FROM generate_series(1, 5000) i""")
        await conn.execute("ANALYZE hazard_list")
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
        custom = "\n".join(r[0] for r in await conn.fetch("EXPLAIN (COSTS OFF) " + _OVERDUE, later, 100))
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE overdue(timestamptz, int) AS {_OVERDUE}")
        generic = "\n".join(r[0] for r in await conn.fetch(
            f"EXPLAIN (COSTS OFF) EXECUTE overdue('{later.isoformat()}', 100)"))
        await conn.execute("DEALLOCATE overdue; RESET plan_cache_mode")
        for plan in (custom, generic):
            assert "Index Scan using hazard_list_untriaged_due" in plan, plan
            assert "Index Scan using hazard_list_rectifying_due" in plan, plan
            assert "Seq Scan" not in plan, plan
        found = await overdue_hazards(conn, later, 100)
    assert len(found) == 100 and len(set(found)) == 100

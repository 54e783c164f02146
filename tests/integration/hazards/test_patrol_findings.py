"""Joint patrols' findings (units.events PatrolFindingLogged) filed as hazards, against the real
Kafka and PostgreSQL: the hazards app in-process consumes its own test units.events topic."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid

import asyncpg
import pytest

from hazards.application.service import patrol_hazard_id
from linkduty_shared.application import CommandContext
from linkduty_shared.events.envelope import Envelope, envelope_to_kafka
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic
from tests.conftest import eventually
from tests.integration.hazards.conftest import a_point
from tests.support.kafka import make_topics, read_topic
from units.bootstrap import build_app as build_units_app
from units.config import UnitsSettings

CST = dt.timezone(dt.timedelta(hours=8))


def finding(lat: float | None, lon: float | None, kind: str = "e_bike_charging",
            text: str = "3幢楼道电动车充电") -> dict:
    """PatrolFindingLogged data as the units service records it (contracts/units.py)."""
    data = {"text": text, "hazard_kind": kind, "at": dt.datetime.now(CST).isoformat()}
    return data | ({"lat": lat, "lon": lon} if lat is not None else {"lat": None, "lon": None})


@pytest.fixture
def publish(producer, hazards_topics):
    """publish(data[, patrol_id, event_type, event_id]) → the Envelope put on the test units.events."""

    async def send(data: dict, *, patrol_id: str | None = None,
                   event_type: str = "linkduty.joint_patrol.PatrolFindingLogged",
                   event_id: str | None = None) -> Envelope:
        envelope = Envelope(id=event_id or str(uuid.uuid4()), source="/linkduty/units", type=event_type,
                            subject=patrol_id or str(uuid.uuid4()), time=dt.datetime.now(dt.UTC), data=data,
                            streamversion=3, actor="test-centre", correlationid=f"corr-{uuid.uuid4().hex[:6]}")
        await send_envelope(envelope)
        return envelope

    async def send_envelope(envelope: Envelope, value: bytes | None = None) -> None:
        message = envelope_to_kafka(envelope)
        await producer.send_and_wait(hazards_topics["units"], key=envelope.subject.encode(),
                                     value=message.value if value is None else value,
                                     headers=list(message.headers.items()))

    send.envelope = send_envelope
    return send


async def filed(service, finding_id: str):
    hazard = await service.repo.load(patrol_hazard_id(finding_id))
    return hazard if hazard.exists else None


async def hazard_count(service) -> int:
    async with service.store.pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM hazard_list")


async def test_a_patrol_finding_becomes_a_hazard_from_the_joint_patrol_in_its_grid_and_category(
        hazards_app, service, publish, city, hazards_topics, kafka_bootstrap):
    lat, lon, community = a_point(city, 3)
    typed = "消防车通道被私家车占用, 车主 13812345678"
    envelope = await publish(finding(lat, lon, kind="blocked_fire_lane", text=typed))
    hazard = await eventually(lambda: filed(service, envelope.id), what="the finding filed")
    chain = city.resolve(lat, lon)
    assert hazard.source == "joint_patrol" and hazard.category == "fire_lane_blocked" and hazard.status == "reported"
    assert hazard.jurisdiction["grid"] == chain.grid.code and hazard.jurisdiction["community"] == community.code
    assert hazard.severity == "major"  # the category's default
    assert "13812345678" not in hazard.description and hazard.description.endswith("*******5678")
    [stored] = await service.store.load(hazard.id)
    # The patrol is the actor; what caused it is the finding; nothing goes to the vault.
    assert stored.metadata["actor"] == f"patrol:{envelope.subject}"
    assert stored.metadata["causationid"] == envelope.id
    assert stored.metadata["correlationid"] == envelope.correlationid
    assert stored.data["reporter_ref"] is None and stored.data["free_text_ref"] is None
    assert stored.data["reporter_masked"] is None and stored.data["photo_ids"] == []
    [record] = await read_topic(kafka_bootstrap, hazards_topics["events"], until_count=1)
    assert record.key.decode() == hazard.id and b"13812345678" not in record.value


async def test_a_redelivered_finding_is_still_one_hazard(hazards_app, service, publish, city):
    lat, lon, _ = a_point(city, 4)
    first = await publish(finding(lat, lon))
    await publish.envelope(first)  # the same record again: a redelivery, a replay from the DLQ
    marker = await publish(finding(lat, lon, kind="other", text="marker"), patrol_id=first.subject)
    await eventually(lambda: filed(service, marker.id), what="the marker filed")
    assert await hazard_count(service) == 2
    assert (await filed(service, first.id)).version == 1
    consumer = hazards_app.state.patrol_findings
    assert consumer.processed == 3 and consumer.dead_lettered == 0


async def test_two_deliveries_of_one_finding_at_once_file_one_hazard(hazards_app, service, city):
    lat, lon, _ = a_point(city, 5)
    finding_id, ctx = str(uuid.uuid4()), CommandContext(actor="patrol:p-1")
    results = await asyncio.gather(*(service.file_finding(finding_id, ctx, category="ebike_indoors",
                                                                 text="e-bikes in the stairwell", lat=lat, lon=lon)
                                     for _ in range(2)))
    assert sorted(r is None for r in results) == [False, True]  # one filed it; the other found it there
    assert await hazard_count(service) == 1


@pytest.mark.parametrize("poison, error", [
    (lambda e: (e, b"{not json"), b"EnvelopeError"),
    (lambda e: (dataclasses.replace(e, data={**e.data, "lon": None}), None),
     b"ContractViolation: breaks the linkduty.joint_patrol.PatrolFindingLogged v1 contract"),
    (lambda e: (dataclasses.replace(e, data={**e.data, "hazard_kind": "Not A Kind"}), None), b"hazard_kind"),
    (lambda e: (dataclasses.replace(e, subject="patrol 13812345678"), None), b"subject (the patrol id) is not a UUID"),
])
async def test_a_poison_finding_goes_to_the_dlq_at_once_and_the_next_one_is_still_filed(
        hazards_app, service, publish, city, hazards_topics, kafka_bootstrap, poison, error):
    lat, lon, _ = a_point(city, 6)
    template = Envelope(id=str(uuid.uuid4()), source="/linkduty/units", subject=str(uuid.uuid4()),
                        type="linkduty.joint_patrol.PatrolFindingLogged", time=dt.datetime.now(dt.UTC),
                        data=finding(lat, lon))
    bad, value = poison(template)
    await publish.envelope(bad, value)
    after = await publish(finding(lat, lon, kind="electrical_wiring"))
    hazard = await eventually(lambda: filed(service, after.id), what="the next finding filed")
    assert hazard.category == "electrical_wiring"
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(hazards_topics["units"]), until_count=1)
    headers = dict(dead.headers)
    assert error in headers["dlq_error"] and headers["dlq_attempts"] in (b"0", b"1")
    assert headers["dlq_consumer"] == hazards_app.state.patrol_findings._group_id.encode()
    assert await filed(service, bad.id) is None and await hazard_count(service) == 1


async def test_a_finding_outside_the_city_goes_to_the_dlq_to_be_replayed_once_the_directories_agree(
        hazards_app, service, publish, city, hazards_topics, kafka_bootstrap):
    outside = await publish(finding(39.9042, 116.4074))  # Beijing: in no micro-grid of the city
    lat, lon, _ = a_point(city, 7)
    after = await publish(finding(lat, lon))
    await eventually(lambda: filed(service, after.id), what="the next finding filed")
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(hazards_topics["units"]), until_count=1)
    headers = dict(dead.headers)
    assert headers["dlq_error"].startswith(b"ContractViolation: patrol ") and b"no micro-grid" in headers["dlq_error"]
    assert headers["dlq_attempts"] == b"1" and b"116.40" not in headers["dlq_error"]
    assert await filed(service, outside.id) is None


async def test_a_finding_without_a_location_and_every_other_units_event_are_skipped_not_dead_lettered(
        hazards_app, service, publish, city, hazards_topics, kafka_bootstrap):
    indoors = await publish(finding(None, None))
    # Dispatch records are most of units.events: skipped by their type header, never parsed.
    await publish({"garbage": True}, event_type="linkduty.dispatch.DispatchPlanned")
    await publish({}, event_type="linkduty.joint_patrol.PatrolStarted")
    lat, lon, _ = a_point(city, 8)
    after = await publish(finding(lat, lon, kind="balcony_barbecue"))  # a kind units may add later
    hazard = await eventually(lambda: filed(service, after.id), what="the next finding filed")
    assert hazard.category == "other"
    assert await filed(service, indoors.id) is None and await hazard_count(service) == 1
    consumer = hazards_app.state.patrol_findings
    assert consumer.dead_lettered == 0 and consumer.processed == 2  # the located and the unlocated finding


# ---- across the services: what the units service really publishes -----------------------------

@pytest.fixture
async def units_app(test_dsn, kafka_bootstrap, issuer, hazards_topics, tmp_path):
    """The real units service in-process, on a schema of its own, publishing to the topic the
    hazards app consumes (its alarms.events: the test's own, empty)."""
    alarms = f"test.{uuid.uuid4().hex[:8]}.alarms.events"
    await make_topics(kafka_bootstrap, [TopicSpec(alarms, 3, 1, 3_600_000),
                                        TopicSpec(dlq_topic(alarms), 1, 1, 3_600_000)])
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(test_dsn)
    await conn.execute(f"CREATE SCHEMA {schema}")
    settings = UnitsSettings(
        service_name=f"units-test-{uuid.uuid4().hex[:6]}", pg_dsn=f"{test_dsn}?options=-csearch_path%3D{schema}",
        kafka_bootstrap=kafka_bootstrap, auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer,
        events_topic=hazards_topics["units"], alarms_topic=alarms)
    app = build_units_app(settings)
    try:
        async with app.router.lifespan_context(app):
            yield app
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def test_a_finding_the_units_service_logs_on_a_patrol_is_filed_as_a_hazard(hazards_app, service, units_app,
                                                                                 city):
    records, ctx = units_app.state.records, CommandContext(actor="test-centre")
    community = "330102001001"
    start = dt.datetime.now(CST)
    patrol = await records.plan_patrol(ctx, division_code=community, forces=["squad-330102001001"], start=start,
                                       end=start + dt.timedelta(hours=2))
    await records.start_patrol(patrol.id, ctx)
    here = city.division(community)
    await records.log_finding(patrol.id, ctx, text="店铺后间住人, 三合一", hazard_kind="three_in_one_premises",
                              lat=here.lat, lon=here.lon)
    [event] = [e for e in await records.store.load(patrol.id) if e.event_type == "PatrolFindingLogged"]
    hazard = await eventually(lambda: filed(service, str(event.event_id)), what="the units finding filed")
    assert hazard.source == "joint_patrol" and hazard.category == "three_in_one_premises"
    assert hazard.jurisdiction["community"] == community and hazard.description == "店铺后间住人, 三合一"
    [stored] = await service.store.load(hazard.id)
    assert stored.metadata["actor"] == f"patrol:{patrol.id}"

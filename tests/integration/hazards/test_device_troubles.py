"""Networked detectors' troubles (devices.events DeviceTroubleBegan / DeviceTroubleEnded) as
maintenance hazards, against the real Kafka and PostgreSQL: the hazards app in-process consumes
its own test devices.events topic, as the devices service publishes it (contracts/devices.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from hazards.application.service import device_hazard_id
from linkduty_shared.contracts.devices import episode_key
from linkduty_shared.events.envelope import Envelope, envelope_to_kafka
from linkduty_shared.messaging.topics import dlq_topic
from tests.conftest import eventually
from tests.integration.hazards.conftest import a_point, report
from tests.support.kafka import read_topic

BEGAN, ENDED = "linkduty.device.DeviceTroubleBegan", "linkduty.device.DeviceTroubleEnded"


def began(lat: float, lon: float, *, device_id: str = "sd-0042", episode_id: str | None = None,
          trouble: str = "offline", detail: str = "no heartbeat since 08:12") -> dict:
    """DeviceTroubleBegan data as the devices service records it."""
    return {"device_id": device_id, "episode_id": episode_id or str(uuid.uuid4()), "trouble": trouble,
            "model": "JTY-GD-01", "location": {"lat": lat, "lon": lon, "building": "3号楼", "floor": 5, "flat": "502"},
            "detail": detail, "at": dt.datetime.now(dt.UTC).isoformat()}


def ended(trouble: dict, how: str = "reported_again") -> dict:
    return {"device_id": trouble["device_id"], "episode_id": trouble["episode_id"], "trouble": trouble["trouble"],
            "how": how, "at": dt.datetime.now(dt.UTC).isoformat()}


@pytest.fixture
def publish(producer, hazards_topics):
    """publish(event_type, data[, subject]) → the Envelope put on the test devices.events (key = the device id)."""

    async def send(event_type: str, data: dict, *, subject: str | None = None) -> Envelope:
        envelope = Envelope(id=str(uuid.uuid4()), source="/linkduty/devices", type=event_type,
                            subject=subject or data.get("device_id") or "sd-x", time=dt.datetime.now(dt.UTC),
                            data=data, streamversion=2, correlationid=f"corr-{uuid.uuid4().hex[:6]}")
        await send_envelope(envelope)
        return envelope

    async def send_envelope(envelope: Envelope, value: bytes | None = None) -> None:
        message = envelope_to_kafka(envelope)
        await producer.send_and_wait(hazards_topics["devices"], key=envelope.subject.encode(),
                                     value=message.value if value is None else value,
                                     headers=list(message.headers.items()))

    send.envelope = send_envelope
    return send


async def filed(service, trouble: dict):
    """The hazard of a trouble's data (its device and episode), once filed."""
    hazard = await service.repo.load(device_hazard_id(episode_key(trouble["device_id"], trouble["episode_id"])))
    return hazard if hazard.exists else None


async def hazard_count(service) -> int:
    async with service.store.pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM hazard_list")


async def test_a_trouble_that_began_is_one_maintenance_hazard_at_the_device_even_delivered_twice(
        hazards_app, service, publish, city):
    lat, lon, community = a_point(city, 3)
    trouble = began(lat, lon, trouble="low_battery", detail="battery 2.6 V")
    first = await publish(BEGAN, trouble)
    await publish.envelope(first)  # the same record again: a redelivery, a replay from the DLQ
    marker = await publish(BEGAN, began(lat, lon, device_id="sd-0043"))
    await eventually(lambda: filed(service, marker.data), what="the marker filed")
    hazard = await filed(service, trouble)
    assert hazard is not None and hazard.version == 1 and await hazard_count(service) == 2
    assert (hazard.source, hazard.category, hazard.status) == ("device", "detector_maintenance", "reported")
    assert hazard.severity == "moderate"  # the category's default
    chain = city.resolve(lat, lon)
    assert hazard.jurisdiction["grid"] == chain.grid.code and hazard.jurisdiction["community"] == community.code
    assert hazard.location == {"lat": lat, "lon": lon, "address": "3号楼 5层 502室"}
    assert "电量低" in hazard.description and "sd-0042" in hazard.description
    assert hazard.description.endswith("battery 2.6 V")
    [stored] = await service.store.load(hazard.id)
    assert stored.metadata["actor"] == "device:sd-0042" and stored.metadata["causationid"] == first.id
    assert stored.data["reporter_ref"] is None and stored.data["free_text_ref"] is None
    consumer = hazards_app.state.device_troubles
    assert consumer.processed == 3 and consumer.dead_lettered == 0


async def test_a_trouble_that_ended_closes_its_hazard_as_resolved_at_its_source_once(
        hazards_app, service, publish, city, hazards_topics, kafka_bootstrap):
    lat, lon, _ = a_point(city, 4)
    trouble = began(lat, lon)
    await publish(BEGAN, trouble)
    await eventually(lambda: filed(service, trouble), what="the trouble filed")
    end = await publish(ENDED, ended(trouble))
    await publish.envelope(end)  # redelivered: the hazard is closed already

    async def closed():
        hazard = await filed(service, trouble)
        return hazard if hazard.status == "closed" else None

    hazard = await eventually(closed, what="the hazard closed")
    assert hazard.resolved_at_source == "reported_again" and hazard.closed_at is not None
    assert hazard.reinspection_due_at is None
    await eventually(lambda: hazards_app.state.device_troubles.processed == 3, what="the redelivery processed")
    stored = await service.store.load(hazard.id)
    assert [e.event_type for e in stored] == ["HazardReported", "HazardResolvedAtSource"]  # closed once
    assert stored[1].data["how"] == "reported_again" and stored[1].metadata["causationid"] == end.id
    async with service.store.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, closed_at FROM hazard_list WHERE hazard_id = $1", hazard.id)
    assert row["status"] == "closed" and row["closed_at"] is not None
    # Published for linkage and the consoles, as the hazards.events contract lists it.
    records = await read_topic(kafka_bootstrap, hazards_topics["events"], until_count=2)
    types = [dict(r.headers)["ce_type"] for r in records if r.key.decode() == hazard.id]
    assert types == [b"linkduty.hazard.HazardReported", b"linkduty.hazard.HazardResolvedAtSource"]


async def test_an_ended_trouble_whose_hazard_was_never_filed_is_skipped_not_dead_lettered(
        hazards_app, service, publish, city):
    lat, lon, _ = a_point(city, 5)
    never = began(lat, lon)
    await publish(ENDED, ended(never, how="battery_ok"))
    marker = await publish(BEGAN, began(lat, lon))
    await eventually(lambda: filed(service, marker.data), what="the next trouble filed")
    assert await filed(service, never) is None and await hazard_count(service) == 1
    consumer = hazards_app.state.device_troubles
    assert consumer.processed == 2 and consumer.dead_lettered == 0


@pytest.mark.parametrize("poison, error", [
    (lambda e: (e, b"{not json"), b"EnvelopeError"),
    (lambda e: (dataclasses.replace(e, data={**e.data, "trouble": "on_fire"}), None), b"trouble"),
    (lambda e: (dataclasses.replace(e, data={**e.data, "location": {"lat": 999, "lon": 1}}), None), b"location.lat"),
    (lambda e: (dataclasses.replace(e, subject="sd-9999"), None), b"is not its device_id"),
])
async def test_a_poison_trouble_goes_to_the_dlq_at_once_and_the_next_one_is_still_filed(
        hazards_app, service, publish, city, hazards_topics, kafka_bootstrap, poison, error):
    lat, lon, _ = a_point(city, 6)
    template = Envelope(id=str(uuid.uuid4()), source="/linkduty/devices", type=BEGAN, subject="sd-0042",
                        time=dt.datetime.now(dt.UTC), data=began(lat, lon))
    bad, value = poison(template)
    await publish.envelope(bad, value)
    after = await publish(BEGAN, began(lat, lon, trouble="fault"))
    await eventually(lambda: filed(service, after.data), what="the next trouble filed")
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(hazards_topics["devices"]), until_count=1)
    headers = dict(dead.headers)
    assert error in headers["dlq_error"] and headers["dlq_attempts"] in (b"0", b"1")
    assert headers["dlq_consumer"] == hazards_app.state.device_troubles._group_id.encode()
    assert await filed(service, template.data) is None and await hazard_count(service) == 1


async def test_a_trouble_outside_the_city_goes_to_the_dlq_to_be_replayed_once_the_directories_agree(
        hazards_app, service, publish, city, hazards_topics, kafka_bootstrap):
    outside = await publish(BEGAN, began(39.9042, 116.4074))  # Beijing: in no micro-grid of the city
    lat, lon, _ = a_point(city, 7)
    after = await publish(BEGAN, began(lat, lon))
    await eventually(lambda: filed(service, after.data), what="the next trouble filed")
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(hazards_topics["devices"]), until_count=1)
    headers = dict(dead.headers)
    assert headers["dlq_error"].startswith(b"ContractViolation: device sd-0042 episode ")
    assert b"no micro-grid" in headers["dlq_error"] and b"116.40" not in headers["dlq_error"]
    assert await filed(service, outside.data) is None


async def test_alarms_on_devices_events_are_not_the_hazards_service_s_and_are_skipped_unparsed(
        hazards_app, service, publish, city):
    await publish("linkduty.device.DeviceAlarmRaised", {"garbage": True}, subject="sd-0042")
    lat, lon, _ = a_point(city, 8)
    after = await publish(BEGAN, began(lat, lon))
    await eventually(lambda: filed(service, after.data), what="the next trouble filed")
    consumer = hazards_app.state.device_troubles
    assert consumer.dead_lettered == 0 and consumer.processed == 1 and await hazard_count(service) == 1


async def test_nobody_reports_a_hazard_of_source_device_over_http(client, token, city):
    lat, lon, _ = a_point(city, 9)
    response = await client.post("/v1/hazards", headers=token(), json=report(lat, lon, source="device"))
    assert response.status_code == 422 and "devices.events" in response.json()["detail"]

"""Arrivals of dispatched units (`units.events`) shown on the alarm, against the real stack."""

import datetime as dt
import uuid

import pytest

from linkduty_shared.events import Envelope, envelope_from_kafka, envelope_to_kafka
from linkduty_shared.messaging.kafka import reliable_producer
from linkduty_shared.messaging.topics import dlq_topic
from tests.conftest import eventually
from tests.integration.alarms.test_intake import a_point, call
from tests.support.kafka import read_topic

ARRIVED_AT = "2026-11-23T16:09:30+08:00"


def units_event(name: str, data: dict, *, stream: str = "dispatch", correlation: str | None = None) -> Envelope:
    return Envelope(id=str(uuid.uuid4()), source="/linkduty/units", type=f"linkduty.{stream}.{name}",
                    subject=str(uuid.uuid4()), time=dt.datetime.now(dt.UTC), data=data, correlationid=correlation)


def arrived(alarm_id: str, unit_id: str | None, **overrides) -> Envelope:
    data = {"alarm_id": alarm_id, "unit_id": unit_id, "force_kind": "fire_station", "role": "main", "at": ARRIVED_AT}
    data = {k: v for k, v in (data | overrides).items() if v is not None}
    return units_event("DispatchedUnitArrived", data, correlation=f"corr-{alarm_id}")


@pytest.fixture
async def publish(kafka_bootstrap, alarm_topics):
    """publish(key, envelope…): onto the test's units topic, in order (one key: one partition)."""
    producer = reliable_producer(kafka_bootstrap)
    await producer.start()

    async def send(key: str, *envelopes: Envelope) -> None:
        for envelope in envelopes:
            m = envelope_to_kafka(envelope)
            await producer.send_and_wait(alarm_topics["units"], m.value, key=key.encode(),
                                         headers=list(m.headers.items()))

    yield send
    await producer.stop()


async def report(client, token, city, index: int) -> str:
    lat, lon, _ = a_point(city, index)
    r = await client.post("/v1/alarms", json=call(lat, lon), headers=token())
    assert r.status_code == 201, r.text
    return r.json()["alarm_id"]


async def test_an_arriving_unit_is_shown_on_scene_once_and_other_units_events_are_ignored(
        client, token, city, publish, kafka_bootstrap, alarm_topics):
    alarm_id = await report(client, token, city, 11)
    first = arrived(alarm_id, "unit-7")
    await publish(alarm_id,
                  units_event("UnitArrived", {"alarm_id": alarm_id}, stream="unit"),
                  units_event("DispatchOrdered", {"alarm_id": alarm_id, "unit_id": "unit-7"}),
                  first, arrived(alarm_id, "unit-7"))  # the same arrival again, as a redelivery would

    async def on_scene():
        body = (await client.get(f"/v1/alarms/{alarm_id}", headers=token())).json()
        return body if body["forces_on_scene"] else None

    body = await eventually(on_scene, what="the unit on scene")
    assert body["forces_on_scene"] == [{"unit_id": "unit-7", "force_kind": "fire_station", "role": "main",
                                        "arrived_at": ARRIVED_AT}]
    assert body["first_arrival_at"] == ARRIVED_AT and body["status"] == "reported"
    records = await read_topic(kafka_bootstrap, alarm_topics["events"], until_count=2)
    published = [envelope_from_kafka(r.headers, r.key, r.value) for r in records]
    assert [e.event_name for e in published] == ["AlarmReported", "ForceArrivedOnScene"]  # the redelivery: nothing
    fact = published[1]
    assert fact.subject == alarm_id and fact.actor == "units"
    assert fact.correlationid == f"corr-{alarm_id}" and fact.causationid == first.id
    assert (await client.get(f"/v1/alarms/{alarm_id}", headers=token())).json()["version"] == 2


async def test_a_malformed_arrival_goes_to_the_dlq_and_the_next_one_is_still_applied(
        client, token, city, publish, kafka_bootstrap, alarm_topics):
    alarm_id = await report(client, token, city, 12)
    poison = arrived(alarm_id, None)  # no unit_id
    await publish(alarm_id, poison, arrived(str(uuid.uuid4()), "unit-9"))  # an unknown alarm: ignored, not poison
    await publish(alarm_id, arrived(alarm_id, "unit-8", role="auxiliary_1", force_kind="street_team"))

    async def on_scene():
        body = (await client.get(f"/v1/alarms/{alarm_id}", headers=token())).json()
        return body["forces_on_scene"]

    assert [f["unit_id"] for f in await eventually(on_scene, what="the valid arrival")] == ["unit-8"]
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(alarm_topics["units"]), until_count=1)
    headers = dict(dead.headers)
    assert envelope_from_kafka(dead.headers, dead.key, dead.value).id == poison.id
    assert b"unit_id" in headers["dlq_error"] and b"MalformedArrival" in headers["dlq_error"]

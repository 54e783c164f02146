"""Networked smoke detectors' alarms (`devices.events`) become alarms, against the real stack:
the alarms service's consumer, its event store and its topics."""

import datetime as dt
import uuid

import pytest

from linkduty_shared.events import Envelope, envelope_from_kafka, envelope_to_kafka
from linkduty_shared.messaging.kafka import reliable_producer
from linkduty_shared.messaging.topics import dlq_topic
from tests.conftest import eventually
from tests.integration.alarms.test_intake import a_point
from tests.support.kafka import read_topic

ALONE_82 = {"kind": "resident", "age_band": "80_89", "mobility": "needs_help_on_stairs", "lives_alone": True,
            "hearing_impaired": False, "sight_impaired": False, "oxygen_at_home": True, "premises_kind": None,
            "occupants": None, "needs": "助听器"}


def device_event(name: str, device_id: str, data: dict, *, subject: str | None = None) -> Envelope:
    return Envelope(id=str(uuid.uuid4()), source="/linkduty/devices", type=f"linkduty.device.{name}",
                    subject=subject or device_id, time=dt.datetime.now(dt.UTC), data=data,
                    correlationid=f"corr-{device_id}")


def raised(device_id: str, lat: float, lon: float, *, episode: str | None = None, vulnerability=ALONE_82,
           **overrides) -> Envelope:
    now = dt.datetime.now(dt.UTC).isoformat()
    data = {"device_id": device_id, "episode_id": episode or str(uuid.uuid4()), "platform": "demo-iot",
            "model": "JTY-GD-H361", "place": "home", "vulnerability": vulnerability, "signalled_at": now, "at": now,
            "location": {"lat": lat, "lon": lon, "building": "3幢", "floor": 5, "flat": "502"}}
    return device_event("DeviceAlarmRaised", device_id, data | overrides)


def cleared(of: Envelope, *, possible_false_alarm: bool = True) -> Envelope:
    data = {"device_id": of.data["device_id"], "episode_id": of.data["episode_id"], "repeats": 1, "after_s": 35.0,
            "possible_false_alarm": possible_false_alarm, "at": dt.datetime.now(dt.UTC).isoformat()}
    return device_event("DeviceAlarmCleared", of.data["device_id"], data)


@pytest.fixture
async def publish(kafka_bootstrap, alarm_topics):
    producer = reliable_producer(kafka_bootstrap)
    await producer.start()

    async def send(*envelopes: Envelope) -> None:
        for envelope in envelopes:
            m = envelope_to_kafka(envelope)
            await producer.send_and_wait(alarm_topics["devices"], m.value, key=envelope.subject.encode(),
                                         headers=list(m.headers.items()))

    yield send
    await producer.stop()


async def published(kafka_bootstrap, topic: str, count: int) -> list[Envelope]:
    records = await read_topic(kafka_bootstrap, topic, until_count=count)
    return [envelope_from_kafka(r.headers, r.key, r.value) for r in records]


async def test_a_detector_going_off_is_a_fire_alarm_that_says_who_is_likely_inside_once(
        client, token, city, publish, kafka_bootstrap, alarm_topics):
    lat, lon, community = a_point(city, 21)
    first = raised("det-1", lat, lon)
    trouble = device_event("DeviceTroubleBegan", "det-1", {"device_id": "det-1"})  # the hazards service's: skipped
    await publish(trouble, first, first)  # and the raise again, as a redelivery would
    [event] = await published(kafka_bootstrap, alarm_topics["events"], 1)
    assert event.event_name == "AlarmReported" and event.actor == "device:det-1"
    assert event.causationid == first.id and event.correlationid == "corr-det-1"
    data = event.data
    assert (data["source"], data["kind"], data["severity"], data["call_id"]) == (
        "device", "fire", "major", f"det-1/{first.data['episode_id']}")
    assert data["device_id"] == "det-1"
    assert data["location"]["address"] == "3幢 5层 502" and data["location"]["place"] == "home"
    assert data["jurisdiction"]["community"] == community.code
    assert data["vulnerability"]["age_band"] == "80_89" and data["vulnerability"]["oxygen_at_home"] is True
    assert data["caller_masked"] is None
    body = (await client.get(f"/v1/alarms/{event.subject}", headers=token())).json()
    assert body["vulnerability"]["mobility"] == "needs_help_on_stairs" and body["possible_false_alarm"] is False
    assert body["calls"][0]["vulnerability"]["lives_alone"] is True and body["calls"][0]["device_clear"] is None
    # the redelivered raise, long consumed by now: still one event
    later = raised("det-1b", lat + 0.01, lon + 0.01, vulnerability=None)
    await publish(later)
    events = await published(kafka_bootstrap, alarm_topics["events"], 2)  # two alarms: two keys, two partitions
    assert [e.event_name for e in events] == ["AlarmReported", "AlarmReported"]
    [second] = [e for e in events if e.data["device_id"] == "det-1b"]
    assert second.data["severity"] == "moderate" and second.data["vulnerability"] is None


async def test_a_raise_redelivered_after_its_alarm_closed_opens_nothing_and_another_device_s_same_id_is_its_own(
        client, token, city, publish, kafka_bootstrap, alarm_topics):
    lat, lon, _ = a_point(city, 24)
    first = raised("det-20", lat, lon, episode="sig-17")
    await publish(first)
    [reported] = await published(kafka_bootstrap, alarm_topics["events"], 1)
    r = await client.post(f"/v1/alarms/{reported.subject}/false-alarm", json={"reason": "burnt toast"}, headers=token())
    assert r.status_code == 200, r.text
    # the same record again (a consumer restart replays it), then another platform's detector
    # whose signal ids happen to match, at the same place
    other = raised("det-21", lat, lon, episode="sig-17", platform="city-iot")
    await publish(first, other)
    events = await published(kafka_bootstrap, alarm_topics["events"], 3)  # an alarm's own in order, not across
    assert sorted((e.subject == reported.subject, e.event_name) for e in events) == [
        (False, "AlarmReported"), (True, "AlarmMarkedFalse"), (True, "AlarmReported")]
    [new] = [e for e in events if e.subject != reported.subject]
    assert new.data["call_id"] == "det-21/sig-17"


async def test_two_detectors_of_one_fire_are_one_alarm_and_their_quick_clears_make_it_a_possible_false_alarm(
        client, token, city, publish, kafka_bootstrap, alarm_topics):
    lat, lon, _ = a_point(city, 22)
    kitchen, hall = raised("det-2", lat, lon), raised("det-3", lat + 0.0002, lon, vulnerability=None)
    await publish(kitchen, hall)
    events = await published(kafka_bootstrap, alarm_topics["events"], 2)
    assert [e.event_name for e in events] == ["AlarmReported", "CallLinked"]
    alarm_id = events[0].subject
    await publish(cleared(kitchen), cleared(kitchen))  # a redelivered clear: recorded once
    events = await published(kafka_bootstrap, alarm_topics["events"], 3)
    assert events[2].event_name == "DeviceClearReported" and events[2].data["alarm_possible_false_alarm"] is False
    await publish(cleared(hall))
    events = await published(kafka_bootstrap, alarm_topics["events"], 4)
    assert [e.event_name for e in events][2:] == ["DeviceClearReported", "DeviceClearReported"]
    assert events[3].data["alarm_possible_false_alarm"] is True

    async def flagged():
        body = (await client.get(f"/v1/alarms/{alarm_id}", headers=token())).json()
        return body if body["possible_false_alarm"] else None

    body = await eventually(flagged, what="the alarm flagged a possible false alarm")
    assert body["status"] == "reported" and body["call_count"] == 2  # nothing closed: a person decides
    assert {c["device_clear"]["device_id"] for c in body["calls"]} == {"det-2", "det-3"}


async def test_poison_records_are_dead_lettered_and_the_next_alarm_is_still_taken_in(
        client, token, city, publish, kafka_bootstrap, alarm_topics):
    lat, lon, _ = a_point(city, 23)
    no_location = raised("det-4", lat, lon)
    del no_location.data["location"]
    wrong_subject = device_event("DeviceAlarmRaised", "det-5", raised("det-5", lat, lon).data, subject="det-other")
    outside = raised("det-6", 10.0, 10.0)
    orphan_clear = cleared(raised("det-7", lat, lon))  # no alarm took its raise: skipped, not poison
    good = raised("det-8", lat, lon)
    await publish(no_location, wrong_subject, outside, orphan_clear, good)
    [event] = await published(kafka_bootstrap, alarm_topics["events"], 1)
    assert event.data["call_id"] == f"det-8/{good.data['episode_id']}"
    dead = await read_topic(kafka_bootstrap, dlq_topic(alarm_topics["devices"]), until_count=3)
    errors = {envelope_from_kafka(r.headers, r.key, r.value).id: dict(r.headers)["dlq_error"] for r in dead}
    assert set(errors) == {no_location.id, wrong_subject.id, outside.id}  # keys differ: partitions, not order
    assert b"location" in errors[no_location.id] and b"subject" in errors[wrong_subject.id]
    assert b"micro-grid" in errors[outside.id]
    assert (await client.get("/healthz")).status_code == 200

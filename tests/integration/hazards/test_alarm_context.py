"""The pre-incident picture against the real Kafka and PostgreSQL: an AlarmReported on (the test's)
alarms.events becomes one AlarmContextAttached on hazards.events, keyed by the alarm id, naming
the venue the alarm is at and its overdue hazard; a redelivery attaches nothing more, an old alarm
gets no picture, a poison record goes to the DLQ, and the picture is readable over HTTP within
the alarm's jurisdiction only."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from linkduty_shared.contracts.alarm_context import CONTEXT_ATTACHED_TYPE, alarm_context_from_data
from linkduty_shared.events.envelope import Envelope, envelope_from_kafka, envelope_to_kafka
from linkduty_shared.messaging.topics import dlq_topic
from tests.integration.hazards.conftest import Clock, a_point, assert_problem, report
from tests.integration.hazards.test_venues import register, venue
from tests.conftest import eventually
from tests.support.kafka import group_lag, read_topic

M = 1 / 111_000  # a metre of latitude, in degrees


@pytest.fixture
def picture_clock(hazards_app) -> Clock:
    hazards_app.state.alarm_context.clock = Clock()
    return hazards_app.state.alarm_context.clock


@pytest.fixture
def alarm(producer, hazards_topics, city):
    """alarm(lat, lon[, at, received_at, alarm_id, data]) → the AlarmReported put on the test
    alarms.events, recorded `at` (its event time), its first call received `received_at` (the same
    unless given: a split alarm keeps its first call's)."""

    async def send(lat: float, lon: float, *, at: dt.datetime | None = None, received_at: dt.datetime | None = None,
                   alarm_id: str | None = None, data: dict | None = None) -> Envelope:
        alarm_id = alarm_id or str(uuid.uuid4())
        at = at or dt.datetime.now(dt.UTC)
        envelope = Envelope(
            id=str(uuid.uuid4()), source="/linkduty/alarms", type="linkduty.alarm.AlarmReported", subject=alarm_id,
            time=at, streamversion=1, correlationid=f"corr-{alarm_id[:6]}",
            data=data or {"alarm_id": alarm_id, "call_id": str(uuid.uuid4()), "source": "119",
                          "received_at": (received_at or at).isoformat(), "kind": "fire",
                          "severity": "major", "description": "饭馆厨房起火", "caller_masked": "138****5678",
                          "location": {"lat": lat, "lon": lon, "address": "幸福路12号"},
                          "jurisdiction": city.resolve(lat, lon).codes() if lat else {}})
        message = envelope_to_kafka(envelope)
        await producer.send_and_wait(hazards_topics["alarms"], key=alarm_id.encode(), value=message.value,
                                     headers=list(message.headers.items()))
        return envelope

    return send


async def no_lag(bootstrap: str, group: str, topic: str) -> bool:
    lag = await group_lag(bootstrap, group, topic)
    return bool(lag) and not any(lag.values())


async def pictures(kafka_bootstrap, topic: str, count: int) -> dict[str, list]:
    records = await read_topic(kafka_bootstrap, topic, until_count=count, timeout=30)
    out: dict[str, list] = {}
    for r in records:
        e = envelope_from_kafka(r.headers, r.key, r.value)
        if e.type == CONTEXT_ATTACHED_TYPE:
            out.setdefault(e.subject, []).append((r, e))
    return out


async def test_an_alarm_at_a_venue_gets_its_picture_keyed_by_the_alarm_id_once(
        client, token, city, service, hazards_settings, hazards_topics, kafka_bootstrap, alarm, picture_clock):
    lat, lon, _ = a_point(city, 6)
    place = await register(client, token(), venue(lat, lon, risk_class="high"))
    r = await client.post("/v1/hazards", headers=token(), json=report(
        lat + 20 * M, lon, category="evacuation_route_blocked", description="北侧安全出口上锁 联系13812345678",
        venue_id=place["venue_id"], severity="major"))
    assert r.status_code == 201, r.text
    hazard = r.json()
    picture_clock.advance(hours=3)  # its triage (major: 2 h) is overdue by the time the alarm comes

    sent = await alarm(lat + 5 * M, lon, at=picture_clock())
    await alarm(0, 0, at=picture_clock(), alarm_id=sent.subject, data=sent.data)  # the same again (redelivered)
    found = await pictures(kafka_bootstrap, hazards_topics["events"], 3)  # the venue, the hazard, the picture
    [(record, event)] = found[sent.subject]
    await eventually(lambda: no_lag(kafka_bootstrap, hazards_settings.alarm_context_group, hazards_topics["alarms"]),
                     what="the redelivered AlarmReported handled")
    assert len(await service.store.load(sent.subject)) == 1  # attached once
    assert record.key == sent.subject.encode() and event.correlationid == sent.correlationid
    taken = alarm_context_from_data(event.type, event.data)
    assert taken.venue.venue_id == place["venue_id"] and taken.venue.risk_class == "high"
    assert taken.venue.kind == "small_restaurant" and taken.venue.open_hazards == 1
    [listed] = taken.hazards
    assert (listed.hazard_id, listed.at_the_venue, listed.overdue) == (hazard["hazard_id"], True, True)
    assert "13812345678" not in str(event.data) and "北侧安全出口上锁" in taken.headline and "overdue" in taken.headline
    assert "王五" not in str(event.data) and "13912345678" not in str(event.data)  # the venue's people are not named

    answer = await client.get(f"/v1/alarms/{sent.subject}/context", headers=token("hazards:read"))
    assert answer.status_code == 200 and answer.json()["venue"]["venue_id"] == place["venue_id"]
    elsewhere = a_point(city, 0)[2]
    assert_problem(await client.get(f"/v1/alarms/{sent.subject}/context",
                                    headers=token("hazards:read", jurisdiction=[elsewhere.code])), 404, "not-found")


async def test_an_alarm_recorded_long_ago_gets_no_picture_and_poison_goes_to_the_dlq_at_once(
        client, token, city, hazards_app, hazards_topics, kafka_bootstrap, alarm, picture_clock):
    lat, lon, _ = a_point(city, 7)
    now = picture_clock()
    old = await alarm(lat, lon, at=now - dt.timedelta(hours=1))
    poison = await alarm(lat, lon, data={"alarm_id": "x", "location": {"lat": 999, "lon": lon}})
    vague = await alarm(lat, lon, data={**old.data, "alarm_id": "y", "received_at": "yesterday"})
    split = await alarm(lat, lon, at=now, received_at=now - dt.timedelta(hours=2))  # split from an older call
    found = await pictures(kafka_bootstrap, hazards_topics["events"], 1)
    assert set(found) == {split.subject} and not found[split.subject][0][1].data["venue"]
    dead = await read_topic(kafka_bootstrap, dlq_topic(hazards_topics["alarms"]), until_count=2)
    assert sorted(envelope_from_kafka(d.headers, d.key, d.value).id for d in dead) == sorted([poison.id, vague.id])
    assert [dict(d.headers)["dlq_attempts"] for d in dead] == [b"1", b"1"]  # a contract's breach: no retry
    assert_problem(await client.get(f"/v1/alarms/{old.subject}/context", headers=token("hazards:read")),
                   404, "not-found")

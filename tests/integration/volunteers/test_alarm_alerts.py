"""Proximity alerts against the real Kafka and PostgreSQL: an AlarmReported on (the test's)
alarms.events alerts the qualified on-duty volunteers within the radius, nobody outside it, off
duty, untrained or uninsured; one VolunteersAlerted keyed by the alarm id; an acceptance with an
ETA shows who is coming; enough acceptances and the alarm closing stand the rest down; a home
alarm alerts only trusted grades; a poison record goes to the DLQ; the community's confirmation
credits the hours."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from linkduty_shared.events.envelope import Envelope, envelope_from_kafka, envelope_to_kafka
from linkduty_shared.messaging.topics import dlq_topic
from tests.conftest import eventually
from tests.integration.gateway.support import SseReader
from tests.integration.volunteers.conftest import SERVED_FIELDS, community, fit_volunteer
from tests.support.kafka import group_lag, read_topic
from tests.support.problems import assert_problem
from tests.support.served import served

M = 1 / 111_000  # a metre of latitude, in degrees


@pytest.fixture
def alarm(producer, alarms_topic, city):
    """alarm(lat, lon[, kind, place, event, data]) → the alarm event put on the test alarms.events."""

    async def send(lat: float, lon: float, *, kind: str = "fire", place: str | None = "public",
                   event: str = "AlarmReported", alarm_id: str | None = None, data: dict | None = None) -> Envelope:
        alarm_id = alarm_id or str(uuid.uuid4())
        now = dt.datetime.now(dt.UTC)
        location = {"lat": lat, "lon": lon, "address": "幸福路12号"} | ({"place": place} if place else {})
        envelope = Envelope(
            id=str(uuid.uuid4()), source="/linkduty/alarms", type=f"linkduty.alarm.{event}", subject=alarm_id,
            time=now, streamversion=1, correlationid=f"corr-{alarm_id[:6]}",
            data=data if data is not None else {
                "alarm_id": alarm_id, "call_id": str(uuid.uuid4()), "source": "119", "received_at": now.isoformat(),
                "kind": kind, "severity": "major", "description": "楼道起火", "location": location,
                "jurisdiction": city.resolve(lat, lon).codes()})
        message = envelope_to_kafka(envelope)
        await producer.send_and_wait(alarms_topic, key=alarm_id.encode(), value=message.value,
                                     headers=list(message.headers.items()))
        return envelope

    return send


async def on_duty(client, me, volunteer_id: str, lat: float, lon: float, status: int = 200) -> dict:
    r = await client.put("/v1/me/position", json={"lat": lat, "lon": lon, "accuracy_m": 15}, headers=me(volunteer_id))
    assert r.status_code == status, r.text
    return r.json()


async def alerted_event(kafka_bootstrap, topic: str, alarm_id: str, count: int) -> Envelope:
    records = await read_topic(kafka_bootstrap, topic, until_count=count, timeout=30)
    [(record, event)] = [(r, e) for r in records if (e := envelope_from_kafka(r.headers, r.key, r.value)).subject
                         == alarm_id and e.event_name == "VolunteersAlerted"]
    assert record.key == alarm_id.encode()
    return event


async def volunteers_around(client, token, me, city, lat: float, lon: float) -> dict[str, str]:
    home = community(city, 0).code
    ids = {name: await fit_volunteer(client, token, home) for name in ("near", "mid", "edge", "far", "off_duty")}
    ids["untrained"] = await fit_volunteer(client, token, home, ())
    ids["uninsured"] = await fit_volunteer(client, token, home, insured=False)
    for name, metres in (("near", 30), ("mid", 150), ("edge", 380), ("far", 600), ("untrained", 20)):
        await on_duty(client, me, ids[name], lat + metres * M, lon)
    body = await on_duty(client, me, ids["uninsured"], lat, lon, status=409)
    assert body["missing"] == ["insurance in force (none recorded)"]
    return ids


async def test_an_alarm_alerts_the_qualified_on_duty_volunteers_in_range_and_no_one_else(
        client, token, me, city, volunteers_app, volunteers_topic, kafka_bootstrap, alarm):
    lat, lon = 30.2741, 120.1551
    ids = await volunteers_around(client, token, me, city, lat, lon)
    reported = await alarm(lat, lon)
    event = await alerted_event(kafka_bootstrap, volunteers_topic, reported.subject, count=7 * 3 + 6)
    alerted = [line["volunteer_id"] for line in event.data["alerted"]]
    assert alerted == [ids["near"], ids["mid"], ids["edge"]]
    assert event.data["domain"] == "scene_guidance" and event.data["wanted"] == 3
    assert [line["distance_m"] for line in event.data["alerted"]] == [50, 150, 400]  # rounded to 50 m
    assert not any(k in event.data for k in ("positions",)) and "lat" not in event.data["alerted"][0]

    mine = (await client.get("/v1/me/alerts?open=true", headers=me(ids["near"]))).json()["alerts"]
    assert [(a["alarm_id"], a["status"]) for a in mine] == [(reported.subject, "alerted")]
    assert (await client.get("/v1/me/alerts", headers=me(ids["far"]))).json()["alerts"] == []

    r = await client.post(f"/v1/me/alerts/{reported.subject}/acceptance", json={"eta_minutes": 4},
                          headers=me(ids["near"]))
    assert r.status_code == 200, r.text
    assert_problem(await client.post(f"/v1/me/alerts/{reported.subject}/acceptance", json={"eta_minutes": 4},
                                     headers=me(ids["far"])), 403, "forbidden")
    r = await client.post(f"/v1/me/alerts/{reported.subject}/scene-reports", headers=me(ids["near"]), json={
        "lat": lat, "lon": lon, "assessment": "三楼冒黑烟，有人被困，报警人电话13812345678",
        "guidance": [{"kind": "road_blocked", "note": "北门被车堵，走东门"}, {"kind": "gate_code", "note": "东门 1234#"}]})
    assert r.status_code == 201, r.text
    station = (await client.get(f"/v1/alarm-responses/{reported.subject}", headers=token("volunteers:read"))).json()
    [coming] = station["coming"]
    assert coming["volunteer_id"] == ids["near"] and coming["eta_minutes"] == 4 and coming["name_masked"] == "张**"
    [scene] = station["scene_reports"]
    assert "13812345678" not in scene["assessment"] and scene["guidance"][0]["kind"] == "road_blocked"

    await alarm(lat, lon, event="AlarmClosed", alarm_id=reported.subject, data={"at": dt.datetime.now(dt.UTC).isoformat()})

    async def stood_down():
        r = (await client.get(f"/v1/alarm-responses/{reported.subject}", headers=token("volunteers:read"))).json()
        return r if r["closed"] else None

    closed = await eventually(stood_down, timeout=15)
    assert {a["volunteer_id"]: a["status"] for a in closed["alerted"]} == {
        ids["near"]: "accepted", ids["mid"]: "stood_down", ids["edge"]: "stood_down"}
    assert_problem(await client.post(f"/v1/me/alerts/{reported.subject}/acceptance", json={"eta_minutes": 2},
                                     headers=me(ids["mid"])), 409, "illegal-transition")

    r = await client.post(f"/v1/alarm-responses/{reported.subject}/confirmations",
                          json={"volunteer_id": ids["near"], "hours": 1.5}, headers=token())
    assert r.status_code == 200, r.text
    hours = (await client.get(f"/v1/volunteers/{ids['near']}/hours", headers=token())).json()
    assert hours["total"] == 1.5 and hours["entries"][0]["source"] == "alarm_response"


async def test_enough_acceptances_stand_the_others_down_and_a_home_alerts_only_trusted_grades(
        client, token, me, city, volunteers_app, volunteers_settings, volunteers_topic, alarms_topic, kafka_bootstrap,
        alarm):
    volunteers_app.state.responses.wanted = 1
    lat, lon = 30.2941, 120.1751
    home = community(city, 0).code
    a, b = [await fit_volunteer(client, token, home) for _ in range(2)]
    for v in (a, b):
        await on_duty(client, me, v, lat, lon + 40 * M)
    at_home = await alarm(lat, lon, place="home")
    in_public = await alarm(lat, lon, place="public")
    await alerted_event(kafka_bootstrap, volunteers_topic, in_public.subject, count=2 * 6 + 1)
    # level_1 is not sent into homes: nobody alerted, nothing recorded, once the consumer read it

    async def read_all() -> bool:
        lag = await group_lag(kafka_bootstrap, volunteers_settings.alarm_alerts_group, alarms_topic)
        return bool(lag) and not any(lag.values())

    await eventually(read_all, timeout=15)
    assert_problem(await client.get(f"/v1/alarm-responses/{at_home.subject}", headers=token("volunteers:read")),
                   404, "not-found")
    r = await client.post(f"/v1/me/alerts/{in_public.subject}/acceptance", json={"eta_minutes": 3}, headers=me(a))
    assert r.status_code == 200, r.text
    assert {x["volunteer_id"]: x["status"] for x in r.json()["alerted"]} == {a: "accepted", b: "stood_down"}
    assert (await client.get("/v1/me/alerts?open=true", headers=me(b))).json()["alerts"] == []


async def test_off_duty_and_expired_positions_are_not_alerted_and_an_erased_volunteer_s_position_is_gone(
        client, token, me, city, volunteers_app):
    lat, lon = 30.3141, 120.1951
    v = await fit_volunteer(client, token, community(city, 0).code)
    await on_duty(client, me, v, lat, lon)
    assert (await client.get("/v1/me/position", headers=me(v))).json()["on_duty"]
    r = await client.delete("/v1/me/position", headers=me(v))
    assert r.status_code == 200 and not r.json()["on_duty"]
    await on_duty(client, me, v, lat, lon)
    erased = await fit_volunteer(client, token, community(city, 0).code)
    await on_duty(client, me, erased, lat, lon)
    r = await client.delete(f"/v1/volunteers/{erased}/personal-data", headers=token())
    assert r.status_code == 200, r.text
    assert not (await client.get("/v1/me/position", headers=me(erased))).json()["on_duty"]
    await on_duty(client, me, erased, lat, lon, status=409)  # no person, no duty
    service = volunteers_app.state.responses
    later = dt.datetime.now(dt.UTC) + service.position_fresh + dt.timedelta(seconds=1)
    service.clock = lambda: later
    assert await service.forget_stale_positions() >= 1
    assert not (await client.get("/v1/me/position", headers=me(v))).json()["on_duty"]


async def test_a_poison_alarm_record_goes_to_the_dlq_and_the_next_one_is_alerted(
        client, token, me, city, volunteers_app, volunteers_settings, volunteers_topic, alarms_topic, kafka_bootstrap,
        alarm):
    lat, lon = 30.3341, 120.2151
    v = await fit_volunteer(client, token, community(city, 0).code)
    await on_duty(client, me, v, lat, lon)
    await alarm(lat, lon, data={"alarm_id": "x", "kind": "fire"})  # no location, no jurisdiction
    good = await alarm(lat, lon)
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(alarms_topic), until_count=1)
    headers = dict(dead.headers)
    assert headers["dlq_consumer"].endswith(b"-alarm-alerts") and headers["dlq_error"].startswith(b"ContractViolation")
    assert headers["dlq_attempts"] == b"1"  # poison: dead-lettered at once, not retried
    event = await alerted_event(kafka_bootstrap, volunteers_topic, good.subject, count=6 + 1)
    assert [line["volunteer_id"] for line in event.data["alerted"]] == [v]


async def test_the_volunteer_s_own_stream_shows_an_alert_as_it_commits_then_its_answer(
        client, token, me, city, volunteers_settings, alarm, tmp_path):
    lat, lon = 30.3541, 120.2351
    v = await fit_volunteer(client, token, community(city, 0).code)
    await on_duty(client, me, v, lat + 60 * M, lon)
    async with served("volunteers.main", volunteers_settings, SERVED_FIELDS, tmp_path) as replica:
        async with replica.stream("GET", "/v1/me/alerts/stream", headers=me(v)) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            stream = SseReader(r)
            reported = await alarm(lat, lon)
            first = await stream.next(timeout=20)
            alert = json.loads(first.data)
            assert (first.event, first.id, alert["status"], alert["distance_m"]) == (
                "alert", reported.subject, "alerted", 50)
            assert (await client.post(f"/v1/me/alerts/{reported.subject}/acceptance", json={"eta_minutes": 3},
                                      headers=me(v))).status_code == 200
            answered = json.loads((await stream.next(timeout=20)).data)
            assert (answered["alarm_id"], answered["status"], answered["eta_minutes"]) == (reported.subject,
                                                                                          "accepted", 3)
        assert_problem(await replica.get("/v1/me/alerts/stream", headers=token("volunteers:respond")), 403,
                       "not-a-volunteer")

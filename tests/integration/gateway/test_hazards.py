"""Hazard notifications (HazardNotification on linkage.notifications) against the real stack:
on the same per-centre streams as alarms, in the same feed (ids, resume, de-duplication), on a
hazard board of their own (snapshot, GET …/hazards, retention), scoped as the streams are."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from websockets.asyncio.client import connect

from gateway.feed.retention import purge_feed
from linkduty_shared.events import envelope_to_kafka
from linkduty_shared.messaging.topics import dlq_topic
from tests.conftest import eventually
from tests.integration.gateway.support import hazard_notification, notification, publish
from tests.support.kafka import read_topic


async def _feed_has(gateway, n: int) -> bool:
    return await gateway.feed_count() == n


async def test_a_hazard_reaches_its_centre_s_stream_beside_its_alarms_in_order_once_and_resumes(
        gateway, open_stream, producer, topic, city, places, console_of):
    a, b = places["a"], places["b"]
    alarm = notification(city, a.id)
    reported = hazard_notification(city, a.id, hazard_id="hazard-1")
    escalated = hazard_notification(city, a.id, hazard_id="hazard-1", event_type="HazardEscalated", version=2)
    async with open_stream(a.id, console_of(a)) as live:
        await eventually(lambda: gateway.state.hub.subscribers(a.id) == 1, what="the stream to subscribe")
        await publish(producer, topic, reported, alarm, hazard_notification(city, b.id))
        await publish(producer, topic, reported, escalated)  # a re-sent notification is shown once
        seen = await live.take(3)
        assert await live.nothing_more(), "B's hazard, or a repeat, reached A's stream"
    assert [e.event for e in seen] == ["HazardReported", "AlarmReported", "HazardEscalated"]
    assert [json.loads(e.data) for e in seen] == [reported.to_data(), alarm.to_data(), escalated.to_data()]
    async with open_stream(a.id, console_of(a), last_event_id=seen[0].id) as resumed:
        assert [e.id for e in await resumed.take(2)] == [seen[1].id, seen[2].id]
        assert await resumed.nothing_more()


async def test_the_snapshot_and_the_hazard_board_show_the_open_hazards_at_their_newest_version(
        gateway, http, open_stream, producer, topic, city, places, console_of):
    a = places["a"]
    newer = hazard_notification(city, a.id, hazard_id="hazard-open", event_type="HazardAccepted", version=2)
    await publish(producer, topic, newer, hazard_notification(city, a.id, hazard_id="hazard-open"),  # older, later
                  hazard_notification(city, a.id, hazard_id="hazard-done", event_type="RectificationVerified",
                                      version=5, open=False),
                  notification(city, a.id, alarm_id="alarm-open"))
    await eventually(lambda: _feed_has(gateway, 4), what="four feed rows")
    async with open_stream(a.id, console_of(a), snapshot="true") as stream:
        snapshot = await stream.next()
    assert snapshot.event == "snapshot"
    data = json.loads(snapshot.data)
    assert [(h["hazard_id"], h["version"], h["open"]) for h in data["hazards"]] == [("hazard-open", 2, True)]
    assert [x["alarm_id"] for x in data["alarms"]] == ["alarm-open"]  # the alarms' board has no hazard
    board = (await http.get(f"/v1/centres/{a.id}/hazards", headers=console_of(a))).json()
    assert board["seq"] == int(snapshot.id) and board["hazards"] == data["hazards"]
    assert board["hazards"][0] == {**newer.hazard.__dict__, "open": True}
    everything = (await http.get(f"/v1/centres/{a.id}/hazards", headers=console_of(a),
                                 params={"include_closed": "true"})).json()
    assert {h["hazard_id"] for h in everything["hazards"]} == {"hazard-open", "hazard-done"}
    alarms = (await http.get(f"/v1/centres/{a.id}/alarms", headers=console_of(a))).json()
    assert [x["alarm_id"] for x in alarms["alarms"]] == ["alarm-open"] and "hazards" not in alarms
    async with connect(f"{gateway.ws_url}/v1/centres/{a.id}/ws?snapshot=true",
                       additional_headers=console_of(a)) as ws:
        message = json.loads(await ws.recv())
    assert message["type"] == "snapshot" and message["data"]["hazards"] == data["hazards"]


async def test_a_hazard_no_longer_open_leaves_the_board_once_its_last_row_is_purged_and_an_open_one_stays(
        gateway, http, producer, topic, city, places, console_of):
    a = places["a"]
    await publish(producer, topic, hazard_notification(city, a.id, hazard_id="hazard-open"),
                  hazard_notification(city, a.id, hazard_id="hazard-rejected", event_type="HazardRejected",
                                      open=False))
    await eventually(lambda: _feed_has(gateway, 2), what="two feed rows")
    assert await purge_feed(gateway.state.pool, dt.timedelta(0)) == (2, 1)
    board = (await http.get(f"/v1/centres/{a.id}/hazards", headers=console_of(a),
                            params={"include_closed": "true"})).json()
    assert [h["hazard_id"] for h in board["hazards"]] == ["hazard-open"]


async def test_the_hazard_board_is_scoped_as_the_stream_is(gateway, http, city, places, console_of, token):
    a, b = places["a"], places["b"]
    assert (await http.get(f"/v1/centres/{a.id}/hazards", headers=console_of(b))).status_code == 403
    no_scope = {"Authorization": "Bearer " + token(centre=a, scopes=("hazards:read",))}
    r = await http.get(f"/v1/centres/{a.id}/hazards", headers=no_scope)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert (await http.get(f"/v1/centres/{a.id}/hazards")).status_code == 401
    district = {"Authorization": "Bearer " + token(jurisdiction=[places["district"].division_code])}
    assert (await http.get(f"/v1/centres/{a.id}/hazards", headers=district)).status_code == 200


async def test_a_hazard_notification_breaking_its_contract_is_dead_lettered_and_the_feed_goes_on(
        gateway, open_stream, producer, topic, city, places, console_of, kafka_bootstrap):
    a = places["a"]
    broken = hazard_notification(city, a.id)
    data = broken.to_data()
    del data["hazard"]["handled_by"]
    message = envelope_to_kafka(dataclasses.replace(broken.envelope(), data=data))
    await producer.send_and_wait(topic, value=message.value, key=a.id.encode(), headers=list(message.headers.items()))
    fine = hazard_notification(city, a.id)
    await publish(producer, topic, fine)
    async with open_stream(a.id, console_of(a), last_event_id="0") as stream:
        assert json.loads((await stream.next()).data)["notification_id"] == fine.notification_id
        assert await stream.nothing_more()
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(topic), until_count=1)
    headers = dict(dead.headers)
    assert headers["ce_id"].decode() == broken.notification_id and b"handled_by" in headers["dlq_error"]
    assert await gateway.feed_count() == 1

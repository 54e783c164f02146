"""The SSE stream of a centre against the real stack: order and ids, resume without gap or
duplicate, redeliveries shown once, snapshot then live."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from linkduty_shared.events import envelope_to_kafka
from linkduty_shared.messaging.topics import dlq_topic
from tests.conftest import eventually
from tests.support.kafka import read_topic
from tests.integration.gateway.support import notification, publish


async def test_a_console_receives_its_centre_s_notifications_in_order_with_ids(
        gateway, open_stream, producer, topic, city, places, console_of):
    a, b = places["a"], places["b"]
    mine = [notification(city, a.id, event_type=t) for t in ("AlarmReported", "CallLinked", "AlarmVerified", "AlarmEscalated")]
    async with open_stream(a.id, console_of(a)) as stream:
        await eventually(lambda: gateway.state.hub.subscribers(a.id) == 1, what="the stream to subscribe")
        for n, other in zip(mine, [notification(city, b.id) for _ in mine]):
            await publish(producer, topic, n, other)
        events = await stream.take(len(mine))
        assert [e.event for e in events] == ["AlarmReported", "CallLinked", "AlarmVerified", "AlarmEscalated"]
        assert [json.loads(e.data)["notification_id"] for e in events] == [n.notification_id for n in mine]
        ids = [int(e.id) for e in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert json.loads(events[0].data) == mine[0].to_data()
        assert await stream.nothing_more(), "B's notifications must not reach A's stream"
    await eventually(lambda: gateway.state.hub.subscribers(a.id) == 0, what="the closed stream to unsubscribe")


async def test_reconnecting_with_last_event_id_gets_exactly_the_missed_notifications(
        gateway, open_stream, producer, topic, city, places, console_of):
    a = places["a"]
    first = [notification(city, a.id) for _ in range(3)]
    await publish(producer, topic, *first)
    async with open_stream(a.id, console_of(a), last_event_id="0") as stream:
        seen = await stream.take(3)
    assert [json.loads(e.data)["notification_id"] for e in seen] == [n.notification_id for n in first]

    missed = [notification(city, a.id) for _ in range(4)]
    await publish(producer, topic, *missed)
    await eventually(_count_is(gateway, 7), what="the missed notifications in the feed")
    async with open_stream(a.id, {**console_of(a), "Last-Event-ID": seen[-1].id}) as stream:
        caught_up = await stream.take(4)
        assert [json.loads(e.data)["notification_id"] for e in caught_up] == [n.notification_id for n in missed]
        later = [notification(city, a.id) for _ in range(2)]
        await publish(producer, topic, *later)
        live = await stream.take(2)
        assert [json.loads(e.data)["notification_id"] for e in live] == [n.notification_id for n in later]
        assert await stream.nothing_more()
    ids = [int(e.id) for e in [*seen, *caught_up, *live]]
    assert ids == sorted(set(ids))


async def test_reconnects_during_a_burst_never_lose_or_repeat_a_notification(
        gateway, open_stream, producer, topic, city, places, console_of):
    """A console that drops and resumes over and over while notifications keep coming."""
    a = places["a"]
    burst = [notification(city, a.id) for _ in range(120)]

    async def produce() -> None:
        for i in range(0, len(burst), 4):
            await publish(producer, topic, *burst[i:i + 4])
            await asyncio.sleep(0.03)

    producing = asyncio.create_task(produce())
    received, last_id = [], "0"
    try:
        while len(received) < len(burst):
            async with open_stream(a.id, {**console_of(a), "Last-Event-ID": last_id}) as stream:
                for _ in range(7):  # a few events per connection, then drop it
                    event = await stream.next(timeout=30)
                    received.append(event)
                    last_id = event.id
                    if len(received) == len(burst):
                        break
    finally:
        await producing
    assert [json.loads(e.data)["notification_id"] for e in received] == [n.notification_id for n in burst]


async def test_a_redelivered_notification_is_shown_once(gateway, open_stream, producer, topic, city, places, console_of):
    a = places["a"]
    once, other = notification(city, a.id), notification(city, a.id)
    await publish(producer, topic, once, once, other, once)
    async with open_stream(a.id, console_of(a), last_event_id="0") as stream:
        events = await stream.take(2)
        assert [json.loads(e.data)["notification_id"] for e in events] == [once.notification_id, other.notification_id]
        assert await stream.nothing_more()
    assert await gateway.feed_count() == 2


async def test_snapshot_gives_the_open_alarms_then_live_from_that_point(
        gateway, open_stream, producer, topic, city, places, console_of):
    a = places["a"]
    fire = notification(city, a.id, alarm_id="alarm-fire")
    smoke = notification(city, a.id, alarm_id="alarm-smoke")
    smoke_closed = notification(city, a.id, alarm_id="alarm-smoke", event_type="AlarmClosed", version=2, open=False)
    await publish(producer, topic, fire, smoke, smoke_closed)
    await eventually(_count_is(gateway, 3), what="three feed rows")
    async with open_stream(a.id, console_of(a), snapshot="true") as stream:
        snapshot = await stream.next()
        assert snapshot.event == "snapshot"
        board = json.loads(snapshot.data)
        assert [alarm["alarm_id"] for alarm in board["alarms"]] == ["alarm-fire"] and board["centre_id"] == a.id
        verified = notification(city, a.id, alarm_id="alarm-fire", event_type="AlarmVerified", version=2)
        await publish(producer, topic, verified)
        live = await stream.next()
        assert live.event == "AlarmVerified" and int(live.id) > int(snapshot.id)


async def test_snapshot_taken_while_notifications_arrive_neither_misses_nor_repeats_one(
        gateway, open_stream, producer, topic, city, places, console_of):
    a = places["a"]
    alarms = [notification(city, a.id) for _ in range(80)]

    async def produce() -> None:  # spread out, so that the snapshot lands in the middle
        for n in alarms:
            await publish(producer, topic, n)
            await asyncio.sleep(0.02)

    producing = asyncio.create_task(produce())
    await eventually(_count_is(gateway, 20, at_least=True), what="the first notifications")
    async with open_stream(a.id, console_of(a), snapshot="true") as stream:
        snapshot = await stream.next()
        in_snapshot = [alarm["alarm_id"] for alarm in json.loads(snapshot.data)["alarms"]]
        assert 20 <= len(in_snapshot) < len(alarms)
        live = []
        while len(in_snapshot) + len(live) < len(alarms):
            event = await stream.next(timeout=30)
            assert int(event.id) > int(snapshot.id)
            live.append(json.loads(event.data)["alarm"]["alarm_id"])
    await producing
    assert in_snapshot + live == [n.alarm.alarm_id for n in alarms]


async def test_the_board_and_its_position_lead_into_the_stream(
        gateway, http, open_stream, producer, topic, city, places, console_of):
    a = places["a"]
    await publish(producer, topic, notification(city, a.id, alarm_id="alarm-1"),
                  notification(city, a.id, alarm_id="alarm-2", open=False, event_type="AlarmCancelled"))
    await eventually(_count_is(gateway, 2), what="two feed rows")
    board = (await http.get(f"/v1/centres/{a.id}/alarms", headers=console_of(a))).json()
    assert [x["alarm_id"] for x in board["alarms"]] == ["alarm-1"] and board["seq"] > 0
    everything = (await http.get(f"/v1/centres/{a.id}/alarms", headers=console_of(a), params={"include_closed": "true"})).json()
    assert {x["alarm_id"]: x["open"] for x in everything["alarms"]} == {"alarm-1": True, "alarm-2": False}
    after = notification(city, a.id, alarm_id="alarm-3")
    await publish(producer, topic, after)
    async with open_stream(a.id, {**console_of(a), "Last-Event-ID": str(board["seq"])}) as stream:
        assert json.loads((await stream.next()).data)["notification_id"] == after.notification_id
        assert await stream.nothing_more()


async def test_an_older_summary_never_replaces_a_newer_one_on_the_board(
        gateway, http, producer, topic, city, places, console_of):
    a = places["a"]
    newer = notification(city, a.id, alarm_id="alarm-x", event_type="AlarmClosed", version=3, open=False)
    older = notification(city, a.id, alarm_id="alarm-x", event_type="CallLinked", version=2)
    await publish(producer, topic, newer, older)
    await eventually(_count_is(gateway, 2), what="two feed rows")
    board = (await http.get(f"/v1/centres/{a.id}/alarms", headers=console_of(a), params={"include_closed": "true"})).json()
    assert [(x["alarm_id"], x["version"], x["open"]) for x in board["alarms"]] == [("alarm-x", 3, False)]


def _count_is(gateway, n: int, *, at_least: bool = False):
    async def check() -> bool:
        count = await gateway.feed_count()
        return count >= n if at_least else count == n
    return check


@pytest.mark.parametrize("settings_overrides", [{"heartbeat_s": 0.2}])
async def test_an_idle_stream_gets_heartbeats_and_a_closed_one_unsubscribes(gateway, open_stream, places, console_of):
    a = places["a"]
    async with open_stream(a.id, console_of(a)) as stream:
        assert await stream.nothing_more(wait=1.0)
        assert stream.comments >= 3
        assert gateway.state.hub.subscribers(a.id) == 1
    await eventually(lambda: gateway.state.hub.subscribers(a.id) == 0, what="the closed stream to unsubscribe")


async def test_a_notification_the_gateway_cannot_read_goes_to_the_dlq_and_the_stream_goes_on(
        gateway, open_stream, producer, topic, city, places, console_of, kafka_bootstrap):
    a = places["a"]
    broken = notification(city, a.id)
    message = envelope_to_kafka(dataclasses.replace(broken.envelope(), data={"centre_id": a.id}))
    await producer.send_and_wait(topic, value=message.value, key=a.id.encode(), headers=list(message.headers.items()))
    fine = notification(city, a.id)
    await publish(producer, topic, fine)
    async with open_stream(a.id, console_of(a), last_event_id="0") as stream:
        assert json.loads((await stream.next()).data)["notification_id"] == fine.notification_id
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(topic), until_count=1)
    assert dict(dead.headers)["ce_id"].decode() == broken.notification_id


async def test_a_notification_breaking_its_contract_is_dead_lettered_at_once_and_never_shown(
        gateway, open_stream, producer, topic, city, places, console_of, kafka_bootstrap):
    """Fields of the wrong type, or fields the contract does not have, are never stored verbatim."""
    a = places["a"]
    wrong = notification(city, a.id)
    data = wrong.to_data() | {"alarm": {**wrong.to_data()["alarm"], "description": {"html": "<script>"}}}
    extra = notification(city, a.id)
    for n, payload in ((wrong, data), (extra, extra.to_data() | {"injected": "x" * 1000})):
        message = envelope_to_kafka(dataclasses.replace(n.envelope(), data=payload))
        await producer.send_and_wait(topic, value=message.value, key=a.id.encode(), headers=list(message.headers.items()))
    fine = notification(city, a.id)
    await publish(producer, topic, fine)
    async with open_stream(a.id, console_of(a), last_event_id="0") as stream:
        shown = [json.loads(e.data) for e in await stream.take(2)]
    assert [s["notification_id"] for s in shown] == [extra.notification_id, fine.notification_id]
    assert "injected" not in shown[0] and shown[0] == extra.to_data()  # stored as the contract defines it
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(topic), until_count=1)
    headers = dict(dead.headers)
    assert headers["ce_id"].decode() == wrong.notification_id
    assert b"ContractViolation" in headers["dlq_error"] and headers["dlq_attempts"] == b"1"

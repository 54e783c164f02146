"""The per-event shape of linkage.notifications (AlarmRouted, key = alarm id) against the real
stack: the feed writer fans each record out into exactly the rows its per-centre records would
have made (the same notification ids and payloads), so de-duplication holds across the shapes,
and each centre sees an alarm's events in order."""

from __future__ import annotations

import dataclasses
import json
import uuid

from linkduty_shared.contracts.notifications import AlarmNotification, notification_id
from linkduty_shared.events import envelope_to_kafka
from linkduty_shared.messaging.topics import dlq_topic
from tests.conftest import eventually
from tests.integration.gateway.support import notification, publish, publish_routed, routed
from tests.support.kafka import read_topic


def one_event(city, centre_ids, *, alarm_id: str, event_type: str = "AlarmReported", version: int = 1,
              open: bool = True) -> list[AlarmNotification]:
    """The per-centre notifications of one event of one alarm, as linkage sends them."""
    first = notification(city, centre_ids[0], alarm_id=alarm_id, event_type=event_type, version=version, open=open)
    return [dataclasses.replace(first, centre_id=c, notification_id=notification_id(first.event_id, c),
                                reason="jurisdiction" if i < 2 else "rule:major-fire-neighbouring-streets")
            for i, c in enumerate(centre_ids)]


async def rows(gateway, alarm_id: str) -> list[tuple]:
    async with gateway.state.pool.acquire() as conn:
        found = await conn.fetch("SELECT seq, centre_id, notification_id, event_type, payload FROM centre_feed"
                                 " WHERE alarm_id = $1 ORDER BY seq", alarm_id)
    return [(r["centre_id"], r["notification_id"], r["event_type"], r["payload"]) for r in found]


async def test_a_per_event_record_makes_the_rows_of_its_per_centre_records_and_either_shape_dedups_the_other(
        gateway, producer, topic, city, places):
    centres = [places["a"].id, places["street"].id, places["b"].id]
    alarm = f"alarm-{uuid.uuid4().hex[:8]}"
    reported = one_event(city, centres, alarm_id=alarm)
    linked = one_event(city, centres, alarm_id=alarm, event_type="CallLinked", version=2)
    await publish_routed(producer, topic, routed(reported))
    await eventually(lambda: gateway.feed_count(), what="the first rows")
    await publish(producer, topic, *reported, *linked)  # the same event per centre: nothing new; the next: new
    await publish_routed(producer, topic, routed(linked))  # and the other way round
    await eventually(lambda: _count(gateway, 6), what="six feed rows")
    # per centre, in order (the per-centre records of one event are on different partitions: the
    # order between centres is the order the writer polled them)
    by_centre = {c: [row for row in await rows(gateway, alarm) if row[0] == c] for c in centres}
    assert by_centre == {c: [(n.centre_id, n.notification_id, n.event_type, n.to_data())
                             for n in (*reported, *linked) if n.centre_id == c] for c in centres}
    assert await gateway.feed_count() == 6


async def test_each_centre_sees_an_alarm_s_per_event_records_in_order_once_and_its_board_at_the_newest(
        gateway, http, open_stream, producer, topic, city, places, console_of):
    a, street = places["a"], places["street"]
    centres = [a.id, street.id, places["district"].id]
    alarm = f"alarm-{uuid.uuid4().hex[:8]}"
    steps = [("AlarmReported", 1, True), ("CallLinked", 2, True), ("AlarmAcknowledged", 3, True),
             ("AlarmClosed", 4, False)]
    events = [routed(one_event(city, centres, alarm_id=alarm, event_type=t, version=v, open=o)) for t, v, o in steps]
    async with open_stream(a.id, console_of(a)) as live:
        await eventually(lambda: gateway.state.hub.subscribers(a.id) == 1, what="the stream to subscribe")
        await publish_routed(producer, topic, events[0], events[1])
        await publish_routed(producer, topic, events[1], events[2], events[0], events[3])  # redeliveries in between
        seen = await live.take(4)
        assert await live.nothing_more()
    assert [e.event for e in seen] == [t for t, _, _ in steps]
    assert [json.loads(e.data) for e in seen] == [r.notifications()[0].to_data() for r in events]
    ids = [int(e.id) for e in seen]
    assert ids == sorted(set(ids))
    async with open_stream(street.id, console_of(street), last_event_id="0") as resumed:
        assert [json.loads(e.data)["notification_id"] for e in await resumed.take(4)] == [
            notification_id(r.event_id, street.id) for r in events]
        assert await resumed.nothing_more()
    assert await gateway.feed_count() == 12
    board = (await http.get(f"/v1/centres/{street.id}/alarms", headers=console_of(street),
                            params={"include_closed": "true"})).json()
    assert [(x["alarm_id"], x["version"], x["open"]) for x in board["alarms"]] == [(alarm, 4, False)]


async def test_a_per_event_record_breaking_its_contract_is_dead_lettered_whole_and_the_feed_goes_on(
        gateway, open_stream, producer, topic, city, places, console_of, kafka_bootstrap):
    a, b = places["a"], places["b"]
    broken = routed(one_event(city, [a.id, b.id], alarm_id="alarm-broken"))
    data = broken.to_data()
    data["centres"].append(data["centres"][0])  # a centre listed twice
    message = envelope_to_kafka(dataclasses.replace(broken.envelope(), data=data))
    await producer.send_and_wait(topic, value=message.value, key=b"alarm-broken", headers=list(message.headers.items()))
    fine = routed(one_event(city, [a.id, b.id], alarm_id="alarm-fine"))
    await publish_routed(producer, topic, fine)
    async with open_stream(a.id, console_of(a), last_event_id="0") as stream:
        assert json.loads((await stream.next()).data)["notification_id"] == notification_id(fine.event_id, a.id)
        assert await stream.nothing_more()
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(topic), until_count=1)
    headers = dict(dead.headers)
    assert headers["ce_id"].decode() == broken.envelope().id and b"listed twice" in headers["dlq_error"]
    assert await gateway.feed_count() == 2  # none of the broken record's centres got a row


async def _count(gateway, n: int) -> bool:
    return await gateway.feed_count() == n

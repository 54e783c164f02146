"""The feed's retention against the real stack: purged from its oldest row on, and a console
resuming from before what is kept gets `resync`, then the snapshot, then live notifications."""

from __future__ import annotations

import datetime as dt
import json

from websockets.asyncio.client import connect

from gateway.feed.retention import purge_feed
from gateway.feed.tables import centre_page
from tests.conftest import eventually
from tests.integration.gateway.support import notification, publish

NOW = dt.timedelta(0)  # keep nothing older than this purge


async def _feed_seqs(gateway, centre_id: str) -> list[int]:
    async with gateway.state.pool.acquire() as conn:
        return [r["seq"] for r in await conn.fetch("SELECT seq FROM centre_feed WHERE centre_id = $1 ORDER BY seq", centre_id)]


async def _published(gateway, producer, topic, *notifications) -> None:
    before = await gateway.feed_count()
    await publish(producer, topic, *notifications)
    await eventually(lambda: _count_at_least(gateway, before + len(notifications)), what="the notifications in the feed")


async def _count_at_least(gateway, n: int) -> bool:
    return await gateway.feed_count() >= n


async def test_a_resume_from_a_purged_id_gets_resync_then_the_snapshot_then_live(
        gateway, open_stream, producer, topic, city, places, console_of):
    a = places["a"]
    await _published(gateway, producer, topic, notification(city, a.id, alarm_id="alarm-open"),
                     notification(city, a.id, alarm_id="alarm-closed", open=False), notification(city, a.id))
    first = (await _feed_seqs(gateway, a.id))[0]
    assert await purge_feed(gateway.state.pool, NOW) == (3, 1)  # the closed alarm leaves the board too
    async with open_stream(a.id, {**console_of(a), "Last-Event-ID": str(first)}) as stream:
        resync, snapshot = await stream.take(2)
        assert resync.event == "resync" and resync.id is None
        assert json.loads(resync.data)["cause"] == "purged" and json.loads(resync.data)["last_event_id"] == first
        assert snapshot.event == "snapshot" and int(snapshot.id) == gateway.state.hub.last_seq
        alarms = {x["alarm_id"] for x in json.loads(snapshot.data)["alarms"]}
        assert "alarm-open" in alarms and "alarm-closed" not in alarms
        later = notification(city, a.id, alarm_id="alarm-open", event_type="AlarmVerified", version=2)
        await publish(producer, topic, later)
        live = await stream.next()
        assert live.event == "AlarmVerified" and int(live.id) > int(snapshot.id)
    # the snapshot's id is a position to resume from: no second resync, though nothing of a's older is kept
    async with open_stream(a.id, {**console_of(a), "Last-Event-ID": snapshot.id}) as stream:
        assert (await stream.next()).id == live.id and await stream.nothing_more()


async def test_a_centre_whose_every_row_is_purged_gets_a_snapshot_position_it_can_resume_from(
        gateway, http, producer, topic, city, places, console_of):
    a = places["a"]
    await _published(gateway, producer, topic, notification(city, a.id, alarm_id="alarm-1"))
    await purge_feed(gateway.state.pool, NOW)
    board = (await http.get(f"/v1/centres/{a.id}/alarms", headers=console_of(a))).json()
    assert board["seq"] > 0 and [x["alarm_id"] for x in board["alarms"]] == ["alarm-1"]
    page = await centre_page(gateway.state.pool, a.id, board["seq"])
    assert page.resync is None and page.rows == []


async def test_a_resume_whose_missed_notifications_are_all_kept_gets_them_without_resync(
        gateway, open_stream, producer, topic, city, places, console_of):
    a, b = places["a"], places["b"]
    await _published(gateway, producer, topic, notification(city, a.id), notification(city, b.id))
    await purge_feed(gateway.state.pool, NOW)
    kept = [notification(city, a.id) for _ in range(2)]
    await _published(gateway, producer, topic, notification(city, b.id), *kept)
    last_purged_of_b = (await centre_page(gateway.state.pool, b.id, 0)).resync
    assert last_purged_of_b is not None and last_purged_of_b.cause == "purged"
    # a's console saw every purged row of a: it resumes from there and misses nothing kept
    async with gateway.state.pool.acquire() as conn:
        through = await conn.fetchval("SELECT through_seq FROM centre_feed_purged WHERE centre_id = $1", a.id)
    async with open_stream(a.id, {**console_of(a), "Last-Event-ID": str(through)}) as stream:
        events = await stream.take(2)
        assert [json.loads(e.data)["notification_id"] for e in events] == [n.notification_id for n in kept]
        assert await stream.nothing_more()


async def test_an_id_the_feed_never_gave_out_gets_resync(gateway, open_stream, producer, topic, city, places, console_of):
    a = places["a"]
    await _published(gateway, producer, topic, notification(city, a.id))
    async with open_stream(a.id, {**console_of(a), "Last-Event-ID": "999999999"}) as stream:
        resync, snapshot = await stream.take(2)
        assert resync.event == "resync" and json.loads(resync.data)["cause"] == "unknown"
        assert snapshot.event == "snapshot"


async def test_the_websocket_stream_resyncs_likewise(gateway, producer, topic, city, places, token):
    a = places["a"]
    await _published(gateway, producer, topic, notification(city, a.id, alarm_id="alarm-ws"), notification(city, a.id))
    first = (await _feed_seqs(gateway, a.id))[0]
    await purge_feed(gateway.state.pool, NOW)
    url = f"{gateway.ws_url}/v1/centres/{a.id}/ws?access_token={token(centre=a)}&last_event_id={first}"
    async with connect(url) as ws:
        resync, snapshot = [json.loads(await ws.recv()) for _ in range(2)]
    assert resync["type"] == "resync" and resync["cause"] == "purged" and "id" not in resync
    assert snapshot["type"] == "snapshot" and "alarm-ws" in {x["alarm_id"] for x in snapshot["data"]["alarms"]}


async def test_the_purge_takes_a_prefix_of_the_feed_and_keeps_from_the_first_young_row(gateway, city, places):
    a = places["a"]
    async with gateway.state.pool.acquire() as conn:
        seqs = [await conn.fetchval(
            """INSERT INTO centre_feed (centre_id, notification_id, alarm_id, event_type, payload, created_at)
               VALUES ($1, $2, 'x', 'AlarmReported', '{}', now() - make_interval(days => $3)) RETURNING seq""",
            a.id, f"n-{i}", age) for i, age in enumerate([30, 20, 1, 40, 25])]
    assert await purge_feed(gateway.state.pool, dt.timedelta(days=7), batch=2) == (2, 0)
    assert await _feed_seqs(gateway, a.id) == seqs[2:]  # the 40-day-old row waits behind the young one
    page = await centre_page(gateway.state.pool, a.id, seqs[0])
    assert page.resync is not None and page.resync.cause == "purged"
    page = await centre_page(gateway.state.pool, a.id, seqs[1])
    assert page.resync is None and [r.seq for r in page.rows] == seqs[2:]

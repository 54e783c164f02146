"""The same stream over WebSocket: JSON messages with ids, resume, snapshot."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from tests.conftest import eventually
from tests.integration.gateway.support import notification, publish


async def _take(ws, count: int, timeout: float = 15.0) -> list[dict]:
    async with asyncio.timeout(timeout):
        return [json.loads(await ws.recv()) for _ in range(count)]


async def _silent(ws, wait: float = 0.7) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), wait)
    except TimeoutError:
        return True
    return False


async def test_the_websocket_stream_delivers_in_order_and_resumes(gateway, producer, topic, city, places, token):
    a = places["a"]
    url = f"{gateway.ws_url}/v1/centres/{a.id}/ws"
    first = [notification(city, a.id, event_type=t) for t in ("AlarmReported", "CallLinked")]
    async with connect(url, additional_headers={"Authorization": "Bearer " + token(centre=a)}) as ws:
        await eventually(lambda: gateway.state.hub.subscribers(a.id) == 1, what="the socket to subscribe")
        await publish(producer, topic, *first)
        messages = await _take(ws, 2)
    assert [m["type"] for m in messages] == ["AlarmReported", "CallLinked"]
    assert [m["data"] for m in messages] == [n.to_data() for n in first]
    assert messages[0]["id"] < messages[1]["id"]

    missed = [notification(city, a.id) for _ in range(3)]
    await publish(producer, topic, *missed)
    resume = f"{url}?access_token={token(centre=a)}&last_event_id={messages[-1]['id']}"
    async with connect(resume) as ws:
        caught_up = await _take(ws, 3)
        assert [m["data"]["notification_id"] for m in caught_up] == [n.notification_id for n in missed]
        assert await _silent(ws)


async def test_the_websocket_snapshot_comes_first(gateway, producer, topic, city, places, token):
    a = places["a"]
    await publish(producer, topic, notification(city, a.id, alarm_id="alarm-ws"))
    await eventually(lambda: gateway.state.hub.last_seq > 0, what="the notification in the feed")
    url = f"{gateway.ws_url}/v1/centres/{a.id}/ws?snapshot=true&access_token={token(centre=a)}"
    async with connect(url) as ws:
        [snapshot] = await _take(ws, 1)
        assert snapshot["type"] == "snapshot" and snapshot["id"] == gateway.state.hub.last_seq
        assert [x["alarm_id"] for x in snapshot["data"]["alarms"]] == ["alarm-ws"]
        later = notification(city, a.id, alarm_id="alarm-ws", event_type="AlarmVerified", version=2)
        await publish(producer, topic, later)
        [live] = await _take(ws, 1)
        assert live["type"] == "AlarmVerified" and live["id"] > snapshot["id"]
    await eventually(lambda: gateway.state.hub.subscribers(a.id) == 0, what="the closed socket to unsubscribe")

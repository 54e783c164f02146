"""A console that stops reading overflows its queue and is dropped; the others get everything."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from websockets.asyncio.client import connect

from tests.conftest import eventually
from tests.integration.gateway.support import notification, publish

QUEUE = 30


@pytest.fixture
def settings_overrides() -> dict:
    # A long farewell: the console that stopped reading reads again in time to see `overflow`.
    return {"subscriber_queue_size": QUEUE, "farewell_timeout_s": 30.0}


async def _produce_until_dropped(gateway, producer, topic, city, centre, *, subscribers_left: int) -> list:
    """Big notifications in batches until the hub drops a subscriber of `centre`."""
    produced = []
    while gateway.state.hub.subscribers(centre.id) > subscribers_left:
        assert len(produced) < 4000, "nobody overflowed"
        batch = [notification(city, centre.id, padding=1000) for _ in range(50)]
        await publish(producer, topic, *batch)
        produced += batch
        await asyncio.sleep(0.1)
    return produced


async def _read_all(reader, into: list, total: int) -> None:
    while len(into) < total:
        into.append(await reader.next(timeout=60))


async def test_a_console_that_stops_reading_overflows_while_another_gets_everything(
        gateway, open_stream, producer, topic, city, places, console_of):
    a = places["a"]
    async with open_stream(a.id, console_of(a)) as good, open_stream(a.id, console_of(a)) as slow:
        await eventually(lambda: gateway.state.hub.subscribers(a.id) == 2, what="two subscribers")
        received: list = []
        reading = asyncio.create_task(_read_all(good, received, 10**9))
        produced = await _produce_until_dropped(gateway, producer, topic, city, a, subscribers_left=1)
        await eventually(lambda: len(received) == len(produced), timeout=60, what="the good console to get everything")
        reading.cancel()
        assert [json.loads(e.data)["notification_id"] for e in received] == [n.notification_id for n in produced]

        # The slow console reads again: what was already on its way, then `overflow`, then the end.
        got = []
        with pytest.raises(EOFError):
            while True:
                got.append(await slow.next(timeout=30))
    assert got[-1].event == "overflow" and len(got) > QUEUE
    before = [json.loads(e.data)["notification_id"] for e in got[:-1]]
    assert before == [n.notification_id for n in produced[:len(before)]]

    # Reconnecting with its last id, it catches up from the store: exactly the rest.
    async with open_stream(a.id, {**console_of(a), "Last-Event-ID": got[-2].id}) as resumed:
        rest = await resumed.take(len(produced) - len(before))
        assert await resumed.nothing_more()
    assert [json.loads(e.data)["notification_id"] for e in rest] == [n.notification_id for n in produced[len(before):]]


@pytest.mark.parametrize("settings_overrides", [{"subscriber_queue_size": QUEUE, "farewell_timeout_s": 0.5,
                                                 "unacked_timeout_s": 2.0}])
async def test_a_console_that_never_reads_again_is_disconnected_and_a_websocket_console_gets_everything(
        gateway, producer, topic, city, places, console_of, token):
    a = places["a"]
    messages: list = []

    async def watch(ws) -> None:
        async for message in ws:
            messages.append(json.loads(message))

    ws = await connect(f"{gateway.ws_url}/v1/centres/{a.id}/ws?access_token={token(centre=a)}", max_size=None)
    watching = asyncio.create_task(watch(ws))
    host, port = gateway.base_url.removeprefix("http://").split(":")
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.setblocking(False)
    await asyncio.get_running_loop().sock_connect(stuck, (host, int(port)))
    auth = console_of(a)["Authorization"]
    await asyncio.get_running_loop().sock_sendall(
        stuck, f"GET /v1/centres/{a.id}/stream HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n".encode())
    await eventually(lambda: gateway.state.hub.subscribers(a.id) == 2, what="the stuck console to subscribe")
    connections = len(gateway.server.server_state.connections)
    produced = await _produce_until_dropped(gateway, producer, topic, city, a, subscribers_left=1)
    # Its stream task is gone and the server lets go of the connection.
    await eventually(lambda: len(gateway.server.server_state.connections) < connections, timeout=30,
                     what="the server to drop the stuck connection")
    stuck.close()
    await eventually(lambda: len(messages) >= len(produced), timeout=60, what="the websocket console to get everything")
    await ws.close()
    await watching
    assert [m["data"]["notification_id"] for m in messages] == [n.notification_id for n in produced]

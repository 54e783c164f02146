"""A stream lasts as long as its token, and a client holds a bounded number of streams (issue 10,
A.4: a stream opened with a 5 s token still delivered 20 s later; 200 streams of one token were
all accepted)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import eventually
from tests.integration.gateway.support import notification, publish
from tests.integration.gateway.test_access import assert_problem


@pytest.fixture
def settings_overrides() -> dict:
    return {"max_streams_per_client": 3}


async def test_a_stream_ends_with_token_expired_when_its_token_does_and_a_new_token_resumes_without_gap(
        gateway, open_stream, producer, topic, city, places, issuer):
    a = places["a"]
    short = issuer.issue("console-a", ["stream:read"], centre=a.id, ttl_s=3)
    before, meanwhile = [notification(city, a.id) for _ in range(2)], [notification(city, a.id) for _ in range(3)]
    opened = time.time()
    async with open_stream(a.id, {"Authorization": f"Bearer {short}"}) as stream:
        await eventually(lambda: gateway.state.hub.subscribers(a.id) == 1, what="the stream to subscribe")
        await publish(producer, topic, *before)
        seen = await stream.take(2)
        last = await stream.next(timeout=10)
        assert last.event == "token-expired" and last.id is None and "Last-Event-ID" in json.loads(last.data)["reason"]
        assert 2.0 <= time.time() - opened <= 6.0
        with pytest.raises(EOFError):
            await stream.next(timeout=5)
    await publish(producer, topic, *meanwhile)
    fresh = issuer.issue("console-a", ["stream:read"], centre=a.id, ttl_s=600)
    async with open_stream(a.id, {"Authorization": f"Bearer {fresh}", "Last-Event-ID": seen[-1].id}) as stream:
        resumed = await stream.take(3)
    assert [json.loads(e.data)["notification_id"] for e in resumed] == [n.notification_id for n in meanwhile]


async def test_a_websocket_stream_closes_1008_when_its_token_expires(gateway, places, issuer):
    a = places["a"]
    short = issuer.issue("console-a", ["stream:read"], centre=a.id, ttl_s=2)
    async with connect(f"{gateway.ws_url}/v1/centres/{a.id}/ws?access_token={short}") as ws:
        last = json.loads(await asyncio.wait_for(ws.recv(), 8))
        assert last["type"] == "token-expired"
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 1008


async def test_one_client_holds_at_most_its_quota_of_streams_sse_and_websocket_alike(
        gateway, open_stream, http, places, issuer):
    a = places["a"]
    headers = {"Authorization": "Bearer " + issuer.issue("console-a", ["stream:read"], centre=a.id)}
    other = {"Authorization": "Bearer " + issuer.issue("console-b", ["stream:read"], centre=a.id)}
    async with open_stream(a.id, headers), open_stream(a.id, headers):
        async with connect(f"{gateway.ws_url}/v1/centres/{a.id}/ws", additional_headers=headers):
            refused = await http.get(f"/v1/centres/{a.id}/stream", headers=headers)
            assert assert_problem(refused, 429, "too-many-streams")["max_streams"] == 3
            with pytest.raises(InvalidStatus) as ws_refused:
                async with connect(f"{gateway.ws_url}/v1/centres/{a.id}/ws", additional_headers=headers):
                    pass
            assert ws_refused.value.response.status_code == 429
            async with open_stream(a.id, other):  # another client's quota is its own
                pass
        # the WebSocket closed: its slot is free again
        await eventually(lambda: gateway.state.streams.open_streams("console-a") == 2, what="the slot to be freed")
        async with open_stream(a.id, headers):
            pass
    await eventually(lambda: gateway.state.streams.open_streams("console-a") == 0, what="every slot freed")

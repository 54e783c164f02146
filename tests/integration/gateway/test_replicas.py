"""Two gateway replicas on one database: one writes, both stream; the other takes over."""

from __future__ import annotations

import json

import httpx

from tests.conftest import eventually
from tests.integration.gateway.support import SseReader, notification, publish, serving


async def test_a_follower_streams_what_the_writer_commits_and_takes_over_when_it_stops(
        settings, producer, topic, city, places, console_of):
    a = places["a"]
    first_replica = serving(settings)
    first = await first_replica.__aenter__()
    try:
        await eventually(lambda: first.state.writer.is_leader, what="the first replica to become the writer")
        async with serving(settings) as second, httpx.AsyncClient(base_url=second.base_url, timeout=30) as http:
            assert not second.state.writer.is_leader
            url = f"/v1/centres/{a.id}/stream"
            async with http.stream("GET", url, headers={**console_of(a), "Last-Event-ID": "0"}) as response:
                stream = SseReader(response)
                before = [notification(city, a.id) for _ in range(5)]
                await publish(producer, topic, *before)
                got = await stream.take(5)  # written by the first replica, streamed by the second

                await first_replica.__aexit__(None, None, None)
                first = None
                await eventually(lambda: second.state.writer.is_leader, what="the second replica to take over")
                after = [notification(city, a.id) for _ in range(5)]
                await publish(producer, topic, *before[-2:], *after)  # with a redelivery for good measure
                got += await stream.take(5, timeout=60)
                assert await stream.nothing_more()
        assert [json.loads(e.data)["notification_id"] for e in got] == [n.notification_id for n in before + after]
        ids = [int(e.id) for e in got]
        assert ids == sorted(set(ids))
    finally:
        if first is not None:
            await first_replica.__aexit__(None, None, None)

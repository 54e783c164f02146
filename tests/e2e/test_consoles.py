"""The whole critical path, as a console sees it: alarms service → Kafka → linkage worker →
Kafka → gateway → SSE. Exactly the alarm's four centres see it; a sibling community does not;
a console that reconnects with Last-Event-ID gets exactly what it missed."""

import contextlib
import json

import httpx
import pytest

from linkduty_shared.jurisdictions import Level
from tests.integration.gateway.support import SseReader


@pytest.fixture
async def consoles(gateway, token):
    """open(centre_id, **params) → an SseReader on that centre's stream (a city-wide console token)."""
    headers = {**token("stream:read"), "Accept": "text/event-stream"}
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=httpx.Timeout(30.0)) as http:
        @contextlib.asynccontextmanager
        async def open_(centre_id: str, **params):
            async with http.stream("GET", f"/v1/centres/{centre_id}/stream", headers=headers, params=params) as r:
                assert r.status_code == 200, (await r.aread()).decode()
                yield SseReader(r)

        yield open_


async def next_about(reader: SseReader, alarm_id: str, timeout: float = 60.0):
    """The next event of this stream that concerns `alarm_id` (others are other tests' alarms)."""
    while True:
        event = await reader.next(timeout=timeout)
        data = json.loads(event.data)
        if data.get("alarm", {}).get("alarm_id") == alarm_id:
            return event, data


async def test_an_alarm_reaches_the_screens_of_exactly_its_four_centres(alarms, consoles, token, city):
    community = city.divisions(level=Level.COMMUNITY)[150]
    chain = city.resolve(community.lat, community.lon)
    sibling = next(c for c in city.children(chain.street.code) if c.code != community.code)
    ids = chain.centre_ids()
    async with consoles(ids[0]) as c0, consoles(ids[1]) as c1, consoles(ids[2]) as c2, consoles(ids[3]) as c3, \
            consoles(city.centre_of(sibling.code).id) as other:
        body = {"source": "119", "kind": "fire", "location": {"lat": community.lat, "lon": community.lon}}
        alarm = (await alarms.post("/v1/alarms", json=body, headers=token())).json()
        for reader, centre_id in zip((c0, c1, c2, c3), ids):
            event, data = await next_about(reader, alarm["alarm_id"])
            assert event.event == "AlarmReported" and data["centre_id"] == centre_id and event.id.isdigit()
        with pytest.raises(TimeoutError):
            await next_about(other, alarm["alarm_id"], timeout=2.0)


async def test_a_console_that_reconnects_gets_exactly_what_it_missed(alarms, consoles, token, city):
    community = city.divisions(level=Level.COMMUNITY)[170]
    chain = city.resolve(community.lat, community.lon)
    city_centre = chain.centre_ids()[3]
    body = {"source": "119", "kind": "fire", "location": {"lat": community.lat, "lon": community.lon}}
    async with consoles(city_centre) as console:
        alarm = (await alarms.post("/v1/alarms", json=body, headers=token())).json()
        reported, _ = await next_about(console, alarm["alarm_id"])
    # offline: the community acknowledges, and a second call comes in
    url = f"/v1/alarms/{alarm['alarm_id']}"
    ack = token("alarms:acknowledge", centre=chain.centre_ids()[0])
    assert (await alarms.post(f"{url}/acknowledgements", headers=ack)).status_code == 201
    body["location"]["lat"] += 0.0003
    assert (await alarms.post("/v1/alarms", json=body, headers=token())).json()["call_count"] == 2
    async with consoles(city_centre, last_event_id=reported.id) as console:
        first, _ = await next_about(console, alarm["alarm_id"])
        second, data = await next_about(console, alarm["alarm_id"])
    assert [first.event, second.event] == ["AlarmAcknowledged", "CallLinked"]
    assert int(reported.id) < int(first.id) < int(second.id) and data["alarm"]["call_count"] == 2

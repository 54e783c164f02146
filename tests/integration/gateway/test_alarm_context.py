"""An alarm's pre-incident picture (an AlarmNotification of event_type AlarmContextAttached)
against the real stack: on the alarm's centre stream as any notification of it, and kept on the
board beside the alarm, whatever comes after it in the same poll or later."""

from __future__ import annotations

import dataclasses
import json

from tests.conftest import eventually
from tests.integration.gateway.support import notification, publish

PICTURE = {"alarm_id": "alarm-at-venue", "headline": "At 老街饭馆 (小餐饮, risk high). 1 open hazard within 100 m",
           "venue": {"venue_id": "v1"}, "hazards": [{"hazard_id": "h1", "overdue": True}]}


async def test_the_picture_is_on_the_stream_and_stays_on_the_board_as_the_alarm_moves_on(
        gateway, http, open_stream, producer, topic, city, places, console_of):
    a = places["a"]
    reported = notification(city, a.id, alarm_id="alarm-at-venue")
    picture = dataclasses.replace(notification(city, a.id, alarm_id="alarm-at-venue", event_type="AlarmContextAttached"),
                                  event_data=PICTURE)
    plain = notification(city, a.id, alarm_id="alarm-without")
    async with open_stream(a.id, console_of(a)) as live:
        await eventually(lambda: gateway.state.hub.subscribers(a.id) == 1, what="the stream to subscribe")
        await publish(producer, topic, reported, picture, plain)  # one poll: the board row is made with its picture
        seen = await live.take(3)
    assert [e.event for e in seen] == ["AlarmReported", "AlarmContextAttached", "AlarmReported"]
    assert json.loads(seen[1].data)["event_data"] == PICTURE

    board = (await http.get(f"/v1/centres/{a.id}/alarms", headers=console_of(a))).json()
    by_id = {x["alarm_id"]: x for x in board["alarms"]}
    assert by_id["alarm-at-venue"]["context"] == PICTURE and by_id["alarm-without"]["context"] is None

    verified = notification(city, a.id, alarm_id="alarm-at-venue", event_type="AlarmVerified", version=2)
    await publish(producer, topic, verified)

    async def moved_on():
        board = (await http.get(f"/v1/centres/{a.id}/alarms", headers=console_of(a))).json()
        alarm = next(x for x in board["alarms"] if x["alarm_id"] == "alarm-at-venue")
        return alarm["version"] == 2 and alarm

    alarm = await eventually(moved_on, what="the verified alarm on the board")
    assert alarm["context"] == PICTURE  # a later event keeps the picture
    async with open_stream(a.id, console_of(a), snapshot="true") as stream:
        snapshot = json.loads((await stream.next()).data)
    assert next(x for x in snapshot["alarms"] if x["alarm_id"] == "alarm-at-venue")["context"] == PICTURE
    assert "context" not in next(x for x in snapshot["alarms"] if x["alarm_id"] == "alarm-without")

"""The SSE wire format (WHATWG HTML, server-sent events) and the WebSocket messages."""

import json

from gateway.api.sse import HEARTBEAT_FRAME, OVERFLOW_FRAME, sse_comment, sse_event, sse_frame
from gateway.api.ws import ws_message
from gateway.feed.tables import Board, FeedItem
from gateway.streams import HEARTBEAT

ITEM = FeedItem(42, "centre-330102001001", "AlarmReported", {"notification_id": "n-1", "alarm": {"description": "厨房起火"}})


def test_an_event_has_its_id_its_type_and_one_data_line():
    assert sse_event('{"a":1}', event="AlarmReported", id=7) == b'id: 7\nevent: AlarmReported\ndata: {"a":1}\n\n'


def test_multi_line_data_becomes_several_data_lines_and_line_breaks_cannot_forge_fields():
    assert sse_event("one\ntwo\r\nthree") == b"data: one\ndata: two\ndata: three\n\n"
    assert sse_event("x", event="Alarm\nid: 999") == b"event: Alarm id: 999\ndata: x\n\n"
    assert sse_comment("a\nb") == b": a b\n\n"


def test_a_feed_item_is_sent_with_its_seq_and_event_type_and_the_notification_as_json():
    frame = sse_frame(ITEM).decode()
    lines = frame.split("\n")
    assert lines[:2] == ["id: 42", "event: AlarmReported"] and frame.endswith("\n\n")
    assert json.loads(lines[2].removeprefix("data: ")) == ITEM.notification


def test_snapshot_heartbeat_and_overflow_frames():
    board = Board("centre-1", 17, [{"alarm_id": "a-1", "open": True}], [{"hazard_id": "h-1", "open": True}])
    lines = sse_frame(board).decode().split("\n")
    assert lines[:2] == ["id: 17", "event: snapshot"]
    assert json.loads(lines[2].removeprefix("data: ")) == {"centre_id": "centre-1", "alarms": [{"alarm_id": "a-1", "open": True}],
                                                           "hazards": [{"hazard_id": "h-1", "open": True}]}
    assert sse_frame(HEARTBEAT) == HEARTBEAT_FRAME and HEARTBEAT_FRAME.startswith(b":")
    assert OVERFLOW_FRAME.startswith(b"event: overflow\n") and b"id:" not in OVERFLOW_FRAME  # keeps the client's last id


def test_websocket_messages():
    assert ws_message(ITEM) == {"id": 42, "type": "AlarmReported", "data": ITEM.notification}
    assert ws_message(Board("c", 3, [])) == {"id": 3, "type": "snapshot", "data": {"centre_id": "c", "alarms": [], "hazards": []}}
    assert ws_message(HEARTBEAT) is None

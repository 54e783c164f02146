"""A resync on the wire: an SSE event without id, a WebSocket message of its own type, both the
AsyncAPI document's Resync."""

import json

from gateway.api.sse import sse_frame
from gateway.api.ws import ws_message
from gateway.asyncapi import AsyncApi
from gateway.feed.tables import Resync


def test_a_resync_is_an_sse_event_without_id_and_a_websocket_message_with_the_documented_fields():
    item = Resync("centre-330102001001", 42, "purged")
    frame = sse_frame(item).decode()
    assert frame.startswith("event: resync\ndata: ") and "\nid:" not in frame and not frame.startswith("id:")
    data = json.loads(frame.removeprefix("event: resync\ndata: "))
    assert data == {"reason": item.reason, "cause": "purged", "last_event_id": 42}
    assert "no longer kept" in item.reason and "snapshot" in item.reason
    assert ws_message(item) == {"type": "resync", **data}
    schema = AsyncApi.load().document["components"]["schemas"]["Resync"]
    assert set(schema["properties"]) == set(schema["required"]) == set(data)
    assert "not an id" in Resync("c", 7, "unknown").reason

"""Server-Sent Events: the frames of a centre stream (the wire format is linkduty_shared.api.sse) and its
streaming response."""

from __future__ import annotations

import anyio
import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from linkduty_shared.api.sse import sse_comment, sse_event, sse_retry

from gateway.api.pump import Ended, pump
from gateway.feed.tables import Board, FeedItem, Resync
from gateway.streams import CentreStream, StreamItem

RETRY_MS = 2000  # how soon an EventSource reconnects (it then sends Last-Event-ID itself)


OPENING = sse_retry(RETRY_MS)
HEARTBEAT_FRAME = sse_comment("heartbeat")
OVERFLOW_FRAME = sse_event('{"reason":"too far behind: reconnect with Last-Event-ID"}', event="overflow")
# No id: the client's Last-Event-ID stays the last event it got, and a new token resumes from it.
TOKEN_EXPIRED_FRAME = sse_event('{"reason":"the access token expired: reconnect with a new one and Last-Event-ID"}',
                                event="token-expired")
FAREWELLS = {Ended.OVERFLOWED: OVERFLOW_FRAME, Ended.TOKEN_EXPIRED: TOKEN_EXPIRED_FRAME}


def sse_frame(item: StreamItem) -> bytes:
    if isinstance(item, FeedItem):
        return sse_event(orjson.dumps(item.notification).decode(), event=item.event_type, id=item.seq)
    if isinstance(item, Board):
        return sse_event(orjson.dumps(item.snapshot()).decode(),
                         event="snapshot", id=item.seq)
    if isinstance(item, Resync):  # no id: the snapshot right after it carries the position
        return sse_event(orjson.dumps(item.to_data()).decode(), event="resync")
    return HEARTBEAT_FRAME


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(self, stream: CentreStream, *, farewell_timeout_s: float = 1.0) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no",
                           "content-type": "text/event-stream; charset=utf-8"})
        self._stream = stream
        self._farewell_timeout_s = farewell_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_body(chunk: bytes, more: bool = True) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

        async def client_gone() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        async with self._stream:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send_body(OPENING)
            ended = await pump(self._stream, lambda item: send_body(sse_frame(item)), client_gone)
            if ended in FAREWELLS:
                # A slow client gets the reason; one that stopped reading does not take it in
                # time, and the server closes the connection (uvicorn logs the unfinished response).
                with anyio.move_on_after(self._farewell_timeout_s):
                    await send_body(FAREWELLS[ended])
                    await send_body(b"", more=False)

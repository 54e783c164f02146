"""The centre stream over WebSocket: JSON messages `{"id", "type", "data"}`, the same start
(?last_event_id= or ?snapshot=true), the same resync and the same overflow rule as the SSE stream."""

from __future__ import annotations

import contextlib
from typing import Annotated

import anyio
import orjson
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from linkduty_shared.api.problems import Problem, refusal_response
from linkduty_shared.auth import AuthError, KeysUnavailable

from gateway.api.access import authorize, bearer_token, parse_last_event_id, take_stream_slot
from gateway.api.deps import gateway_state
from gateway.api.pump import ClientGone, Ended, pump
from gateway.feed.tables import Board, FeedItem, Resync
from gateway.streams import CentreStream, StreamItem

router = APIRouter(tags=["console streams"])

OVERFLOW_MESSAGE = {"type": "overflow", "reason": "too far behind: reconnect with last_event_id"}
TOKEN_EXPIRED_MESSAGE = {"type": "token-expired", "reason": "the access token expired: reconnect with a new one "
                                                            "and last_event_id"}
TRY_AGAIN_LATER = 1013  # the close code of an overflowed stream (RFC 6455 registry)
POLICY_VIOLATION = 1008  # the close code of a stream whose token expired
FAREWELLS = {Ended.OVERFLOWED: (OVERFLOW_MESSAGE, TRY_AGAIN_LATER, "too far behind"),
             Ended.TOKEN_EXPIRED: (TOKEN_EXPIRED_MESSAGE, POLICY_VIOLATION, "token expired")}


def ws_message(item: StreamItem) -> dict | None:
    if isinstance(item, FeedItem):
        return {"id": item.seq, "type": item.event_type, "data": item.notification}
    if isinstance(item, Board):
        return {"id": item.seq, "type": "snapshot", "data": item.snapshot()}
    if isinstance(item, Resync):
        return {"type": "resync", **item.to_data()}
    return None  # heartbeats: WebSocket has its own ping frames


@router.websocket("/v1/centres/{centre_id}/ws")
async def centre_ws(
    websocket: WebSocket, centre_id: str, access_token: Annotated[str | None, Query()] = None,
    last_event_id: Annotated[str | None, Query()] = None, snapshot: Annotated[bool, Query()] = False,
) -> None:
    gw = gateway_state(websocket)
    try:
        token = bearer_token(websocket.headers.get("authorization"), access_token)
        principal, centre = authorize(websocket.app.state.runtime.verifier, gw.directory, token, centre_id)
        after = parse_last_event_id(last_event_id)
        release = take_stream_slot(gw, principal)
    except (AuthError, KeysUnavailable, Problem) as exc:
        await websocket.send_denial_response(refusal_response(websocket, exc))
        return

    async def send_item(item: StreamItem) -> None:
        message = ws_message(item)
        if message is not None:
            try:
                await websocket.send_text(orjson.dumps(message).decode())
            except WebSocketDisconnect:
                raise ClientGone from None

    async def client_gone() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # consoles send nothing; what they might send is ignored

    stream = CentreStream(gw.hub, gw.pool, centre.id, after=after, snapshot=snapshot, heartbeat_s=gw.settings.heartbeat_s,
                          expires_at=principal.expires_at, release=release)
    async with stream:
        await websocket.accept()
        ended = await pump(stream, send_item, client_gone)
        if ended in FAREWELLS:
            message, code, reason = FAREWELLS[ended]
            with anyio.move_on_after(gw.settings.farewell_timeout_s), contextlib.suppress(WebSocketDisconnect):
                await websocket.send_text(orjson.dumps(message).decode())
                await websocket.close(code, reason)

"""HTTP routes: the centre stream (SSE), the centre's boards (alarms, hazards), and the AsyncAPI
document."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import PlainTextResponse

from linkduty_shared.api.openapi import problem_responses

from gateway.api.access import authorize, bearer_token, parse_last_event_id, take_stream_slot
from gateway.api.deps import gateway_state
from gateway.api.schemas import Board, HazardBoard
from gateway.api.sse import EventStreamResponse
from gateway.asyncapi import AsyncApi
from gateway.feed.tables import read_board
from gateway.streams import CentreStream

router = APIRouter(tags=["console streams"])

AccessToken = Annotated[str | None, Query(description="the token, for clients that cannot set headers")]
Authorization = Annotated[str | None, Header()]

_SSE_DOC = {
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
          "description": "SSE: `id` = feed seq, `event` = the alarm (or hazard) event type, `data` = the "
                         "AlarmNotification, HazardNotification or ServiceOrderNotification (see /asyncapi.yaml); `event: snapshot` (open "
                         "alarms and hazards) first with ?snapshot=true; `event: resync` (no id) "
                         "then `event: snapshot` first when the Last-Event-ID is older than the feed keeps; `event: overflow` last "
                         "when the client fell too far behind, `event: token-expired` last when the token it was "
                         "opened with expired (resume with a new token and Last-Event-ID)"},
}


@router.get("/v1/centres/{centre_id}/stream", response_class=EventStreamResponse, status_code=200,
            responses=_SSE_DOC | problem_responses(429),
            summary="The centre's alarm and hazard notifications, live and resumable (Server-Sent Events)")
async def centre_stream(
    request: Request, centre_id: str, authorization: Authorization = None, access_token: AccessToken = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[str | None, Query(description="resume after this id (as the Last-Event-ID header)")] = None,
    snapshot: Annotated[bool, Query(description="start with the open alarms (ignored when resuming)")] = False,
) -> EventStreamResponse:
    gw = gateway_state(request)
    principal, centre = authorize(request.app.state.runtime.verifier, gw.directory, bearer_token(authorization, access_token),
                                  centre_id)
    after = parse_last_event_id(last_event_id_header if last_event_id_header is not None else last_event_id)
    stream = CentreStream(gw.hub, gw.pool, centre.id, after=after, snapshot=snapshot, heartbeat_s=gw.settings.heartbeat_s,
                          expires_at=principal.expires_at, release=take_stream_slot(gw, principal))
    return EventStreamResponse(stream, farewell_timeout_s=gw.settings.farewell_timeout_s)


@router.get("/v1/centres/{centre_id}/alarms", response_model=Board,
            summary="The centre's alarm board and the stream position it reflects")
async def centre_alarms(
    request: Request, centre_id: str, authorization: Authorization = None, access_token: AccessToken = None,
    include_closed: bool = False,
) -> dict:
    """Open alarms (or all with `include_closed`), and `seq`: open the stream with
    `Last-Event-ID: <seq>` to go on from exactly this board."""
    gw = gateway_state(request)
    _, centre = authorize(request.app.state.runtime.verifier, gw.directory, bearer_token(authorization, access_token), centre_id)
    board = await read_board(gw.pool, centre.id, open_only=not include_closed, hazards=False)
    return {"centre_id": board.centre_id, "seq": board.seq, "alarms": board.alarms}


@router.get("/v1/centres/{centre_id}/hazards", response_model=HazardBoard,
            summary="The fire hazards the centre sees, and the stream position that reflects")
async def centre_hazards(
    request: Request, centre_id: str, authorization: Authorization = None, access_token: AccessToken = None,
    include_closed: bool = False,
) -> dict:
    """Open hazards (or all still kept, with `include_closed`), and `seq`, as for the alarms."""
    gw = gateway_state(request)
    _, centre = authorize(request.app.state.runtime.verifier, gw.directory, bearer_token(authorization, access_token), centre_id)
    board = await read_board(gw.pool, centre.id, open_only=not include_closed, alarms=False)
    return {"centre_id": board.centre_id, "seq": board.seq, "hazards": board.hazards}


@router.get("/asyncapi.yaml", include_in_schema=False)
async def asyncapi_yaml() -> PlainTextResponse:
    return PlainTextResponse(AsyncApi.load().text, media_type="application/yaml")


@router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi_json() -> dict:
    return AsyncApi.load().document

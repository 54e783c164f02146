"""Device signals from IoT platforms: `POST /v1/device-signals`, signed by the platform.

No bearer token: the platform signs each request the Standard Webhooks way with its own secret
(`webhook-id` = the signal's id, `webhook-timestamp` within 5 minutes, `webhook-signature`
`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), and names itself in `LinkDuty-Platform`.
The signature is checked on the raw body before anything parses it; a replayed id is a 409.
The MQTT intake's dead letters are read here too (`devices:admin`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from linkduty_shared.api.answers import json_row
from linkduty_shared.api.deps import require_scopes
from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.auth import Principal

from devices.api.schemas import DeadLetterPage, SignalTaken
from devices.application.errors import BadSignature, UnknownPlatform
from devices.signal_contract import SignalIn, parse_signal

router = APIRouter(prefix="/v1", tags=["device signals"])
Admin = Annotated[Principal, require_scopes("devices:admin")]


@router.post("/device-signals", status_code=202, response_model=SignalTaken,
             responses=problem_responses(401, 409, 422),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": SignalIn.model_json_schema(ref_template="#/components/schemas/{model}")}}}},
             summary="A device signal from an IoT platform, signed with the platform's secret")
async def take_signal(request: Request,
                      linkduty_platform: Annotated[str, Header(min_length=1, max_length=64)],
                      webhook_id: Annotated[str, Header(min_length=1, max_length=64)],
                      webhook_timestamp: Annotated[str, Header(min_length=1, max_length=20)],
                      webhook_signature: Annotated[str, Header(min_length=1, max_length=1000)]) -> dict:
    """401: an unknown platform or a signature that does not verify (or a timestamp outside 5
    minutes); 409: a signal id taken in already; 422: a malformed body, an unknown device, a
    time ahead of LinkDuty's clock."""
    platform = request.app.state.platforms.get(linkduty_platform)
    if platform is None:
        raise UnknownPlatform(f"{linkduty_platform[:64]!r} is no platform of this service")
    body = await request.body()
    try:
        platform.webhook.verify(body, {"webhook-id": webhook_id, "webhook-timestamp": webhook_timestamp,
                                       "webhook-signature": webhook_signature}, json_parse=False)
    except Exception:  # the library raises several kinds for a malformed header: every one is a bad signature
        raise BadSignature("the webhook-signature does not verify for this body, id and timestamp") from None
    signal = parse_signal(platform.id, body, signal_id=webhook_id)
    decided = await request.app.state.intake.take(signal)
    return {"signal_id": signal.signal_id, "device_id": signal.device_id, "decided": decided}


@router.get("/device-signals/dead-letters", response_model=DeadLetterPage,
            summary="MQTT signals the intake could not take, with the reason, oldest first")
async def dead_letters(request: Request, _: Admin, after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT dead_letter_id, topic, platform, reason, detail, payload, received_at FROM mqtt_dead_letters
               WHERE dead_letter_id > $1 ORDER BY dead_letter_id LIMIT $2""", after, limit)
    return {"dead_letters": [json_row(r) for r in rows],
            "next_after": rows[-1]["dead_letter_id"] if len(rows) == limit else None}

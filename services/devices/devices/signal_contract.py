"""What a device signal says, over HTTP (the webhook's body) and MQTT (the message's payload)
alike: one model, one parser, so both intakes refuse the same things the same way."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from devices.application.errors import MalformedSignal
from devices.domain.values import Signal, SignalType

SignalId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$")]


class SignalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signal_id: SignalId | None = Field(None, description="required over MQTT; over HTTP the webhook-id header")
    device_id: SignalId
    type: SignalType
    at: AwareDatetime = Field(description="the device's (platform's) time of the signal, ISO 8601 with its offset")
    battery_pct: Annotated[int, Field(ge=0, le=100)] | None = None


def parse_signal(platform: str, payload: bytes, *, signal_id: str | None) -> Signal:
    """The signal of a JSON payload, its id `signal_id` (HTTP: the webhook-id) or the payload's
    own (MQTT); MalformedSignal naming the first field at fault."""
    try:
        body = SignalIn.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise MalformedSignal(f"{where}: {first['msg']} ({exc.error_count()} error(s))") from None
    if signal_id is not None and body.signal_id not in (None, signal_id):
        raise MalformedSignal("signal_id differs from the webhook-id it was signed with")
    sid = signal_id or body.signal_id
    if sid is None:
        raise MalformedSignal("signal_id: required")
    if len(sid) > 64:
        raise MalformedSignal("signal id: longer than 64 characters")
    return Signal(platform=platform, signal_id=sid, device_id=body.device_id, type=body.type,
                  signalled_at=body.at, battery_pct=body.battery_pct)

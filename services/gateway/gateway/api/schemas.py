"""What the gateway's HTTP routes answer (the streams' messages are in /asyncapi.yaml)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class BoardAlarm(BaseModel):
    """An alarm on a centre's board: the `AlarmSummary` of the notification that last changed it
    (`linkduty_shared.contracts.notifications`; no personal data), and whether it is still open."""

    alarm_id: str
    status: str
    kind: str
    severity: str
    description: str
    received_at: str
    location: dict[str, Any] = Field(description='{"lat", "lon", "address"}')
    jurisdiction: dict[str, str] = Field(description="division codes by level (grid … city)")
    call_count: int
    acknowledged: dict[str, str] = Field(description="the centre that acknowledged, by level")
    escalation_level: str
    version: int
    open: bool


class Board(BaseModel):
    centre_id: str
    seq: int = Field(description="the feed position the board reflects: resume the stream after it")
    alarms: list[BoardAlarm]

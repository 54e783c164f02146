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
    context: dict[str, Any] | None = Field(
        default=None, description="its pre-incident picture (the hazards service's AlarmContextAttached: the venue at "
                                  "its point and the open hazards around it), once attached; absent before")


class Board(BaseModel):
    centre_id: str
    seq: int = Field(description="the feed position the board reflects: resume the stream after it")
    alarms: list[BoardAlarm]


class BoardHazard(BaseModel):
    """A fire hazard on a centre's board: the `HazardSummary` of the notification that last changed
    it (`linkduty_shared.contracts.notifications`; no personal data), and whether it is still open."""

    hazard_id: str
    status: str
    category: str
    severity: str
    description: str
    source: str
    reported_at: str
    location: dict[str, Any] = Field(description='{"lat", "lon", "address"}')
    jurisdiction: dict[str, str] = Field(description="division codes by level (grid … city)")
    venue_id: str | None
    handling_level: str = Field(description="community | street | district: the level that must deal with it")
    handled_by: str = Field(description="that level's centre id")
    triage_due_at: str
    rectification_due_at: str | None
    reinspection_due_at: str | None
    version: int
    open: bool


class HazardBoard(BaseModel):
    centre_id: str
    seq: int = Field(description="the feed position the board reflects: resume the stream after it")
    hazards: list[BoardHazard]

"""Request and response bodies of the units API (JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from units.domain.unit import FORCE_KINDS, Unit

ForceKind = Literal[FORCE_KINDS]  # type: ignore[valid-type]
# The statuses a unit (or a centre for it) reports; "dispatched" is given by dispatch only.
ReportedStatus = Literal["en_route", "on_scene", "returning", "available", "out_of_service"]


class RegisterUnitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
    force_kind: ForceKind
    name: str = Field(min_length=1, max_length=200)
    division_code: str = Field(min_length=1, max_length=40)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    appliances: list[str] | None = Field(default=None, max_length=50)
    members: int | None = Field(default=None, ge=0, le=10_000)
    capabilities: list[str] | None = Field(default=None, max_length=50)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: ReportedStatus
    reason: str | None = Field(default=None, min_length=1, max_length=1000)
    eta_s: int | None = Field(default=None, ge=0, le=24 * 3600)


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    eta_s: int = Field(ge=0, le=24 * 3600, description="the unit's own estimate of seconds to the scene")


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)


class LogEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entry: str = Field(min_length=1, max_length=4000)


def unit_view(unit: Unit) -> dict:
    r = unit.registration
    return {
        "unit_id": unit.id, "force_kind": unit.force_kind, "name": r.name, "division_code": r.division_code,
        "home": {"lat": r.lat, "lon": r.lon}, "appliances": list(r.appliances), "members": r.members,
        "capabilities": list(r.capabilities), "status": unit.status, "alarm_id": unit.alarm_id,
        "version": unit.version,
    }


def board_view(row) -> dict:
    """A unit as the board (projection) holds it."""
    return {
        "unit_id": row["unit_id"], "force_kind": row["force_kind"], "name": row["name"],
        "division_code": row["division_code"], "home": {"lat": row["lat"], "lon": row["lon"]},
        "appliances": row["appliances"], "members": row["members"], "capabilities": row["capabilities"], "status": row["status"], "alarm_id": row["alarm_id"],
        "changed_at": row["changed_at"].isoformat(), "version": row["version"],
    }

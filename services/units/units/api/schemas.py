"""Request and response bodies of the units API (JSON). Every route answers one of the `…Out`
(or `…List`) models, so that its OpenAPI says exactly what it answers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from units.domain.patrol import HAZARD_KINDS
from units.domain.unit import FORCE_KINDS, Unit

ForceKind = Literal[FORCE_KINDS]  # type: ignore[valid-type]
# The statuses a unit (or a centre for it) reports; "dispatched" is given by dispatch only.
ReportedStatus = Literal["en_route", "on_scene", "returning", "available", "out_of_service"]
Id = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
Division = Annotated[str, Field(min_length=1, max_length=40)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _ordered(start: dt.datetime, end: dt.datetime, what: str) -> None:
    if not start < end:
        raise ValueError(f"{what} must end after it starts")


# ---- requests: the registry, unit status, dispatch -----------------------------------------

class RegisterUnitIn(_In):
    unit_id: Id
    force_kind: ForceKind
    name: str = Field(min_length=1, max_length=200)
    division_code: Division
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    appliances: list[str] | None = Field(default=None, max_length=50)
    members: int | None = Field(default=None, ge=0, le=10_000)
    capabilities: list[str] | None = Field(default=None, max_length=50)


class StatusIn(_In):
    status: ReportedStatus
    reason: str | None = Field(default=None, min_length=1, max_length=1000)
    eta_s: int | None = Field(default=None, ge=0, le=24 * 3600)


class AcknowledgeIn(_In):
    eta_s: int = Field(ge=0, le=24 * 3600, description="the unit's own estimate of seconds to the scene")


class DeclineIn(_In):
    reason: str = Field(min_length=1, max_length=1000)


class LogEntryIn(_In):
    entry: str = Field(min_length=1, max_length=4000)


# ---- requests: the joint records -------------------------------------------------------------

class ShiftIn(_In):
    start: AwareDatetime
    end: AwareDatetime
    members: int = Field(ge=1, le=10_000, description="members on duty (a count, never names)")

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        _ordered(self.start, self.end, "a shift")
        return self


class NewShiftIn(ShiftIn):
    shift_id: Id | None = None


class PatrolIn(_In):
    division_code: Division
    forces: list[Id] = Field(min_length=1, max_length=50)
    planned_start: AwareDatetime
    planned_end: AwareDatetime

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        _ordered(self.planned_start, self.planned_end, "a patrol")
        return self


class FindingIn(_In):
    text: str = Field(min_length=1, max_length=2000, description="the place and the hazard, never a person")
    hazard_kind: Literal[tuple(sorted(HAZARD_KINDS))]  # type: ignore[valid-type]
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class SummaryIn(_In):
    summary: str = Field(min_length=1, max_length=4000)


class TrainingIn(_In):
    topic: str = Field(min_length=1, max_length=200)
    division_code: Division
    at: AwareDatetime
    forces: list[Id] = Field(min_length=1, max_length=100)


class AttendanceIn(_In):
    force_id: Id
    present: int = Field(ge=0, le=10_000, description="members present (a count, never names)")


class CompleteTrainingIn(_In):
    summary: str = Field(default="", max_length=4000)


class CancelIn(_In):
    reason: str = Field(min_length=1, max_length=1000)


# ---- answers: units ------------------------------------------------------------------------

class PointOut(BaseModel):
    lat: float
    lon: float


class UnitOut(BaseModel):
    """A force as registered, and its status now (available, dispatched, en_route, on_scene,
    returning, out_of_service)."""

    unit_id: str
    force_kind: str
    name: str
    division_code: str
    home: PointOut
    appliances: list[str]
    members: int = Field(description="crew on strength: counted, never named")
    capabilities: list[str]
    status: str
    alarm_id: str | None = Field(description="the alarm it is dispatched to, if any")
    version: int


class UnitOrderOut(BaseModel):
    alarm_id: str
    role: str
    status: str
    issued_at: str
    answer_by: str
    eta_s: int | None


class UnitWithOrdersOut(UnitOut):
    orders: list[UnitOrderOut] = Field(description="its latest dispatch orders, newest first")


class BoardUnitOut(UnitOut):
    """A unit as the board (the `unit_board` read model) holds it: the same facts, and when its status
    last changed."""

    changed_at: str


class UnitList(BaseModel):
    units: list[BoardUnitOut]


# ---- answers: dispatch and the joint operation --------------------------------------------

class PlannedAlarmOut(BaseModel):
    """The alarm's facts the plans were made on (from alarms.events, as they now are)."""

    kind: str
    severity: str
    lat: float
    lon: float
    community_code: str
    street_code: str
    received_at: str
    jurisdiction: dict[str, str] = Field(description="division codes by level (grid … city)")


class DispatchOrderOut(BaseModel):
    unit_id: str
    force_kind: str
    role: str = Field(description="main | auxiliary_1 | auxiliary_2")
    status: str = Field(description="issued | acknowledged | en_route | on_scene | left_scene | declined | "
                                    "unanswered | stood_down")
    issued_at: str
    answer_by: str
    why_ended: str | None


class DispatchOut(BaseModel):
    alarm_id: str
    alarm: PlannedAlarmOut
    ended: bool
    plans: int = Field(description="how many plans were recorded")
    orders: list[DispatchOrderOut]
    version: int


class CommanderOut(BaseModel):
    unit_id: str
    role: str


class LogEntryOut(BaseModel):
    entry: str
    by: str


class OperationOut(BaseModel):
    alarm_id: str
    on_scene: dict[str, str] = Field(description="role by unit id")
    commander: CommanderOut | None
    log: list[LogEntryOut]
    closed: bool
    version: int


class OperationLogOut(BaseModel):
    alarm_id: str
    log: list[LogEntryOut]
    version: int


# ---- answers: the joint records ------------------------------------------------------------

class ShiftOut(BaseModel):
    shift_id: str
    start: str
    end: str
    members: int


class RosterOut(BaseModel):
    unit_id: str
    division_code: str
    rostered: bool = Field(description="false: the force never had a shift, and is on duty round the clock")
    on_duty_now: bool
    shifts: list[ShiftOut]
    version: int


class FindingOut(BaseModel):
    text: str
    hazard_kind: str
    at: str
    location: PointOut | None


class PatrolOut(BaseModel):
    patrol_id: str
    status: str = Field(description="planned | started | completed")
    division_code: str
    forces: list[str]
    planned_start: str
    planned_end: str
    started_at: str | None
    completed_at: str | None
    summary: str | None
    version: int
    findings: list[FindingOut]


class PatrolSummary(BaseModel):
    """A patrol as the list shows it (the `joint_patrols` read model)."""

    patrol_id: str
    status: str
    division_code: str
    forces: list[str]
    planned_start: str
    planned_end: str
    started_at: str | None
    completed_at: str | None
    findings: int = Field(description="how many findings were logged")
    version: int


class PatrolList(BaseModel):
    patrols: list[PatrolSummary]


class TrainingOut(BaseModel):
    training_id: str
    status: str = Field(description="scheduled | completed | cancelled")
    topic: str
    division_code: str
    at: str
    forces: list[str]
    attendance: dict[str, int] = Field(description="members present by force id")
    present: int
    summary: str | None
    reason: str | None
    version: int


class TrainingSummary(BaseModel):
    """A training as the list shows it (the `joint_trainings` read model)."""

    training_id: str
    status: str
    topic: str
    division_code: str
    at: str
    forces: list[str]
    attendance: dict[str, int]
    present: int
    version: int


class TrainingList(BaseModel):
    trainings: list[TrainingSummary]


# ---- answers: reports ----------------------------------------------------------------------

class MeasureOut(BaseModel):
    count: int
    p90_s: float | None
    target_s: float
    within_target: float | None = Field(description="share of the sample at or under the target")
    meets_target: bool | None


class PeriodOut(BaseModel):
    start: str = Field(alias="from")
    end: str = Field(alias="to")


class AuxiliariesOut(BaseModel):
    squad_first_on_scene: float | None
    squad_lead_median_s: float | None


class ResponseTimesOut(BaseModel):
    division: str
    period: PeriodOut
    kind: str | None
    alarms: int
    orders: int
    responses: int
    processing: MeasureOut
    turnout: MeasureOut
    travel_first_engine: MeasureOut
    auxiliaries: AuxiliariesOut


class UnitResponseOut(BaseModel):
    unit_id: str
    role: str
    ended: str | None
    received_at: str
    first_dispatched_at: str | None
    dispatched_at: str
    en_route_at: str | None
    on_scene_at: str | None
    processing_s: float
    turnout_s: float | None
    travel_s: float | None


class AlarmResponseTimesOut(BaseModel):
    alarm_id: str
    alarm_kind: str
    units: list[UnitResponseOut]


# ---- views ---------------------------------------------------------------------------------

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
        "appliances": row["appliances"], "members": row["members"], "capabilities": row["capabilities"],
        "status": row["status"], "alarm_id": row["alarm_id"], "changed_at": row["changed_at"].isoformat(),
        "version": row["version"],
    }

"""Events of the units service, past-tense facts, for every aggregate it keeps. Their type names
and schema versions are what the store holds: renaming one, or changing a field without a new
version and an upcaster, makes stored events unreadable. Which of them other services may rely on
is declared in `linkduty_shared.contracts.units`."""

from __future__ import annotations

import dataclasses

from linkduty_shared.domain import DomainEvent, event


# ---- A unit's status (出警, 到场, 归队): stream type `unit`, id = the unit id

@event("UnitRegistered")
class UnitRegistered(DomainEvent):
    unit_id: str
    force_kind: str  # fire_rescue_station | street_team | community_squad | micro_fire_station | civil_rescue_team
    name: str
    division_code: str  # the jurisdiction it covers
    lat: float  # home location (its base)
    lon: float
    appliances: list = dataclasses.field(default_factory=list)  # unit types it can send, e.g. engine, ladder
    members: int = 0  # crew on strength: counted, never named
    capabilities: list = dataclasses.field(default_factory=list)


@event("UnitDispatched")
class UnitDispatched(DomainEvent):
    alarm_id: str
    by: str


@event("UnitEnRoute")
class UnitEnRoute(DomainEvent):
    alarm_id: str
    eta_s: int | None = None


@event("UnitArrived")
class UnitArrived(DomainEvent):
    alarm_id: str


@event("UnitReturning")
class UnitReturning(DomainEvent):
    alarm_id: str


@event("UnitStoodDown")
class UnitStoodDown(DomainEvent):
    """Called back before arriving (the alarm was false, or others sufficed)."""

    alarm_id: str
    reason: str


@event("UnitReturnedToService")
class UnitReturnedToService(DomainEvent):
    """归队: back at base (or back in service) and available again."""


@event("UnitTakenOutOfService")
class UnitTakenOutOfService(DomainEvent):
    reason: str


# ---- 联调, the joint dispatch for one alarm: stream type `dispatch`, id = the alarm id

@event("DispatchPlanned")
class DispatchPlanned(DomainEvent):
    alarm_id: str
    trigger: str  # what asked for the plan: AlarmReported, AlarmEscalated, AlarmUpdated, DispatchOrderDeclined, …
    run_card: str
    alarm: dict  # the facts planned on: kind, severity, lat, lon, community_code, street_code, received_at, jurisdiction
    assignments: list  # [{force_id, force_kind, role, eta_s, reason, units}]
    skipped: list  # [{force_id, role, why}]
    shortfall: list  # [str]


@event("DispatchOrderIssued")
class DispatchOrderIssued(DomainEvent):
    alarm_id: str
    unit_id: str
    force_kind: str
    role: str
    estimated_eta_s: int
    reason: str
    appliances: list  # unit types the run card asks of a station ([] for auxiliaries)
    issued_at: str
    answer_by: str  # ISO 8601: no answer by then and the order goes to the next candidate
    replaces: str | None = None  # the unit this order stands in for (declined or unanswered)


@event("DispatchOrderAcknowledged")
class DispatchOrderAcknowledged(DomainEvent):
    alarm_id: str
    unit_id: str
    eta_s: int
    by: str
    at: str


@event("DispatchOrderDeclined")
class DispatchOrderDeclined(DomainEvent):
    alarm_id: str
    unit_id: str
    reason: str
    by: str
    at: str


@event("DispatchOrderUnanswered")
class DispatchOrderUnanswered(DomainEvent):
    alarm_id: str
    unit_id: str
    answer_by: str
    at: str


@event("DispatchOrderStoodDown")
class DispatchOrderStoodDown(DomainEvent):
    alarm_id: str
    unit_id: str
    reason: str
    at: str


@event("DispatchedUnitEnRoute")
class DispatchedUnitEnRoute(DomainEvent):
    alarm_id: str
    unit_id: str
    at: str


@event("DispatchedUnitArrived")
class DispatchedUnitArrived(DomainEvent):
    alarm_id: str
    unit_id: str
    force_kind: str
    role: str
    at: str


@event("DispatchedUnitLeftScene")
class DispatchedUnitLeftScene(DomainEvent):
    """The unit is returning: no longer at the alarm."""

    alarm_id: str
    unit_id: str
    at: str


@event("DispatchEnded")
class DispatchEnded(DomainEvent):
    """The alarm ended (cancelled, false alarm, closed): no more plans or orders."""

    alarm_id: str
    reason: str
    at: str


@event("MoveUpSuggested")
class MoveUpSuggested(DomainEvent):
    """A suggestion to the district centre, not a move: cover `area_code` from `cover_from`."""

    alarm_id: str
    station_id: str  # the station that left with its last available appliance
    area_code: str
    cover_from: str
    eta_s: int  # estimated travel of cover_from to the empty station
    reason: str


# ---- 联战, the joint operation on scene: stream type `joint_operation`, id = "{alarm id}/operation"

@event("JointOperationOpened")
class JointOperationOpened(DomainEvent):
    alarm_id: str


@event("UnitJoinedOperation")
class UnitJoinedOperation(DomainEvent):
    unit_id: str
    role: str  # main | auxiliary_1 | auxiliary_2
    at: str  # ISO 8601 time of arrival
    alarm_id: str = ""  # the operation's alarm (also the Kafka key)


@event("CommandTaken")
class CommandTaken(DomainEvent):
    unit_id: str
    role: str
    alarm_id: str = ""  # the operation's alarm (also the Kafka key)


@event("CommandHandedOver")
class CommandHandedOver(DomainEvent):
    from_unit: str
    from_role: str
    to_unit: str
    to_role: str
    alarm_id: str = ""  # the operation's alarm (also the Kafka key)


@event("OperationLogged")
class OperationLogged(DomainEvent):
    entry: str
    by: str
    alarm_id: str = ""  # the operation's alarm (also the Kafka key)


@event("JointOperationClosed")
class JointOperationClosed(DomainEvent):
    by: str
    alarm_id: str = ""  # the operation's alarm (also the Kafka key)


# ---- 联勤, a force's standby roster: stream type `standby_roster`, id = "{force id}/roster"

@event("ShiftScheduled")
class ShiftScheduled(DomainEvent):
    force_id: str
    division_code: str  # the division the force covers: who may see the roster
    shift_id: str
    start: str  # ISO 8601, timezone-aware
    end: str
    members: int  # members on duty: counted, never named


@event("ShiftCancelled")
class ShiftCancelled(DomainEvent):
    shift_id: str
    reason: str = ""


# ---- 联防, a joint prevention patrol: stream type `joint_patrol`

@event("PatrolPlanned")
class PatrolPlanned(DomainEvent):
    division_code: str
    forces: list
    planned_start: str  # ISO 8601
    planned_end: str


@event("PatrolStarted")
class PatrolStarted(DomainEvent):
    at: str


@event("PatrolFindingLogged")
class PatrolFindingLogged(DomainEvent):
    text: str
    hazard_kind: str
    at: str
    lat: float | None = None
    lon: float | None = None


@event("PatrolCompleted")
class PatrolCompleted(DomainEvent):
    summary: str
    at: str


# ---- 联训, a joint training: stream type `joint_training`

@event("TrainingScheduled")
class TrainingScheduled(DomainEvent):
    topic: str
    division_code: str
    at: str  # ISO 8601
    forces: list  # force ids invited


@event("TrainingAttendanceRecorded")
class TrainingAttendanceRecorded(DomainEvent):
    force_id: str
    present: int  # members present: counted, never named
    corrects: int | None = None  # the count this record replaces


@event("TrainingCompleted")
class TrainingCompleted(DomainEvent):
    summary: str = ""


@event("TrainingCancelled")
class TrainingCancelled(DomainEvent):
    reason: str

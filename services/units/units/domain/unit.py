"""The Unit aggregate: a force's status as a state machine, with events (出警, 到场, 归队).

    available → dispatched → en_route → on_scene → returning → available
    (dispatched or en_route → available: stood down before arriving)
    any but on_scene → out_of_service → available

Status can come from the unit's app or from a centre; an illegal transition is refused
(IllegalTransition → 409). Pure: no I/O.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Sequence
from enum import StrEnum
from importlib.resources import files

from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition
from linkduty_shared.domain.personal_data import scrub_personal_numbers

from units.domain.events import (
    UnitArrived,
    UnitDispatched,
    UnitEnRoute,
    UnitRegistered,
    UnitReturnedToService,
    UnitReturning,
    UnitStoodDown,
    UnitTakenOutOfService,
)


class Status(StrEnum):
    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RETURNING = "returning"
    OUT_OF_SERVICE = "out_of_service"


FORCE_KINDS = ("fire_rescue_station", "street_team", "community_squad", "micro_fire_station", "civil_rescue_team")


@functools.cache
def default_complement(force_kind: str) -> dict:
    """What a force of this kind brings when its dataset does not say (complements.toml)."""
    complements = tomllib.loads(files(__package__).joinpath("complements.toml").read_text(encoding="utf-8"))
    if force_kind not in complements:
        raise ValueError(f"unknown force kind {force_kind!r} (known: {', '.join(FORCE_KINDS)})")
    return complements[force_kind]


# command → the statuses it may be given in
_ALLOWED = {
    "dispatch": {Status.AVAILABLE},
    "report_en_route": {Status.DISPATCHED},
    "report_arrival": {Status.DISPATCHED, Status.EN_ROUTE},
    "report_returning": {Status.ON_SCENE},
    "stand_down": {Status.DISPATCHED, Status.EN_ROUTE},
    "return_to_service": {Status.RETURNING, Status.OUT_OF_SERVICE},
    "take_out_of_service": {Status.AVAILABLE, Status.DISPATCHED, Status.EN_ROUTE, Status.RETURNING},
}


class Unit(Aggregate):
    stream_type = "unit"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: Status | None = None
        self.alarm_id: str | None = None
        self.force_kind = ""
        self.registration: UnitRegistered | None = None

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case UnitRegistered():
                self.status, self.force_kind, self.registration = Status.AVAILABLE, e.force_kind, e
            case UnitDispatched():
                self.status, self.alarm_id = Status.DISPATCHED, e.alarm_id
            case UnitEnRoute():
                self.status = Status.EN_ROUTE
            case UnitArrived():
                self.status = Status.ON_SCENE
            case UnitReturning():
                self.status = Status.RETURNING
            case UnitStoodDown() | UnitReturnedToService():
                self.status, self.alarm_id = Status.AVAILABLE, None
            case UnitTakenOutOfService():
                self.status, self.alarm_id = Status.OUT_OF_SERVICE, None

    def register(self, *, force_kind: str, name: str, division_code: str, lat: float, lon: float,
                 appliances: Sequence[str] = (), members: int = 0, capabilities: Sequence[str] = ()) -> None:
        if self.exists:
            raise IllegalTransition(f"unit {self.id} is already registered")
        self._record(UnitRegistered(unit_id=self.id, force_kind=force_kind, name=name, division_code=division_code,
                                    lat=lat, lon=lon, appliances=list(appliances), members=members,
                                    capabilities=list(capabilities)))

    def dispatch(self, alarm_id: str, by: str) -> None:
        self._require("dispatch")
        self._record(UnitDispatched(alarm_id=alarm_id, by=by))

    def report_en_route(self, eta_s: int | None = None) -> None:
        self._require("report_en_route")
        self._record(UnitEnRoute(alarm_id=self.alarm_id, eta_s=eta_s))

    def report_arrival(self) -> None:
        self._require("report_arrival")
        self._record(UnitArrived(alarm_id=self.alarm_id))

    def report_returning(self) -> None:
        self._require("report_returning")
        self._record(UnitReturning(alarm_id=self.alarm_id))

    def stand_down(self, reason: str) -> None:
        self._require("stand_down")
        self._record(UnitStoodDown(alarm_id=self.alarm_id, reason=scrub_personal_numbers(reason)))

    def return_to_service(self) -> None:
        self._require("return_to_service")
        self._record(UnitReturnedToService())

    def take_out_of_service(self, reason: str) -> None:
        self._require("take_out_of_service")
        self._record(UnitTakenOutOfService(reason=scrub_personal_numbers(reason)))

    def _require(self, command: str) -> None:
        if self.status not in _ALLOWED[command]:
            raise IllegalTransition(f"unit {self.id} cannot {command.replace('_', ' ')} while {self.status}")

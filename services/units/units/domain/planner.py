"""The dispatch planner: for one alarm, the forces to send under 一主两辅 (DESIGN.md).

- main force: the run card's number of fire-rescue stations, nearest available first by
  estimated travel time (travel.py);
- auxiliary 1: the street team of the alarm's street;
- auxiliary 2: the community squad of the alarm's community, else the nearest available micro
  fire station of any community (the squad is preferred: it knows the place and is usually first
  on scene; a micro fire station is the next best thing, 打早灭小).

A force that is not available is passed over, and the plan records it in `skipped` with why; a
role the run card asks for and nobody can fill is listed in `shortfall`. The plan is a proposal:
pure and deterministic (same inputs, same plan), with no I/O, so it can be replayed and tested.

Planning again for an alarm (a unit declined or did not answer, the alarm was escalated or its
severity raised) passes the forces already sent as `assigned`: they count towards the run card
and are not chosen twice, so the new plan holds only what is still missing. Forces that declined
or did not answer this alarm come as `excluded`, with why, and are passed over.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Literal, Mapping

from units.domain.availability import WHY_NOT, Availability, PlanningStatus
from units.domain.forces import ForceIndex
from units.domain.run_cards import RunCard, RunCards
from units.domain.travel import DEFAULT_SPEED_MODEL, SpeedModel

Role = Literal["main", "auxiliary_1", "auxiliary_2"]

STATION, STREET_TEAM = "fire_rescue_station", "street_team"
COMMUNITY_SQUAD, MICRO_FIRE_STATION = "community_squad", "micro_fire_station"


@dataclass(frozen=True, slots=True)
class AlarmFacts:
    """What the planner needs of an alarm (from AlarmReported / AlarmEscalated and its jurisdiction)."""

    alarm_id: str
    kind: str
    severity: str
    lat: float
    lon: float
    community_code: str
    street_code: str


@dataclass(frozen=True, slots=True)
class Assignment:
    force_id: str
    force_kind: str
    role: Role
    eta_s: int  # estimated seconds from the call to arrival, rounded
    reason: str
    units: tuple[str, ...] = ()  # unit types the run card asks of this force (main force only)


@dataclass(frozen=True, slots=True)
class Skip:
    force_id: str | None  # None: there was no such force to pass over (e.g. no street team there)
    role: Role
    why: str


@dataclass(frozen=True, slots=True)
class DispatchPlan:
    alarm_id: str
    assignments: tuple[Assignment, ...]
    skipped: tuple[Skip, ...]
    shortfall: tuple[str, ...]  # one line per role the run card asks for and the plan cannot fill
    run_card: str = ""  # the card used, e.g. "fire.major"

    def for_role(self, role: Role) -> tuple[Assignment, ...]:
        return tuple(a for a in self.assignments if a.role == role)


NOTHING: Mapping[str, str] = MappingProxyType({})
# A plan names at most this many forces it passed over per role, and counts the rest: when a
# busy city has every station out, "28 stations passed over" is read, a list of 28 is not (and
# the plan travels to every centre that sees the alarm).
NAMED_SKIPS_PER_ROLE = 5
# A micro fire station farther than this (estimated travel) is no help as the first force on scene:
# its point is to be there in minutes (打早灭小), before the main force.
MICRO_FIRE_STATION_MAX_ETA_S = 600.0


def plan_dispatch(alarm: AlarmFacts, forces: ForceIndex, availability: Availability, run_cards: RunCards,
                  now: datetime, speed: SpeedModel = DEFAULT_SPEED_MODEL, *,
                  assigned: Mapping[str, Role] = NOTHING, excluded: Mapping[str, str] = NOTHING) -> DispatchPlan:
    """The proposed dispatch for `alarm` at `now`: only the forces still to send.

    `assigned`: force id → role of the forces already sent to this alarm (they fill the run card
    first); `excluded`: force id → why it must not be sent to this alarm again."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware: rosters are compared with it")
    card = run_cards.for_alarm(alarm.kind, alarm.severity)
    plan = _PlanBuilder(alarm, forces, availability, now, speed, assigned, excluded)
    sent = set(assigned.values())
    if card.stations:
        plan.main_force(card)
    if card.auxiliary_1 and "auxiliary_1" not in sent:
        plan.auxiliary_1()
    if card.auxiliary_2 and "auxiliary_2" not in sent:
        plan.auxiliary_2()
    plan.count_unnamed_skips()
    return DispatchPlan(alarm_id=alarm.alarm_id, assignments=tuple(plan.assignments), skipped=tuple(plan.skipped),
                        shortfall=tuple(plan.shortfall), run_card=card.name)


class _PlanBuilder:
    """Collects one plan's assignments, skips and shortfalls, role by role."""

    def __init__(self, alarm: AlarmFacts, forces: ForceIndex, availability: Availability, now: datetime,
                 speed: SpeedModel, assigned: Mapping[str, Role], excluded: Mapping[str, str]) -> None:
        self.alarm, self.forces, self.availability, self.now, self.speed = alarm, forces, availability, now, speed
        self.assigned, self.excluded = assigned, excluded
        self.assignments: list[Assignment] = []
        self.skipped: list[Skip] = []
        self.shortfall: list[str] = []
        self.unnamed: dict[Role, Counter[str]] = defaultdict(Counter)  # skips beyond the named ones, by why

    def _skip(self, force_id: str | None, role: Role, why: str) -> None:
        if force_id is not None and sum(1 for s in self.skipped if s.role == role) >= NAMED_SKIPS_PER_ROLE:
            self.unnamed[role][why] += 1
        else:
            self.skipped.append(Skip(force_id, role, why))

    def count_unnamed_skips(self) -> None:
        for role, whys in self.unnamed.items():
            counts = ", ".join(f"{n} {why}" for why, n in sorted(whys.items()))
            self.skipped.append(Skip(None, role, f"{sum(whys.values())} more passed over ({counts})"))

    def _available(self, force_id: str, role: Role) -> bool:
        """Whether the force can go; if not, it is recorded as skipped with why."""
        if force_id in self.excluded:
            self._skip(force_id, role, self.excluded[force_id])
            return False
        status = self.availability.status(force_id, self.now)
        if status == PlanningStatus.AVAILABLE:
            return True
        self._skip(force_id, role, WHY_NOT[status])
        return False

    def _assign(self, force_id: str, kind: str, role: Role, eta: float, reason: str, units=()) -> None:
        self.assignments.append(Assignment(force_id, kind, role, round(eta), reason, tuple(units)))

    def _eta(self, kind: str, lat: float, lon: float) -> float:
        return self.speed.eta_s(kind, lat, lon, self.alarm.lat, self.alarm.lon)

    def main_force(self, card: RunCard) -> None:
        alarm, passed_over = self.alarm, 0
        chosen = sum(1 for role in self.assigned.values() if role == "main")
        if chosen >= card.stations:
            return
        for eta, station in self.forces.by_travel_time(STATION, alarm.lat, alarm.lon, self.speed):
            if station.id in self.assigned:
                continue  # already on its way to this alarm, and counted
            if not self._available(station.id, "main"):
                passed_over += 1
                continue
            chosen += 1
            reason = (f"{_ordinal(chosen)} nearest available fire-rescue station by estimated travel time "
                      f"({chosen} of {card.stations} on run card {card.name})")
            if passed_over:
                reason += f"; {passed_over} nearer passed over"
            self._assign(station.id, STATION, "main", eta, reason, card.units)
            if chosen == card.stations:
                return
        self.shortfall.append(f"main: run card {card.name} calls for {card.stations} fire-rescue station(s), "
                              f"{chosen} available")

    def auxiliary_1(self) -> None:
        street = self.alarm.street_code
        teams = self.forces.covering(STREET_TEAM, street)
        if not teams:
            self.skipped.append(Skip(None, "auxiliary_1", f"no street team covers street {street}"))
        for team in teams:
            if self._available(team.id, "auxiliary_1"):
                self._assign(team.id, STREET_TEAM, "auxiliary_1", self._eta(STREET_TEAM, team.lat, team.lon),
                             f"street team of the alarm's street {street}")
                return
        self.shortfall.append(f"auxiliary_1: no street team available for street {street}")

    def auxiliary_2(self) -> None:
        alarm, community = self.alarm, self.alarm.community_code
        squads = self.forces.covering(COMMUNITY_SQUAD, community)
        if not squads:
            self.skipped.append(Skip(None, "auxiliary_2", f"no community squad covers community {community}"))
        for squad in squads:
            if self._available(squad.id, "auxiliary_2"):
                self._assign(squad.id, COMMUNITY_SQUAD, "auxiliary_2", self._eta(COMMUNITY_SQUAD, squad.lat, squad.lon),
                             f"community squad of the alarm's community {community}")
                return
        squad_why = "; ".join(f"{s.force_id} {s.why}" if s.force_id else s.why
                              for s in self.skipped if s.role == "auxiliary_2")
        for eta, micro in self.forces.by_travel_time(MICRO_FIRE_STATION, alarm.lat, alarm.lon, self.speed):
            if eta > MICRO_FIRE_STATION_MAX_ETA_S:
                break  # the rest are farther still
            if self._available(micro.id, "auxiliary_2"):
                self._assign(micro.id, MICRO_FIRE_STATION, "auxiliary_2", eta,
                             f"nearest available micro fire station by estimated travel time, "
                             f"in place of the community squad ({squad_why})")
                return
        self.shortfall.append(f"auxiliary_2: no community squad or micro fire station available "
                              f"within {MICRO_FIRE_STATION_MAX_ETA_S:.0f} s for community {community}")


def _ordinal(n: int) -> str:
    if n == 1:
        return "the"  # "the nearest available …" reads better than "1st nearest"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"

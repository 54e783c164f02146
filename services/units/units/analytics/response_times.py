"""Response-time intervals and their 90th percentiles against configurable targets.

For each unit sent to an alarm:  received → dispatched (processing, 接警处理),
dispatched → en route (turnout, 出动), en route → on scene (travel, 行驶).

Defaults follow the usual standards: NFPA 1225, call processing 60 s at the 90th percentile;
NFPA 1710, turnout 80 s for fire and travel 240 s for the first engine on scene. Percentiles use
the nearest-rank method (the value at rank ⌈p·n⌉ of the sorted sample), which is what a hand
calculation over a list of times gives and what these standards' reports use.

An order declined, unanswered or stood down before arrival (`ended`) is no response: it counts
for processing only (the centre did send it), not for turnout, travel or the auxiliaries' figure.

Auxiliaries are reported apart: how often the community squad (auxiliary 2) is first on scene,
and by how many seconds it beats the first main-force unit (打早灭小).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable


@dataclasses.dataclass(frozen=True)
class UnitTimeline:
    alarm_id: str
    unit_id: str
    role: str  # main | auxiliary_1 | auxiliary_2
    alarm_kind: str
    received_at: dt.datetime
    dispatched_at: dt.datetime
    en_route_at: dt.datetime | None = None
    on_scene_at: dt.datetime | None = None
    ended: str | None = None  # declined | unanswered | stood_down: the order ended before arrival
    first_dispatched_at: dt.datetime | None = None  # the unit's first order, when it was ordered again

    @property
    def processing_s(self) -> float:
        return ((self.first_dispatched_at or self.dispatched_at) - self.received_at).total_seconds()

    @property
    def responded(self) -> bool:
        return self.ended is None

    @property
    def turnout_s(self) -> float | None:
        return None if self.en_route_at is None else (self.en_route_at - self.dispatched_at).total_seconds()

    @property
    def travel_s(self) -> float | None:
        if self.en_route_at is None or self.on_scene_at is None:
            return None
        return (self.on_scene_at - self.en_route_at).total_seconds()


@dataclasses.dataclass(frozen=True)
class Targets:
    processing_p90_s: float = 60.0  # NFPA 1225
    turnout_fire_s: float = 80.0  # NFPA 1710
    travel_first_engine_s: float = 240.0  # NFPA 1710


@dataclasses.dataclass(frozen=True)
class Measure:
    count: int
    p90_s: float | None
    target_s: float
    within_target: float | None  # share of the sample at or under the target

    @property
    def meets_target(self) -> bool | None:
        return None if self.p90_s is None else self.p90_s <= self.target_s


@dataclasses.dataclass(frozen=True)
class Report:
    alarms: int
    processing: Measure  # per alarm: the first dispatch
    turnout: Measure  # main-force units, fire alarms
    travel_first_engine: Measure  # per alarm: the first main-force unit on scene
    squad_first_on_scene: float | None  # share of alarms with a squad on scene where it beat the main force
    squad_lead_median_s: float | None  # median seconds the squad was there before the first main unit


def percentile(values: Iterable[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for an empty sample."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def _measure(values: list[float], target: float) -> Measure:
    within = sum(1 for v in values if v <= target) / len(values) if values else None
    return Measure(len(values), percentile(values, 90), target, within)


def report(timelines: Iterable[UnitTimeline], targets: Targets = Targets()) -> Report:
    by_alarm: dict[str, list[UnitTimeline]] = {}
    for t in timelines:
        by_alarm.setdefault(t.alarm_id, []).append(t)
    processing, turnout, travel, leads = [], [], [], []
    squads_seen = squads_first = 0
    for units in by_alarm.values():
        processing.append(min(u.processing_s for u in units))
        units = [u for u in units if u.responded]
        turnout += [u.turnout_s for u in units if u.role == "main" and u.alarm_kind == "fire" and u.turnout_s is not None]
        main_on_scene = [u for u in units if u.role == "main" and u.travel_s is not None]
        if main_on_scene:
            travel.append(min(main_on_scene, key=lambda u: u.on_scene_at).travel_s)
        squad_on_scene = [u.on_scene_at for u in units if u.role == "auxiliary_2" and u.on_scene_at is not None]
        if squad_on_scene and main_on_scene:
            squads_seen += 1
            lead = (min(u.on_scene_at for u in main_on_scene) - min(squad_on_scene)).total_seconds()
            if lead > 0:
                squads_first += 1
                leads.append(lead)
    return Report(
        alarms=len(by_alarm),
        processing=_measure(processing, targets.processing_p90_s),
        turnout=_measure(turnout, targets.turnout_fire_s),
        travel_first_engine=_measure(travel, targets.travel_first_engine_s),
        squad_first_on_scene=squads_first / squads_seen if squads_seen else None,
        squad_lead_median_s=percentile(leads, 50),
    )

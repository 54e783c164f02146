"""Move-up (移防): when a station leaves with its area's last available cover, suggest a neighbour.

A suggestion for the district centre to decide on, not an automatic move: moving a crew uncovers
its own area for the time it is away. So the suggested neighbour is the nearest available
station (by estimated travel to the empty station) whose own area keeps another available station.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from units.domain.availability import Availability, PlanningStatus
from units.domain.forces import ForceIndex
from units.domain.planner import STATION
from units.domain.travel import DEFAULT_SPEED_MODEL, SpeedModel


@dataclass(frozen=True, slots=True)
class MoveUp:
    station_id: str  # the station that left
    area_code: str  # the area it covered, now without an available station
    cover_from: str  # the station suggested to cover it
    eta_s: int  # cover_from's estimated travel to the empty station
    reason: str


def suggest_move_up(station_id: str, forces: ForceIndex, availability: Availability, now: datetime,
                    speed: SpeedModel = DEFAULT_SPEED_MODEL) -> MoveUp | None:
    """The move-up to suggest once `station_id` has left (availability already says so), or None
    while its area still has an available station or no neighbour can spare one."""
    leaving = forces.force(station_id)

    def available(force_id: str) -> bool:
        return availability.status(force_id, now) == PlanningStatus.AVAILABLE

    if any(available(s.id) for s in forces.covering(STATION, leaving.division_code) if s.id != station_id):
        return None
    for eta, candidate in forces.by_travel_time(STATION, leaving.lat, leaving.lon, speed):
        if candidate.division_code == leaving.division_code or not available(candidate.id):
            continue
        still_covered = any(available(s.id) for s in forces.covering(STATION, candidate.division_code)
                            if s.id != candidate.id)
        if still_covered:
            return MoveUp(station_id, leaving.division_code, candidate.id, round(eta),
                          f"{station_id} left {leaving.division_code} with no available station; {candidate.id} is the "
                          f"nearest available station whose own area {candidate.division_code} stays covered")
    return None

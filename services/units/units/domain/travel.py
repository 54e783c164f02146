"""Estimated travel time of a force to an alarm: a documented speed model, not a road graph.

No road graph is shipped with the demo city, so travel time is estimated as

    eta_s = turnout_s[force kind] + great_circle_m × detour_factor / urban_speed_m_s

- great_circle_m: haversine distance between the force's base and the alarm (mean Earth radius
  6,371 km);
- detour_factor 1.3: roads are longer than the straight line; ~1.2–1.4 is the usual circuity of
  a city road network, and 1.3 its middle;
- urban speed 30 km/h: an appliance under blue lights in city traffic, average over the trip;
- turnout: from the call to wheels rolling. 60 s for a fire-rescue station (the urban station
  standard's one minute of turnout inside its five-minute response); 60 s for a micro fire
  station (staffed on site, "one minute to respond, three to arrive"); 90 s for a street team;
  120 s for a community squad (volunteers who gather first).

All figures are assumptions and are parameters of `SpeedModel`: a city measures its own and
passes them in. Because every force of a kind shares one turnout, ordering forces of one kind by
this ETA is ordering them by distance; a road graph would replace `SpeedModel.eta_s` and break
that, which is why callers order by ETA, never by distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from linkduty_shared.jurisdictions.model import EARTH_RADIUS_M, distance_m  # noqa: F401 (EARTH_RADIUS_M: forces)

DEFAULT_TURNOUT_S: Mapping[str, float] = MappingProxyType({
    "fire_rescue_station": 60.0,
    "micro_fire_station": 60.0,
    "street_team": 90.0,
    "community_squad": 120.0,
})


great_circle_m = distance_m  # haversine, metres (the shared one)


@dataclass(frozen=True, slots=True)
class SpeedModel:
    detour_factor: float = 1.3
    speed_kmh: float = 30.0
    turnout_s: Mapping[str, float] = field(default_factory=lambda: DEFAULT_TURNOUT_S)

    def __post_init__(self) -> None:
        if self.detour_factor < 1.0:
            raise ValueError(f"detour_factor must be >= 1 (a road is never shorter than the straight line), "
                             f"got {self.detour_factor}")
        if self.speed_kmh <= 0:
            raise ValueError(f"speed_kmh must be > 0, got {self.speed_kmh}")

    @property
    def seconds_per_metre(self) -> float:
        """Driving seconds per metre of straight line (detour included)."""
        return self.detour_factor / (self.speed_kmh / 3.6)

    def turnout(self, force_kind: str) -> float:
        try:
            return self.turnout_s[force_kind]
        except KeyError:
            # A silent 0 s would make an unmodelled kind look fastest and win every dispatch.
            raise KeyError(f"no turnout time for force kind {force_kind!r} in the speed model") from None

    def eta_for_distance(self, force_kind: str, great_circle_metres: float) -> float:
        return self.turnout(force_kind) + great_circle_metres * self.seconds_per_metre

    def eta_s(self, force_kind: str, from_lat: float, from_lon: float, to_lat: float, to_lon: float) -> float:
        """Estimated seconds from the call to the force's arrival at (to_lat, to_lon)."""
        return self.eta_for_distance(force_kind, great_circle_m(from_lat, from_lon, to_lat, to_lon))


DEFAULT_SPEED_MODEL = SpeedModel()

"""The directory's value types: divisions (城市 → 区县 → 镇街 → 村社区 → 微网格), centres, forces.

Plain frozen dataclasses, so every service can hold, compare and hash them freely; nothing here
knows about files or geometry.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    """A division's level, top down. "street" covers both 街道 and 镇 (GLOSSARY.md)."""

    CITY = "city"  # 市
    DISTRICT = "district"  # 区(市)县
    STREET = "street"  # 镇(街道)
    COMMUNITY = "community"  # 村(社区)
    GRID = "grid"  # 微网格: not in the statistical scheme, has no centre


LEVELS_TOP_DOWN: tuple[Level, ...] = (Level.CITY, Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID)
PARENT_LEVEL: dict[Level, Level | None] = {
    Level.CITY: None, Level.DISTRICT: Level.CITY, Level.STREET: Level.DISTRICT,
    Level.COMMUNITY: Level.STREET, Level.GRID: Level.COMMUNITY,
}

# 消防救援站 (main force), 镇街应急队 (auxiliary 1), 村社区应急分队 / 微型消防站 (auxiliary 2).
FORCE_KINDS: frozenset[str] = frozenset({"fire_rescue_station", "street_team", "community_squad", "micro_fire_station"})


def centre_id(division_code: str) -> str:
    """The id of a division's operations centre: routing keys notifications by it."""
    return "centre-" + division_code


class OutsideJurisdiction(LookupError):
    """The point lies in no micro-grid of this directory (or is not a coordinate at all)."""


@dataclass(frozen=True, slots=True)
class Division:
    """A division; lat/lon is a representative point inside it (it resolves back to it)."""

    code: str
    name: str
    level: Level
    parent: str | None
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Centre:
    """An operations centre: 市城运中心, 区/镇街城运分中心 or 村社区平台. One per non-grid division."""

    id: str
    name: str
    level: Level
    division_code: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Force:
    """A fire-rescue force; division_code is the division it covers (a station: its district)."""

    id: str
    kind: str
    name: str
    division_code: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Chain:
    """The divisions a point lies in, from its micro-grid up to the city."""

    grid: Division
    community: Division
    street: Division
    district: Division
    city: Division

    def divisions(self) -> tuple[Division, ...]:
        return (self.grid, self.community, self.street, self.district, self.city)

    def codes(self) -> dict[str, str]:
        """Level → division code, as events carry a jurisdiction ({"grid": …, "city": …})."""
        return {"grid": self.grid.code, "community": self.community.code, "street": self.street.code,
                "district": self.district.code, "city": self.city.code}

    def centre_ids(self) -> tuple[str, ...]:
        """Default routing (DESIGN.md): community platform, street, district and city centres."""
        return (centre_id(self.community.code), centre_id(self.street.code),
                centre_id(self.district.code), centre_id(self.city.code))


EARTH_RADIUS_M = 6_371_000.0  # mean Earth radius


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


M_PER_DEGREE_LAT = 111_000.0  # a little under the true 111,195: the box errs wide, never narrow


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(lat_min, lat_max, lon_min, lon_max) of a box holding the circle of `radius_m` around the
    point: what an index on (lat, lon) narrows to before the exact distance is measured."""
    dlat = radius_m / M_PER_DEGREE_LAT
    dlon = dlat / max(0.01, abs(math.cos(math.radians(lat))))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon

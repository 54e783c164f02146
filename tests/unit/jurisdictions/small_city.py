"""A hand-written dataset in the documented format, as a real city would bring one: one street of
two communities, each split into two micro-grids given as polygons (not H3 cells).

    +---------+---------+  30.010
    | W-0001  | E-0001  |
    +---------+---------+  30.005      W = 330102001001 (西湖社区), E = 330102001002 (东园社区)
    | W-0002  | E-0002  |
    +---------+---------+  30.000
    120.00    120.01    120.02
"""

from __future__ import annotations

import json
from pathlib import Path

RESOLUTION = 10  # cells (~0.015 km²) a little smaller than these grids, as FORMAT.md advises
WEST, MID_LON, EAST = 120.00, 120.01, 120.02
SOUTH, MID_LAT, NORTH = 30.000, 30.005, 30.010

CITY, DISTRICT, STREET = "330100000000", "330102000000", "330102001000"
WEST_COMMUNITY, EAST_COMMUNITY = "330102001001", "330102001002"
NW, SW = f"{WEST_COMMUNITY}-0001", f"{WEST_COMMUNITY}-0002"
NE, SE = f"{EAST_COMMUNITY}-0001", f"{EAST_COMMUNITY}-0002"


def box(west: float, south: float, east: float, north: float, hole: list | None = None) -> dict:
    rings = [[[west, south], [east, south], [east, north], [west, north], [west, south]]]
    return {"type": "Polygon", "coordinates": rings + ([hole] if hole else [])}


def division(code: str, name: str, level: str, parent: str | None, geometry: dict | None = None) -> dict:
    return {"type": "Feature", "properties": {"kind": "division", "code": code, "name": name, "level": level,
                                              "parent": parent}, "geometry": geometry}


def point_feature(properties: dict, lat: float, lon: float) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def centre(code: str, name: str, level: str) -> dict:
    return point_feature({"kind": "centre", "id": f"centre-{code}", "name": name, "level": level,
                          "division_code": code}, MID_LAT, MID_LON)


def small_city() -> dict:
    features = [
        division(CITY, "演示市", "city", None, box(WEST, SOUTH, EAST, NORTH)),
        division(DISTRICT, "上城区", "district", CITY),  # no geometry: allowed above the grid
        division(STREET, "湖滨街道", "street", DISTRICT),
        division(WEST_COMMUNITY, "西湖社区", "community", STREET, box(WEST, SOUTH, MID_LON, NORTH)),
        division(EAST_COMMUNITY, "东园社区", "community", STREET),
        division(NW, "西湖社区1号微网格", "grid", WEST_COMMUNITY, box(WEST, MID_LAT, MID_LON, NORTH)),
        division(SW, "西湖社区2号微网格", "grid", WEST_COMMUNITY, box(WEST, SOUTH, MID_LON, MID_LAT)),
        division(NE, "东园社区1号微网格", "grid", EAST_COMMUNITY, box(MID_LON, MID_LAT, EAST, NORTH)),
        division(SE, "东园社区2号微网格", "grid", EAST_COMMUNITY, box(MID_LON, SOUTH, EAST, MID_LAT)),
        centre(CITY, "演示市城运中心", "city"),
        centre(DISTRICT, "上城区城运分中心", "district"),
        centre(STREET, "湖滨街道城运分中心", "street"),
        centre(WEST_COMMUNITY, "西湖社区平台", "community"),
        centre(EAST_COMMUNITY, "东园社区平台", "community"),
        point_feature({"kind": "force", "id": "team-1", "force_kind": "street_team", "name": "湖滨街道应急队",
                       "division_code": STREET}, 30.004, 120.011),
        point_feature({"kind": "force", "id": "squad-1", "force_kind": "community_squad", "name": "西湖社区应急分队",
                       "division_code": WEST_COMMUNITY}, 30.004, 120.004),
    ]
    header = {"format": 1, "version": "small-1", "grid_h3_resolution": RESOLUTION}
    return {"type": "FeatureCollection", "linkduty": header, "features": features}


def feature(doc: dict, code_or_id: str) -> dict:
    """The feature with this code or id, to mutate in a test."""
    return next(f for f in doc["features"] if code_or_id in (f["properties"].get("code"), f["properties"].get("id")))


def write(doc: dict, path: Path) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False))
    return path

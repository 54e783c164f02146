"""A representative point for each division: inside it, near its middle, and resolving back to it.

Points come from the grids, not from the higher-level polygons (which are optional and only for
drawing), so a division's point always lies in one of its own grids.
"""

from __future__ import annotations

import math
from collections import defaultdict

from h3.api import basic_int as h3_int

from linkduty_shared.jurisdictions.cell_index import CellIndex
from linkduty_shared.jurisdictions.geojson_format import DivisionRecord
from linkduty_shared.jurisdictions.model import Level

LatLon = tuple[float, float]


def representative_points(records: dict[str, DivisionRecord], index: CellIndex) -> dict[str, LatLon]:
    points: dict[str, LatLon] = {}
    members: dict[str, list[LatLon]] = defaultdict(list)  # division → the points of the grids under it
    for record in records.values():
        if record.level is not Level.GRID:
            continue
        point = points[record.code] = _grid_point(record, index)
        ancestor = record.parent
        while ancestor is not None:
            members[ancestor].append(point)
            ancestor = records[ancestor].parent
    for code, grid_points in members.items():
        points[code] = nearest_to_mean(grid_points)
    return points


def _grid_point(record: DivisionRecord, index: CellIndex) -> LatLon:
    if record.h3_cells is not None:
        return nearest_to_mean([h3_int.cell_to_latlng(cell) for cell in index.cells_of[record.code]])
    polygon = index.shapes[record.code]
    centroid = polygon.centroid
    point = centroid if polygon.contains(centroid) else polygon.point_on_surface()
    return point.y, point.x


def nearest_to_mean(points: list[LatLon]) -> LatLon:
    """The point nearest the centroid of `points` (the centroid itself may lie outside)."""
    if len(points) == 1:
        return points[0]
    mean_lat = sum(p[0] for p in points) / len(points)
    mean_lon = sum(p[1] for p in points) / len(points)
    squeeze = math.cos(math.radians(mean_lat))  # a degree of longitude is shorter than one of latitude
    return min(points, key=lambda p: (p[0] - mean_lat) ** 2 + ((p[1] - mean_lon) * squeeze) ** 2)

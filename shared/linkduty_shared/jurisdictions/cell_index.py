"""The H3 index behind resolve(): each cell at the dataset's resolution → the grid that holds it.

Grids given as "h3_cells" own their cells whole. Grids given as polygons (a real city's) are
polyfilled: a cell entirely inside one grid is owned by it, so a lookup stays one dict access; a
cell that a grid border crosses keeps its candidate grids, and a point in it is settled exactly by
point-in-polygon among those few prepared shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h3
import shapely
from h3.api import basic_int as h3_int
from shapely.geometry import shape as shape_from_geojson

from linkduty_shared.jurisdictions.geojson_format import DivisionRecord
from linkduty_shared.jurisdictions.validation import division_error

# Two grid shapes this close (degrees, ~1 cm) share a border: coordinates are rounded in files.
TOUCH_TOLERANCE_DEG = 1e-7


@dataclass
class CellIndex:
    resolution: int
    owner: dict[int, str] = field(default_factory=dict)  # cell → the grid covering all of it
    candidates: dict[int, tuple[str, ...]] = field(default_factory=dict)  # cell → grids a border splits it among
    shapes: dict[str, shapely.Geometry] = field(default_factory=dict)  # polygon grids' shapes, prepared
    cells_of: dict[str, list[int]] = field(default_factory=dict)  # grid → its cells (owned or candidate)
    outlines: dict[str, shapely.Geometry] = field(default_factory=dict)  # cell grids' outlines, on demand

    def grid_shape(self, grid: str) -> shapely.Geometry:
        """The grid's shape: its polygon, or the outline of its cells."""
        if grid in self.shapes:
            return self.shapes[grid]
        if grid not in self.outlines:
            self.outlines[grid] = self.outline([grid])
        return self.outlines[grid]

    def outline(self, grids: list[str]) -> shapely.Geometry:
        """The union of some grids: exact from H3 cells where they are all cell grids."""
        if any(g in self.shapes for g in grids):
            return shapely.union_all([self.grid_shape(g) for g in grids])
        cells = [h3_int.int_to_str(c) for g in grids for c in self.cells_of[g]]
        return shape_from_geojson(h3.cells_to_geo(cells))


def build_cell_index(grids: list[DivisionRecord], resolution: int) -> CellIndex:
    index = CellIndex(resolution)
    for grid in grids:
        if grid.h3_cells is not None:
            _add_listed_cells(index, grid)
    overlapping: dict[int, list[str]] = {}  # cell → polygon grids that overlap it
    covered: dict[int, str] = {}  # cell → polygon grid that covers it whole
    for grid in grids:
        if grid.h3_cells is None:
            _polyfill(index, grid, overlapping, covered)
    for cell, grids_here in overlapping.items():
        if cell in index.owner:
            continue  # listed cells win: the cell belongs whole to the grid that lists it
        if len(grids_here) == 1 and covered.get(cell) == grids_here[0]:
            index.owner[cell] = grids_here[0]
        else:
            index.candidates[cell] = tuple(sorted(grids_here))
        for grid in grids_here:
            index.cells_of.setdefault(grid, []).append(cell)
    return index


def _add_listed_cells(index: CellIndex, grid: DivisionRecord) -> None:
    cells = index.cells_of.setdefault(grid.code, [])
    for text in grid.h3_cells:
        try:
            cell = h3_int.str_to_int(text)
        except ValueError:
            cell = 0
        if not h3_int.is_valid_cell(cell) or h3_int.get_resolution(cell) != index.resolution:
            raise division_error(grid, f"{text!r} is not an H3 cell of resolution {index.resolution}")
        if index.owner.setdefault(cell, grid.code) != grid.code:
            raise division_error(grid, f"H3 cell {text} is listed by grid {index.owner[cell]} too")
        cells.append(cell)


def _polyfill(index: CellIndex, grid: DivisionRecord, overlapping: dict, covered: dict) -> None:
    try:
        polygon = shape_from_geojson(grid.geometry)
        h3shape = h3.geo_to_h3shape(grid.geometry)
    except Exception as e:  # shapely and h3 raise their own kinds for malformed rings
        raise division_error(grid, f"geometry is not a usable polygon: {e}") from None
    if not polygon.is_valid:
        raise division_error(grid, f"geometry is not a valid polygon: {shapely.is_valid_reason(polygon)}")
    shapely.prepare(polygon)
    index.shapes[grid.code] = polygon
    # 'overlap' rather than the default 'center', so a grid smaller than a cell is not lost.
    for cell in h3.h3shape_to_cells_experimental(h3shape, index.resolution, "overlap"):
        overlapping.setdefault(h3_int.str_to_int(cell), []).append(grid.code)
    for cell in h3.h3shape_to_cells_experimental(h3shape, index.resolution, "full"):
        cell = h3_int.str_to_int(cell)
        if covered.setdefault(cell, grid.code) != grid.code:
            raise division_error(grid, f"overlaps grid {covered[cell]} (both cover H3 cell {h3_int.int_to_str(cell)})")


def adjacent_grid_pairs(index: CellIndex) -> set[tuple[str, str]]:
    """Pairs (a, b), a < b, of grids sharing a border.

    Two adjacent cells owned whole by two grids prove a shared edge. A pair met only through a
    cell a border splits might be two grids a thin third one separates, or that meet at a corner
    only: confirm it by geometry.
    """
    sure: set[tuple[str, str]] = set()
    maybe: set[tuple[str, str]] = set()
    owner, candidates = index.owner, index.candidates
    for cell, grid in owner.items():  # the common case, kept lean: ~125,000 steps for the demo
        for neighbour in h3_int.grid_ring(cell, 1):
            other = owner.get(neighbour)
            if other is not None and grid < other:
                sure.add((grid, other))
    for cell, here in candidates.items():  # split cells, and owned cells beside them, from this side

        maybe.update(_pairs(here, here))
        for neighbour in h3_int.grid_ring(cell, 1):
            other = owner.get(neighbour)
            maybe.update(_pairs(here, (other,) if other is not None else candidates.get(neighbour, ())))
    maybe -= sure
    sure.update(pair for pair in maybe if _share_border(index.grid_shape(pair[0]), index.grid_shape(pair[1])))
    return sure


def _pairs(these: tuple[str, ...], those: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(min(a, b), max(a, b)) for a in these for b in those if a != b}


def _share_border(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    """A common stretch of border, not just a corner (within the rounding of the file's coordinates)."""
    common = shapely.intersection(shapely.boundary(a), shapely.buffer(b, TOUCH_TOLERANCE_DEG))
    return shapely.length(common) > 10 * TOUCH_TOLERANCE_DEG

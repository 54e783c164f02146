"""The jurisdiction directory: divisions, centres and forces of one city, and point → chain.

resolve() is on the 119 hot path: one H3 cell computation and one dict lookup to a prebuilt Chain
(a point near a polygon grid's border adds a point-in-polygon test among a few candidates).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from pathlib import Path

import shapely
from h3.api.basic_int import latlng_to_cell
from shapely.geometry import shape as shape_from_geojson

from linkduty_shared.jurisdictions.cell_index import adjacent_grid_pairs, build_cell_index
from linkduty_shared.jurisdictions.geojson_format import Dataset, read_dataset
from linkduty_shared.jurisdictions.model import (LEVELS_TOP_DOWN, Centre, Chain, Division, Force, Level,
                                                 OutsideJurisdiction, centre_id)
from linkduty_shared.jurisdictions.representative import representative_points
from linkduty_shared.jurisdictions.validation import validate


class Directory:
    """One city's jurisdiction dataset, loaded and indexed; its answers never change once loaded."""

    version: str
    city: Division

    def __init__(self, dataset: Dataset) -> None:
        records = validate(dataset)
        grids = [r for r in dataset.divisions if r.level is Level.GRID]
        self._index = build_cell_index(grids, dataset.grid_h3_resolution)
        points = representative_points(records, self._index)
        self._geojson = {r.code: r.geometry for r in dataset.divisions if r.geometry is not None}
        self._outlines: dict[str, shapely.Geometry] = {}  # built on demand: for maps and tests, not routing
        self._divisions = {r.code: Division(r.code, r.name, r.level, r.parent, *points[r.code])
                           for r in sorted(dataset.divisions, key=lambda r: (LEVELS_TOP_DOWN.index(r.level), r.code))}
        self._children: dict[str, list[Division]] = defaultdict(list)
        for division in self._divisions.values():
            if division.parent is not None:
                self._children[division.parent].append(division)
        self.version = dataset.version
        self.city = next(d for d in self._divisions.values() if d.level is Level.CITY)
        centres = sorted((c for _, c in dataset.centres), key=lambda c: (LEVELS_TOP_DOWN.index(c.level), c.id))
        self._centres = {c.id: c for c in centres}
        self._forces = sorted((f for _, f in dataset.forces), key=lambda f: (f.kind, f.id))
        self._chain_of_grid = {g.code: self._chain(g) for g in self.divisions(Level.GRID)}
        self._resolution = dataset.grid_h3_resolution
        self._chain_of_cell = {cell: self._chain_of_grid[grid] for cell, grid in self._index.owner.items()}
        self._candidates_of_cell = {cell: tuple((self._index.shapes[g], self._chain_of_grid[g]) for g in grids)
                                    for cell, grids in self._index.candidates.items()}

    @classmethod
    def load(cls, path: str | Path) -> Directory:
        """Load a dataset in the documented format (FORMAT.md), plain or gzipped."""
        return cls(read_dataset(path))

    def _chain(self, grid: Division) -> Chain:
        community = self._divisions[grid.parent]
        street = self._divisions[community.parent]
        district = self._divisions[street.parent]
        return Chain(grid, community, street, district, self._divisions[district.parent])

    # ---- the hot path ------------------------------------------------------------------------

    def resolve(self, lat: float, lon: float) -> Chain:
        """The grid..city chain of the point; OutsideJurisdiction if no grid holds it."""
        try:
            cell = latlng_to_cell(lat, lon, self._resolution)
        except ValueError:  # h3 refuses NaN and infinities
            raise OutsideJurisdiction(f"({lat}, {lon}) is not a coordinate") from None
        chain = self._chain_of_cell.get(cell)
        if chain is not None:
            return chain
        for shape, chain in self._candidates_of_cell.get(cell, ()):
            if shapely.intersects_xy(shape, lon, lat):  # on a shared border: the lower grid code wins
                return chain
        raise OutsideJurisdiction(f"({lat}, {lon}) is outside {self.city.name} ({self.city.code})")

    # ---- the tree ----------------------------------------------------------------------------

    def division(self, code: str) -> Division:
        try:
            return self._divisions[code]
        except KeyError:
            raise KeyError(f"no division {code!r} in {self.version}") from None

    def divisions(self, level: Level | None = None) -> list[Division]:
        """All divisions (or those of one level), top down and in code order."""
        return [d for d in self._divisions.values() if level is None or d.level is level]

    def children(self, code: str) -> list[Division]:
        self.division(code)
        return list(self._children.get(code, ()))

    def ancestors(self, code: str) -> list[Division]:
        """Parent, grandparent, ... up to the city; empty for the city."""
        chain, parent = [], self.division(code).parent
        while parent is not None:
            chain.append(self._divisions[parent])
            parent = chain[-1].parent
        return chain

    def lineage(self, code: str) -> list[str]:
        """The codes of the division and of every division above it, up to the city: a record
        in `code` is visible to a jurisdiction claim that names any of them."""
        return [code, *(a.code for a in self.ancestors(code))]

    def contains(self, ancestor_code: str, code: str) -> bool:
        """True if `code` is `ancestor_code` or lies under it (jurisdiction filtering)."""
        self.division(ancestor_code)
        return code == ancestor_code or any(a.code == ancestor_code for a in self.ancestors(code))

    def neighbours(self, code: str) -> list[Division]:
        """Divisions of the same level sharing a border with this one, in code order."""
        self.division(code)
        return list(self._neighbours.get(code, ()))

    @functools.cached_property
    def _neighbours(self) -> dict[str, tuple[Division, ...]]:
        # Built on first use (~0.2 s for the demo), off the hot path of resolve().
        parent = {code: d.parent for code, d in self._divisions.items()}
        pairs = adjacent_grid_pairs(self._index)
        for a, b in list(pairs):  # grids that share a border make their communities, streets... neighbours
            a, b = parent[a], parent[b]
            while a != b:
                pairs.add((a, b) if a < b else (b, a))
                a, b = parent[a], parent[b]
        found: dict[str, list[str]] = defaultdict(list)
        for a, b in pairs:
            found[a].append(b)
            found[b].append(a)
        return {code: tuple(self._divisions[n] for n in sorted(ns)) for code, ns in found.items()}

    def geometry(self, code: str) -> shapely.Geometry:
        """The division's outline: its polygon from the dataset, else the union of its grids."""
        level = self.division(code).level
        if code not in self._outlines:
            if code in self._geojson:
                self._outlines[code] = shape_from_geojson(self._geojson[code])
            elif level is Level.GRID:
                self._outlines[code] = self._index.grid_shape(code)
            else:
                grids = [g for g, chain in self._chain_of_grid.items() if getattr(chain, level.value).code == code]
                self._outlines[code] = self._index.outline(grids)
        return self._outlines[code]

    # ---- centres and forces ------------------------------------------------------------------

    def centre(self, centre_id: str) -> Centre:
        try:
            return self._centres[centre_id]
        except KeyError:
            raise KeyError(f"no centre {centre_id!r} in {self.version}") from None

    def centre_of(self, division_code: str) -> Centre:
        """The operations centre of a city, district, street or community (grids have none)."""
        if self.division(division_code).level is Level.GRID:
            raise KeyError(f"{division_code} is a grid, and grids have no centre: use its community's")
        return self._centres[centre_id(division_code)]

    def centres(self, level: Level | None = None) -> list[Centre]:
        return [c for c in self._centres.values() if level is None or c.level is level]

    def forces(self, kind: str | None = None) -> list[Force]:
        return [f for f in self._forces if kind is None or f.kind == kind]

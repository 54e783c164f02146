"""A real city's kind of dataset: grids as polygons, polyfilled into H3 cells at load."""

from __future__ import annotations

import gzip
import random

import pytest
from h3.api.basic_int import latlng_to_cell

from linkduty_shared.jurisdictions import Directory, Level, OutsideJurisdiction
from tests.unit.jurisdictions.small_city import (EAST, EAST_COMMUNITY, MID_LAT, MID_LON, NE, NORTH, NW, RESOLUTION, SE,
                                                 SOUTH, SW, WEST, WEST_COMMUNITY, box, division, feature, small_city,
                                                 write)

NUDGE = 1e-6  # ~0.1 m


@pytest.fixture(scope="module")
def directory(tmp_path_factory) -> Directory:
    return Directory.load(write(small_city(), tmp_path_factory.mktemp("small") / "small.geojson"))


def expected_grid(lat: float, lon: float) -> str:
    west, north = lon < MID_LON, lat >= MID_LAT
    return {(True, True): NW, (True, False): SW, (False, True): NE, (False, False): SE}[(west, north)]


@pytest.mark.parametrize("lat, lon, grid", [
    (30.0075, 120.005, NW), (30.0025, 120.005, SW), (30.0075, 120.015, NE), (30.0025, 120.015, SE),
    (30.0075, MID_LON - NUDGE, NW), (30.0075, MID_LON + NUDGE, NE),  # either side of the communities' border
    (MID_LAT + NUDGE, 120.005, NW), (MID_LAT - NUDGE, 120.005, SW),  # either side of a border inside one
    (MID_LAT - NUDGE, MID_LON + NUDGE, SE), (MID_LAT + NUDGE, MID_LON - NUDGE, NW),  # at the corner of all four
    (30.0075, MID_LON, NW),  # exactly on the border: the lower code
])
def test_points_resolve_to_their_polygon_grid_also_near_shared_borders(directory, lat, lon, grid):
    chain = directory.resolve(lat, lon)
    assert chain.grid.code == grid
    assert chain.community.code == grid.split("-")[0]
    assert [d.code for d in chain.divisions()[2:]] == ["330102001000", "330102000000", "330100000000"]


def test_border_points_take_the_point_in_polygon_path(directory):
    """Guards the test above: the cells along the border are split, not owned by one grid."""
    split_cells = directory._index.candidates
    assert latlng_to_cell(30.0075, MID_LON, RESOLUTION) in split_cells
    assert latlng_to_cell(30.0075, 120.005, RESOLUTION) not in split_cells  # the common case stays a dict lookup


def test_random_points_agree_with_the_polygons(directory):
    rng = random.Random(7)
    for _ in range(3000):
        lat, lon = rng.uniform(SOUTH - 0.002, NORTH + 0.002), rng.uniform(WEST - 0.002, EAST + 0.002)
        if SOUTH < lat < NORTH and WEST < lon < EAST:
            assert directory.resolve(lat, lon).grid.code == expected_grid(lat, lon)
        else:
            with pytest.raises(OutsideJurisdiction):
                directory.resolve(lat, lon)


def test_just_outside_the_outer_edge_is_outside(directory):
    with pytest.raises(OutsideJurisdiction):
        directory.resolve(30.0075, EAST + NUDGE * 10)  # a cell the city's edge splits
    with pytest.raises(OutsideJurisdiction):
        directory.resolve(30.0075, EAST + 0.05)  # no cell of the city at all


def test_neighbours_share_a_border_not_a_corner(directory):
    assert [d.code for d in directory.neighbours(NW)] == [SW, NE]
    assert [d.code for d in directory.neighbours(SE)] == [SW, NE]
    assert [d.code for d in directory.neighbours(WEST_COMMUNITY)] == [EAST_COMMUNITY]
    assert directory.neighbours("330102001000") == [] and directory.neighbours("330100000000") == []


def test_tree_centres_forces_and_points(directory):
    assert directory.version.startswith("small-1+")
    assert [d.code for d in directory.children(WEST_COMMUNITY)] == [NW, SW]
    assert [d.code for d in directory.ancestors(NE)] == [EAST_COMMUNITY, "330102001000", "330102000000", "330100000000"]
    assert directory.contains("330102000000", SE) and not directory.contains(WEST_COMMUNITY, SE)
    assert directory.centre_of(EAST_COMMUNITY).name == "东园社区平台"
    assert [f.id for f in directory.forces("street_team")] == ["team-1"]
    for each in directory.divisions():  # representative points lie in their own division
        assert directory.contains(each.code, directory.resolve(each.lat, each.lon).grid.code)
    assert directory.geometry(EAST_COMMUNITY).area == pytest.approx(0.01 * 0.01, rel=1e-6)  # from its grids


def test_gzipped_file_loads_the_same(tmp_path, directory):
    plain = write(small_city(), tmp_path / "small.geojson")
    gz = tmp_path / "small.geojson.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    loaded = Directory.load(gz)
    assert loaded.version == directory.version and loaded.divisions() == directory.divisions()


def test_a_grid_smaller_than_a_cell_is_not_lost(tmp_path):
    """A 20 m square grid in a hole of its neighbour: 'overlap' polyfill keeps it findable."""
    doc = small_city()
    lat, lon, half = 30.0025, 120.015, 0.0001
    hole = [[lon - half, lat - half], [lon - half, lat + half], [lon + half, lat + half], [lon + half, lat - half],
            [lon - half, lat - half]]
    feature(doc, SE)["geometry"] = box(MID_LON, SOUTH, EAST, MID_LAT, hole=hole)
    doc["features"].append(division(f"{EAST_COMMUNITY}-0003", "东园社区3号微网格", "grid", EAST_COMMUNITY,
                                    box(lon - half, lat - half, lon + half, lat + half)))
    directory = Directory.load(write(doc, tmp_path / "tiny.geojson"))
    assert directory.resolve(lat, lon).grid.code == f"{EAST_COMMUNITY}-0003"
    assert directory.resolve(lat, lon + 2 * half).grid.code == SE
    assert [d.code for d in directory.neighbours(f"{EAST_COMMUNITY}-0003")] == [SE]
    assert directory.division(f"{EAST_COMMUNITY}-0003").level is Level.GRID

"""The shipped demo city: size, nesting, lookups, neighbours, forces, and that it regenerates."""

from __future__ import annotations

import gzip
import math
import random
from collections import Counter
from importlib.resources import files

import pytest
import shapely

from linkduty_shared.jurisdictions import Level, OutsideJurisdiction, load_demo_city
from linkduty_shared.jurisdictions.generate_demo import generate
from linkduty_shared.jurisdictions.geojson_format import content_hash

MINIMUM = {Level.CITY: 1, Level.DISTRICT: 6, Level.STREET: 40, Level.COMMUNITY: 300, Level.GRID: 20_000}
CODE_SHARED_WITH_PARENT = {Level.DISTRICT: 4, Level.STREET: 6, Level.COMMUNITY: 9}


@pytest.fixture(scope="module")
def city():
    return load_demo_city()


def test_counts_meet_the_minimums(city):
    for level, minimum in MINIMUM.items():
        assert len(city.divisions(level)) >= minimum, level
    assert len(city.divisions(Level.CITY)) == 1 and city.city.code == "330100000000"
    assert city.version.startswith("demo-city-1+")
    assert len(city.forces("fire_rescue_station")) >= 25
    micro = len(city.forces("micro_fire_station")) / len(city.divisions(Level.COMMUNITY))
    assert 0.25 <= micro <= 0.4


def test_codes_nest_and_names_are_unique_within_a_parent(city):
    for division in city.divisions():
        if division.level is Level.CITY:
            continue
        parent = city.division(division.parent)
        if division.level is Level.GRID:
            assert division.code.startswith(parent.code + "-") and len(division.code) == 17
        else:
            assert len(division.code) == 12 and division.code.isdigit()
            shared = CODE_SHARED_WITH_PARENT[division.level]
            assert division.code[:shared] == parent.code[:shared]
        names = [child.name for child in city.children(parent.code)]
        assert len(names) == len(set(names)), parent


def test_names_read_like_place_names(city):
    assert city.city.name.endswith("市")
    assert all(d.name.endswith("区") for d in city.divisions(Level.DISTRICT))
    assert all(d.name.endswith(("街道", "镇")) for d in city.divisions(Level.STREET))
    assert all(d.name.endswith(("社区", "村")) for d in city.divisions(Level.COMMUNITY))
    centre_suffix = {Level.CITY: "城运中心", Level.DISTRICT: "城运分中心", Level.STREET: "城运分中心", Level.COMMUNITY: "平台"}
    assert all(c.name.endswith(centre_suffix[c.level]) for c in city.centres())
    assert all(f.name.endswith("消防救援站") for f in city.forces("fire_rescue_station"))


def test_the_division_in_the_design_examples_exists(city):
    assert city.division("330106001001").level is Level.COMMUNITY
    assert city.centre("centre-330106001001").division_code == "330106001001"


def test_every_grid_point_resolves_to_a_chain_that_nests(city):
    for grid in city.divisions(Level.GRID):
        chain = city.resolve(grid.lat, grid.lon)
        assert chain.grid == grid
        levels = [d.level for d in chain.divisions()]
        assert levels == [Level.GRID, Level.COMMUNITY, Level.STREET, Level.DISTRICT, Level.CITY]
        for lower, upper in zip(chain.divisions(), chain.divisions()[1:]):
            assert lower.parent == upper.code
    chain = city.resolve(city.city.lat, city.city.lon)
    assert all(city.contains(upper.code, lower.code) for i, upper in enumerate(chain.divisions())
               for lower in chain.divisions()[:i + 1])


def test_every_division_and_centre_point_resolves_inside_it(city):
    for division in city.divisions():
        assert city.contains(division.code, city.resolve(division.lat, division.lon).grid.code)
    for centre in city.centres():
        assert city.contains(centre.division_code, city.resolve(centre.lat, centre.lon).grid.code)
        assert city.centre_of(centre.division_code) == centre


def test_random_points_agree_with_the_community_polygons(city):
    """The H3 lookup and the communities' outlines tell the same story, inside and out."""
    outline = city.geometry(city.city.code)
    west, south, east, north = outline.bounds
    communities = {d.code: city.geometry(d.code) for d in city.divisions(Level.COMMUNITY)}
    rng = random.Random(119)
    inside = 0
    for _ in range(3000):
        lat, lon = rng.uniform(south, north), rng.uniform(west, east)
        point = shapely.Point(lon, lat)
        try:
            chain = city.resolve(lat, lon)
        except OutsideJurisdiction:
            assert outline.distance(point) > 0 or outline.exterior.distance(point) < 1e-6
            continue
        inside += 1
        assert communities[chain.community.code].distance(point) < 1e-6  # 1e-6 deg: the file's rounding
    assert inside > 2000  # the disk fills ~3/4 of its bounding box


@pytest.mark.parametrize("lat, lon", [(39.9, 116.4), (38.47, -120.14), (31.23, 121.47), (-30.27, -120.15),
                                      (math.nan, 120.15), (30.27, math.inf), (95.0, 200.0)])
def test_far_away_or_no_coordinate_is_outside(city, lat, lon):
    with pytest.raises(OutsideJurisdiction):
        city.resolve(lat, lon)


@pytest.mark.parametrize("level", [Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID])
def test_neighbours_are_symmetric_same_level_and_not_self(city, level):
    for division in city.divisions(level):
        neighbours = city.neighbours(division.code)
        assert neighbours, division
        for neighbour in neighbours:
            assert neighbour.level is level and neighbour.code != division.code
            assert division in city.neighbours(neighbour.code)


def test_neighbours_share_a_border(city):
    street = city.divisions(Level.STREET)[0]
    outline = city.geometry(street.code)
    for neighbour in city.neighbours(street.code):
        assert shapely.intersection(outline, city.geometry(neighbour.code)).length > 1e-4
    assert city.neighbours(city.city.code) == []


def test_one_team_per_street_and_one_squad_per_community(city):
    teams = Counter(f.division_code for f in city.forces("street_team"))
    squads = Counter(f.division_code for f in city.forces("community_squad"))
    assert teams == Counter(d.code for d in city.divisions(Level.STREET))
    assert squads == Counter(d.code for d in city.divisions(Level.COMMUNITY))
    assert {f.division_code for f in city.forces("micro_fire_station")} <= set(squads)
    assert {city.division(f.division_code).level for f in city.forces("fire_rescue_station")} == {Level.DISTRICT}


def test_forces_stand_in_the_division_they_cover(city):
    for force in city.forces():
        assert city.contains(force.division_code, city.resolve(force.lat, force.lon).grid.code), force
    assert len({f.id for f in city.forces()}) == len(city.forces())


def test_one_centre_per_division_above_the_grid(city):
    above_grid = [d for d in city.divisions() if d.level is not Level.GRID]
    assert sorted(c.division_code for c in city.centres()) == sorted(d.code for d in above_grid)
    assert len(city.centres(Level.STREET)) == len(city.divisions(Level.STREET))
    chain = city.resolve(30.27, 120.15)
    assert [city.centre(i).division_code for i in chain.centre_ids()] == [d.code for d in chain.divisions()[1:]]


def test_tree_navigation(city):
    community = city.division("330106001001")
    assert [d.level for d in city.ancestors(community.code)] == [Level.STREET, Level.DISTRICT, Level.CITY]
    assert city.ancestors(city.city.code) == []
    assert community in city.children(community.parent)
    assert city.contains("330106000000", community.code) and city.contains(community.code, community.code)
    assert not city.contains(community.code, "330106000000")
    with pytest.raises(KeyError):
        city.division("330106999999")
    with pytest.raises(KeyError):
        city.centre_of(city.children(community.code)[0].code)  # grids have no centre


def test_regenerating_gives_the_shipped_dataset():
    shipped = gzip.decompress(files("linkduty_shared.jurisdictions").joinpath("data/demo-city.geojson.gz").read_bytes())
    assert content_hash(generate()) == content_hash(shipped), (
        "the generator no longer makes the shipped file: run python -m linkduty_shared.jurisdictions.generate_demo")

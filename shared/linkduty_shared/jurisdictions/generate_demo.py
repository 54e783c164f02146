"""Generate the demo city's dataset: seeded, byte-identical on every run.

    python -m linkduty_shared.jurisdictions.generate_demo [--out PATH]

The city is the disk of H3 resolution-9 cells (~0.1 km² each) around a point in a Hangzhou-like
place; every cell is one micro-grid. It is split into districts, each district into streets and
each street into communities (partition.py). The centre is denser: more, smaller streets and
communities, named 街道/社区; the outskirts get 镇 and 村.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field
from pathlib import Path

import h3

from linkduty_shared.jurisdictions import names
from linkduty_shared.jurisdictions.geojson_format import FORMAT_VERSION, dump_dataset, write_dataset
from linkduty_shared.jurisdictions.partition import HexArea, allocate

DEFAULT_OUT = Path(__file__).parent / "data" / "demo-city.geojson.gz"
SEED = 119
VERSION = "demo-city-1"
RESOLUTION = 9
CITY_CENTRE = (30.27, 120.15)
RADIUS_CELLS = 83  # 20,917 cells, ~2,200 km²
CITY_CODE = "330100000000"
DISTRICT_CODES = ("330102", "330105", "330106", "330108", "330109", "330110", "330113")  # centre outwards
STREETS, COMMUNITIES, STATIONS = 48, 360, 28
MICRO_STATION_SHARE = 1 / 3
JITTER_DEG = 0.0004  # forces stand near, not on, a cell centre (~40 m; a res-9 cell is ~300 m across)


@dataclass
class Region:
    code: str
    name: str
    level: str
    parent: str | None
    area: HexArea
    children: list[Region] = field(default_factory=list)
    base: str = ""  # the name without its suffix (翠苑 of 翠苑街道)


class DemoCity:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.place_names = names.PlaceNames(self.rng)
        cells = h3.grid_disk(h3.latlng_to_cell(*CITY_CENTRE, RESOLUTION), RADIUS_CELLS)
        area = HexArea(cells, {c: h3.cell_to_latlng(c) for c in cells})
        self.city = Region(CITY_CODE, names.CITY_NAME, "city", None, area)
        self.centre = area.centre_of[area.seat()]
        self.radius2 = max(area.distance2(self.centre, p) for p in area.centre_of.values())
        self._carve()

    def remoteness(self, area: HexArea) -> float:
        """0 at the city centre, 1 at its edge."""
        return (area.distance2(self.centre, area.centre_of[area.seat()]) / self.radius2) ** 0.5

    def by_remoteness(self, areas: list[HexArea]) -> list[HexArea]:
        return sorted(areas, key=lambda a: (self.remoteness(a), a.cells[0]))

    def density(self, area: HexArea) -> float:
        """Children per cell grow towards the centre."""
        return len(area.cells) * (1.8 - self.remoteness(area))

    def _carve(self) -> None:
        districts = self.by_remoteness(self.city.area.split(len(DISTRICT_CODES), self.rng))
        for code, area in zip(DISTRICT_CODES, districts):
            base = self.place_names.base()
            self.city.children.append(
                Region(code + "000000", names.district_name(base), "district", CITY_CODE, area, base=base))
        street_counts = allocate(STREETS, [self.density(d.area) for d in self.city.children], minimum=4)
        for district, count in zip(self.city.children, street_counts):
            self._carve_streets(district, count)
        streets = [s for d in self.city.children for s in d.children]
        community_counts = allocate(COMMUNITIES, [self.density(s.area) for s in streets], minimum=3)
        for street, count in zip(streets, community_counts):
            self._carve_communities(street, count)

    def _carve_streets(self, district: Region, count: int) -> None:
        areas = self.by_remoteness(district.area.split(count, self.rng))
        # The district's most central street is a 街道 (the seat of the district government).
        towns = [i > 0 and self.remoteness(a) > 0.5 for i, a in enumerate(areas)]
        serial = {False: 0, True: 100}  # 统计用区划代码: 街道 001-099, 镇 101-199
        for area, is_town in sorted(zip(areas, towns), key=lambda pair: pair[1]):
            serial[is_town] += 1
            base = self.place_names.base()
            code = f"{district.code[:6]}{serial[is_town]:03d}000"
            district.children.append(
                Region(code, names.street_name(base, is_town), "street", district.code, area, base=base))

    def _carve_communities(self, street: Region, count: int) -> None:
        is_town = street.name.endswith("镇")
        seat = street.area.centre_of[street.area.seat()]
        areas = sorted(street.area.split(count, self.rng),
                       key=lambda a: (a.distance2(seat, a.centre_of[a.seat()]), a.cells[0]))
        serial = {False: 0, True: 200}  # 居委会 (社区) 001-199, 村委会 (村) 201-399
        for i, area in enumerate(areas):
            is_village = is_town and i > 0  # a town's own seat is a 社区
            serial[is_village] += 1
            code = f"{street.code[:9]}{serial[is_village]:03d}"
            street.children.append(Region(code, names.community_name(self.place_names.base(), is_village),
                                          "community", street.code, area))
        street.children.sort(key=lambda r: r.code)

    def regions(self, level: str) -> list[Region]:
        found, todo = [], [self.city]
        while todo:
            region = todo.pop()
            found += [region] if region.level == level else []
            todo += region.children
        return sorted(found, key=lambda r: r.code)

    def jittered(self, cell: str) -> list[float]:
        lat, lon = h3.cell_to_latlng(cell)
        return _lonlat(lat + self.rng.uniform(-JITTER_DEG, JITTER_DEG), lon + self.rng.uniform(-JITTER_DEG, JITTER_DEG))


def _lonlat(lat: float, lon: float) -> list[float]:
    return [round(lon, 6), round(lat, 6)]  # GeoJSON order; 6 decimals is ~0.1 m


def _polygon(cells: list[str]) -> dict:
    # 7 decimals (~1 cm) so the outline and the H3 cells agree to well below GPS accuracy.
    def ring(points) -> list[list[float]]:
        return [[round(lon, 7), round(lat, 7)] for lon, lat in points]

    geo = h3.cells_to_geo(cells)
    if geo["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r) for r in geo["coordinates"]]}
    return {"type": "MultiPolygon", "coordinates": [[ring(r) for r in p] for p in geo["coordinates"]]}


def _feature(properties: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _point(lonlat: list[float]) -> dict:
    return {"type": "Point", "coordinates": lonlat}


def division_features(city: DemoCity) -> list[dict]:
    features = [_feature({"kind": "division", "code": r.code, "name": r.name, "level": level, "parent": r.parent},
                         _polygon(r.area.cells))
                for level in ("city", "district", "street", "community") for r in city.regions(level)]
    for community in city.regions("community"):
        # Serials in reading order of a map: north to south, then west to east.
        centre_of = community.area.centre_of
        cells = sorted(community.area.cells, key=lambda c: (-centre_of[c][0], centre_of[c][1]))
        features += [_feature({"kind": "division", "code": f"{community.code}-{serial:04d}",
                               "name": names.grid_name(community.name, serial), "level": "grid",
                               "parent": community.code, "h3_cells": [cell]}, None)
                     for serial, cell in enumerate(cells, 1)]
    return features


def centre_features(city: DemoCity) -> list[dict]:
    return [_feature({"kind": "centre", "id": f"centre-{r.code}", "name": names.centre_name(r.name, level),
                      "level": level, "division_code": r.code}, _point(_lonlat(*r.area.centre_of[r.area.seat()])))
            for level in ("city", "district", "street", "community") for r in city.regions(level)]


def force_features(city: DemoCity) -> list[dict]:
    def force(id_: str, kind: str, name: str, division: str, lonlat: list[float]) -> dict:
        return _feature({"kind": "force", "id": id_, "force_kind": kind, "name": name, "division_code": division},
                        _point(lonlat))

    features = []
    per_district = allocate(STATIONS, [city.density(d.area) for d in city.city.children], minimum=2)
    for district, count in zip(city.city.children, per_district):
        # One station per chosen street, the streets spread over the district.
        street_of_seat = {s.area.seat(): s for s in district.children}
        seats = HexArea(list(street_of_seat), district.area.centre_of).pick_seeds(count, city.rng)
        for n, seat in enumerate(sorted(seats, key=lambda s: street_of_seat[s].code), 1):
            street = street_of_seat[seat]
            near_seat = sorted(set(h3.grid_disk(seat, 3)) & set(street.area.cells))
            features.append(force(f"fs-{district.code[:6]}-{n:02d}", "fire_rescue_station",
                                  names.station_name(street.base), district.code,
                                  city.jittered(city.rng.choice(near_seat))))
    for street in city.regions("street"):
        features.append(force(f"team-{street.code}", "street_team", names.street_team_name(street.name),
                              street.code, city.jittered(street.area.seat())))
    communities = city.regions("community")
    for community in communities:
        features.append(force(f"squad-{community.code}", "community_squad", names.community_squad_name(community.name),
                              community.code, city.jittered(community.area.seat())))
    with_micro_station = city.rng.sample(communities, round(len(communities) * MICRO_STATION_SHARE))
    for community in sorted(with_micro_station, key=lambda r: r.code):
        features.append(force(f"mfs-{community.code}", "micro_fire_station", names.micro_station_name(community.name),
                              community.code, city.jittered(city.rng.choice(community.area.cells))))
    return features


def generate() -> bytes:
    """The demo dataset as JSON bytes (the same bytes on every run)."""
    city = DemoCity()
    meta = {"format": FORMAT_VERSION, "version": VERSION, "grid_h3_resolution": RESOLUTION,
            "description": f"{names.CITY_NAME}: an invented demo city, made by "
                           f"python -m linkduty_shared.jurisdictions.generate_demo (seed {SEED})"}
    return dump_dataset(meta, division_features(city) + centre_features(city) + force_features(city))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    raw = generate()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_dataset(args.out, raw)
    print(f"wrote {args.out}: {args.out.stat().st_size:,} bytes ({len(raw):,} uncompressed)")


if __name__ == "__main__":
    main()

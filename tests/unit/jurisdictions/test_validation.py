"""A bad dataset fails at load with a ValueError that names the feature to fix."""

from __future__ import annotations

import pytest

from linkduty_shared.jurisdictions import Directory
from tests.unit.jurisdictions.small_city import (EAST_COMMUNITY, MID_LAT, MID_LON, NE, NW, SE, SOUTH, box, centre,
                                                 division, feature, small_city, write)


def set_property(code_or_id: str, key: str, value):
    def mutate(doc: dict) -> None:
        feature(doc, code_or_id)["properties"][key] = value
    return mutate


def drop(code_or_id: str):
    def mutate(doc: dict) -> None:
        doc["features"].remove(feature(doc, code_or_id))
    return mutate


def append(*features: dict):
    def mutate(doc: dict) -> None:
        doc["features"].extend(features)
    return mutate


def set_top(key: str, value):
    def mutate(doc: dict) -> None:
        doc[key] = value
    return mutate


def set_geometry(code_or_id: str, geometry):
    def mutate(doc: dict) -> None:
        feature(doc, code_or_id)["geometry"] = geometry
    return mutate


def list_cell_in_two_grids(doc: dict) -> None:
    for grid in (NW, NE):
        feature(doc, grid)["properties"]["h3_cells"] = ["8a309a5523a7fff"]


BOW_TIE = {"type": "Polygon", "coordinates": [[[120.0, MID_LAT], [MID_LON, 30.01], [MID_LON, MID_LAT], [120.0, 30.01],
                                                [120.0, MID_LAT]]]}
EMPTY_COMMUNITY = "330102001003"

CASES = {
    "parent missing": (set_property(NE, "parent", "330102001009"),
                       rf"division {NE}\).*parent 330102001009 does not exist"),
    "code does not nest": (set_property("330102001001", "code", "330102002001"),
                           r"division 330102002001\).*does not nest"),
    "code of the wrong shape": (set_property("330102001000", "code", "3301020010"),
                                r"division 3301020010\).*shape of a street"),
    "grid code outside its community": (set_property(NE, "code", "330102001001-0009"), r"0009\).*does not nest"),
    "wrong parent level": (set_property(NE, "parent", "330102001000"), r"a grid's parent must be a community"),
    "duplicate code": (append(division(NE, "重复", "grid", EAST_COMMUNITY, box(120.1, 30.1, 120.2, 30.2))),
                       rf"division {NE}\): duplicate code"),
    "two cities": (append(division("330200000000", "另一市", "city", None)), r"exactly one city"),
    "community without a centre": (drop("centre-330102001002"), r"division 330102001002\).*no operations centre"),
    "centre with a foreign id": (set_property("centre-330102001002", "id", "east-platform"),
                                 r"centre east-platform\).*must be 'centre-330102001002'"),
    "centre of a grid": (append(centre(NE, "网格中心", "grid")), r"grids have no centre"),
    "community without grids": (append(division(EMPTY_COMMUNITY, "空社区", "community", "330102001000"),
                                       centre(EMPTY_COMMUNITY, "空社区平台", "community")),
                                rf"division {EMPTY_COMMUNITY}\).*has no grid"),
    "unknown level": (set_property(NW, "level", "block"), rf"division {NW}\).*\"level\" must be one of"),
    "unknown force kind": (set_property("team-1", "force_kind", "fire_engine"), r"force team-1\).*force_kind must be"),
    "force of an unknown division": (set_property("squad-1", "division_code", "330102001007"),
                                     r"force squad-1\).*330102001007 does not exist"),
    "grid without geometry or cells": (set_geometry(NW, None), rf"{NW}\).*needs a Polygon"),
    "bad H3 cell": (set_property(NW, "h3_cells", ["not-a-cell"]), r"'not-a-cell' is not an H3 cell"),
    "H3 cell of another resolution": (set_property(NW, "h3_cells", ["89309a5523bffff"]),
                                      r"not an H3 cell of resolution 10"),
    "cell listed by two grids": (list_cell_in_two_grids, r"listed by grid"),
    "overlapping polygon grids": (set_geometry(SE, box(MID_LON - 0.005, SOUTH, 120.02, MID_LAT)), r"overlaps grid"),
    "self-intersecting polygon": (set_geometry(NW, BOW_TIE), rf"{NW}\).*not a valid polygon"),
    "force without a point": (set_geometry("team-1", None), r"force team-1\).*Point"),
    "not a FeatureCollection": (set_top("type", "Feature"), r"FeatureCollection"),
    "no linkduty header": (lambda doc: doc.pop("linkduty"), r'"linkduty": \{"format": 1'),
    "no resolution": (lambda doc: doc["linkduty"].pop("grid_h3_resolution"), r"grid_h3_resolution"),
    "unknown feature kind": (append({"type": "Feature", "properties": {"kind": "hydrant"}, "geometry": None}),
                             r'feature #\d+ \(hydrant None\): "kind" must be'),
}


@pytest.mark.parametrize("mutate, message", CASES.values(), ids=CASES.keys())
def test_invalid_dataset_is_refused_with_a_clear_message(tmp_path, mutate, message):
    doc = small_city()
    mutate(doc)
    with pytest.raises(ValueError, match=message):
        Directory.load(write(doc, tmp_path / "bad.geojson"))


def test_not_json_at_all(tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text("{ nope")
    with pytest.raises(ValueError, match="not JSON"):
        Directory.load(path)


def test_error_names_the_feature_index(tmp_path):
    doc = small_city()
    index = doc["features"].index(feature(doc, NE))
    feature(doc, NE)["properties"]["parent"] = "330102001009"
    with pytest.raises(ValueError, match=rf"^feature #{index} \(division {NE}\): parent 330102001009 does not exist$"):
        Directory.load(write(doc, tmp_path / "bad.geojson"))

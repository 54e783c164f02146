"""A street's ledger read from CSV or GeoJSON, pure: rows by line, bad ones with why."""

import json

import pytest

from hazards.application.venue_import import MAX_ROWS, LedgerUnreadable, read_csv, read_geojson


def test_csv_rows_are_numbered_by_their_line_in_the_file_quoted_newlines_included():
    text = ('id,kind,name,lat,lon,responsible_phone\n'
            'A,small_shop,"甲\n商店",30.1,120.1,13912345678\n'
            'B,,乙,30.1,120.1,\n'
            'C,market,丙,30.1,120.1,,extra\n')
    rows = read_csv(text)
    assert [r.line for r in rows] == [3, 4, 5]
    assert rows[0].venue.name == "甲\n商店" and rows[0].venue.ledger_ref == "A"
    assert rows[0].venue.responsible.phone == "13912345678"
    assert rows[1].errors == ("kind: required",) and "more than the header" in rows[2].errors[0]


@pytest.mark.parametrize(("cell", "complaint"), [("nan", "outside"), ("1e999", "outside"), ("north", "not a number"),
                                                  ("", "required")])
def test_a_bad_coordinate_is_the_rows_fault_not_the_files(cell, complaint):
    (row,) = read_csv(f"kind,name,lat,lon\nsmall_shop,甲,{cell},120\n")
    assert row.venue is None and complaint in " ".join(row.errors)


def test_a_csv_without_the_required_columns_or_with_too_many_rows_is_refused_whole():
    with pytest.raises(LedgerUnreadable, match="header"):
        read_csv("name,lat\n甲,1\n")
    with pytest.raises(LedgerUnreadable, match="empty"):
        read_csv("")
    with pytest.raises(LedgerUnreadable, match="rows"):
        read_csv("kind,name,lat,lon\n" + "small_shop,甲,30,120\n" * (MAX_ROWS + 1))


def test_geojson_features_take_their_point_from_the_geometry_lon_first():
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.1, 30.2]},
         "properties": {"kind": "market", "name": "菜场", "floor_area_m2": "900"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": ["x", 30]}, "properties": {}},
        "not a feature",
        {"type": "Feature", "geometry": None, "properties": {"kind": "market", "name": 7, "lat": 30, "lon": 120}},
    ]}
    rows = read_geojson(json.dumps(doc))
    assert (rows[0].venue.lat, rows[0].venue.lon, rows[0].venue.floor_area_m2) == (30.2, 120.1, 900.0)
    assert rows[1].venue is None and rows[2].venue is None
    assert rows[3].venue.name == "7"


@pytest.mark.parametrize("text", ["[", "[]", '{"type": "Feature"}', "[" * 100_000])
def test_what_is_not_a_feature_collection_is_refused_whole(text):
    with pytest.raises(LedgerUnreadable):
        read_geojson(text)

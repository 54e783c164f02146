"""The hazard taxonomy as data: the shipped file, and every mistake an edit can make refused at load."""

import datetime as dt

import pytest

from hazards.domain.categories import default_taxonomy, parse_taxonomy
from hazards.domain.values import Severity

# What issue 11 asks the taxonomy to hold, at least.
REQUIRED = {"evacuation_route_blocked", "ebike_indoors", "flying_wire_charging", "fire_equipment_defective",
            "corridor_cluttered", "electrical_wiring", "gas_hazard", "fire_door_defective", "three_in_one_premises",
            "combustibles_stored"}

GOOD = """
version = "t1"
[[category]]
id = "a"
name_zh = "甲"
name_en = "A"
default_severity = "moderate"
rectify_within_hours = { minor = 72, moderate = 24, major = 4 }
reinspect_after_days = 14
compatible = ["b"]
[[category]]
id = "b"
name_zh = "乙"
name_en = "B"
default_severity = "minor"
rectify_within_hours = { minor = 48, moderate = 48, major = 12 }
reinspect_after_days = 7
"""


def test_the_shipped_taxonomy_has_every_category_the_issue_lists_with_chinese_and_english_names():
    taxonomy = default_taxonomy()
    assert REQUIRED <= set(taxonomy.ids())
    flying = taxonomy["flying_wire_charging"]
    assert flying.name_zh == "飞线充电" and "charging" in flying.name_en.lower()
    assert "三合一" in taxonomy["three_in_one_premises"].name_zh


def test_a_graver_severity_never_gets_a_longer_deadline_in_the_shipped_taxonomy():
    for category in default_taxonomy().categories.values():
        hours = [category.rectify_within[s] for s in (Severity.MINOR, Severity.MODERATE, Severity.MAJOR)]
        assert hours == sorted(hours, reverse=True), category.id


def test_compatibility_is_symmetric_and_reflexive_though_listed_on_one_side():
    taxonomy = parse_taxonomy(GOOD)
    assert taxonomy.compatible("a", "b") and taxonomy.compatible("b", "a")
    assert taxonomy.compatible("b", "b")
    assert not default_taxonomy().compatible("gas_hazard", "corridor_cluttered")
    assert not taxonomy.compatible("a", "nonexistent")


def test_deadlines_follow_category_and_severity():
    a = parse_taxonomy(GOOD)["a"]
    at = dt.datetime(2026, 5, 1, 8, tzinfo=dt.UTC)
    assert a.rectification_due("major", at) == at + dt.timedelta(hours=4)
    assert a.rectification_due(Severity.MINOR, at) == at + dt.timedelta(hours=72)
    assert a.reinspection_due(at) == at + dt.timedelta(days=14)


@pytest.mark.parametrize("edit, complaint", [
    (lambda t: t.replace('version = "t1"', ""), "version"),
    (lambda t: t.replace('id = "b"', 'id = "a"'), "listed twice"),
    (lambda t: t.replace('id = "b"', 'id = "B-2"'), "snake_case"),
    (lambda t: t.replace('compatible = ["b"]', 'compatible = ["zzz"]'), "unknown category 'zzz'"),
    (lambda t: t.replace('default_severity = "minor"', 'default_severity = "dire"'), "default_severity"),
    (lambda t: t.replace("minor = 48, moderate = 48, major = 12", "minor = 48, major = 12"), "exactly"),
    (lambda t: t.replace("minor = 48, moderate = 48, major = 12", "minor = 4, moderate = 48, major = 12"),
     "must not grow"),
    (lambda t: t.replace("minor = 72, moderate = 24, major = 4", "minor = 72, moderate = 24, major = 0"),
     "(0, 8760]"),
    (lambda t: t.replace("reinspect_after_days = 7", "reinspect_after_days = 0"), "reinspect_after_days"),
    (lambda t: t.replace('name_en = "B"', 'name_en = " "'), "name_en"),
    (lambda t: t + 'colour = "red"\n', "unknown key(s) colour"),
    (lambda t: t.replace("[[category]]", "[[category", 1), "not valid TOML"),
])
def test_a_bad_taxonomy_is_refused_naming_what_is_wrong(edit, complaint):
    with pytest.raises(ValueError, match=None) as error:
        parse_taxonomy(edit(GOOD))
    assert complaint in str(error.value)

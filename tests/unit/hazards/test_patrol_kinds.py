"""A joint patrol's hazard kinds (units.events) onto the taxonomy, as data: the shipped mapping
files every kind the contract lists under its own category, an unknown kind under the default,
and a mapping naming a category the taxonomy lacks stops the service at start-up."""

import pytest

from hazards.domain.categories import default_taxonomy, parse_taxonomy
from hazards.domain.patrol_kinds import parse_patrol_kinds, shipped_patrol_kinds_text
from linkduty_shared.contracts.units import PATROL_HAZARD_KINDS
from tests.unit.hazards.test_categories import GOOD


def shipped():
    return parse_patrol_kinds(shipped_patrol_kinds_text(), default_taxonomy())


@pytest.mark.parametrize("kind, category", [
    ("e_bike_charging", "ebike_indoors"),
    ("blocked_passage", "evacuation_route_blocked"),
    ("blocked_fire_lane", "fire_lane_blocked"),
    ("three_in_one_premises", "three_in_one_premises"),
    ("electrical_wiring", "electrical_wiring"),
    ("flammables_storage", "combustibles_stored"),
    ("fire_equipment_fault", "fire_equipment_defective"),
    ("other", "other"),
])
def test_each_patrol_kind_is_filed_under_its_category(kind, category):
    assert shipped().category_of(kind) == category


def test_every_kind_the_contract_lists_is_mapped_and_only_other_lands_on_the_default():
    kinds = shipped()
    assert all(kinds.knows(kind) for kind in PATROL_HAZARD_KINDS)
    assert {kind for kind in PATROL_HAZARD_KINDS if kinds.category_of(kind) == kinds.default} == {"other"}


def test_a_kind_units_adds_later_is_filed_under_the_default_category():
    kinds = shipped()
    assert not kinds.knows("balcony_barbecue") and kinds.category_of("balcony_barbecue") == "other"


@pytest.mark.parametrize("text, named", [
    ('default = "other"\n[kinds]\nother = "other"', "'default' must name a category"),  # GOOD has only a, b
    ('default = "a"\n[kinds]\ne_bike_charging = "ebike_indoors"', "e_bike_charging: 'ebike_indoors'"),
    ('default = "a"\n[kinds]\n"E-Bike" = "a"', "snake_case"),
    ('default = "a"\n[kinds]\nx = 3', "x: 3 is no category"),
    ('default = "a"\nkinds = ["a"]', "must be a table"),
    ('default = "a"\nextra = 1', "unknown top-level"),
    ('default = ', "not valid TOML"),
])
def test_a_mapping_that_does_not_fit_the_taxonomy_is_refused_naming_what_is_wrong(text, named):
    with pytest.raises(ValueError, match=named):
        parse_patrol_kinds(text, parse_taxonomy(GOOD))


def test_a_taxonomy_of_ones_own_needs_its_own_mapping_or_the_service_does_not_start(tmp_path):
    from hazards.bootstrap import build_app
    from hazards.config import HazardsSettings

    (taxonomy := tmp_path / "categories.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(ValueError, match="patrol kinds"):
        build_app(HazardsSettings(categories_path=str(taxonomy)))
    (mapping := tmp_path / "patrol_kinds.toml").write_text('default = "b"\n[kinds]\nother = "b"', encoding="utf-8")
    with pytest.raises(ValueError, match="venue kinds"):  # the shipped checklists name categories it lacks
        build_app(HazardsSettings(categories_path=str(taxonomy), patrol_kinds_path=str(mapping)))
    (kinds := tmp_path / "venue_kinds.toml").write_text(
        'version = "v"\n[[item]]\nid = "i"\ntext_zh = "甲"\ntext_en = "i"\ncategory = "b"\n'
        '[[kind]]\nid = "k"\nname_zh = "乙"\nname_en = "k"\ngroup = "large"\ninspect_every_days = 30\nitems = ["i"]\n',
        encoding="utf-8")
    with pytest.raises(ValueError, match="volunteer_findings_category"):  # "other" is not one of its own
        build_app(HazardsSettings(categories_path=str(taxonomy), patrol_kinds_path=str(mapping),
                                  venue_kinds_path=str(kinds)))
    with pytest.raises(ValueError, match="device_troubles_category"):  # nor is "detector_maintenance"
        build_app(HazardsSettings(categories_path=str(taxonomy), patrol_kinds_path=str(mapping),
                                  venue_kinds_path=str(kinds), volunteer_findings_category="b"))
    build_app(HazardsSettings(categories_path=str(taxonomy), patrol_kinds_path=str(mapping),
                              venue_kinds_path=str(kinds), volunteer_findings_category="b",
                              device_troubles_category="b"))

"""The Venue and Inspection aggregates and the venue kinds' data, pure."""

import datetime as dt

import pytest

from hazards.domain.categories import default_taxonomy
from hazards.domain.venue import Contact, Inspection, ItemAnswer, Participant, Venue
from hazards.domain.venue_kinds import parse_venue_kinds, shipped_venue_kinds_text
from linkduty_shared.domain import IllegalTransition, InvariantViolated

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
KINDS = parse_venue_kinds(shipped_venue_kinds_text(), default_taxonomy())
SHOP = KINDS["small_shop"]
JURISDICTION = {"grid": "g", "community": "c", "street": "s", "district": "d", "city": "x"}


def a_venue(kind=SHOP, at=T0) -> Venue:
    v = Venue("v1")
    v.register(kind=kind, name="甲商店", location={"lat": 30.0, "lon": 120.0, "address": None},
               jurisdiction=JURISDICTION, risk_class="low", floor_area_m2=40.0, responsible=Contact("139****5678", "r1"),
               contact=Contact(None, None), ledger_ref=None, by="office", at=at)
    return v


def all_passed(kind=SHOP, **results) -> list[ItemAnswer]:
    return [ItemAnswer(i.id, *results.get(i.id, ("passed", None))) for i in kind.checklist]


def test_the_shipped_kinds_cover_the_nine_small_places_and_every_item_opens_a_known_category():
    nine = [k for k in KINDS.kinds.values() if k.group == "nine_small"]
    assert len(nine) == 10  # the nine small places, schools and nurseries counted with them
    assert {"residential_compound", "high_rise", "warehouse_logistics", "market"} <= set(KINDS.ids())
    taxonomy = default_taxonomy()
    assert all(item.category in taxonomy for k in KINDS.kinds.values() for item in k.checklist)


@pytest.mark.parametrize(("text", "complaint"), [
    ('version = "v"\n[[item]]\nid = "i"\ntext_zh = "a"\ntext_en = "a"\ncategory = "nope"', "no category"),
    ('version = "v"\n[[kind]]\nid = "k"\nname_zh = "a"\nname_en = "a"\ngroup = "large"\n'
     'inspect_every_days = 30\nitems = ["ghost"]', "unknown checklist item"),
    ('version = "v"\n[[item]]\nid = "i"\ntext_zh = "a"\ntext_en = "a"\ncategory = "other"\n[[kind]]\nid = "k"\n'
     'name_zh = "a"\nname_en = "a"\ngroup = "large"\ninspect_every_days = 0\nitems = ["i"]', "inspect_every_days"),
    ('version = "v"\n[[item]]\nid = "i"\ntext_zh = "a"\ntext_en = "a"\ncategory = "other"\n[[kind]]\nid = "k"\n'
     'name_zh = "a"\nname_en = "a"\ngroup = "castle"\ninspect_every_days = 3\nitems = ["i"]', "group"),
    ('version = "v"', "at least one"),
])
def test_a_bad_venue_kinds_file_names_what_is_wrong(text, complaint):
    with pytest.raises(ValueError, match=complaint):
        parse_venue_kinds(text, default_taxonomy())


def test_a_registered_venue_falls_due_by_its_kinds_interval_and_a_new_kind_moves_the_date():
    v = a_venue()
    assert v.inspection_due_at == (T0 + SHOP.inspect_every).isoformat()
    assert v.change_details(by="office", at=T0, kind=KINDS["small_hotel"])
    assert v.inspection_due_at == (T0 + KINDS["small_hotel"].inspect_every).isoformat()
    assert not v.change_details(by="office", at=T0, name="甲商店")  # the same: nothing recorded


def test_an_inspection_entered_late_moves_no_due_date_back():
    v = a_venue()
    v.inspected(inspection_id="i2", inspection_kind="patrol", inspected_at=T0 + dt.timedelta(days=20), kind=SHOP,
                at=T0 + dt.timedelta(days=20))
    v.inspected(inspection_id="i1", inspection_kind="patrol", inspected_at=T0 + dt.timedelta(days=10), kind=SHOP,
                at=T0 + dt.timedelta(days=21))
    assert v.inspection_due_at == (T0 + dt.timedelta(days=20) + SHOP.inspect_every).isoformat()
    assert v.last_inspected_at == (T0 + dt.timedelta(days=20)).isoformat()


def test_an_overdue_inspection_escalates_once_per_level_and_stops_at_the_district():
    v = a_venue()
    late = T0 + SHOP.inspect_every + dt.timedelta(hours=1)
    assert v.escalate_inspection(at=late, kind=SHOP) and v.handling_level == "street"
    assert not v.escalate_inspection(at=late, kind=SHOP)  # the street has the interval again
    later = late + SHOP.inspect_every
    assert v.escalate_inspection(at=later, kind=SHOP) and v.handling_level == "district"
    assert not v.escalate_inspection(at=later + 2 * SHOP.inspect_every, kind=SHOP)


def test_risk_classes_are_kept_over_time_with_their_reasons():
    v = a_venue()
    assert v.classify(risk_class="high", reason="三合一", by="office", at=T0)
    assert not v.classify(risk_class="high", reason="again", by="office", at=T0)
    with pytest.raises(InvariantViolated):
        v.classify(risk_class="extreme", reason="x", by="office", at=T0)
    assert [s["risk_class"] for s in v.risk_history] == ["low", "high"]


def test_a_deregistered_venue_takes_no_inspection():
    v = a_venue()
    v.deregister(reason="关停", by="office", at=T0)
    with pytest.raises(IllegalTransition):
        Inspection("i").record(venue=v, kind=SHOP, checklist_version="1", inspection_kind="patrol", inspected_at=T0,
                               answers=all_passed(), participants=[], hazard_ids={}, reinspected=[], by="gw", at=T0)


def test_an_inspection_records_the_hazard_each_failed_or_fixed_item_opens():
    v = a_venue()
    answers = all_passed(wiring_safe=("failed", "私拉电线"), no_ebike_indoors=("fixed_on_spot", "已推出"))
    i = Inspection("i")
    i.record(venue=v, kind=SHOP, checklist_version="1", inspection_kind="joint", inspected_at=T0, answers=answers,
             participants=[Participant("street_office", "so"), Participant("fire_station", "fs")],
             hazard_ids={"wiring_safe": "h1", "no_ebike_indoors": "h2"}, reinspected=[], by="gw", at=T0)
    items = {x["item_id"]: x for x in i.recorded.items}
    assert items["wiring_safe"]["hazard_id"] == "h1" and items["wiring_safe"]["category"] == "electrical_wiring"
    assert items["no_ebike_indoors"]["result"] == "fixed_on_spot" and items["no_ebike_indoors"]["hazard_id"] == "h2"
    assert items["evacuation_route_clear"]["hazard_id"] is None


@pytest.mark.parametrize(("answers", "participants", "kind", "complaint"), [
    (all_passed()[1:], [], "patrol", "unanswered"),
    (all_passed() + [ItemAnswer("gas_safe", "passed")], [], "patrol", "not on the"),
    (all_passed() + all_passed()[:1], [], "patrol", "twice"),
    (all_passed(wiring_safe=("failed", None)), [], "patrol", "say what was found"),
    (all_passed(), [Participant("fire_station", "fs")], "joint", "street_office"),
    (all_passed(), [], "drive_by", "kind"),
])
def test_an_inspection_refuses_a_checklist_that_is_not_the_kinds_or_a_joint_one_without_its_partners(
        answers, participants, kind, complaint):
    with pytest.raises(InvariantViolated, match=complaint):
        Inspection("i").record(venue=a_venue(), kind=SHOP, checklist_version="1", inspection_kind=kind,
                               inspected_at=T0, answers=answers, participants=participants,
                               hazard_ids={"wiring_safe": "h"}, reinspected=[], by="gw", at=T0)


def test_an_inspection_is_not_in_the_future():
    with pytest.raises(InvariantViolated, match="future"):
        Inspection("i").record(venue=a_venue(), kind=SHOP, checklist_version="1", inspection_kind="patrol",
                               inspected_at=T0 + dt.timedelta(minutes=5), answers=all_passed(), participants=[],
                               hazard_ids={}, reinspected=[], by="gw", at=T0)

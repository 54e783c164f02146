"""The pre-incident picture, pure: which venue an alarm is at, which hazards around it matter and
in what order, the headline, and that a picture is attached once and keeps to its contract."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from hazards.domain.alarm_context import AlarmContext, NearbyHazard, NearbyVenue, picture
from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts.alarm_context import CONTEXT_ATTACHED_TYPE, MAX_HAZARDS, alarm_context_from_data

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
LAT, LON = 30.27, 120.16
M = 1 / 111_000  # a metre of latitude, in degrees
CHAIN = {"grid": "g1", "community": "c1", "street": "s1", "district": "d1", "city": "x"}


def venue(venue_id: str, north_m: float, **overrides) -> NearbyVenue:
    fields = dict(venue_id=venue_id, name=f"老街饭馆 {venue_id}", kind="small_restaurant", kind_name="小餐饮",
                  risk_class="high", lat=LAT + north_m * M, lon=LON, last_inspected_at=NOW - dt.timedelta(days=40),
                  last_inspection_kind="joint", inspection_due_at=NOW - dt.timedelta(days=10))
    return NearbyVenue(**fields | overrides)


def hazard(hazard_id: str, north_m: float, *, due_in_days: float | None = 2, venue_id: str | None = None,
           description: str = "北侧安全出口上锁", reported_days_ago: float = 3) -> NearbyHazard:
    return NearbyHazard(hazard_id, "evacuation_route_blocked", "major", "rectifying", description, LAT + north_m * M,
                        LON, venue_id, NOW - dt.timedelta(days=reported_days_ago),
                        None if due_in_days is None else NOW + dt.timedelta(days=due_in_days))


def take(venues=(), hazards=()):
    return picture("a1", LAT, LON, CHAIN, venues, hazards, now=NOW)


def test_the_alarm_is_at_the_nearest_active_venue_within_50_m_and_at_none_beyond():
    taken = take([venue("far", 80), venue("near", 20), venue("nearer", -10)])
    assert taken.venue["venue_id"] == "nearer" and taken.venue["distance_m"] == pytest.approx(10, abs=0.5)
    assert take([venue("far", 60)]).venue is None


def test_the_venue_says_its_kind_risk_class_last_inspection_and_that_one_is_overdue():
    v = take([venue("v", 5)]).venue
    assert (v["kind"], v["kind_name"], v["risk_class"], v["last_inspection_kind"]) == (
        "small_restaurant", "小餐饮", "high", "joint")
    assert v["last_inspected_at"] == (NOW - dt.timedelta(days=40)).isoformat() and v["inspection_overdue"] is True
    fresh = take([venue("v", 5, inspection_due_at=NOW + dt.timedelta(days=1), last_inspected_at=None,
                        last_inspection_kind=None)]).venue
    assert fresh["inspection_overdue"] is False and fresh["last_inspected_at"] is None


def test_open_hazards_within_100_m_are_listed_the_venues_own_first_then_overdue_then_nearest():
    taken = take([venue("v", 0)], [
        hazard("near-not-due", 10), hazard("far-overdue", 90, due_in_days=-1), hazard("beyond", 150),
        hazard("own-far", 300, venue_id="v"), hazard("nearest-no-deadline", 5, due_in_days=None)])
    assert [h["hazard_id"] for h in taken.hazards] == ["own-far", "far-overdue", "nearest-no-deadline", "near-not-due"]
    assert [h["overdue"] for h in taken.hazards] == [False, True, False, False]
    assert taken.hazards[0]["at_the_venue"] is True and not any(h["at_the_venue"] for h in taken.hazards[1:])
    assert (taken.open_hazards, taken.overdue_hazards, taken.venue["open_hazards"]) == (4, 1, 1)


def test_at_most_a_page_of_hazards_is_listed_but_all_are_counted():
    taken = take(hazards=[hazard(f"h{i:02}", i) for i in range(MAX_HAZARDS + 5)])
    assert len(taken.hazards) == MAX_HAZARDS and taken.open_hazards == MAX_HAZARDS + 5
    assert taken.hazards[0]["hazard_id"] == "h00"


def test_the_headline_names_the_venue_and_the_first_hazard_as_a_dispatcher_reads_it():
    taken = take([venue("v", 0)], [hazard("h", 30, due_in_days=-0.5, venue_id="v"), hazard("x", 60)])
    assert taken.headline == ("At 老街饭馆 v (小餐饮, risk high; last inspected 40 days ago, inspection overdue). "
                              "2 open hazards within 100 m, 1 overdue: 北侧安全出口上锁, reported 3 days ago, overdue")
    assert take().headline == "No open hazard within 100 m."


def test_the_picture_keeps_to_the_contract_linkage_checks():
    taken = take([venue("v", 0)], [hazard("h", 30, venue_id="v")])
    checked = alarm_context_from_data(CONTEXT_ATTACHED_TYPE, taken.to_data())
    assert checked.alarm_id == "a1" and checked.venue.venue_id == "v" and checked.hazards[0].hazard_id == "h"
    assert dataclasses.asdict(checked)["jurisdiction"] == CHAIN
    broken = taken.to_data() | {"hazards": [{**taken.to_data()["hazards"][0], "severity": "apocalyptic"}]}
    with pytest.raises(ContractViolation, match="hazards.0.severity"):
        alarm_context_from_data(CONTEXT_ATTACHED_TYPE, broken)
    with pytest.raises(ContractViolation, match="no event"):
        alarm_context_from_data("linkduty.alarm_context.AlarmContextRevised", taken.to_data())


def test_a_picture_is_attached_once_the_first_stands():
    context = AlarmContext("a1")
    first = take()
    assert context.attach(first) == [first]
    assert context.attach(take([venue("v", 0)])) == [] and context.attached is first

"""The intake's pure rules: duplicate candidates, recurrences, the triage deadline."""

import datetime as dt

from hazards.domain.categories import default_taxonomy
from hazards.domain.rules import Report, Sighting, duplicate_candidates, latest_recurrence, recurrence_of, triage_due

T = default_taxonomy()
NOW = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
LAT, LON = 30.25, 120.15
M = 1 / 111_000  # one metre of latitude, in degrees


def report(category="ebike_indoors", venue_id=None, lat=LAT) -> Report:
    return Report(category=category, lat=lat, lon=LON, reported_at=NOW, venue_id=venue_id)


def open_one(hazard_id, metres, category="ebike_indoors", status="accepted") -> Sighting:
    return Sighting(hazard_id, category, status, LAT + metres * M, LON)


def closed_one(hazard_id, metres, days_ago, category="ebike_indoors", venue_id=None, status="closed") -> Sighting:
    return Sighting(hazard_id, category, status, LAT + metres * M, LON, venue_id, NOW - dt.timedelta(days=days_ago))


def test_open_hazards_of_a_compatible_category_within_50_m_are_candidates_nearest_first():
    found = duplicate_candidates(T, report(), [
        open_one("far", 60), open_one("near", 10), open_one("mid", 40, category="flying_wire_charging"),
        open_one("gas", 5, category="gas_hazard"), open_one("closed", 5, status="closed"),
        open_one("rejected", 5, status="rejected"), open_one("merged", 5, status="merged"),
    ])
    assert [h for h, _ in found] == ["near", "mid"]
    assert 9 < found[0][1] < 11


def test_an_untriaged_report_is_a_candidate_too_and_at_most_five_are_offered():
    found = duplicate_candidates(T, report(), [open_one(f"h{i}", i, status="reported") for i in range(8)])
    assert [h for h, _ in found] == ["h0", "h1", "h2", "h3", "h4"]


def test_the_same_category_at_the_same_venue_within_90_days_of_closing_is_a_recurrence_however_far():
    r = recurrence_of(report(venue_id="v1"), closed_one("old", 400, 89, venue_id="v1"))
    assert r is not None and r.rule == "same_venue" and r.previous_hazard_id == "old"


def test_the_same_category_within_30_m_of_a_closed_one_is_a_recurrence():
    assert recurrence_of(report(), closed_one("old", 25, 10)).rule == "nearby"
    assert recurrence_of(report(), closed_one("old", 35, 10)) is None
    assert recurrence_of(report(), closed_one("old", 5, 10, status="confirmed")).rule == "nearby"


def test_no_recurrence_after_90_days_for_another_category_or_of_a_hazard_not_fixed():
    assert recurrence_of(report(), closed_one("old", 5, 91)) is None
    assert recurrence_of(report(), closed_one("old", 5, 10, category="flying_wire_charging")) is None
    assert recurrence_of(report(), closed_one("old", 5, 10, status="rectifying")) is None
    assert recurrence_of(report(), closed_one("old", 5, 10, status="rejected")) is None
    assert recurrence_of(report(), closed_one("old", 5, -1)) is None  # closed after this report: not before it


def test_the_most_recently_closed_of_several_is_the_one_linked():
    r = latest_recurrence(report(), [closed_one("older", 5, 60), closed_one("newer", 20, 3), closed_one("x", 80, 1)])
    assert r.previous_hazard_id == "newer"


def test_untriaged_becomes_overdue_by_severity():
    within = {"minor": dt.timedelta(hours=72), "moderate": dt.timedelta(hours=24), "major": dt.timedelta(hours=2)}
    assert triage_due("major", NOW, within) == NOW + dt.timedelta(hours=2)

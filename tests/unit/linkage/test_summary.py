"""The console summary folded from an alarm's public events: a networked detector's alarm."""

from linkage.summary import fold

ALONE_82 = {"kind": "resident", "age_band": "80_89", "mobility": "needs_help_on_stairs", "lives_alone": True}


def reported(vulnerability=None, source="device") -> dict:
    return {"kind": "fire", "severity": "major", "description": "联网烟感报警", "received_at": "2026-12-04T08:00:00+00:00",
            "location": {"lat": 30.0, "lon": 120.0, "address": "3幢 5层 502", "place": "home"},
            "jurisdiction": {"grid": "g", "community": "C", "street": "S", "district": "D", "city": "X"},
            "source": source, "vulnerability": vulnerability}


def test_the_summary_shows_who_is_likely_inside_and_the_source():
    summary = fold(None, "a1", "AlarmReported", reported(ALONE_82), 1)
    assert summary.vulnerability == ALONE_82 and summary.source == "device" and not summary.possible_false_alarm


def test_a_further_call_with_the_vulnerability_fills_it_in_and_takes_a_possible_false_alarm_back():
    summary = fold(None, "a1", "AlarmReported", reported(), 1)
    summary = fold(summary, "a1", "DeviceClearReported", {"alarm_possible_false_alarm": True}, 2)
    assert summary.possible_false_alarm and summary.call_count == 1
    summary = fold(summary, "a1", "CallLinked", {"vulnerability": ALONE_82}, 3)
    assert summary.vulnerability == ALONE_82 and not summary.possible_false_alarm and summary.call_count == 2
    kept = fold(summary, "a1", "CallLinked", {"vulnerability": {"kind": "premises"}}, 4)
    assert kept.vulnerability == ALONE_82


def test_a_redelivered_clear_changes_nothing():
    summary = fold(None, "a1", "AlarmReported", reported(), 1)
    summary = fold(summary, "a1", "CallLinked", {}, 2)
    assert fold(summary, "a1", "DeviceClearReported", {"alarm_possible_false_alarm": True}, 2) is summary

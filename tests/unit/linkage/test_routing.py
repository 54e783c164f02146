"""Routing and summaries, pure: who sees an alarm, and what they see of it."""

import pytest

from linkage.routing import RoutingConfig, Rule, recipients
from linkage.summary import fold
from linkduty_shared.jurisdictions import Level, load_demo_city


@pytest.fixture(scope="module")
def city():
    return load_demo_city()


def reported(city, *, kind="fire", severity="moderate", index=0):
    community = city.divisions(level=Level.COMMUNITY)[index]
    chain = city.resolve(community.lat, community.lon)
    data = {"kind": kind, "severity": severity, "description": "", "received_at": "2026-11-23T08:00:00+00:00",
            "location": {"lat": community.lat, "lon": community.lon}, "jurisdiction": {
                "grid": chain.grid.code, "community": chain.community.code, "street": chain.street.code,
                "district": chain.district.code, "city": chain.city.code}}
    return fold(None, "a1", "AlarmReported", data, 1), chain


def test_default_audience_is_exactly_the_chain(city):
    summary, chain = reported(city)
    assert recipients(city, summary, ()) == {cid: "jurisdiction" for cid in chain.centre_ids()}


def test_a_major_fire_also_reaches_the_neighbouring_streets(city):
    config = RoutingConfig.load()
    summary, chain = reported(city, severity="major")
    audience = recipients(city, summary, config.rules)
    neighbours = {city.centre_of(s.code).id for s in city.neighbours(chain.street.code)}
    assert neighbours and neighbours <= set(audience)
    assert {audience[c] for c in neighbours} == {"rule:major-fire-neighbouring-streets"}
    siblings = {city.centre_of(c.code).id for c in city.children(chain.street.code)} - {city.centre_of(chain.community.code).id}
    assert not siblings & set(audience)  # sibling communities are not told


def test_rules_match_on_kind_and_severity():
    rule = Rule("r", "neighbouring_streets", frozenset({"fire"}), frozenset({"major"}))
    make = lambda kind, sev: type("S", (), {"kind": kind, "severity": sev})()
    assert rule.matches(make("fire", "major")) and not rule.matches(make("fire", "minor"))
    assert not rule.matches(make("medical", "major"))


def test_summary_follows_the_alarm(city):
    summary, _ = reported(city)
    summary = fold(summary, "a1", "CallLinked", {}, 2)
    summary = fold(summary, "a1", "AlarmAcknowledged", {"level": "community", "centre_id": "centre-x"}, 3)
    summary = fold(summary, "a1", "AlarmEscalated", {"from_level": "community", "to_level": "street"}, 4)
    summary = fold(summary, "a1", "AlarmUpdated", {"changes": {"severity": "major"}}, 5)
    summary = fold(summary, "a1", "AlarmClosed", {}, 6)
    assert (summary.call_count, summary.acknowledged, summary.escalation_level, summary.severity, summary.status,
            summary.version) == (2, {"community": "centre-x"}, "street", "major", "closed", 6)
    assert fold(None, "a2", "CallLinked", {}, 2) is None


def test_an_unknown_widening_in_the_rules_file_is_refused(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rules]]\nname = "x"\nwiden = "everyone"\n[acknowledgement_timeouts_s]\n'
                    'community = 1\nstreet = 1\ndistrict = 1\ncity = 1\n')
    with pytest.raises(ValueError, match="unknown widen"):
        RoutingConfig.load(path)


def test_a_redelivered_event_does_not_change_the_summary(city):
    summary, _ = reported(city)
    once = fold(summary, "a1", "CallLinked", {}, 2)
    assert fold(once, "a1", "CallLinked", {}, 2) == once and once.call_count == 2
    assert fold(once, "a1", "AlarmReported", {}, 1) == once  # a replayed first event resets nothing

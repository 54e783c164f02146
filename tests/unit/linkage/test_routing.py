"""Routing and summaries, pure: who sees an alarm or a hazard, and what they see of it."""

import pytest

from linkage.routing import HazardRule, RoutingConfig, Rule, hazard_recipients, recipients
from linkage.summary import fold
from linkduty_shared.contracts.notifications import HazardSummary
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


# ---- fire hazards: [[hazard_rules]]

def hazard_summary(city, *, severity="moderate", category="ebike_indoors", level="community"):
    community = city.divisions(level=Level.COMMUNITY)[0]
    chain = city.resolve(community.lat, community.lon)
    jurisdiction = {"grid": chain.grid.code, "community": chain.community.code, "street": chain.street.code,
                    "district": chain.district.code, "city": chain.city.code}
    return HazardSummary(hazard_id="h1", status="reported", category=category, severity=severity, description="",
                         source="resident_app", reported_at="2026-11-23T08:00:00+00:00",
                         location={"lat": community.lat, "lon": community.lon}, jurisdiction=jurisdiction,
                         venue_id=None, handling_level=level, handled_by=city.centre_of(jurisdiction[level]).id,
                         triage_due_at="2026-11-24T08:00:00+00:00", rectification_due_at=None,
                         reinspection_due_at=None, version=1), chain


def test_the_rules_file_sends_a_major_hazard_to_the_street_at_once():
    assert RoutingConfig.load().hazard_rules == (HazardRule("major-hazard-street", "street", frozenset(),
                                                            frozenset({"major"})),)


def test_a_hazard_is_seen_by_its_community_and_each_level_it_was_escalated_to_never_the_city(city):
    summary, chain = hazard_summary(city, level="district")
    assert hazard_recipients(city, summary, ()) == {city.centre_of(chain.community.code).id: "jurisdiction",
                                                    city.centre_of(chain.street.code).id: "escalation",
                                                    city.centre_of(chain.district.code).id: "escalation"}


def test_a_hazard_rule_matches_on_category_and_severity_and_reaches_up_to_its_level(city):
    rule = HazardRule("exits", "district", frozenset({"evacuation_route_blocked"}), frozenset({"major", "moderate"}))
    summary, chain = hazard_summary(city, category="evacuation_route_blocked")
    assert list(hazard_recipients(city, summary, (rule,)).values()) == ["jurisdiction", "rule:exits", "rule:exits"]
    other, _ = hazard_summary(city, category="ebike_indoors")
    assert list(hazard_recipients(city, other, (rule,))) == [city.centre_of(chain.community.code).id]


@pytest.mark.parametrize("rule, error", [
    ('name = "x"\nreach = "city"\n', "unknown reach"),
    ('name = "x"\nreach = "street"\nseverities = ["extreme"]\n', "unknown severities"),
])
def test_a_hazard_rule_with_an_unknown_reach_or_severity_is_refused(tmp_path, rule, error):
    path = tmp_path / "rules.toml"
    path.write_text(f'[[hazard_rules]]\n{rule}[acknowledgement_timeouts_s]\ncommunity = 1\nstreet = 1\n'
                    'district = 1\ncity = 1\n')
    with pytest.raises(ValueError, match=error):
        RoutingConfig.load(path)

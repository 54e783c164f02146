"""The access decision: own centre, or a jurisdiction that contains the centre's division."""

import pytest

from gateway.api.access import bearer_token, may_watch, parse_last_event_id
from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import AuthError, Principal
from linkduty_shared.jurisdictions import Level, load_demo_city

city = load_demo_city()
district = city.divisions(Level.DISTRICT)[0]
street = next(s for s in city.children(district.code) if len(city.children(s.code)) >= 2)
community_a, community_b = city.children(street.code)[:2]
other_district = city.divisions(Level.DISTRICT)[1]
A, B = city.centre_of(community_a.code), city.centre_of(community_b.code)


def principal(*, centre=None, jurisdiction=()) -> Principal:
    return Principal("console", frozenset({"stream:read"}), tuple(jurisdiction), centre=centre)


def test_a_console_watches_its_own_centre_by_its_centre_claim():
    assert may_watch(principal(centre=A.id), A, city)
    assert not may_watch(principal(centre=A.id), B, city)


def test_a_jurisdiction_watches_its_own_division_and_everything_below():
    for code in (community_a.code, street.code, district.code, city.city.code):
        assert may_watch(principal(jurisdiction=[code]), A, city), code
    assert may_watch(principal(jurisdiction=[district.code]), city.centre_of(street.code), city)


def test_a_sibling_a_lower_level_another_district_or_an_unknown_code_does_not():
    assert not may_watch(principal(centre=A.id, jurisdiction=[community_a.code]), B, city)
    assert not may_watch(principal(jurisdiction=[community_a.code]), city.centre_of(street.code), city)
    assert not may_watch(principal(jurisdiction=[other_district.code]), A, city)
    assert not may_watch(principal(jurisdiction=["999999"]), A, city)
    assert not may_watch(principal(), A, city)


def test_the_token_comes_from_the_bearer_header_or_the_query():
    assert bearer_token("Bearer abc", None) == "abc"
    assert bearer_token("bearer  abc ", "ignored") == "abc"
    assert bearer_token(None, "xyz") == "xyz"
    for header, query in ((None, None), ("Basic abc", None), ("Bearer ", None)):
        with pytest.raises(AuthError) as refused:
            bearer_token(header, query)
        assert refused.value.status == 401


def test_last_event_id_is_a_non_negative_integer():
    assert parse_last_event_id(None) is None and parse_last_event_id("") is None
    assert parse_last_event_id("0") == 0 and parse_last_event_id("123") == 123
    for bad in ("-1", "1.5", "abc", "١٢", "9" * 19):
        with pytest.raises(Problem) as refused:
            parse_last_event_id(bad)
        assert refused.value.status == 400

"""Who sees a stored record, when the directory changed under it."""

from linkduty_shared.auth import Principal
from linkduty_shared.jurisdictions import load_demo_city
from units.application.registry import known_lineage


def test_a_record_in_a_division_the_directory_no_longer_has_is_seen_by_no_caller_rather_than_failing():
    city = load_demo_city()
    city_wide = Principal("centre", frozenset(), (city.city.code,))
    assert known_lineage(city, "330199999999") == []  # retired by a dataset update: a 404, not a 500
    assert not city_wide.may_see(known_lineage(city, "330199999999"))
    community = city.divisions()[-1].code
    assert city_wide.may_see(known_lineage(city, community))

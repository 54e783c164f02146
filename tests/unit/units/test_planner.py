"""The dispatch planner: one main force, two auxiliaries, with skips, fallbacks and shortfalls."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import pytest

from linkduty_shared.jurisdictions import Force, Level, load_demo_city
from units.domain.availability import Availability, DutyRoster, DutyWindow, PlanningStatus
from units.domain.forces import ForceIndex
from units.domain.planner import AlarmFacts, Skip, plan_dispatch
from units.domain.run_cards import default_run_cards
from units.domain.travel import EARTH_RADIUS_M, SpeedModel

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
CARDS = default_run_cards()
KM_NORTH = 1_000 / (math.pi * EARTH_RADIUS_M / 180)  # degrees of latitude in one kilometre


# A small city along a meridian: the alarm at (30, 120); stations 1, 2, 3 and 4 km north of it.
def north(km: float) -> float:
    return 30.0 + km * KM_NORTH


def force(id: str, kind: str, division: str, km: float) -> Force:
    return Force(id=id, kind=kind, name=id, division_code=division, lat=north(km), lon=120.0)


SMALL = ForceIndex([
    force("fs-2km", "fire_rescue_station", "D", 2), force("fs-1km", "fire_rescue_station", "D", 1),
    force("fs-4km", "fire_rescue_station", "D", 4), force("fs-3km", "fire_rescue_station", "D", 3),
    force("team-S", "street_team", "S", 0.5), force("team-T", "street_team", "T", 5),
    force("squad-C", "community_squad", "C", 0.2), force("squad-E", "community_squad", "E", 3),
    force("mfs-E-3km", "micro_fire_station", "E", 3), force("mfs-F-1km", "micro_fire_station", "F", 1),
    force("mfs-G-2km", "micro_fire_station", "G", 2),
])


def alarm(kind="fire", severity="moderate", **overrides) -> AlarmFacts:
    facts = dict(alarm_id="a1", kind=kind, severity=severity, lat=30.0, lon=120.0, community_code="C", street_code="S")
    return AlarmFacts(**(facts | overrides))


def plan(facts=None, statuses=None, roster=None, **kwargs):
    availability = Availability(statuses or {}, roster or DutyRoster())
    return plan_dispatch(facts or alarm(), SMALL, availability, CARDS, NOW, **kwargs)


def ids(plan, role):
    return [a.force_id for a in plan.for_role(role)]


def test_one_main_force_two_auxiliaries_for_a_moderate_fire():
    p = plan()
    assert ids(p, "main") == ["fs-1km"] and ids(p, "auxiliary_1") == ["team-S"] and ids(p, "auxiliary_2") == ["squad-C"]
    assert p.skipped == () and p.shortfall == () and p.run_card == "fire.moderate"
    main = p.for_role("main")[0]
    assert main.force_kind == "fire_rescue_station" and main.units == ("engine",)
    assert main.eta_s == round(60 + 1_000 * 1.3 / (30 / 3.6))  # 216 s
    assert "nearest available" in main.reason
    assert "street S" in p.for_role("auxiliary_1")[0].reason
    assert "community C" in p.for_role("auxiliary_2")[0].reason


def test_a_major_fire_gets_two_stations_in_travel_time_order():
    p = plan(alarm(severity="major"))
    assert ids(p, "main") == ["fs-1km", "fs-2km"]
    first, second = p.for_role("main")
    assert first.eta_s < second.eta_s and first.units == ("engine", "ladder")
    assert "2 of 2" in second.reason


def test_an_off_duty_station_is_skipped_and_the_next_one_chosen():
    roster = DutyRoster({"fs-1km": (DutyWindow(NOW + timedelta(hours=1), NOW + timedelta(hours=13)),)})
    p = plan(roster=roster)
    assert ids(p, "main") == ["fs-2km"]
    assert [(s.force_id, s.role, s.why) for s in p.skipped] == [("fs-1km", "main", "off duty")]
    assert "1 nearer passed over" in p.for_role("main")[0].reason
    # an hour later its shift has begun, and it goes
    later = plan_dispatch(alarm(), SMALL, Availability(roster=roster), CARDS, NOW + timedelta(hours=1))
    assert ids(later, "main") == ["fs-1km"]


def test_dispatched_and_out_of_service_stations_are_skipped_with_why():
    p = plan(alarm(severity="major"), statuses={"fs-1km": PlanningStatus.DISPATCHED, "fs-2km": PlanningStatus.OUT_OF_SERVICE})
    assert ids(p, "main") == ["fs-3km", "fs-4km"]
    assert [(s.force_id, s.why) for s in p.skipped] == [("fs-1km", "already dispatched"), ("fs-2km", "out of service")]
    assert p.shortfall == ()


def test_not_enough_stations_is_a_shortfall():
    busy = {"fs-1km": PlanningStatus.DISPATCHED, "fs-2km": PlanningStatus.DISPATCHED}
    p = plan(alarm(severity="extreme"), statuses=busy | {"fs-3km": PlanningStatus.OUT_OF_SERVICE})
    assert ids(p, "main") == ["fs-4km"]
    assert p.shortfall == ("main: run card fire.extreme calls for 3 fire-rescue station(s), 1 available",)
    assert len(p.skipped) == 3


def test_an_unavailable_community_squad_falls_back_to_the_nearest_micro_fire_station():
    p = plan(statuses={"squad-C": PlanningStatus.DISPATCHED, "mfs-F-1km": PlanningStatus.OUT_OF_SERVICE})
    aux2 = p.for_role("auxiliary_2")
    assert [a.force_id for a in aux2] == ["mfs-G-2km"]  # the nearest available, of another community
    assert aux2[0].force_kind == "micro_fire_station"
    assert "in place of the community squad (squad-C already dispatched)" in aux2[0].reason
    assert [(s.force_id, s.role, s.why) for s in p.skipped] == [
        ("squad-C", "auxiliary_2", "already dispatched"), ("mfs-F-1km", "auxiliary_2", "out of service")]


def test_a_community_without_a_squad_falls_back_too_and_says_so():
    p = plan(alarm(community_code="Z"))
    assert ids(p, "auxiliary_2") == ["mfs-F-1km"]
    assert p.skipped[0].force_id is None and "no community squad covers community Z" in p.skipped[0].why


def test_an_unavailable_street_team_is_skipped_and_no_other_streets_team_is_sent():
    p = plan(statuses={"team-S": PlanningStatus.OUT_OF_SERVICE})
    assert ids(p, "auxiliary_1") == []
    assert ("team-S", "auxiliary_1", "out of service") in [(s.force_id, s.role, s.why) for s in p.skipped]
    assert p.shortfall == ("auxiliary_1: no street team available for street S",)


def test_the_run_card_decides_which_auxiliaries_are_called():
    p = plan(alarm(kind="hazmat", severity="major"))
    assert len(ids(p, "main")) == 2 and ids(p, "auxiliary_1") == ["team-S"] and ids(p, "auxiliary_2") == []
    assert ids(plan(alarm(severity="minor")), "auxiliary_1") == []


def test_nothing_to_send_anywhere_is_all_shortfall():
    everyone_off = DutyRoster({f: () for f in ["fs-1km", "fs-2km", "fs-3km", "fs-4km", "team-S", "squad-C",
                                               "mfs-E-3km", "mfs-F-1km", "mfs-G-2km"]})
    p = plan(roster=everyone_off)
    assert p.assignments == ()
    assert [line.split(":")[0] for line in p.shortfall] == ["main", "auxiliary_1", "auxiliary_2"]
    assert all(s.why == "off duty" for s in p.skipped)


def test_plans_are_deterministic_and_need_an_aware_now():
    assert plan(alarm(severity="extreme")) == plan(alarm(severity="extreme"))
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_dispatch(alarm(), SMALL, Availability(), CARDS, datetime(2026, 11, 23, 8))


# Against the demo city: the planner's stations are the brute-force nearest, computed independently.
@pytest.fixture(scope="module")
def demo():
    city = load_demo_city()
    return city, ForceIndex.from_directory(city)


def brute_force_etas(city, lat, lon, model=SpeedModel()):
    """ETA to every station with the plain haversine of travel.py's docstring, nearest first."""
    def haversine(lat1, lon1, lat2, lon2):
        p1, p2 = math.radians(lat1), math.radians(lat2)
        a = (math.sin((p2 - p1) / 2) ** 2
             + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
        return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))
    return sorted((60 + haversine(s.lat, s.lon, lat, lon) * 1.3 / (30 / 3.6), s.id)
                  for s in city.forces("fire_rescue_station"))


def test_demo_city_plans_name_the_brute_force_nearest_stations(demo):
    city, index = demo
    grids = random.Random(119).sample(city.divisions(Level.GRID), 300)
    for grid in grids:
        chain = city.resolve(grid.lat, grid.lon)
        facts = alarm(severity="extreme", lat=grid.lat, lon=grid.lon, community_code=chain.community.code,
                      street_code=chain.street.code)
        p = plan_dispatch(facts, index, Availability(), CARDS, NOW)
        expected = brute_force_etas(city, grid.lat, grid.lon)[:3]
        assert ids(p, "main") == [station_id for _, station_id in expected], grid.code
        assert [a.eta_s for a in p.for_role("main")] == [round(eta) for eta, _ in expected]
        # every demo street has its team and every community its squad
        assert city.division(p.for_role("auxiliary_1")[0].force_id.removeprefix("team-")).code == chain.street.code
        assert ids(p, "auxiliary_2") == ["squad-" + chain.community.code]


def test_demo_city_off_duty_nearest_station_gives_way_to_the_brute_force_second(demo):
    city, index = demo
    grid = city.divisions(Level.GRID)[4_000]
    chain = city.resolve(grid.lat, grid.lon)
    (_, nearest), (_, second) = brute_force_etas(city, grid.lat, grid.lon)[:2]
    facts = alarm(lat=grid.lat, lon=grid.lon, community_code=chain.community.code, street_code=chain.street.code)
    p = plan_dispatch(facts, index, Availability(roster=DutyRoster({nearest: ()})), CARDS, NOW)
    assert ids(p, "main") == [second] and p.skipped[0].force_id == nearest and p.skipped[0].why == "off duty"


def test_planning_again_keeps_the_forces_already_sent_and_adds_only_what_is_missing():
    p = plan(alarm(severity="major"), assigned={"fs-1km": "main", "team-S": "auxiliary_1"},
             statuses={"fs-1km": PlanningStatus.DISPATCHED, "team-S": PlanningStatus.DISPATCHED})
    assert ids(p, "main") == ["fs-2km"] and ids(p, "auxiliary_1") == [] and ids(p, "auxiliary_2") == ["squad-C"]
    assert "2 of 2" in p.for_role("main")[0].reason
    assert all(s.force_id not in ("fs-1km", "team-S") for s in p.skipped)  # sent, not passed over


def test_a_full_run_card_plans_nothing_more():
    p = plan(assigned={"fs-1km": "main", "team-S": "auxiliary_1", "squad-C": "auxiliary_2"})
    assert p.assignments == () and p.shortfall == ()


def test_a_force_that_declined_is_passed_over_with_its_reason():
    p = plan(excluded={"fs-1km": "declined this alarm: engine under repair"})
    assert ids(p, "main") == ["fs-2km"]
    assert ("fs-1km", "main", "declined this alarm: engine under repair") in [(s.force_id, s.role, s.why) for s in p.skipped]


def test_a_micro_fire_station_too_far_away_is_not_sent_in_place_of_the_squad():
    far = alarm(lat=north(-20))  # 20 km south: every micro fire station is 20+ km away
    p = plan(far, statuses={"squad-C": PlanningStatus.DISPATCHED})
    assert ids(p, "auxiliary_2") == []
    assert any(line.startswith("auxiliary_2:") and "600 s" in line for line in p.shortfall)


def test_a_plan_names_five_passed_over_forces_per_role_and_counts_the_rest():
    stations = [force(f"fs-{i:02d}", "fire_rescue_station", "D", i) for i in range(1, 10)]
    index = ForceIndex(stations)
    busy = {f.id: PlanningStatus.DISPATCHED for f in stations[:7]} | {"fs-08": PlanningStatus.OUT_OF_SERVICE}
    p = plan_dispatch(alarm(), index, Availability(busy), CARDS, NOW)
    assert ids(p, "main") == ["fs-09"]
    main_skips = [s for s in p.skipped if s.role == "main"]
    assert [s.force_id for s in main_skips[:5]] == ["fs-01", "fs-02", "fs-03", "fs-04", "fs-05"]
    assert main_skips[5] == Skip(None, "main", "3 more passed over (2 already dispatched, 1 out of service)")

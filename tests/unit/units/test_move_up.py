"""Move-up: suggested only when a station leaves its area with no available station, from the
nearest neighbour whose own area stays covered."""

from datetime import datetime, timezone

from linkduty_shared.jurisdictions import Force
from units.domain.availability import Availability, PlanningStatus
from units.domain.forces import ForceIndex
from units.domain.move_up import suggest_move_up

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def station(id: str, district: str, lat: float) -> Force:
    return Force(id=id, kind="fire_rescue_station", name=id, division_code=district, lat=lat, lon=120.0)


# District A has two stations; B (just north) two; C (farther north) one.
INDEX = ForceIndex([station("a1", "A", 30.00), station("a2", "A", 30.01), station("b1", "B", 30.03),
                    station("b2", "B", 30.05), station("c1", "C", 30.02)])


def busy(*ids: str) -> Availability:
    return Availability({i: PlanningStatus.DISPATCHED for i in ids})


def test_no_suggestion_while_the_area_keeps_an_available_station():
    assert suggest_move_up("a1", INDEX, busy("a1"), NOW) is None


def test_the_last_station_leaving_gets_the_nearest_neighbour_whose_area_stays_covered():
    move = suggest_move_up("a1", INDEX, busy("a1", "a2"), NOW)
    # c1 is nearer (2.2 km) but is C's only station: moving it would empty C. b1 (3.3 km) leaves b2 in B.
    assert (move.station_id, move.area_code, move.cover_from) == ("a1", "A", "b1")
    assert move.eta_s > 60 and "stays covered" in move.reason


def test_no_suggestion_when_no_neighbour_can_spare_a_station():
    assert suggest_move_up("a1", INDEX, busy("a1", "a2", "b2"), NOW) is None

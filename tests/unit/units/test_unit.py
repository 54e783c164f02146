"""The Unit status state machine: given events → when command → then events."""

import pytest

from linkduty_shared.domain import IllegalTransition
from units.domain.events import (
    UnitArrived,
    UnitDispatched,
    UnitEnRoute,
    UnitRegistered,
    UnitReturnedToService,
    UnitReturning,
    UnitStoodDown,
    UnitTakenOutOfService,
)
from units.domain.unit import Status, Unit

REGISTERED = UnitRegistered(unit_id="u1", force_kind="fire_rescue_station", name="西湖消防救援站",
                            division_code="330102000000", lat=30.27, lon=120.15)


def given(*events) -> Unit:
    return Unit.rehydrate("u1", (REGISTERED, *events))


def test_a_full_call_out_goes_round_the_cycle():
    unit = given()
    unit.dispatch("a1", by="centre-330102000000")
    unit.report_en_route(eta_s=240)
    unit.report_arrival()
    unit.report_returning()
    unit.return_to_service()
    assert [type(e) for e in unit.pending] == [UnitDispatched, UnitEnRoute, UnitArrived, UnitReturning,
                                              UnitReturnedToService]
    assert unit.status == Status.AVAILABLE and unit.alarm_id is None
    assert unit.pending[2] == UnitArrived(alarm_id="a1")


@pytest.mark.parametrize("history, command", [
    ((), lambda u: u.report_arrival()),  # cannot arrive without a dispatch
    ((UnitDispatched("a1", "c"),), lambda u: u.dispatch("a2", "c")),  # busy units are not dispatched
    ((UnitDispatched("a1", "c"), UnitArrived("a1")), lambda u: u.take_out_of_service("broken pump")),
    ((UnitDispatched("a1", "c"), UnitArrived("a1")), lambda u: u.stand_down("late")),
    ((UnitTakenOutOfService("maintenance"),), lambda u: u.dispatch("a1", "c")),
    ((), lambda u: u.register(force_kind="x", name="x", division_code="x", lat=0.0, lon=0.0)),
])
def test_illegal_transitions_are_refused_and_record_nothing(history, command):
    unit = given(*history)
    with pytest.raises(IllegalTransition):
        command(unit)
    assert unit.pending == []


def test_a_unit_stood_down_on_the_way_is_available_again():
    unit = given(UnitDispatched("a1", "c"), UnitEnRoute("a1", 300))
    unit.stand_down("false alarm")
    assert unit.pending == [UnitStoodDown(alarm_id="a1", reason="false alarm")] and unit.status == Status.AVAILABLE


def test_out_of_service_and_back():
    unit = given()
    unit.take_out_of_service("engine maintenance")
    unit.return_to_service()
    assert unit.status == Status.AVAILABLE and len(unit.pending) == 2

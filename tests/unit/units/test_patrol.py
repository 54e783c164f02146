"""联防: a joint patrol is planned, sets out, logs findings (places and hazards, not people), ends."""

import datetime as dt

import pytest

from linkduty_shared.domain import IllegalTransition, InvariantViolated
from units.domain.events import PatrolCompleted, PatrolFindingLogged, PatrolPlanned, PatrolStarted
from units.domain.patrol import JointPatrol

T0 = dt.datetime(2026, 3, 2, 19, tzinfo=dt.timezone(dt.timedelta(hours=8)))
PLANNED = PatrolPlanned(division_code="c-1", forces=["station-1", "squad-7"], planned_start=T0.isoformat(),
                        planned_end=(T0 + dt.timedelta(hours=2)).isoformat())
STARTED = PatrolStarted(at=T0.isoformat())


def given(*events) -> JointPatrol:
    return JointPatrol.rehydrate("p-1", events)


def test_planning_records_the_division_and_each_force_once():
    patrol = given()
    patrol.plan("c-1", ["station-1", "squad-7", "station-1"], T0, T0 + dt.timedelta(hours=2))
    assert patrol.pending == [PLANNED]


def test_a_plan_needs_forces_and_an_end_after_its_start():
    with pytest.raises(InvariantViolated, match="at least one force"):
        given().plan("c-1", [], T0, T0 + dt.timedelta(hours=1))
    with pytest.raises(InvariantViolated, match="before it starts"):
        given().plan("c-1", ["squad-7"], T0, T0)
    with pytest.raises(IllegalTransition):
        given(PLANNED).plan("c-1", ["squad-7"], T0, T0 + dt.timedelta(hours=1))


def test_the_whole_patrol():
    patrol = given(PLANNED)
    patrol.start(T0)
    patrol.log_finding("e-bikes charging in the stairwell of block 3", "e_bike_charging", T0, 30.27, 120.15)
    patrol.log_finding("fire lane blocked by parked cars", "blocked_fire_lane", T0)
    patrol.complete("2 hazards, both handed to the street team", T0 + dt.timedelta(hours=2))
    assert patrol.pending == [
        STARTED,
        PatrolFindingLogged(text="e-bikes charging in the stairwell of block 3", hazard_kind="e_bike_charging",
                            at=T0.isoformat(), lat=30.27, lon=120.15),
        PatrolFindingLogged(text="fire lane blocked by parked cars", hazard_kind="blocked_fire_lane", at=T0.isoformat()),
        PatrolCompleted(summary="2 hazards, both handed to the street team", at=(T0 + dt.timedelta(hours=2)).isoformat()),
    ]
    assert patrol.status == "completed" and len(patrol.findings) == 2


@pytest.mark.parametrize("events, command", [
    ((), lambda p: p.start(T0)),
    ((PLANNED,), lambda p: p.log_finding("x", "other", T0)),
    ((PLANNED,), lambda p: p.complete("done", T0)),
    ((PLANNED, STARTED), lambda p: p.start(T0)),
    ((PLANNED, STARTED, PatrolCompleted("done", T0.isoformat())), lambda p: p.log_finding("x", "other", T0)),
    ((PLANNED, STARTED, PatrolCompleted("done", T0.isoformat())), lambda p: p.complete("again", T0)),
])
def test_out_of_order_is_an_illegal_transition(events, command):
    patrol = given(*events)
    with pytest.raises(IllegalTransition):
        command(patrol)
    assert patrol.pending == []


@pytest.mark.parametrize("text, kind, lat, lon, why", [
    ("the owner, phone 13812345678, keeps petrol inside", "flammables_storage", None, None, "personal data"),
    ("tenant 330102199001011234 runs a workshop upstairs", "three_in_one_premises", None, None, "personal data"),
    ("   ", "other", None, None, "needs text"),
    ("blocked exit", "arson", None, None, "unknown hazard kind"),
    ("blocked exit", "blocked_passage", 30.2, None, "both lat and lon"),
])
def test_a_finding_is_refused(text, kind, lat, lon, why):
    patrol = given(PLANNED, STARTED)
    with pytest.raises(InvariantViolated, match=why):
        patrol.log_finding(text, kind, T0, lat, lon)


def test_a_phone_number_typed_into_the_summary_is_recorded_masked():
    patrol = given(PLANNED, STARTED)
    patrol.complete("已通知房东 0571-8765 4321", T0)
    assert patrol.pending[-1].summary == "已通知房东 ********4321"  # (a finding with one is refused)

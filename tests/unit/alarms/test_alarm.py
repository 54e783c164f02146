"""The Alarm aggregate: given events → when command → then events (no infrastructure)."""

import datetime as dt

import pytest

from alarms.domain.alarm import Alarm
from alarms.domain.events import (
    AlarmAcknowledged,
    AlarmCancelled,
    AlarmClosed,
    AlarmControlled,
    AlarmEscalated,
    AlarmMarkedFalse,
    AlarmReported,
    AlarmUpdated,
    CallLinked,
    CallSplit,
    ForceArrivedOnScene,
)
from linkduty_shared.domain import IllegalTransition, InvariantViolated

CHAIN = {"grid": "g", "community": "C", "street": "S", "district": "D", "city": "X"}


def reported(**overrides) -> AlarmReported:
    facts = dict(alarm_id="a1", call_id="c1", source="119", received_at="2026-11-23T08:00:00+00:00", kind="fire",
                 severity="moderate", description="smoke", location={"lat": 30.0, "lon": 120.0, "address": None},
                 jurisdiction=CHAIN, caller_masked="*******5678", caller_ref="r1")
    return AlarmReported(**(facts | overrides))


def given(*events) -> Alarm:
    return Alarm.rehydrate("a1", events)


def linked(call_id: str) -> CallLinked:
    return CallLinked(call_id=call_id, source="119", received_at="2026-11-23T08:01:00+00:00",
                      location={"lat": 30.0, "lon": 120.0, "address": None}, description="", distance_m=12.0)


def test_further_calls_are_counted_and_the_same_call_twice_links_once():
    alarm = given(reported())
    alarm.link_call(call_id="c2", source="119", received_at="t", location={}, description="", distance_m=40.0,
                    caller_masked=None, caller_ref=None)
    alarm.link_call(call_id="c2", source="119", received_at="t", location={}, description="", distance_m=40.0,
                    caller_masked=None, caller_ref=None)
    assert [type(e) for e in alarm.pending] == [CallLinked] and alarm.active_calls == 2


def test_split_moves_a_call_out_but_never_the_only_one():
    alarm = given(reported(), linked("c2"), linked("c3"))
    alarm.split_call("c2", "a2", by="op")
    assert alarm.pending == [CallSplit(call_id="c2", new_alarm_id="a2", by="op")] and alarm.active_calls == 2
    with pytest.raises(IllegalTransition):
        alarm.split_call("c2", "a3", by="op")
    with pytest.raises(InvariantViolated):
        alarm.split_call("nope", "a3", by="op")
    with pytest.raises(IllegalTransition):
        given(reported()).split_call("c1", "a2", by="op")


@pytest.mark.parametrize("command", [
    lambda a: a.verify("op"), lambda a: a.control("op"), lambda a: a.cancel("op", "r"), lambda a: a.mark_false("op", "r"),
])
def test_a_closed_alarm_refuses_lifecycle_commands(command):
    alarm = given(reported())
    alarm.control("op")
    alarm.close("op", "extinguished")
    with pytest.raises(IllegalTransition):
        command(alarm)


def test_close_needs_controlled_false_or_cancelled():
    with pytest.raises(IllegalTransition):
        given(reported()).close("op", "x")
    alarm = given(reported())
    alarm.mark_false("op", "cooking smoke")
    alarm.close("op", "false alarm")
    assert alarm.status == "closed"


def test_update_records_only_changed_facts_and_refuses_unknown_ones():
    alarm = given(reported())
    alarm.update({"severity": "major", "kind": "fire"}, by="partner")
    assert alarm.pending == [AlarmUpdated(changes={"severity": "major"}, by="partner")]
    with pytest.raises(InvariantViolated):
        alarm.update({"location": {}}, by="partner")


def test_acknowledgement_is_idempotent_per_centre():
    alarm = given(reported())
    alarm.acknowledge("centre-C", "community", by="op")
    alarm.acknowledge("centre-C", "community", by="op")
    assert alarm.pending == [AlarmAcknowledged(centre_id="centre-C", level="community", by="op")]


def test_escalation_climbs_one_level_unless_acknowledged_there_or_above():
    alarm = given(reported())
    alarm.escalate("community", "no ack in 60 s")
    assert alarm.pending == [AlarmEscalated(from_level="community", to_level="street", reason="no ack in 60 s")]
    alarm.escalate("community", "late duplicate timer")  # not the current level any more
    assert len(alarm.pending) == 1
    acked = given(reported(), AlarmEscalated(from_level="community", to_level="street", reason="r"),
                  AlarmAcknowledged(centre_id="centre-D", level="district", by="op"))
    acked.escalate("street", "timer")
    assert acked.pending == []


def test_escalation_stops_at_the_city():
    alarm = given(reported(), *(AlarmEscalated(from_level=a, to_level=b, reason="r")
                                for a, b in (("community", "street"), ("street", "district"), ("district", "city"))))
    alarm.escalate("city", "timer")
    assert alarm.pending == [] and alarm.escalation_level == "city"


def at(minute: int, tz: dt.tzinfo = dt.UTC) -> dt.datetime:
    return dt.datetime(2026, 11, 23, 8, minute, tzinfo=tz)


def test_an_arrival_is_recorded_once_per_unit():
    alarm = given(reported())
    alarm.record_arrival(unit_id="u1", force_kind="fire_station", role="main", arrived_at=at(9))
    alarm.record_arrival(unit_id="u1", force_kind="fire_station", role="main", arrived_at=at(12))  # redelivered
    assert alarm.pending == [ForceArrivedOnScene(unit_id="u1", force_kind="fire_station", role="main",
                                                 arrived_at="2026-11-23T08:09:00+00:00")]
    assert alarm.forces_on_scene["u1"].arrived_at == alarm.first_arrival_at == "2026-11-23T08:09:00+00:00"
    again = given(reported(), *alarm.pending)
    again.record_arrival(unit_id="u1", force_kind="fire_station", role="main", arrived_at=at(9))
    assert again.pending == []


def test_the_first_arrival_is_the_earliest_whatever_the_order_or_offset():
    alarm = given(reported(), ForceArrivedOnScene(unit_id="u1", force_kind="street_team", role="auxiliary_1",
                                                  arrived_at="2026-11-23T08:10:00+00:00"))
    beijing = dt.timezone(dt.timedelta(hours=8))
    alarm.record_arrival(unit_id="u2", force_kind="micro_station", role="auxiliary_2",
                         arrived_at=at(7).astimezone(beijing))
    alarm.record_arrival(unit_id="u3", force_kind="fire_station", role="main", arrived_at=at(15))
    assert alarm.first_arrival_at == "2026-11-23T16:07:00+08:00"
    assert set(alarm.forces_on_scene) == {"u1", "u2", "u3"} and alarm.forces_on_scene["u2"].role == "auxiliary_2"


@pytest.mark.parametrize("ending", [
    (AlarmControlled(by="op"), AlarmClosed(by="op", outcome="out")), (AlarmCancelled(by="op", reason="r"),),
    (AlarmMarkedFalse(by="op", reason="r"),),
])
def test_an_arrival_at_an_alarm_no_longer_open_records_nothing(ending):
    alarm = given(reported(), *ending)
    alarm.record_arrival(unit_id="u1", force_kind="fire_station", role="main", arrived_at=at(9))
    assert alarm.pending == [] and alarm.forces_on_scene == {} and alarm.first_arrival_at is None


def test_an_arrival_at_a_controlled_alarm_is_still_recorded():
    alarm = given(reported(), AlarmControlled(by="op"))
    alarm.record_arrival(unit_id="u1", force_kind="fire_station", role="main", arrived_at=at(9))
    assert len(alarm.pending) == 1 and alarm.status == "controlled"


@pytest.mark.parametrize("role, arrived_at", [("chief", at(9)), ("main", dt.datetime(2026, 11, 23, 8, 9))])
def test_an_arrival_with_an_unknown_role_or_no_offset_is_refused(role, arrived_at):
    with pytest.raises(InvariantViolated):
        given(reported()).record_arrival(unit_id="u1", force_kind="fire_station", role=role, arrived_at=arrived_at)

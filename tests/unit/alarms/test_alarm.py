"""The Alarm aggregate: given events → when command → then events (no infrastructure)."""

import pytest

from alarms.domain.alarm import Alarm
from alarms.domain.events import (
    AlarmAcknowledged,
    AlarmEscalated,
    AlarmReported,
    AlarmUpdated,
    CallLinked,
    CallSplit,
)
from alarms.domain.values import mask_phone
from linkduty_shared.domain import IllegalTransition, InvariantViolated

CHAIN = {"grid": "g", "community": "C", "street": "S", "district": "D", "city": "X"}


def reported(**overrides) -> AlarmReported:
    facts = dict(alarm_id="a1", call_id="c1", source="119", received_at="2026-11-23T08:00:00+00:00", kind="fire",
                 severity="moderate", description="smoke", location={"lat": 30.0, "lon": 120.0, "address": None},
                 jurisdiction=CHAIN, caller_masked="138****5678", caller_ref="r1")
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


@pytest.mark.parametrize("phone, masked", [
    ("13812345678", "138****5678"), ("+86 138-1234-5678", "138****5678"), ("110", "***"), (None, None),
])
def test_phone_numbers_are_masked(phone, masked):
    assert mask_phone(phone) == masked

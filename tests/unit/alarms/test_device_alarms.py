"""Networked smoke detectors' alarms on the Alarm aggregate and in the consumer's mapping (no
infrastructure): who is likely inside, the severity it makes, and the detector's "alarm cleared"."""

import datetime as dt

import pytest

from alarms.consumers import device_address, device_alarm_report
from alarms.domain.alarm import Alarm
from alarms.domain.events import AlarmMarkedFalse, AlarmReported, AlarmVerified, CallLinked, DeviceClearReported
from alarms.domain.values import device_alarm_severity, responder_vulnerability
from linkduty_shared.contracts.devices import ALARM_RAISED_TYPE, device_event_from_data
from linkduty_shared.domain import InvariantViolated

CHAIN = {"grid": "g", "community": "C", "street": "S", "district": "D", "city": "X"}
AT = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
ALONE_82 = {"kind": "resident", "age_band": "80_89", "mobility": "needs_help_on_stairs", "lives_alone": True}


def device_reported(call_id="ep1", vulnerability=None) -> AlarmReported:
    return AlarmReported(alarm_id="a1", call_id=call_id, source="device", received_at=AT.isoformat(), kind="fire",
                         severity="major", description="联网烟感报警", location={"lat": 30.0, "lon": 120.0},
                         jurisdiction=CHAIN, caller_masked=None, caller_ref=None, vulnerability=vulnerability,
                         device_id=f"det-{call_id}")


def linked(call_id: str, source: str = "device", vulnerability=None) -> CallLinked:
    return CallLinked(call_id=call_id, source=source, received_at=AT.isoformat(), location={"lat": 30.0, "lon": 120.0},
                      description="", distance_m=8.0, vulnerability=vulnerability,
                      device_id=f"det-{call_id}" if source == "device" else None)


def clear(alarm: Alarm, call_id: str, *, false: bool = True) -> None:
    alarm.record_device_clear(call_id=call_id, device_id=f"det-{call_id}", repeats=1, after_s=20.0,
                              possible_false_alarm=false, at=AT + dt.timedelta(seconds=20))


# --- severity and what is kept ----------------------------------------------------------------

@pytest.mark.parametrize("vulnerability, severity", [
    (None, "moderate"),
    ({"kind": "resident", "age_band": "60_69", "mobility": "independent"}, "moderate"),
    ({"kind": "resident", "age_band": "60_69", "lives_alone": True}, "major"),
    ({"kind": "resident", "age_band": "90_plus"}, "major"),
    ({"kind": "resident", "mobility": "bedridden"}, "major"),
    ({"kind": "resident", "mobility": "wheelchair"}, "major"),
    ({"kind": "resident", "oxygen_at_home": True}, "major"),
    ({"kind": "premises", "premises_kind": "nursery"}, "major"),
])
def test_a_detector_alarm_is_major_when_someone_inside_may_not_get_out_alone(vulnerability, severity):
    assert device_alarm_severity(vulnerability) == severity


def test_an_alarm_keeps_only_the_contract_s_fields_of_who_is_inside_and_no_number():
    kept = responder_vulnerability({**ALONE_82, "name": "王秀英", "needs": "女儿电话13812345678"})
    assert "name" not in kept and "13812345678" not in kept["needs"]
    assert kept["age_band"] == "80_89" and kept["lives_alone"] is True
    assert responder_vulnerability(None) is None


def test_the_raise_becomes_a_fire_call_whose_id_is_the_episode():
    raised = device_event_from_data(ALARM_RAISED_TYPE, {
        "device_id": "det-1", "episode_id": "ep-77", "platform": "demo-iot", "model": "JTY-GD-H361",
        "location": {"lat": 30.27, "lon": 120.15, "building": "3幢", "floor": 5, "flat": "502"}, "place": "home",
        "vulnerability": ALONE_82, "signalled_at": AT.isoformat(), "at": AT.isoformat()})
    report = device_alarm_report(raised)
    assert (report.source, report.kind, report.severity, report.call_id) == ("device", "fire", "major", "det-1/ep-77")
    assert report.device_id == "det-1"  # what makes it a device call (the HTTP intake sets none)
    assert report.address == "3幢 5层 502" and report.place == "home" and report.received_at == AT
    assert report.vulnerability["mobility"] == "needs_help_on_stairs" and report.caller_phone is None
    assert "det-1" in report.description


def test_a_device_without_building_floor_or_flat_has_no_address():
    raised = device_event_from_data(ALARM_RAISED_TYPE, {
        "device_id": "det-1", "episode_id": "ep", "platform": "p", "model": "m", "location": {"lat": 30, "lon": 120},
        "place": "public", "vulnerability": None, "signalled_at": AT.isoformat(), "at": AT.isoformat()})
    assert device_address(raised.location) is None and device_alarm_report(raised).severity == "moderate"


# --- the aggregate ----------------------------------------------------------------------------

def test_the_first_call_that_says_who_is_inside_gives_the_alarm_its_vulnerability():
    alarm = Alarm.rehydrate("a1", [device_reported(), linked("ep2", vulnerability=ALONE_82)])
    assert alarm.vulnerability == ALONE_82 and alarm.calls["ep2"].vulnerability == ALONE_82
    alarm = Alarm.rehydrate("a1", [device_reported(vulnerability=ALONE_82), linked("ep2", vulnerability={"kind": "resident"})])
    assert alarm.vulnerability == ALONE_82


def test_a_quick_clear_of_the_only_call_makes_the_alarm_a_possible_false_alarm_and_closes_nothing():
    alarm = Alarm.rehydrate("a1", [device_reported()])
    clear(alarm, "ep1")
    (event,) = alarm.pending
    assert isinstance(event, DeviceClearReported) and event.possible_false_alarm and event.alarm_possible_false_alarm
    assert alarm.possible_false_alarm and alarm.is_open and alarm.status == "reported"


def test_one_quick_clear_among_several_calls_does_not_make_the_alarm_a_possible_false_alarm():
    alarm = Alarm.rehydrate("a1", [device_reported(), linked("ep2")])
    clear(alarm, "ep1")
    assert alarm.pending[-1].possible_false_alarm and not alarm.pending[-1].alarm_possible_false_alarm
    clear(alarm, "ep2")
    assert alarm.pending[-1].alarm_possible_false_alarm and alarm.possible_false_alarm


def test_a_phone_call_beside_the_detector_keeps_the_alarm_real():
    alarm = Alarm.rehydrate("a1", [device_reported(), linked("c-phone", source="phone")])
    clear(alarm, "ep1")
    assert not alarm.possible_false_alarm


def test_a_further_call_after_a_quick_clear_takes_the_possible_false_alarm_back():
    alarm = Alarm.rehydrate("a1", [device_reported()])
    clear(alarm, "ep1")
    alarm = Alarm.rehydrate("a1", [device_reported(), *alarm.pending, linked("c-phone", source="phone")])
    assert not alarm.possible_false_alarm


def test_a_slow_clear_is_recorded_but_the_alarm_stays_a_fire():
    alarm = Alarm.rehydrate("a1", [device_reported()])
    clear(alarm, "ep1", false=False)
    assert alarm.device_clears["ep1"].repeats == 1 and not alarm.possible_false_alarm


def test_a_redelivered_clear_or_one_at_a_closed_alarm_records_nothing():
    alarm = Alarm.rehydrate("a1", [device_reported()])
    clear(alarm, "ep1")
    alarm = Alarm.rehydrate("a1", [device_reported(), *alarm.pending])
    clear(alarm, "ep1")
    assert alarm.pending == []
    closed = Alarm.rehydrate("a1", [device_reported(), AlarmMarkedFalse(reason="steam", by="op")])
    clear(closed, "ep1")
    assert closed.pending == []


def test_once_a_person_verified_the_fire_a_quick_clear_no_longer_flags_it():
    alarm = Alarm.rehydrate("a1", [device_reported(), AlarmVerified(by="centre")])
    clear(alarm, "ep1")
    assert alarm.pending[-1].possible_false_alarm and not alarm.pending[-1].alarm_possible_false_alarm
    flagged = Alarm.rehydrate("a1", [device_reported()])
    clear(flagged, "ep1")
    assert not Alarm.rehydrate("a1", [device_reported(), *flagged.pending, AlarmVerified(by="c")]).possible_false_alarm


def test_a_call_posted_with_source_device_but_no_detector_is_not_a_detector_s_call():
    posted = CallLinked(call_id="http-1", source="device", received_at=AT.isoformat(), description="",
                        location={"lat": 30.0, "lon": 120.0}, distance_m=8.0)  # over HTTP: no detector named
    alarm = Alarm.rehydrate("a1", [device_reported(), posted])
    clear(alarm, "ep1")
    assert not alarm.possible_false_alarm  # the posted call has not cleared: the alarm stays a fire
    with pytest.raises(InvariantViolated):
        alarm.record_device_clear(call_id="http-1", device_id="det-http-1", repeats=1, after_s=1.0,
                                  possible_false_alarm=True, at=AT)


def test_a_clear_for_a_call_the_alarm_does_not_hold_or_without_offset_is_refused():
    alarm = Alarm.rehydrate("a1", [device_reported()])
    with pytest.raises(InvariantViolated):
        clear(alarm, "nope")
    with pytest.raises(InvariantViolated):  # another device's clear for this call
        alarm.record_device_clear(call_id="ep1", device_id="det-other", repeats=1, after_s=1.0,
                                  possible_false_alarm=True, at=AT)
    with pytest.raises(InvariantViolated):
        alarm.record_device_clear(call_id="ep1", device_id="d", repeats=1, after_s=1.0, possible_false_alarm=True,
                                  at=dt.datetime(2026, 12, 4, 8, 0))

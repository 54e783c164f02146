"""The Device aggregate: what a verified signal means (no infrastructure)."""

import datetime as dt

import pytest

from devices.domain.device import Device
from devices.domain.events import (
    DeviceAlarmCleared,
    DeviceAlarmRaised,
    DeviceMaintained,
    DeviceRegistered,
    DeviceTestSignalled,
    DeviceTroubleBegan,
    DeviceTroubleEnded,
)
from devices.domain.values import MaintenanceKind, Signal, SignalType, Timing
from linkduty_shared.domain import IllegalTransition

T0 = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
TIMING = Timing()
ALONE_82 = {"kind": "resident", "age_band": "80_89", "lives_alone": True}


def registered() -> DeviceRegistered:
    return DeviceRegistered(device_id="det-1", platform="demo-iot", model="JTY-GD-H361",
                            location={"lat": 30.27, "lon": 120.15, "building": "3幢", "floor": 5, "flat": "502"},
                            place="home", jurisdiction={"community": "C", "street": "S", "district": "D", "city": "X"},
                            heartbeat_period_s=60, by="staff", at=T0.isoformat())


def device(*events) -> Device:
    return Device.rehydrate("det-1", [registered(), *events])


def signal(type_: SignalType, after_s: float = 0, sid: str | None = None, battery_pct: int | None = None) -> Signal:
    return Signal(platform="demo-iot", signal_id=sid or f"sig-{type_}-{after_s}", device_id="det-1", type=type_,
                  signalled_at=T0 + dt.timedelta(seconds=after_s), battery_pct=battery_pct)


def take(d: Device, s: Signal, **kwargs) -> list:
    return d.take(s, now=s.signalled_at + dt.timedelta(seconds=1), timing=TIMING, **kwargs)


def test_a_smoke_alarm_opens_an_episode_named_after_its_first_signal_with_who_is_inside():
    d = device()
    (raised,) = take(d, signal(SignalType.SMOKE_ALARM, sid="sig-1"), vulnerability=ALONE_82)
    assert isinstance(raised, DeviceAlarmRaised) and raised.episode_id == "sig-1"
    assert raised.vulnerability == ALONE_82 and raised.location["flat"] == "502" and raised.place == "home"


def test_a_repeated_alarm_within_the_episode_decides_nothing():
    d = device()
    raised = take(d, signal(SignalType.SMOKE_ALARM))
    d = device(*raised)
    assert take(d, signal(SignalType.SMOKE_ALARM, after_s=1)) == []


@pytest.mark.parametrize("after_s, repeats, possible_false", [(30, 1, True), (30, 4, False), (600, 1, False)])
def test_a_clear_is_a_possible_false_alarm_only_when_quick_and_unrepeated(after_s, repeats, possible_false):
    d = device(*take(device(), signal(SignalType.SMOKE_ALARM, sid="ep")))
    (cleared,) = take(d, signal(SignalType.ALARM_CLEARED, after_s=after_s), repeats=repeats)
    assert isinstance(cleared, DeviceAlarmCleared) and cleared.episode_id == "ep"
    assert (cleared.after_s, cleared.repeats, cleared.possible_false_alarm) == (after_s, repeats, possible_false)


def test_a_clear_without_an_open_alarm_decides_nothing_and_a_new_alarm_is_a_new_episode():
    d = device()
    assert take(d, signal(SignalType.ALARM_CLEARED)) == []
    first = take(d, signal(SignalType.SMOKE_ALARM, sid="ep1"))
    cleared = take(device(*first), signal(SignalType.ALARM_CLEARED, after_s=5))
    (again,) = take(device(*first, *cleared), signal(SignalType.SMOKE_ALARM, after_s=10, sid="ep2"))
    assert again.episode_id == "ep2"


@pytest.mark.parametrize("type_, trouble", [(SignalType.TAMPER, "tamper"), (SignalType.FAULT, "fault"),
                                            (SignalType.LOW_BATTERY, "low_battery")])
def test_a_trouble_is_one_episode_until_maintenance_ends_it(type_, trouble):
    (began,) = take(device(), signal(type_, sid="t1"))
    assert isinstance(began, DeviceTroubleBegan) and (began.trouble, began.episode_id) == (trouble, "t1")
    d = device(began)
    assert take(d, signal(type_, after_s=60)) == []  # still the same trouble
    maintained = d.maintain(MaintenanceKind.REPAIRED, "replaced", by="tech", at=T0 + dt.timedelta(hours=2))
    assert isinstance(maintained[0], DeviceMaintained)
    (ended,) = maintained[1:]
    assert isinstance(ended, DeviceTroubleEnded) and (ended.episode_id, ended.how) == ("t1", "maintained")


def test_a_low_heartbeat_battery_begins_a_trouble_that_a_good_one_ends():
    (low,) = take(device(), signal(SignalType.HEARTBEAT, battery_pct=12))
    assert low.trouble == "low_battery" and "12%" in low.detail
    d = device(low)
    assert take(d, signal(SignalType.HEARTBEAT, after_s=60, battery_pct=15)) == []
    (ok,) = take(d, signal(SignalType.HEARTBEAT, after_s=120, battery_pct=TIMING.battery_ok_pct))
    assert isinstance(ok, DeviceTroubleEnded) and ok.how == "battery_ok"


def test_silence_is_offline_once_and_any_signal_brings_the_device_back():
    d = device()
    (offline,) = d.went_silent(last_seen=T0, now=T0 + dt.timedelta(minutes=3))
    assert offline.trouble == "offline" and T0.isoformat(timespec="seconds") in offline.detail
    d = device(offline)
    assert d.went_silent(last_seen=T0, now=T0 + dt.timedelta(minutes=4)) == []
    decided = take(d, signal(SignalType.TEST, after_s=300))
    assert [type(e) for e in decided] == [DeviceTroubleEnded, DeviceTestSignalled]
    assert decided[0].how == "reported_again" and decided[0].episode_id == offline.episode_id


def test_a_device_is_registered_once_and_linked_only_when_that_changes():
    d = device()
    with pytest.raises(IllegalTransition):
        d.register(registered())
    assert len(d.link(resident_id="r1", premises_id=None, by="staff", at=T0)) == 1
    d = Device.rehydrate("det-1", [registered(), *d.pending])
    assert d.link(resident_id="r1", premises_id=None, by="staff", at=T0) == []

"""Units records about an alarm, pure: whose alarm they are, and parking them until it is known."""

import datetime as dt
import json

import pytest

from linkage.unit_records import alarm_id_of, expire, park, parked_record, unparked
from linkduty_shared.contracts.units import is_alarm_record
from linkduty_shared.events.envelope import Envelope, EnvelopeError


def record(event_id="e1", *, type="linkduty.dispatch.DispatchOrderIssued", subject="d1", data=None) -> Envelope:
    return Envelope(id=event_id, source="/linkduty/units", type=type, subject=subject,
                    time=dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC),
                    data={"alarm_id": "a1", "unit_id": "u1"} if data is None else data,
                    streamversion=3, traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")


def test_the_alarm_is_the_data_s_alarm_id_not_the_subject():
    joint = record(type="linkduty.joint_operation.CommandHandedOver", subject="a1/operation")
    assert alarm_id_of(joint, b"a1") == "a1"
    assert alarm_id_of(record(data={"alarm_id": "a2"}), b"a1") == "a2"


def test_without_an_alarm_id_the_key_names_the_alarm_and_without_both_it_is_poison():
    assert alarm_id_of(record(data={"unit_id": "u1"}), b"a1") == "a1"
    with pytest.raises(EnvelopeError):
        alarm_id_of(record(data={"unit_id": "u1"}), None)
    with pytest.raises(EnvelopeError):
        alarm_id_of(record(data={"alarm_id": 7}), b"a1")


def test_only_dispatch_and_joint_operation_records_concern_an_alarm():
    assert is_alarm_record("linkduty.dispatch.DispatchPlanned")
    assert is_alarm_record("linkduty.joint_operation.JointOperationOpened")
    assert not is_alarm_record("linkduty.unit.UnitStatusChanged")
    assert not is_alarm_record("linkduty.duty_roster.RosterPublished")


def test_a_parked_record_comes_back_as_it_was_and_is_plain_json():
    kept = parked_record(record(), 100.0)
    assert unparked(json.loads(json.dumps(kept))) == record()


def test_parking_is_bounded_keeps_the_newest_and_parks_a_redelivery_once():
    records: list = []
    for i in range(5):
        records, dropped = park(records, record(f"e{i}"), float(i), limit=3)
    assert [r["envelope"]["id"] for r in records] == ["e2", "e3", "e4"] and dropped == 1
    assert park(records, record("e4"), 9.0, limit=3) == (records, 0)


def test_records_parked_too_long_expire():
    records = [parked_record(record("old"), 0.0), parked_record(record("new"), 500.0)]
    waiting, stale = expire(records, 601.0, 600.0)
    assert [r["envelope"]["id"] for r in waiting] == ["new"] and [r["envelope"]["id"] for r in stale] == ["old"]
    assert expire(records, 100.0, 600.0) == (records, [])

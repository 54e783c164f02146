"""`linkage.notifications` records: what the linkage app writes is what the gateway reads back."""

import datetime as dt

import pytest

from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts.notifications import (
    AlarmNotification,
    AlarmSummary,
    notification_from_data,
    notification_id,
)
from linkduty_shared.events import envelope_from_kafka, envelope_to_kafka


def _notification() -> AlarmNotification:
    summary = AlarmSummary(
        alarm_id="alarm-1", status="reported", kind="fire", severity="major", description="仓库起火",
        received_at="2026-11-30T10:00:00+00:00", location={"lat": 30.1, "lon": 120.2, "address": "某路1号"},
        jurisdiction={"community": "C1", "street": "S1", "district": "D1", "city": "X"}, call_count=2,
        acknowledged={"community": "centre-c1"}, escalation_level="street", version=4,
    )
    return AlarmNotification(
        notification_id=notification_id("event-1", "centre-s1"), centre_id="centre-s1", reason="jurisdiction",
        event_id="event-1", event_type="DispatchPlanned", event_data={"assignments": [{"force_id": "st-1"}]},
        occurred_at="2026-11-30T10:00:01+00:00", routed_at=dt.datetime.now(dt.UTC).isoformat(), alarm=summary,
        open=True,
    )


def test_a_notification_round_trips_through_its_kafka_record():
    n = _notification()
    message = envelope_to_kafka(n.envelope(traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"))
    envelope = envelope_from_kafka(list(message.headers.items()), message.key, message.value)
    assert AlarmNotification.from_data(envelope.data) == n
    assert envelope.causationid == "event-1" and envelope.subject == "centre-s1"


def test_to_data_has_every_field_and_a_summary_of_its_own():
    n = _notification()
    data = n.to_data()
    assert set(data) == set(AlarmNotification.__dataclass_fields__)
    assert data["alarm"] == {**n.alarm.__dict__} and data["alarm"] is not n.alarm.__dict__
    data["alarm"]["status"] = "closed"  # changing the copy leaves the notification as it was
    assert n.alarm.status == "reported"


def test_a_notification_is_read_back_as_the_contract_defines_it_extra_fields_dropped():
    n = _notification()
    assert notification_from_data(n.to_data() | {"injected": "<script>"}) == n


@pytest.mark.parametrize("breaks, where", [
    (lambda d: d | {"centre_id": 330102}, "centre_id"),
    (lambda d: d | {"alarm": d["alarm"] | {"version": "four"}}, "alarm.version"),
    (lambda d: d | {"open": "perhaps"}, "open"),
    (lambda d: {k: v for k, v in d.items() if k != "alarm"}, "alarm"),
])
def test_a_notification_breaking_its_contract_says_where(breaks, where):
    with pytest.raises(ContractViolation, match=f"v1 contract: {where}: "):
        notification_from_data(breaks(_notification().to_data()))

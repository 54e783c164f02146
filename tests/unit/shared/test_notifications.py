"""`linkage.notifications` records, in both shapes, and the hazards': what the linkage app writes is
what the gateway reads back."""

import datetime as dt

import pytest

from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts.notifications import (
    HAZARD_NOTIFICATION_TYPE,
    ROUTED_TYPE,
    AlarmNotification,
    AlarmRouted,
    AlarmSummary,
    HazardNotification,
    HazardSummary,
    RoutedCentre,
    hazard_notification_from_data,
    notification_from_data,
    notification_id,
    routed_from_data,
    routed_id,
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


# ---- the per-event shape: one AlarmRouted per event, listing its centres

def _routed(n: AlarmNotification | None = None) -> AlarmRouted:
    n = n or _notification()
    return AlarmRouted(
        centres=(RoutedCentre("centre-c1", "jurisdiction"), RoutedCentre("centre-s1", "jurisdiction"),
                 RoutedCentre("centre-s2", "rule:major-fire-neighbouring-streets")),
        event_id=n.event_id, event_type=n.event_type, event_data=n.event_data, occurred_at=n.occurred_at,
        routed_at=n.routed_at, alarm=n.alarm, open=n.open,
    )


def test_an_alarm_routed_record_round_trips_keyed_by_its_alarm_with_an_id_of_its_event():
    routed = _routed()
    message = envelope_to_kafka(routed.envelope(correlationid="corr-1"))
    envelope = envelope_from_kafka(list(message.headers.items()), message.key, message.value)
    assert routed_from_data(envelope.data) == routed
    assert (message.key, envelope.subject, envelope.type, envelope.dataversion) == (
        b"alarm-1", "alarm-1", ROUTED_TYPE, 1)
    assert envelope.causationid == "event-1" and envelope.correlationid == "corr-1"
    assert envelope.id == routed_id("event-1") == routed.envelope().id  # re-sent: the same id


def test_an_alarm_routed_record_stands_for_the_notifications_the_per_centre_shape_sends():
    n = _notification()
    routed = _routed(n)
    fanned = routed.notifications()
    assert [f.centre_id for f in fanned] == ["centre-c1", "centre-s1", "centre-s2"]
    assert fanned[1] == n  # the same notification, id and every field, as sent per centre
    assert [f.notification_id for f in fanned] == [notification_id("event-1", c) for c in
                                                   ("centre-c1", "centre-s1", "centre-s2")]
    assert fanned[2].reason == "rule:major-fire-neighbouring-streets"
    assert {k: v for k, v in fanned[0].to_data().items() if k not in ("notification_id", "centre_id", "reason")} == \
           {k: v for k, v in n.to_data().items() if k not in ("notification_id", "centre_id", "reason")}


def test_an_alarm_routed_record_is_read_back_as_the_contract_defines_it_extra_fields_dropped():
    routed = _routed()
    data = routed.to_data()
    data["centres"][0]["injected"] = "<script>"
    assert routed_from_data(data | {"injected": "<script>"}) == routed
    assert set(routed.to_data()) == set(AlarmRouted.__dataclass_fields__)


@pytest.mark.parametrize("breaks, where", [
    (lambda d: d | {"centres": []}, "centres: no centre"),
    (lambda d: d | {"centres": d["centres"] + d["centres"][:1]}, "centres: listed twice: centre-c1"),
    (lambda d: d | {"centres": [{"centre_id": 330102, "reason": "jurisdiction"}]}, "centres.0.centre_id: "),
    (lambda d: d | {"centres": [{"centre_id": "centre-c1"}]}, "centres.0.reason: "),
    (lambda d: d | {"centres": "centre-c1"}, "centres: "),
    (lambda d: d | {"alarm": d["alarm"] | {"version": "four"}}, "alarm.version: "),
    (lambda d: d | {"open": "perhaps"}, "open: "),
    (lambda d: {k: v for k, v in d.items() if k != "event_id"}, "event_id: "),
])
def test_an_alarm_routed_record_breaking_its_contract_says_where(breaks, where):
    with pytest.raises(ContractViolation, match=f"{ROUTED_TYPE} v1 contract: {where}"):
        routed_from_data(breaks(_routed().to_data()))


# ---- hazards: one HazardNotification per centre

def _hazard_notification() -> HazardNotification:
    hazard = HazardSummary(
        hazard_id="hazard-1", status="reported", category="evacuation_route_blocked", severity="major",
        description="安全出口上锁", source="grid_worker", reported_at="2026-11-30T10:00:00+00:00",
        location={"lat": 30.1, "lon": 120.2, "address": None},
        jurisdiction={"grid": "G1", "community": "C1", "street": "S1", "district": "D1", "city": "X"},
        venue_id=None, handling_level="community", handled_by="centre-c1", triage_due_at="2026-11-30T12:00:00+00:00",
        rectification_due_at=None, reinspection_due_at=None, version=1,
    )
    return HazardNotification(
        notification_id=notification_id("event-h", "centre-s1"), centre_id="centre-s1",
        reason="rule:major-hazard-street", event_id="event-h", event_type="HazardReported",
        event_data={"category": "evacuation_route_blocked"}, occurred_at="2026-11-30T10:00:00+00:00",
        routed_at=dt.datetime.now(dt.UTC).isoformat(), hazard=hazard, open=True,
    )


def test_a_hazard_notification_round_trips_through_its_kafka_record_keyed_by_its_centre():
    n = _hazard_notification()
    message = envelope_to_kafka(n.envelope(correlationid="corr"))
    envelope = envelope_from_kafka(list(message.headers.items()), message.key, message.value)
    assert (envelope.type, envelope.id, envelope.subject, envelope.causationid) == (
        HAZARD_NOTIFICATION_TYPE, n.notification_id, "centre-s1", "event-h")
    assert hazard_notification_from_data(envelope.data) == n
    assert set(n.to_data()) == set(HazardNotification.__dataclass_fields__) and "alarm" not in n.to_data()


def test_a_hazard_notification_breaking_its_contract_is_a_contract_violation():
    data = _hazard_notification().to_data()
    with pytest.raises(ContractViolation, match="hazard.version"):
        hazard_notification_from_data({**data, "hazard": {**data["hazard"], "version": "one"}})
    with pytest.raises(ContractViolation, match="HazardNotification"):
        hazard_notification_from_data({k: v for k, v in data.items() if k != "centre_id"})

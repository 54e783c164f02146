"""The router, pure: records in, state entries (plain dicts) and notifications out, no I/O."""

import dataclasses
import datetime as dt
import json
import uuid

import pytest

from linkage.router import FINISHED_HAZARD_STATUSES, KEEP, PER_EVENT, Router
from linkage.routing import DEFAULT_RULES, RoutingConfig
from linkduty_shared.contracts.hazards import hazard_event_from_data
from linkduty_shared.contracts.notifications import (
    HAZARD_NOTIFICATION_TYPE,
    ROUTED_TYPE,
    AlarmNotification,
    hazard_notification_from_data,
    notification_from_data,
    notification_id,
    routed_from_data,
    routed_id,
)
from linkduty_shared.events.envelope import Envelope
from linkduty_shared.jurisdictions import Level, load_demo_city

T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
TIMEOUTS = {"community": 60.0, "street": 60.0, "district": 120.0, "city": 300.0}
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def city():
    return load_demo_city()


@pytest.fixture(scope="module")
def router(city):
    return Router(city, RoutingConfig.load(DEFAULT_RULES).rules, TIMEOUTS, parked_per_alarm=3)


@pytest.fixture(scope="module")
def per_event(city):
    """The router with `notifications_shape = "per_event"`."""
    return Router(city, RoutingConfig.load(DEFAULT_RULES).rules, TIMEOUTS, parked_per_alarm=3, shape=PER_EVENT)


def alarm_event(name: str, version: int, data: dict, *, at: dt.datetime = T0, alarm_id: str = "a1") -> Envelope:
    return Envelope(id=str(uuid.uuid4()), source="/linkduty/alarm", type=f"linkduty.alarm.{name}", subject=alarm_id,
                    time=at, data=data, streamversion=version, traceparent=TRACE, correlationid="corr-1")


def reported(city, *, index: int = 0, severity: str = "moderate", kind: str = "fire"):
    community = city.divisions(level=Level.COMMUNITY)[index]
    chain = city.resolve(community.lat, community.lon)
    data = {"kind": kind, "severity": severity, "description": "楼道起火", "received_at": T0.isoformat(),
            "location": {"lat": community.lat, "lon": community.lon, "address": None},
            "jurisdiction": {level: getattr(chain, level).code for level in ("grid", "community", "street", "district",
                                                                             "city")}}
    return alarm_event("AlarmReported", 1, data), chain


def told(notifications: list[Envelope]) -> dict[str, AlarmNotification]:
    """centre id → its notification, read back as the gateway reads it."""
    return {n.subject: notification_from_data(n.data) for n in notifications}


def test_a_reported_alarm_goes_to_its_community_street_district_and_city_centres(router, city):
    event, chain = reported(city)
    routed = router.alarm_event(None, event, partition=2, now=T0 + dt.timedelta(seconds=1))
    community, street, district, town = chain.centre_ids()
    assert routed.entry["notified"] == {community: "jurisdiction", street: "jurisdiction",
                                        district: "jurisdiction", town: "jurisdiction"}
    assert "closed_at" not in routed.entry
    assert routed.entry["summary"] == {
        "alarm_id": "a1", "status": "reported", "kind": "fire", "severity": "moderate", "description": "楼道起火",
        "received_at": T0.isoformat(), "location": event.data["location"], "jurisdiction": event.data["jurisdiction"],
        "call_count": 1, "acknowledged": {}, "escalation_level": "community", "version": 1,
        "source": None, "vulnerability": None, "possible_false_alarm": False}
    sent = told(routed.notifications)
    assert set(sent) == {community, street, district, town}
    for centre_id, n in sent.items():
        assert n.notification_id == notification_id(event.id, centre_id) and n.reason == "jurisdiction"
        assert (n.event_id, n.event_type, n.event_data, n.open) == (event.id, "AlarmReported", event.data, True)
        assert n.routed_at == (T0 + dt.timedelta(seconds=1)).isoformat() and n.occurred_at == T0.isoformat()
    assert all(n.traceparent == TRACE and n.correlationid == "corr-1" and n.causationid == event.id
               for n in routed.notifications)
    json.dumps(routed.entry)  # a table entry is plain JSON (the changelog holds it)


def test_the_alarm_s_community_must_acknowledge_within_its_timeout(router, city):
    event, _ = reported(city)
    routed = router.alarm_event(None, event, partition=0, now=T0)
    assert routed.deadline == {"level": "community", "due": T0.timestamp() + 60}


def test_a_major_fire_also_reaches_the_neighbouring_streets_and_they_keep_hearing_after_a_downgrade(router, city):
    event, chain = reported(city, severity="major")
    routed = router.alarm_event(None, event, partition=0, now=T0)
    neighbours = {city.centre_of(s.code).id for s in city.neighbours(chain.street.code)}
    assert neighbours and {routed.entry["notified"][c] for c in neighbours} == {"rule:major-fire-neighbouring-streets"}
    downgraded = router.alarm_event(routed.entry, alarm_event("AlarmUpdated", 2, {"changes": {"severity": "moderate"}}),
                                    partition=0, now=T0)
    assert downgraded.entry["summary"]["severity"] == "moderate"
    assert downgraded.entry["notified"] == routed.entry["notified"]
    assert set(told(downgraded.notifications)) == set(chain.centre_ids()) | neighbours


def test_an_escalated_alarm_waits_for_the_next_level(router, city):
    event, _ = reported(city)
    entry = router.alarm_event(None, event, partition=0, now=T0).entry
    at = T0 + dt.timedelta(seconds=61)
    escalated = alarm_event("AlarmEscalated", 2, {"from_level": "community", "to_level": "street", "reason": "r"}, at=at)
    routed = router.alarm_event(entry, escalated, partition=0, now=at)
    assert routed.entry["summary"]["escalation_level"] == "street"
    assert routed.deadline == {"level": "street", "due": at.timestamp() + 60}
    assert all(n.alarm.escalation_level == "street" for n in told(routed.notifications).values())


@pytest.mark.parametrize("events, deadline", [
    ([("CallLinked", {})], KEEP),
    ([("AlarmAcknowledged", {"level": "community", "centre_id": "c"})], None),
    ([("AlarmAcknowledged", {"level": "district", "centre_id": "c"})], None),  # above it counts too
    ([("AlarmEscalated", {"from_level": "community", "to_level": "street"}),
      ("AlarmAcknowledged", {"level": "community", "centre_id": "c"})], KEEP),  # below it does not
    ([("AlarmEscalated", {"from_level": "community", "to_level": "street"}),
      ("AlarmEscalated", {"from_level": "street", "to_level": "district"}),
      ("AlarmEscalated", {"from_level": "district", "to_level": "city"})], None),  # nobody above the city
    ([("AlarmMarkedFalse", {})], None),
    ([("AlarmVerified", {})], KEEP),
])
def test_what_becomes_of_the_deadline(router, city, events, deadline):
    event, _ = reported(city)
    routed = router.alarm_event(None, event, partition=0, now=T0)
    for version, (name, data) in enumerate(events, start=2):
        routed = router.alarm_event(routed.entry, alarm_event(name, version, data), partition=0, now=T0)
    assert routed.deadline == deadline


def test_a_closed_alarm_is_kept_marked_closed_and_its_centres_are_told_it_is_no_longer_open(router, city):
    event, chain = reported(city)
    entry = router.alarm_event(None, event, partition=4, now=T0).entry
    closed = router.alarm_event(entry, alarm_event("AlarmCancelled", 2, {"by": "x", "reason": "r"}), partition=4,
                                now=T0 + dt.timedelta(seconds=5))
    assert (closed.entry["closed_at"], closed.entry["partition"]) == ((T0 + dt.timedelta(seconds=5)).timestamp(), 4)
    assert closed.deadline is None
    assert {c: n.open for c, n in told(closed.notifications).items()} == dict.fromkeys(chain.centre_ids(), False)


def test_an_event_before_its_alarm_s_report_is_left_alone_and_a_redelivery_changes_nothing(router, city):
    assert router.alarm_event(None, alarm_event("CallLinked", 2, {}), partition=0, now=T0) is None
    event, _ = reported(city)
    first = router.alarm_event(None, event, partition=0, now=T0)
    linked = router.alarm_event(first.entry, alarm_event("CallLinked", 2, {}), partition=0, now=T0)
    again = router.alarm_event(linked.entry, event, partition=0, now=T0 + dt.timedelta(seconds=9))
    assert again.entry == linked.entry and again.entry["summary"]["call_count"] == 2
    # the same notification ids as the first time: the gateway drops the repeats
    assert [n.id for n in again.notifications] == [n.id for n in first.notifications]


def unit_record(name: str = "DispatchOrderAcknowledged", event_id: str | None = None) -> Envelope:
    return Envelope(id=event_id or str(uuid.uuid4()), source="/linkduty/units", type=f"linkduty.dispatch.{name}",
                    subject="a1", time=T0, data={"alarm_id": "a1", "unit_id": "u1"}, streamversion=2)


def test_a_units_record_of_a_known_alarm_goes_to_every_centre_told_with_the_summary_unchanged(router, city):
    event, chain = reported(city, severity="major")
    entry = router.alarm_event(None, event, partition=1, now=T0).entry
    record = unit_record()
    routed = router.unit_record(entry, None, record, partition=1, offset=17, now=T0)
    assert routed.waiting is None and routed.dropped == 0
    sent = told(routed.notifications)
    assert {c: n.reason for c, n in sent.items()} == entry["notified"] and set(chain.centre_ids()) < set(sent)
    assert all(n.alarm.__dict__ == entry["summary"] and n.event_data == record.data and n.event_id == record.id
               and n.event_type == "DispatchOrderAcknowledged" for n in sent.values())


def test_a_units_record_of_an_unknown_alarm_is_parked_with_where_it_was_read_bounded(router):
    first = router.unit_record(None, None, unit_record(event_id="e1"), partition=5, offset=40, now=T0,
                               topic="units.events")
    assert first.notifications == [] and first.dropped == 0
    assert first.waiting == {"partition": 5, "records": [
        {"envelope": {**unit_record(event_id="e1").__dict__, "time": T0.isoformat()}, "parked_at": T0.timestamp(),
         "offset": 40, "topic": "units.events"}]}
    waiting = first.waiting
    for offset, event_id in ((41, "e2"), (42, "e3"), (43, "e4")):
        routed = router.unit_record(None, waiting, unit_record(event_id=event_id), partition=5, offset=offset, now=T0)
        waiting = routed.waiting
    assert routed.dropped == 1  # three kept per alarm here
    assert [(r["envelope"]["id"], r["offset"]) for r in waiting["records"]] == [("e2", 41), ("e3", 42), ("e4", 43)]
    json.dumps(waiting)


def test_an_escalation_names_its_level_and_the_time_it_waited(router):
    command = router.escalation("a1", "district")
    assert (command.alarm_id, command.from_level) == ("a1", "district")
    assert command.reason == "not acknowledged at district level within 120 s"


# ---- the per-event shape: one AlarmRouted per event, keyed by its alarm, fanned out by the gateway

def fanned_out(records: list[Envelope]) -> dict[str, AlarmNotification]:
    """centre id → its notification, as the gateway fans the per-event records out."""
    return {n.centre_id: n for record in records for n in routed_from_data(record.data).notifications()}


def test_per_event_an_alarm_event_is_one_record_keyed_by_its_alarm_standing_for_the_same_notifications(
        router, per_event, city):
    event, chain = reported(city, severity="major")
    now = T0 + dt.timedelta(seconds=1)
    per_centre, routed = router.alarm_event(None, event, partition=2, now=now), per_event.alarm_event(
        None, event, partition=2, now=now)
    [record] = routed.notifications
    assert (record.type, record.subject, record.id, record.causationid) == (ROUTED_TYPE, "a1", routed_id(event.id),
                                                                            event.id)
    assert (record.traceparent, record.correlationid) == (TRACE, "corr-1")
    # what the centres see does not depend on the shape: the same notifications, ids and all
    assert fanned_out(routed.notifications) == told(per_centre.notifications)
    assert [c["centre_id"] for c in record.data["centres"]] == list(per_centre.entry["notified"])  # chain first
    assert {c["centre_id"]: c["reason"] for c in record.data["centres"]} == per_centre.entry["notified"]
    assert set(chain.centre_ids()) < set(per_centre.entry["notified"])  # and the neighbouring streets
    # the tables' entries and deadlines do not depend on it either
    assert (routed.entry, routed.deadline) == (per_centre.entry, per_centre.deadline)
    json.dumps(record.data)


def test_per_event_a_units_record_is_one_record_for_every_centre_told_and_a_redelivery_the_same(per_event, city):
    event, _ = reported(city)
    entry = per_event.alarm_event(None, event, partition=1, now=T0).entry
    record = unit_record()
    routed = per_event.unit_record(entry, None, record, partition=1, offset=17, now=T0)
    [sent] = routed.notifications
    assert (sent.subject, sent.causationid) == ("a1", record.id)  # key = the alarm, not the record's stream
    notifications = fanned_out(routed.notifications)
    assert {c: n.reason for c, n in notifications.items()} == entry["notified"]
    assert all(n.notification_id == notification_id(record.id, c) and n.alarm.__dict__ == entry["summary"]
               and n.event_type == "DispatchOrderAcknowledged" for c, n in notifications.items())
    again = per_event.unit_record(entry, None, record, partition=1, offset=17, now=T0 + dt.timedelta(seconds=3))
    assert [n.id for n in again.notifications] == [sent.id]
    assert per_event.unit_record(None, None, unit_record(), partition=1, offset=18, now=T0).notifications == []


# ---- fire hazards (hazards.events): who sees one, and what they see of it

@pytest.fixture(scope="module")
def hazard_router(city):
    config = RoutingConfig.load(DEFAULT_RULES)
    return Router(city, config.rules, TIMEOUTS, parked_per_alarm=3, shape=PER_EVENT, hazard_rules=config.hazard_rules)


def hazard_event(name: str, version: int, data: dict, *, hazard_id: str = "h1", at: dt.datetime = T0):
    """(envelope, the contract's event) of one hazards.events record."""
    envelope = Envelope(id=str(uuid.uuid4()), source="/linkduty/hazards", type=f"linkduty.hazard.{name}",
                        subject=hazard_id, time=at, data={"at": at.isoformat(), **data}, streamversion=version,
                        traceparent=TRACE, correlationid="corr-h")
    return envelope, hazard_event_from_data(envelope.type, envelope.data)


def hazard_reported(city, *, severity: str = "moderate", category: str = "ebike_indoors", index: int = 0):
    community = city.divisions(level=Level.COMMUNITY)[index]
    chain = city.resolve(community.lat, community.lon)
    return hazard_event("HazardReported", 1, {
        "hazard_id": "h1", "source": "resident_app", "category": category, "taxonomy_version": "2026.1",
        "severity": severity, "description": "楼道里停着电动车", "reporter_masked": "138****5678",
        "location": {"lat": community.lat, "lon": community.lon, "address": None},
        "jurisdiction": {level: getattr(chain, level).code for level in ("grid", "community", "street", "district",
                                                                         "city")},
        "triage_due_at": (T0 + dt.timedelta(hours=24)).isoformat()}), chain


def escalated(version: int, from_level: str, to_level: str, *, deadline: str = "triage"):
    return hazard_event("HazardEscalated", version, {
        "from_level": from_level, "to_level": to_level, "reason": "overdue", "deadline": deadline,
        "overdue_since": T0.isoformat(), "due_at": (T0 + dt.timedelta(hours=48)).isoformat()})


def hazard_told(notifications: list[Envelope]):
    return {n.subject: hazard_notification_from_data(n.data) for n in notifications}


def test_a_reported_hazard_goes_to_its_community_alone_one_notification_per_centre_whatever_the_shape(
        hazard_router, city):
    (envelope, event), chain = hazard_reported(city)
    routed = hazard_router.hazard_event(None, envelope, event, now=T0 + dt.timedelta(seconds=1))
    community = city.centre_of(chain.community.code).id
    assert routed.entry["notified"] == {community: "jurisdiction"} and "closed_at" not in routed.entry
    [record] = routed.notifications
    assert (record.type, record.subject, record.id, record.causationid) == (
        HAZARD_NOTIFICATION_TYPE, community, notification_id(envelope.id, community), envelope.id)
    assert (record.traceparent, record.correlationid) == (TRACE, "corr-h")
    n = hazard_told(routed.notifications)[community]
    assert (n.event_type, n.reason, n.open, n.occurred_at) == ("HazardReported", "jurisdiction", True, T0.isoformat())
    assert n.hazard.__dict__ == routed.entry["summary"] == {
        "hazard_id": "h1", "status": "reported", "category": "ebike_indoors", "severity": "moderate",
        "description": "楼道里停着电动车", "source": "resident_app", "reported_at": T0.isoformat(),
        "location": envelope.data["location"], "jurisdiction": envelope.data["jurisdiction"], "venue_id": None,
        "handling_level": "community", "handled_by": community, "triage_due_at": envelope.data["triage_due_at"],
        "rectification_due_at": None, "reinspection_due_at": None, "version": 1}
    json.dumps(routed.entry)


def test_what_a_hazard_notification_carries_of_the_event_is_the_contract_s_fields_only(hazard_router, city):
    (envelope, event), _ = hazard_reported(city)
    envelope = dataclasses.replace(envelope, data={**envelope.data, "reporter_ref": "vault-1", "extra": "x"})
    [n] = hazard_told(hazard_router.hazard_event(None, envelope, event, now=T0).notifications).values()
    assert "reporter_ref" not in n.event_data and "extra" not in n.event_data
    assert n.event_data["category"] == "ebike_indoors"


def test_a_major_hazard_reaches_the_street_at_once_by_the_rule_and_not_the_district(hazard_router, city):
    (envelope, event), chain = hazard_reported(city, severity="major", category="evacuation_route_blocked")
    routed = hazard_router.hazard_event(None, envelope, event, now=T0)
    community, street = city.centre_of(chain.community.code).id, city.centre_of(chain.street.code).id
    assert routed.entry["notified"] == {community: "jurisdiction", street: "rule:major-hazard-street"}
    assert set(hazard_told(routed.notifications)) == {community, street}
    assert routed.entry["summary"]["handling_level"] == "community"  # seen by the street, still the community's


def test_a_hazard_upgraded_to_major_at_triage_reaches_the_street_and_a_downgraded_one_keeps_it(hazard_router, city):
    (envelope, event), chain = hazard_reported(city)
    entry = hazard_router.hazard_event(None, envelope, event, now=T0).entry
    street = city.centre_of(chain.street.code).id
    upgraded = hazard_router.hazard_event(entry, *hazard_event("HazardAccepted", 2, {"severity": "major", "by": "s1"}),
                                          now=T0)
    assert upgraded.entry["notified"][street] == "rule:major-hazard-street"
    assert upgraded.entry["summary"]["status"] == "accepted"
    downgraded = hazard_router.hazard_event(upgraded.entry, *hazard_event(
        "HazardAssigned", 3, {"assignee_kind": "community", "assignee_id": "c1", "due_at": "2026-11-24T08:00:00+00:00",
                              "by": "s1"}), now=T0)
    assert street in hazard_told(downgraded.notifications)
    assert downgraded.entry["summary"]["rectification_due_at"] == "2026-11-24T08:00:00+00:00"


def test_an_overdue_hazard_escalates_one_level_and_every_centre_that_saw_it_gets_the_escalation(hazard_router, city):
    (envelope, event), chain = hazard_reported(city)
    entry = hazard_router.hazard_event(None, envelope, event, now=T0).entry
    community, street, district = (city.centre_of(d.code).id for d in (chain.community, chain.street, chain.district))
    to_street = hazard_router.hazard_event(entry, *escalated(2, "community", "street"), now=T0)
    assert to_street.entry["notified"] == {community: "jurisdiction", street: "escalation"}
    sent = hazard_told(to_street.notifications)
    assert set(sent) == {community, street} and {n.event_type for n in sent.values()} == {"HazardEscalated"}
    assert all((n.hazard.handling_level, n.hazard.handled_by) == ("street", street) for n in sent.values())
    assert sent[street].hazard.triage_due_at == (T0 + dt.timedelta(hours=48)).isoformat()  # the street's window
    to_district = hazard_router.hazard_event(to_street.entry, *escalated(3, "street", "district", deadline="rectification"),
                                             now=T0)
    assert to_district.entry["notified"] == {community: "jurisdiction", street: "escalation", district: "escalation"}
    assert set(hazard_told(to_district.notifications)) == {community, street, district}
    assert to_district.entry["summary"]["rectification_due_at"] == (T0 + dt.timedelta(hours=48)).isoformat()
    later = hazard_router.hazard_event(to_district.entry, *hazard_event(
        "RectificationSubmitted", 4, {"note": "搬走了", "by": "v1"}), now=T0)
    assert set(hazard_told(later.notifications)) == {community, street, district}  # every later event, to all of them
    assert later.entry["summary"]["status"] == "awaiting_verification"


def test_the_escalation_outranks_the_rule_as_the_street_s_reason(hazard_router, city):
    (envelope, event), chain = hazard_reported(city, severity="major")
    entry = hazard_router.hazard_event(None, envelope, event, now=T0).entry
    routed = hazard_router.hazard_event(entry, *escalated(2, "community", "street"), now=T0)
    assert routed.entry["notified"][city.centre_of(chain.street.code).id] == "escalation"


@pytest.mark.parametrize("steps, status, is_open, finished", [
    ([("HazardRejected", {"reason": "not_a_hazard", "message": "no", "by": "s"})], "rejected", False, True),
    ([("HazardMerged", {"into_hazard_id": "h0", "distance_m": 3.0, "by": "s"})], "merged", False, True),
    ([("HazardAccepted", {"severity": "moderate", "by": "s"}),
      ("HazardAssigned", {"assignee_kind": "community", "assignee_id": "c", "due_at": "2026-11-24T08:00:00+00:00",
                          "by": "s"}),
      ("RectificationSubmitted", {"note": "done", "by": "v"}), ("RectificationVerified", {"by": "s"}),
      ("ReinspectionScheduled", {"due_at": "2026-12-07T08:00:00+00:00"})], "closed", False, False),
    ([("HazardAccepted", {"severity": "moderate", "by": "s"}),
      ("HazardAssigned", {"assignee_kind": "community", "assignee_id": "c", "due_at": "2026-11-24T08:00:00+00:00",
                          "by": "s"}),
      ("RectificationSubmitted", {"note": "done", "by": "v"}), ("RectificationVerified", {"by": "s"}),
      ("ReinspectionConfirmed", {"by": "s"})], "confirmed", False, True),
])
def test_a_hazard_s_end_says_it_is_not_open_and_a_finished_one_is_marked_for_forgetting(
        hazard_router, city, steps, status, is_open, finished):
    (envelope, event), _ = hazard_reported(city)
    routed = hazard_router.hazard_event(None, envelope, event, now=T0)
    for version, (name, data) in enumerate(steps, start=2):
        routed = hazard_router.hazard_event(routed.entry, *hazard_event(name, version, data), now=T0)
    assert routed.entry["summary"]["status"] == status
    assert {n.open for n in hazard_told(routed.notifications).values()} == {is_open}
    assert ("closed_at" in routed.entry) == finished == (status in FINISHED_HAZARD_STATUSES)


def test_a_hazard_event_before_its_report_is_left_alone_and_a_redelivery_changes_nothing(hazard_router, city):
    assert hazard_router.hazard_event(None, *escalated(2, "community", "street"), now=T0) is None
    (envelope, event), _ = hazard_reported(city)
    first = hazard_router.hazard_event(None, envelope, event, now=T0)
    moved = hazard_router.hazard_event(first.entry, *escalated(2, "community", "street"), now=T0)
    again = hazard_router.hazard_event(moved.entry, envelope, event, now=T0 + dt.timedelta(seconds=9))
    assert again.entry == moved.entry and again.entry["summary"]["handling_level"] == "street"
    # to everyone who sees it now, under ids the gateway drops where it has them
    assert {n.id for n in first.notifications} < {n.id for n in again.notifications}

"""Routing and the timers against the real PostgreSQL and Kafka: what a poll of records (alarms,
units, hazards) sends, what state it leaves, and that a poll routed once is never routed again (a
crash's redelivery, a replaced worker's stale poll)."""

import asyncio
import dataclasses
import datetime as dt
import uuid

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NotLeaderForPartitionError

from linkage import state
from linkage.bootstrap import Worker
from linkage.config import LinkageSettings
from linkage.consumers import Routing, is_routed, is_transient
from linkage.router import Router
from linkage.routing import DEFAULT_RULES, RoutingConfig
from linkage.timers import Timers
from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts.commands import escalate_alarm_from_data
from linkduty_shared.contracts.notifications import HAZARD_NOTIFICATION_TYPE, ROUTED_TYPE
from linkduty_shared.events.envelope import Envelope, envelope_from_kafka, envelope_to_kafka
from linkduty_shared.jurisdictions import Level, load_demo_city
from linkduty_shared.messaging.consumer import ConsumerRunner
from linkduty_shared.messaging.kafka import reliable_producer
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic
from tests.conftest import eventually
from tests.support.kafka import make_topics, read_topic

SHARED_DLQ_HEADERS = ["dlq_consumer", "dlq_error", "dlq_topic", "dlq_partition", "dlq_offset", "dlq_attempts",
                      "dlq_failed_at"]
TIMEOUTS = {"community": 60.0, "street": 60.0, "district": 120.0, "city": 300.0}


@pytest.fixture(scope="module")
def city():
    return load_demo_city()


@pytest.fixture
async def topics(kafka_bootstrap):
    base = f"it.linkage.{uuid.uuid4().hex[:8]}"
    names = {"alarms": f"{base}.alarms", "units": f"{base}.units", "hazards": f"{base}.hazards",
             "volunteers": f"{base}.volunteers", "notifications": f"{base}.notifications", "commands": f"{base}.commands"}
    await make_topics(kafka_bootstrap, [spec for name in names.values()
                                        for spec in (TopicSpec(name, 6, 1, 3_600_000),
                                                     TopicSpec(dlq_topic(name), 1, 1, 3_600_000))])
    return names


@pytest.fixture
async def linkage_pool(pool):
    await pool.execute(state.DDL)
    return pool


@dataclasses.dataclass(frozen=True)
class PoisonFor(Router):
    """A router that cannot route the record with this event id (as a bug or a bad record would)."""

    poison: str = ""

    def notifications(self, envelope, *args, **kwargs):
        if envelope.id == self.poison:
            raise ValueError(f"cannot route {envelope.id}")
        return super().notifications(envelope, *args, **kwargs)


def settings_for(topics, app_id: str | None = None) -> LinkageSettings:
    return LinkageSettings(app_id=app_id or f"it-linkage-{uuid.uuid4().hex[:6]}", alarms_topic=topics["alarms"],
                           units_topic=topics["units"], hazards_topic=topics["hazards"],
                           volunteers_topic=topics["volunteers"], notifications_topic=topics["notifications"],
                           commands_topic=topics["commands"], escalation_retry_s=10.0)


def routing_for(city, topics, pool, producer, *, settings=None, poison: str = "", shape: str = "per_centre"):
    settings = settings or settings_for(topics)
    config = RoutingConfig.load(DEFAULT_RULES)
    router = PoisonFor(city, config.rules, TIMEOUTS, 200, poison, shape=shape, hazard_rules=config.hazard_rules)
    return Routing(settings, router, pool, producer), Timers(settings, router, pool, producer), settings


def record(topic: str, partition: int, offset: int, envelope: Envelope, key: bytes | None = b"a1"):
    message = envelope_to_kafka(envelope)
    return envelope, ConsumerRecord(topic, partition, offset, 0, 0, key, message.value, None, 0, 0,
                                    list(message.headers.items()))


def alarm_reported(city, alarm_id: str = "a1", index: int = 0) -> tuple[Envelope, tuple[str, ...]]:
    community = city.divisions(level=Level.COMMUNITY)[index]
    chain = city.resolve(community.lat, community.lon)
    data = {"kind": "fire", "severity": "moderate", "description": "", "received_at": "2026-11-23T08:00:00+00:00",
            "location": {"lat": community.lat, "lon": community.lon, "address": None},
            "jurisdiction": {level: getattr(chain, level).code
                             for level in ("grid", "community", "street", "district", "city")}}
    return Envelope(id=str(uuid.uuid4()), source="/linkduty/alarm", type="linkduty.alarm.AlarmReported",
                    subject=alarm_id, time=dt.datetime.now(dt.UTC), data=data, streamversion=1), chain.centre_ids()


def unit_record(alarm_id: str = "a1", name: str = "DispatchOrderAcknowledged") -> Envelope:
    return Envelope(id=str(uuid.uuid4()), source="/linkduty/units", type=f"linkduty.dispatch.{name}", subject=alarm_id,
                    time=dt.datetime.now(dt.UTC), data={"alarm_id": alarm_id, "unit_id": "u1"}, streamversion=1)


def envelopes(records) -> list[Envelope]:
    return [envelope_from_kafka(r.headers, r.key, r.value) for r in records]


async def nothing_more_on(bootstrap: str, topic: str, count: int) -> None:
    """`topic` holds exactly `count` records (read_topic's grace read would show more)."""
    assert len(await read_topic(bootstrap, topic, until_count=count, timeout=10)) == count


async def test_an_alarm_event_reaches_its_four_centres_once_and_a_redelivered_poll_sends_nothing(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    routing, _, settings = routing_for(city, topics, linkage_pool, producer)
    reported, centres = alarm_reported(city)
    poll = [record(topics["alarms"], 0, 7, reported)]
    await routing.route_batch(poll)
    await routing.route_batch(poll)  # after a crash before the Kafka commit, or a replaced worker's stale poll
    told = await read_topic(kafka_bootstrap, topics["notifications"], until_count=len(centres))
    assert sorted(n.subject for n in envelopes(told)) == sorted(centres) and len(told) == len(centres)
    assert [r.key for r in told] == [n.subject.encode() for n in envelopes(told)]  # key = centre id
    deadline = await linkage_pool.fetchrow("SELECT level, due_at, asked_at FROM linkage_deadlines WHERE consumer = $1",
                                           settings.app_id)
    assert dict(deadline) == {"level": "community", "due_at": reported.time.timestamp() + 60, "asked_at": None}
    entry = await linkage_pool.fetchval("SELECT entry FROM linkage_alarms WHERE consumer = $1 AND alarm_id = 'a1'",
                                        settings.app_id)
    assert set(entry["notified"]) == set(centres)
    assert await state.next_offsets(linkage_pool, settings.app_id, {(topics["alarms"], 0)}) == {(topics["alarms"], 0): 8}


async def test_two_workers_of_one_group_route_a_partition_once_and_their_states_are_apart(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    """Two workers handed the same poll at once (one the group has replaced, not yet told): the
    partition lock lets one route it, and the other finds it done. A worker of another group
    (its own app id) routes it for itself."""
    settings = settings_for(topics)
    first, _, _ = routing_for(city, topics, linkage_pool, producer, settings=settings)
    second, _, _ = routing_for(city, topics, linkage_pool, producer, settings=settings)
    reported, centres = alarm_reported(city)
    poll = [record(topics["alarms"], 2, 0, reported), record(topics["units"], 2, 0, unit_record())]
    await asyncio.gather(first.route_batch(poll), second.route_batch(poll))
    await nothing_more_on(kafka_bootstrap, topics["notifications"], 2 * len(centres))
    other, _, _ = routing_for(city, topics, linkage_pool, producer)
    await other.route_batch(poll)
    await nothing_more_on(kafka_bootstrap, topics["notifications"], 4 * len(centres))


async def test_per_event_an_alarm_event_is_one_record_keyed_by_its_alarm_and_its_units_records_too(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    routing, _, _ = routing_for(city, topics, linkage_pool, producer, shape="per_event")
    reported, centres = alarm_reported(city)
    await routing.route_batch([record(topics["alarms"], 0, 7, reported), record(topics["units"], 0, 3, unit_record())])
    told = await read_topic(kafka_bootstrap, topics["notifications"], until_count=2)
    assert [r.key for r in told] == [b"a1", b"a1"] and [n.type for n in envelopes(told)] == [ROUTED_TYPE] * 2
    assert [sorted(c["centre_id"] for c in n.data["centres"]) for n in envelopes(told)] == [sorted(centres)] * 2


async def test_a_poison_record_goes_to_the_dlq_with_the_shared_headers_and_the_rest_of_its_poll_is_routed(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    poison, centres = alarm_reported(city, "a2", index=1)
    routing, _, settings = routing_for(city, topics, linkage_pool, producer, poison=poison.id)
    reported, centres = alarm_reported(city)
    nameless = dataclasses.replace(unit_record(), data={"unit_id": "u1"})  # names no alarm, and has no key
    await routing.route_batch([record(topics["alarms"], 3, 40, poison, key=b"a2"),
                               record(topics["alarms"], 3, 41, reported),
                               record(topics["units"], 3, 9, nameless, key=None)])
    told = await read_topic(kafka_bootstrap, topics["notifications"], until_count=len(centres))
    assert {n.data["alarm"]["alarm_id"] for n in envelopes(told)} == {"a1"}
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(topics["alarms"]), until_count=1)
    assert envelope_from_kafka(dead.headers, dead.key, dead.value) == poison  # the record's own headers came along
    assert [name for name, _ in dead.headers if name.startswith("dlq_")] == SHARED_DLQ_HEADERS
    dlq = dict(dead.headers)
    assert {k: dlq[k] for k in ("dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset", "dlq_attempts")} == {
        "dlq_consumer": settings.app_id.encode(), "dlq_topic": topics["alarms"].encode(), "dlq_partition": b"3",
        "dlq_offset": b"40", "dlq_attempts": b"1"}
    assert dlq["dlq_error"] == f"ValueError: cannot route {poison.id}".encode()
    [unrouted] = await read_topic(kafka_bootstrap, dlq_topic(topics["units"]), until_count=1)
    assert dict(unrouted.headers)["dlq_error"].startswith(b"EnvelopeError") and unrouted.key is None
    assert await state.next_offsets(linkage_pool, settings.app_id, {(topics["alarms"], 3), (topics["units"], 3)}) == {
        (topics["alarms"], 3): 42, (topics["units"], 3): 10}


async def test_parked_records_are_routed_after_their_alarm_and_a_poison_one_goes_to_the_dlq_alone(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    early, poison = unit_record(name="DispatchPlanned"), unit_record()
    routing, _, settings = routing_for(city, topics, linkage_pool, producer, poison=poison.id)
    await routing.route_batch([record(topics["units"], 4, 10, early), record(topics["units"], 4, 11, poison)])
    waiting = await linkage_pool.fetchval("SELECT waiting FROM linkage_parked WHERE consumer = $1", settings.app_id)
    assert [r["offset"] for r in waiting["records"]] == [10, 11]
    reported, centres = alarm_reported(city)
    await routing.route_batch([record(topics["alarms"], 4, 0, reported)])
    told = envelopes(await read_topic(kafka_bootstrap, topics["notifications"], until_count=8))
    for centre in centres:  # each centre's in the order they were routed (one partition per centre)
        assert [n.data["event_type"] for n in told if n.subject == centre] == ["AlarmReported", "DispatchPlanned"]
    assert not await linkage_pool.fetchval("SELECT count(*) FROM linkage_parked WHERE consumer = $1", settings.app_id)
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(topics["units"]), until_count=1)
    assert dead.key == b"a1" and envelope_from_kafka(dead.headers, dead.key, dead.value) == poison
    dlq = dict(dead.headers)
    assert (dlq["dlq_topic"], dlq["dlq_partition"], dlq["dlq_offset"]) == (topics["units"].encode(), b"4", b"11")


async def test_a_poll_whose_notifications_kafka_refuses_leaves_no_state_and_is_routed_whole_later(
        city, topics, linkage_pool, kafka_bootstrap):
    """The notifications topic does not exist yet: the send fails (an outage, retried by the
    runner), the transaction rolls back, and the next attempt routes everything again."""
    refusing = reliable_producer(kafka_bootstrap, client_id="it-linkage-refused")
    refusing._request_timeout_ms = 1000  # how long a send waits for a topic's metadata  # noqa: SLF001
    await refusing.start()
    later = dict(topics, notifications=f"{topics['notifications']}.later")
    try:
        routing, _, settings = routing_for(city, later, linkage_pool, refusing)
        reported, centres = alarm_reported(city)
        poll = [record(topics["alarms"], 1, 3, reported)]
        with pytest.raises(Exception) as refused:
            await routing.route_batch(poll)
        assert is_transient(refused.value), refused.value
        assert not await linkage_pool.fetchval("SELECT count(*) FROM linkage_alarms WHERE consumer = $1", settings.app_id)
        assert not await state.next_offsets(linkage_pool, settings.app_id, {(topics["alarms"], 1)})
        await make_topics(kafka_bootstrap, [TopicSpec(later["notifications"], 6, 1, 3_600_000)])
        await routing.route_batch(poll)
        told = await read_topic(kafka_bootstrap, later["notifications"], until_count=len(centres))
        assert sorted(n.subject for n in envelopes(told)) == sorted(centres)
    finally:
        await refusing.stop()


async def test_an_overdue_alarm_is_escalated_once_per_retry_interval_until_its_escalation_takes_effect(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    routing, timers, settings = routing_for(city, topics, linkage_pool, producer)
    reported, _ = alarm_reported(city)
    reported = dataclasses.replace(reported, time=reported.time - dt.timedelta(seconds=61))  # community: 60 s
    await routing.route_batch([record(topics["alarms"], 0, 0, reported)])
    assert await timers.escalate_overdue_alarms() == 1
    assert await timers.escalate_overdue_alarms() == 0  # asked for: not again before escalation_retry_s
    [command] = envelopes(await read_topic(kafka_bootstrap, topics["commands"], until_count=1))
    assert command.type == "linkduty.linkage.EscalateAlarm" and command.subject == "a1"
    assert escalate_alarm_from_data(command.data).from_level == "community"
    await linkage_pool.execute("UPDATE linkage_deadlines SET asked_at = asked_at - 11")
    assert await timers.escalate_overdue_alarms() == 1  # not taken effect within the interval: asked again
    escalated = Envelope(id=str(uuid.uuid4()), source="/linkduty/alarm", type="linkduty.alarm.AlarmEscalated",
                         subject="a1", time=dt.datetime.now(dt.UTC), streamversion=2,
                         data={"from_level": "community", "to_level": "street", "reason": "timeout"})
    await routing.route_batch([record(topics["alarms"], 0, 1, escalated)])
    assert await timers.escalate_overdue_alarms() == 0  # the street's own minute has begun
    assert await linkage_pool.fetchval("SELECT level FROM linkage_deadlines WHERE consumer = $1",
                                       settings.app_id) == "street"


async def test_closed_alarms_are_forgotten_after_their_retention_and_stale_parked_records_dropped(
        city, topics, linkage_pool, producer):
    routing, timers, settings = routing_for(city, topics, linkage_pool, producer)
    reported, _ = alarm_reported(city)
    closed = Envelope(id=str(uuid.uuid4()), source="/linkduty/alarm", type="linkduty.alarm.AlarmClosed",
                      subject="a1", time=dt.datetime.now(dt.UTC), streamversion=2, data={"reason": "out"})
    await routing.route_batch([record(topics["alarms"], 0, 0, reported), record(topics["alarms"], 0, 1, closed),
                               record(topics["units"], 5, 0, unit_record("a9"), key=b"a9")])
    assert await timers.forget_closed_alarms() == 0  # still within closed_retention_s
    assert await timers.drop_stale_parked_records() == 0
    await linkage_pool.execute("UPDATE linkage_alarms SET closed_at = closed_at - $1", settings.closed_retention_s + 1)
    await linkage_pool.execute("UPDATE linkage_parked SET parked_at = parked_at - $1,"
                               " waiting = jsonb_set(waiting, '{records,0,parked_at}',"
                               " to_jsonb((waiting #>> '{records,0,parked_at}')::float - $1))", settings.parked_max_age_s + 1)
    assert await timers.forget_closed_alarms() == 1
    assert await timers.drop_stale_parked_records() == 1
    assert not await linkage_pool.fetchval("SELECT count(*) FROM linkage_alarms WHERE consumer = $1", settings.app_id)
    assert not await linkage_pool.fetchval("SELECT count(*) FROM linkage_parked WHERE consumer = $1", settings.app_id)


def test_which_errors_are_outages():
    assert is_transient(KafkaConnectionError()) and is_transient(KafkaTimeoutError())
    assert is_transient(NotLeaderForPartitionError()) and is_transient(OSError()) and is_transient(TimeoutError())
    assert is_transient(asyncpg.DeadlockDetectedError()) and is_transient(asyncpg.IdleInTransactionSessionTimeoutError())
    assert not is_transient(ValueError()) and not is_transient(ContractViolation("x")) and not is_transient(KeyError("k"))


def test_routing_takes_every_alarm_and_hazard_event_and_only_the_units_records_consoles_show():
    assert is_routed("linkduty.alarm.AlarmReported") and is_routed("linkduty.dispatch.DispatchPlanned")
    assert not is_routed("linkduty.dispatch.DispatchOrderIssued") and not is_routed("linkduty.unit.UnitStatusChanged")
    # a hazard type the contract does not know is taken too, to be dead-lettered, not skipped unseen
    assert is_routed("linkduty.hazard.HazardEscalated") and is_routed("linkduty.hazard.HazardNotYetInTheContract")
    assert is_routed("linkduty.alarm_context.AlarmContextAttached")  # the alarms' pictures, from hazards.events


async def test_a_consumer_stuck_on_one_poll_says_for_how_long_and_not_after_it_is_through(kafka_bootstrap, topic):
    """What the linkage heartbeat reads: an outage retried in place holds the stream."""
    down = asyncio.Event()
    down.set()

    async def handle(envelope, record):
        if down.is_set():
            raise OSError("PostgreSQL is down")

    runner = ConsumerRunner(bootstrap=kafka_bootstrap, group_id=f"it-stuck-{uuid.uuid4().hex[:6]}", topics=[topic],
                            handler=handle, retry_backoff_s=0.05)
    reported, _ = alarm_reported(load_demo_city())
    await producer_send(kafka_bootstrap, topic, reported)
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: runner.stuck_for() > 1.0, timeout=30, what="the runner stuck on the record")
        down.clear()
        await eventually(lambda: runner.processed == 1, timeout=30, what="the record handled")
        assert runner.stuck_for() < 1.0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def producer_send(bootstrap: str, topic: str, envelope: Envelope) -> None:
    producer = reliable_producer(bootstrap)
    await producer.start()
    try:
        message = envelope_to_kafka(envelope)
        await producer.send_and_wait(topic, message.value, key=envelope.subject.encode(),
                                     headers=list(message.headers.items()))
    finally:
        await producer.stop()


# ---- fire hazards (hazards.events) on the same routing, state and guarantees

def hazard_record(name: str, version: int, data: dict, hazard_id: str = "h1") -> Envelope:
    at = dt.datetime.now(dt.UTC)
    return Envelope(id=str(uuid.uuid4()), source="/linkduty/hazards", type=f"linkduty.hazard.{name}",
                    subject=hazard_id, time=at, data={"at": at.isoformat(), **data}, streamversion=version)


def hazard_reported(city, hazard_id: str = "h1", *, severity: str = "moderate", index: int = 0):
    """The HazardReported and the hazard's chain (community, street, district centre ids)."""
    community = city.divisions(level=Level.COMMUNITY)[index]
    chain = city.resolve(community.lat, community.lon)
    reported = hazard_record("HazardReported", 1, {
        "hazard_id": hazard_id, "source": "grid_worker", "category": "evacuation_route_blocked",
        "taxonomy_version": "2026.1", "severity": severity, "description": "安全出口上锁",
        "location": {"lat": community.lat, "lon": community.lon, "address": None},
        "jurisdiction": {level: getattr(chain, level).code for level in ("grid", "community", "street", "district",
                                                                         "city")},
        "triage_due_at": dt.datetime.now(dt.UTC).isoformat()}, hazard_id)
    return reported, tuple(city.centre_of(getattr(chain, level).code).id for level in ("community", "street", "district"))


def hazard_escalated(version: int, from_level: str, to_level: str, hazard_id: str = "h1") -> Envelope:
    return hazard_record("HazardEscalated", version, {"from_level": from_level, "to_level": to_level,
                                                      "reason": "triage overdue", "deadline": "triage"}, hazard_id)


async def test_a_hazard_reaches_its_community_then_each_level_it_escalates_to_once_each_and_its_state_is_kept(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    routing, _, settings = routing_for(city, topics, linkage_pool, producer)
    reported, (community, street, district) = hazard_reported(city)
    first = [record(topics["hazards"], 2, 0, reported, key=b"h1")]
    await routing.route_batch(first)
    await routing.route_batch(first)  # redelivered: nothing sent twice
    await routing.route_batch([record(topics["hazards"], 2, 1, hazard_escalated(2, "community", "street"), key=b"h1"),
                               record(topics["hazards"], 2, 2, hazard_escalated(3, "street", "district"), key=b"h1")])
    records = await read_topic(kafka_bootstrap, topics["notifications"], until_count=1 + 2 + 3)
    told = envelopes(records)
    assert {n.type for n in told} == {HAZARD_NOTIFICATION_TYPE}
    assert [r.key for r in records] == [n.subject.encode() for n in told]  # key = centre id
    seen = {centre: [(n.data["event_type"], n.data["hazard"]["handling_level"]) for n in told if n.subject == centre]
            for centre in (community, street, district)}  # each centre's in routing order (one partition each)
    assert seen == {community: [("HazardReported", "community"), ("HazardEscalated", "street"),
                                ("HazardEscalated", "district")],
                    street: [("HazardEscalated", "street"), ("HazardEscalated", "district")],
                    district: [("HazardEscalated", "district")]}
    entry = await linkage_pool.fetchval("SELECT entry FROM linkage_hazards WHERE consumer = $1 AND hazard_id = 'h1'",
                                        settings.app_id)
    assert entry["notified"] == {community: "jurisdiction", street: "escalation", district: "escalation"}
    assert entry["summary"]["version"] == 3
    assert await state.next_offsets(linkage_pool, settings.app_id, {(topics["hazards"], 2)}) == {
        (topics["hazards"], 2): 3}
    # no deadline of linkage's own: the hazards service keeps a hazard's
    assert not await linkage_pool.fetchval("SELECT count(*) FROM linkage_deadlines WHERE consumer = $1", settings.app_id)


async def test_a_major_hazard_reaches_the_street_at_once(city, topics, linkage_pool, producer, kafka_bootstrap):
    routing, _, _ = routing_for(city, topics, linkage_pool, producer)
    reported, (community, street, _) = hazard_reported(city, severity="major")
    await routing.route_batch([record(topics["hazards"], 0, 0, reported, key=b"h1")])
    told = envelopes(await read_topic(kafka_bootstrap, topics["notifications"], until_count=2))
    assert {n.subject: n.data["reason"] for n in told} == {community: "jurisdiction", street: "rule:major-hazard-street"}


async def test_a_poison_hazard_record_goes_to_the_hazards_dlq_and_the_alarms_and_hazards_of_its_poll_are_routed(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    routing, _, settings = routing_for(city, topics, linkage_pool, producer)
    broken, _ = hazard_reported(city, "h2", index=1)
    broken = dataclasses.replace(broken, data={**broken.data, "severity": "apocalyptic"})  # breaks the contract
    unknown = hazard_record("HazardTeleported", 2, {}, "h1")  # a type the contract does not know
    nowhere, _ = hazard_reported(city, "h3")
    nowhere = dataclasses.replace(nowhere, data={**nowhere.data, "jurisdiction": {
        **nowhere.data["jurisdiction"], "community": "999999999999"}})  # valid, but no community of this city
    reported, (community, _, _) = hazard_reported(city)
    alarm, centres = alarm_reported(city)
    await routing.route_batch([record(topics["hazards"], 3, 10, broken, key=b"h2"),
                               record(topics["alarms"], 3, 0, alarm),
                               record(topics["hazards"], 3, 11, reported, key=b"h1"),
                               record(topics["hazards"], 3, 12, unknown, key=b"h1"),
                               record(topics["hazards"], 3, 13, nowhere, key=b"h3")])
    told = envelopes(await read_topic(kafka_bootstrap, topics["notifications"], until_count=len(centres) + 1))
    assert sorted(n.subject for n in told if n.type == HAZARD_NOTIFICATION_TYPE) == [community]
    assert sorted(n.subject for n in told if n.type != HAZARD_NOTIFICATION_TYPE) == sorted(centres)
    dead = await read_topic(kafka_bootstrap, dlq_topic(topics["hazards"]), until_count=3)
    assert [envelope_from_kafka(d.headers, d.key, d.value).id for d in dead] == [broken.id, unknown.id, nowhere.id]
    assert all([name for name, _ in d.headers if name.startswith("dlq_")] == SHARED_DLQ_HEADERS for d in dead)
    errors = [dict(d.headers)["dlq_error"] for d in dead]
    assert errors[0].startswith(b"ContractViolation") and b"severity" in errors[0]
    assert b"no event of the hazards.events v1 contract" in errors[1]
    assert errors[2].startswith(b"KeyError")  # the router could not place it: no retry changes that
    assert [dict(d.headers)["dlq_offset"] for d in dead] == [b"10", b"12", b"13"]
    assert await state.next_offsets(linkage_pool, settings.app_id, {(topics["hazards"], 3), (topics["alarms"], 3)}) == {
        (topics["hazards"], 3): 14, (topics["alarms"], 3): 1}
    assert await linkage_pool.fetchval("SELECT count(*) FROM linkage_hazards WHERE consumer = $1", settings.app_id) == 1


async def test_a_finished_hazard_is_forgotten_after_the_retention_and_an_open_one_kept(
        city, topics, linkage_pool, producer):
    routing, timers, settings = routing_for(city, topics, linkage_pool, producer)
    rejected_one, _ = hazard_reported(city, "h1")
    open_one, _ = hazard_reported(city, "h2")
    rejected = hazard_record("HazardRejected", 2, {"reason": "not_a_hazard", "message": "不是隐患", "by": "s1"})
    await routing.route_batch([record(topics["hazards"], 1, 0, rejected_one, key=b"h1"),
                               record(topics["hazards"], 1, 1, rejected, key=b"h1"),
                               record(topics["hazards"], 4, 0, open_one, key=b"h2")])
    assert await timers.forget_finished_hazards() == 0  # still within closed_retention_s
    await linkage_pool.execute("UPDATE linkage_hazards SET closed_at = closed_at - $1", settings.closed_retention_s + 1)
    assert await timers.forget_finished_hazards() == 1
    assert [r["hazard_id"] for r in await linkage_pool.fetch(
        "SELECT hazard_id FROM linkage_hazards WHERE consumer = $1", settings.app_id)] == ["h2"]


async def test_the_worker_consumes_hazards_events_in_its_group_beside_the_alarms(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    """The whole worker (its consumer runner on the three topics, co-partitioned) on real records."""
    settings = settings_for(topics).model_copy(update={"kafka_bootstrap": kafka_bootstrap})
    config = RoutingConfig.load(DEFAULT_RULES)
    worker = Worker(settings, Router(city, config.rules, TIMEOUTS, 200, hazard_rules=config.hazard_rules),
                    linkage_pool)
    reported, (community, street, _) = hazard_reported(city, severity="major")
    alarm, centres = alarm_reported(city)
    for topic, envelope in ((topics["hazards"], reported), (topics["alarms"], alarm)):
        message = envelope_to_kafka(envelope)
        await producer.send_and_wait(topic, message.value, key=envelope.subject.encode(),
                                     headers=list(message.headers.items()))
    task = asyncio.create_task(worker.run())
    try:
        told = envelopes(await read_topic(kafka_bootstrap, topics["notifications"], until_count=len(centres) + 2,
                                          timeout=30))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sorted(n.subject for n in told if n.type == HAZARD_NOTIFICATION_TYPE) == sorted([community, street])
    assert sorted(n.subject for n in told if n.type != HAZARD_NOTIFICATION_TYPE) == sorted(centres)


def alarm_context(city, alarm_id: str = "a1", **extra) -> Envelope:
    """An AlarmContextAttached as the hazards service publishes it (contracts/alarm_context.py)."""
    community = city.divisions(level=Level.COMMUNITY)[0]
    data = {"alarm_id": alarm_id, "at": dt.datetime.now(dt.UTC).isoformat(), "lat": community.lat,
            "lon": community.lon, "jurisdiction": city.resolve(community.lat, community.lon).codes(), "radius_m": 100.0,
            "venue": None, "hazards": [{
                "hazard_id": "h9", "category": "evacuation_route_blocked", "severity": "major", "status": "rectifying",
                "description": "北侧安全出口上锁", "reported_at": "2026-12-01T08:00:00+00:00",
                "due_at": "2026-12-02T08:00:00+00:00", "overdue": True, "distance_m": 40.0, "venue_id": None,
                "at_the_venue": False}],
            "open_hazards": 1, "overdue_hazards": 1, "headline": "1 open hazard within 100 m, 1 overdue"} | extra
    return Envelope(id=str(uuid.uuid4()), source="/linkduty/hazards", type="linkduty.alarm_context.AlarmContextAttached",
                    subject=alarm_id, time=dt.datetime.now(dt.UTC), data=data, streamversion=1)


async def test_a_picture_before_its_alarm_is_parked_then_follows_its_alarm_report_to_its_four_centres(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    routing, _, settings = routing_for(city, topics, linkage_pool, producer)
    early = alarm_context(city, surplus="not in the contract")
    await routing.route_batch([record(topics["hazards"], 2, 30, early)])
    waiting = await linkage_pool.fetchval("SELECT waiting FROM linkage_parked WHERE consumer = $1", settings.app_id)
    assert [(r["topic"], r["offset"]) for r in waiting["records"]] == [(topics["hazards"], 30)]
    reported, centres = alarm_reported(city)
    await routing.route_batch([record(topics["alarms"], 2, 0, reported)])
    told = envelopes(await read_topic(kafka_bootstrap, topics["notifications"], until_count=8))
    for centre in centres:
        assert [n.data["event_type"] for n in told if n.subject == centre] == ["AlarmReported", "AlarmContextAttached"]
    pictures = [n.data for n in told if n.data["event_type"] == "AlarmContextAttached"]
    assert all(p["event_data"]["hazards"][0]["overdue"] and "surplus" not in p["event_data"] for p in pictures)
    assert all(p["alarm"]["version"] == 1 for p in pictures)  # it changes no summary


async def test_a_picture_breaking_its_contract_goes_to_the_hazards_dlq_and_its_alarm_is_routed(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    routing, _, settings = routing_for(city, topics, linkage_pool, producer)
    reported, centres = alarm_reported(city)
    broken = alarm_context(city, open_hazards=-1)
    stranger = alarm_context(city, alarm_id="a2")  # its subject says a1, its data a2
    stranger = dataclasses.replace(stranger, subject="a1")
    await routing.route_batch([record(topics["alarms"], 1, 0, reported), record(topics["hazards"], 1, 5, broken),
                               record(topics["hazards"], 1, 6, stranger)])
    told = envelopes(await read_topic(kafka_bootstrap, topics["notifications"], until_count=len(centres)))
    assert {n.data["event_type"] for n in told} == {"AlarmReported"}
    dead = await read_topic(kafka_bootstrap, dlq_topic(topics["hazards"]), until_count=2)
    errors = [dict(d.headers)["dlq_error"] for d in dead]
    assert b"open_hazards" in errors[0] and b"is not its alarm_id" in errors[1]
    assert await state.next_offsets(linkage_pool, settings.app_id, {(topics["hazards"], 1)}) == {
        (topics["hazards"], 1): 7}


async def test_centres_that_join_an_alarm_later_get_its_picture_too_and_forgotten_alarms_leave_none(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    routing, timers, settings = routing_for(city, topics, linkage_pool, producer)
    reported, centres = alarm_reported(city)
    picture = alarm_context(city)
    await routing.route_batch([record(topics["alarms"], 2, 0, reported), record(topics["hazards"], 2, 0, picture)])
    upgraded = Envelope(id=str(uuid.uuid4()), source="/linkduty/alarm", type="linkduty.alarm.AlarmUpdated",
                        subject="a1", time=dt.datetime.now(dt.UTC), streamversion=2,
                        data={"changes": {"severity": "major"}})  # its neighbouring streets join
    await routing.route_batch([record(topics["alarms"], 2, 1, upgraded)])
    entry = await linkage_pool.fetchval("SELECT entry FROM linkage_alarms WHERE consumer = $1 AND alarm_id = 'a1'",
                                        settings.app_id)
    neighbours = set(entry["notified"]) - set(centres)
    assert neighbours, "a major fire reaches the neighbouring streets"
    told = envelopes(await read_topic(kafka_bootstrap, topics["notifications"],
                                      until_count=2 * len(centres) + 2 * len(neighbours)))
    pictured = sorted(n.subject for n in told if n.data["event_type"] == "AlarmContextAttached")
    assert pictured == sorted([*centres, *neighbours])  # each centre once: the first four, then those who joined
    late = [n for n in told if n.data["event_type"] == "AlarmContextAttached" and n.subject in neighbours]
    assert all(n.data["alarm"]["severity"] == "major" and n.data["event_data"]["alarm_id"] == "a1" for n in late)
    await linkage_pool.execute("UPDATE linkage_alarms SET closed_at = 0 WHERE consumer = $1", settings.app_id)
    await timers.forget_closed_alarms()
    assert not await linkage_pool.fetchval("SELECT count(*) FROM linkage_alarm_contexts WHERE consumer = $1",
                                           settings.app_id)


def volunteer_response(city, alarm_id: str = "a1", name: str = "VolunteerResponseAccepted", **extra) -> Envelope:
    """A volunteers' response record as the volunteers service publishes it (contracts/volunteers.py)."""
    data = {"alarm_id": alarm_id, "volunteer_id": "v1", "name_masked": "张**", "grade": "level_1", "eta_minutes": 4,
            "distance_m": 150.0, "at": dt.datetime.now(dt.UTC).isoformat()} | extra
    return Envelope(id=str(uuid.uuid4()), source="/linkduty/volunteers", type=f"linkduty.alarm_response.{name}",
                    subject=alarm_id, time=dt.datetime.now(dt.UTC), data=data, streamversion=1)


async def test_a_volunteer_coming_reaches_the_alarm_s_four_centres_and_a_forged_one_goes_to_the_dlq(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    routing, _, settings = routing_for(city, topics, linkage_pool, producer)
    early = volunteer_response(city, surplus="not in the contract")
    await routing.route_batch([record(topics["volunteers"], 3, 10, early)])  # overtook its AlarmReported: parked
    reported, centres = alarm_reported(city)
    forged = volunteer_response(city, eta_minutes=-5)
    declined = volunteer_response(city, name="VolunteerResponseDeclined")  # the volunteers service's own business
    await routing.route_batch([record(topics["alarms"], 3, 0, reported), record(topics["volunteers"], 3, 11, forged)])
    assert not is_routed(declined.type)
    told = envelopes(await read_topic(kafka_bootstrap, topics["notifications"], until_count=2 * len(centres)))
    for centre in centres:
        assert [n.data["event_type"] for n in told if n.subject == centre] == ["AlarmReported",
                                                                              "VolunteerResponseAccepted"]
    coming = [n.data["event_data"] for n in told if n.data["event_type"] == "VolunteerResponseAccepted"]
    assert all(c["eta_minutes"] == 4 and "surplus" not in c for c in coming)
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(topics["volunteers"]), until_count=1)
    assert b"eta_minutes" in dict(dead.headers)["dlq_error"]


def order_event(city, name: str = "ServiceOrderAccepted", divisions: str | None = "", **data) -> Envelope:
    """A service order's event as the volunteers service publishes it (contracts/volunteers.py),
    `divisions` the order's chain (the community's, by default)."""
    community = city.divisions(level=Level.COMMUNITY)[0]
    chain = city.resolve(community.lat, community.lon)
    if divisions == "":
        divisions = " ".join(getattr(chain, level).code for level in ("community", "street", "district", "city"))
    data = {"volunteer_id": "v1", "name_masked": "张**", "at": dt.datetime.now(dt.UTC).isoformat()} | data
    return Envelope(id=str(uuid.uuid4()), source="/linkduty/volunteers", type=f"linkduty.service_order.{name}",
                    subject="o1", time=dt.datetime.now(dt.UTC), data=data, streamversion=3, divisions=divisions)


async def test_a_service_order_s_transition_reaches_its_community_and_street_and_a_placeless_one_the_dlq(
        city, topics, linkage_pool, producer, kafka_bootstrap):
    routing, _, settings = routing_for(city, topics, linkage_pool, producer)
    accepted = order_event(city, surplus="not in the contract")
    community, street, _, _ = alarm_reported(city)[1]
    await routing.route_batch([record(topics["volunteers"], 0, 0, accepted, key=b"o1"),
                               record(topics["volunteers"], 0, 1, order_event(city, divisions=None), key=b"o1"),
                               record(topics["volunteers"], 0, 2, order_event(city, name="ServiceOrderTeleported"),
                                      key=b"o1")])
    told = envelopes(await read_topic(kafka_bootstrap, topics["notifications"], until_count=2))
    assert sorted(n.subject for n in told) == sorted([community, street])
    assert all(n.type == "linkduty.linkage.ServiceOrderNotification" and n.data["order_id"] == "o1"
               and n.data["event_data"] == {k: accepted.data[k] for k in ("volunteer_id", "name_masked", "at")}
               for n in told)
    dead = await read_topic(kafka_bootstrap, dlq_topic(topics["volunteers"]), until_count=2)
    errors = {int(dict(d.headers)["dlq_offset"]): dict(d.headers)["dlq_error"] for d in dead}
    assert b"name no community" in errors[1] and b"no event of the service_order" in errors[2]
    await nothing_more_on(kafka_bootstrap, topics["notifications"], 2)

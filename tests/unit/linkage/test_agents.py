"""The agents' and timers' work, without Faust running: tables as plain dicts, and topics that record
what is sent to them (and can fail, as a Kafka that is down fails)."""

import asyncio
import dataclasses
import datetime as dt
import time
import uuid

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NotLeaderForPartitionError
from faust.exceptions import PartitionsMismatch, ProducerSendError
from faust.types import Message

from linkage.agents import Routing, is_transient
from linkage.app import Tables, Topics
from linkage.config import LinkageSettings
from linkage.router import Router
from linkage.routing import DEFAULT_RULES, RoutingConfig
from linkage.timers import Escalations, Timers
from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts.commands import escalate_alarm_from_data
from linkduty_shared.contracts.notifications import ROUTED_TYPE
from linkduty_shared.events.envelope import Envelope, envelope_from_kafka, envelope_to_kafka
from linkduty_shared.jurisdictions import Level, load_demo_city
from linkduty_shared.messaging.consumer import dlq_headers

ALARMS, UNITS = "alarms.events", "units.events"
SETTINGS = LinkageSettings(app_id="linkage-unit", alarms_topic=ALARMS, units_topic=UNITS,
                           consumer_max_attempts=3, consumer_retry_backoff_s=0.001)


def failed_send(cause: BaseException) -> ProducerSendError:
    """The error Faust's producer raises for a Kafka client error (it wraps them)."""
    error = ProducerSendError(f"Error while sending: {cause!r}")
    error.__cause__ = cause
    return error


class Sent:
    """Stands in for a Faust topic: keeps what is sent, after failing the first sends with `failures`
    (every send with `always`, or the sends numbered in `on_try`)."""

    def __init__(self, *failures: BaseException, always: BaseException | None = None,
                 on_try: dict[int, BaseException] | None = None) -> None:
        self.failures, self.always, self.on_try, self.records, self.tries = list(failures), always, on_try or {}, [], 0

    async def send(self, *, key, value, headers):
        self.tries += 1
        if self.always is not None:
            raise self.always
        if self.failures:
            raise self.failures.pop(0)
        if self.tries in self.on_try:
            raise self.on_try[self.tries]
        self.records.append((key, value, headers))

    def envelopes(self) -> list[Envelope]:
        return [envelope_from_kafka(headers, key, value) for key, value, headers in self.records]


@pytest.fixture(scope="module")
def city():
    return load_demo_city()


@dataclasses.dataclass(frozen=True)
class PoisonFor(Router):
    """A router that cannot route the record with this event id."""

    poison: str = ""

    def notifications(self, envelope, *args, **kwargs):
        if envelope.id == self.poison:
            raise ValueError(f"cannot route {envelope.id}")
        return super().notifications(envelope, *args, **kwargs)


def make(city, *, notifications: Sent | None = None, commands: Sent | None = None, summaries: dict | None = None,
         poison: str = "", shape: str = "per_centre"):
    router = PoisonFor(city, RoutingConfig.load(DEFAULT_RULES).rules,
                       {"community": 60.0, "street": 60.0, "district": 120.0, "city": 300.0}, 200, poison, shape=shape)
    topics = Topics(alarm_events=None, unit_records=None, notifications=notifications or Sent(),
                    commands=commands or Sent(), dead_letters={ALARMS: Sent(), UNITS: Sent()})
    tables = Tables(summaries={} if summaries is None else summaries, deadlines={}, parked={})
    escalations = Escalations()
    return (Routing(SETTINGS, router, tables, topics, escalations), Timers(SETTINGS, router, tables, topics, escalations),
            tables, topics)


def message(topic: str, partition: int, offset: int, record: Envelope | bytes, key: bytes | None = b"a1") -> Message:
    if isinstance(record, Envelope):
        kafka = envelope_to_kafka(record)
        headers, value = list(kafka.headers.items()), kafka.value
    else:
        headers, value = [("origin", b"test")], record
    return Message(topic, partition, offset, time.time(), 0, headers, key, value, None)


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


SHARED_DLQ_HEADERS = ["dlq_consumer", "dlq_error", "dlq_topic", "dlq_partition", "dlq_offset", "dlq_attempts",
                      "dlq_failed_at"]


def test_every_dead_letter_header_linkage_writes_is_the_shared_helper_s():
    names = [name for name, _ in dlq_headers(message(ALARMS, 0, 0, b""), ValueError(), 1, consumer="c")]
    assert names == SHARED_DLQ_HEADERS


async def test_a_record_that_is_not_a_cloudevent_goes_to_the_dlq_with_the_shared_headers(city):
    routing, _, _, topics = make(city)
    poison = message(ALARMS, 3, 41, b"\xff not an event", key=b"garbage")
    await routing.route(poison)
    [(key, value, headers)] = topics.dead_letters[ALARMS].records
    assert (key, value, headers[0]) == (b"garbage", b"\xff not an event", ("origin", b"test"))  # the record's own first
    dlq = dict(headers[1:])
    assert [name for name, _ in headers[1:]] == SHARED_DLQ_HEADERS
    assert {k: dlq[k] for k in ("dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset", "dlq_attempts")} == {
        "dlq_consumer": b"linkage-unit", "dlq_topic": ALARMS.encode(), "dlq_partition": b"3", "dlq_offset": b"41",
        "dlq_attempts": b"0"}  # never handled: as the consumer runner counts a record it cannot parse
    assert dlq["dlq_error"].startswith(b"EnvelopeError: not a CloudEvent")
    assert dt.datetime.fromisoformat(dlq["dlq_failed_at"].decode()).tzinfo is not None
    assert routing.handled == {(ALARMS, 3): 41} and not topics.notifications.records


async def test_an_alarm_event_reaches_its_four_centres_once_and_sets_its_deadline(city):
    routing, _, tables, topics = make(city)
    reported, centres = alarm_reported(city)
    await routing.route(message(ALARMS, 0, 7, reported))
    await routing.route(message(ALARMS, 0, 7, reported))  # fetched again after a seek back: skipped
    assert sorted(n.subject for n in topics.notifications.envelopes()) == sorted(centres)
    assert [key for key, _, _ in topics.notifications.records] == [n.subject.encode() for n in topics.notifications.envelopes()]
    assert tables.deadlines == {"a1": {"level": "community", "due": reported.time.timestamp() + 60}}
    assert set(tables.summaries["a1"]["notified"]) == set(centres)


async def test_per_event_an_alarm_event_is_one_record_keyed_by_its_alarm_and_its_units_records_too(city):
    routing, _, tables, topics = make(city, shape="per_event")
    reported, centres = alarm_reported(city)
    await routing.route(message(ALARMS, 0, 7, reported))
    await routing.route(message(UNITS, 0, 3, unit_record()))
    records = topics.notifications.envelopes()
    assert [key for key, _, _ in topics.notifications.records] == [b"a1", b"a1"]
    assert [r.type for r in records] == [ROUTED_TYPE, ROUTED_TYPE]
    assert [sorted(c["centre_id"] for c in r.data["centres"]) for r in records] == [sorted(centres)] * 2
    assert tables.deadlines["a1"]["level"] == "community"


@pytest.mark.parametrize("outage", [
    failed_send(KafkaConnectionError("no broker")), failed_send(KafkaTimeoutError()), KafkaConnectionError("down"),
    NotLeaderForPartitionError(), PartitionsMismatch("changelog has 0 partitions"), TimeoutError(),
    ConnectionResetError(),
], ids=lambda e: type(e).__name__ + (f"({type(e.__cause__).__name__})" if e.__cause__ else ""))
async def test_an_outage_is_retried_past_the_attempts_of_a_poison_record_and_nothing_goes_to_the_dlq(city, outage):
    notifications = Sent(*[outage] * 5)  # more than consumer_max_attempts
    routing, _, tables, topics = make(city, notifications=notifications)
    reported, centres = alarm_reported(city)
    await routing.route(message(ALARMS, 1, 3, reported))
    assert notifications.tries == 5 + len(centres)
    assert sorted(n.subject for n in notifications.envelopes()) == sorted(centres)
    assert not topics.dead_letters[ALARMS].records and routing.handled == {(ALARMS, 1): 3}
    assert "a1" in tables.summaries and "a1" in tables.deadlines


async def test_a_table_write_refused_for_stale_metadata_is_retried(city):
    class Refusing(dict):
        def __init__(self):
            super().__init__()
            self.refusals = 2

        def __setitem__(self, key, value):
            if self.refusals:
                self.refusals -= 1
                raise PartitionsMismatch("The source topic has 6 partitions, but the changelog topic has 0")
            super().__setitem__(key, value)

    routing, _, tables, topics = make(city, summaries=Refusing())
    reported, centres = alarm_reported(city)
    await routing.route(message(ALARMS, 0, 0, reported))
    assert "a1" in tables.summaries and not topics.dead_letters[ALARMS].records
    assert sorted(n.subject for n in topics.notifications.envelopes()) == sorted(centres)


@pytest.mark.parametrize("error, attempts", [(ValueError("bad data"), b"3"), (ContractViolation("breaks it"), b"1")])
async def test_a_poison_record_goes_to_the_dlq_after_its_attempts(city, error, attempts):
    notifications = Sent(always=error)
    routing, _, _, topics = make(city, notifications=notifications)
    reported, _ = alarm_reported(city)
    record = message(ALARMS, 2, 9, reported)
    await routing.route(record)
    [(key, value, headers)] = topics.dead_letters[ALARMS].records
    dlq = dict(headers)
    assert (key, value) == (record.key, record.value) and dlq["dlq_attempts"] == attempts
    assert dlq["dlq_error"] == f"{type(error).__name__}: {error}".encode() and notifications.tries == int(attempts)
    assert envelope_from_kafka(headers, key, value).id == reported.id  # the record's own headers came along
    assert routing.handled == {(ALARMS, 2): 9}


async def test_parked_records_are_routed_after_their_alarm_and_a_poison_one_goes_to_the_dlq_alone(city):
    early, poison = unit_record(name="DispatchPlanned"), unit_record()
    routing, _, tables, topics = make(city, poison=poison.id)
    await routing.route(message(UNITS, 4, 10, early))
    await routing.route(message(UNITS, 4, 11, poison))
    assert not topics.notifications.records and [r["offset"] for r in tables.parked["a1"]["records"]] == [10, 11]
    reported, centres = alarm_reported(city)
    await routing.route(message(ALARMS, 4, 0, reported))
    told = topics.notifications.envelopes()
    assert [n.data["event_type"] for n in told] == ["AlarmReported"] * 4 + ["DispatchPlanned"] * 4
    assert not tables.parked and not topics.dead_letters[ALARMS].records
    [(key, value, headers)] = topics.dead_letters[UNITS].records
    assert key == b"a1" and envelope_from_kafka(headers, key, value) == poison
    dlq = dict(headers)
    assert [name for name, _ in headers if name.startswith("dlq_")] == SHARED_DLQ_HEADERS
    assert {k: dlq[k] for k in ("dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset", "dlq_attempts")} == {
        "dlq_consumer": b"linkage-unit", "dlq_topic": UNITS.encode(), "dlq_partition": b"4", "dlq_offset": b"11",
        "dlq_attempts": b"1"}
    assert dlq["dlq_error"] == f"ValueError: cannot route {poison.id}".encode()


async def test_an_outage_while_parked_records_are_released_routes_the_alarm_event_again_and_loses_none(city):
    notifications = Sent(on_try={5: failed_send(KafkaConnectionError("down"))})  # the first parked record's first
    routing, _, tables, topics = make(city, notifications=notifications)
    early = unit_record(name="DispatchPlanned")
    await routing.route(message(UNITS, 4, 10, early))
    reported, centres = alarm_reported(city)
    await routing.route(message(ALARMS, 4, 0, reported))
    told = topics.notifications.envelopes()
    assert [n.data["event_type"] for n in told] == ["AlarmReported"] * 8 + ["DispatchPlanned"] * 4
    assert len({n.id for n in told}) == 8  # what went out twice went out under the same ids
    assert not tables.parked and not topics.dead_letters[UNITS].records and not topics.dead_letters[ALARMS].records


async def test_units_records_linkage_does_not_route_are_passed_over_unparsed(city):
    routing, *_ = make(city)
    order = message(UNITS, 0, 5, unit_record(name="DispatchOrderIssued"))
    unit = message(UNITS, 0, 6, dataclasses.replace(unit_record(), type="linkduty.unit.UnitStatusChanged"))
    assert routing.skipped_unparsed(order) and routing.skipped_unparsed(unit)
    assert not routing.skipped_unparsed(message(UNITS, 0, 7, unit_record()))
    assert routing.handled == {(UNITS, 0): 6}


async def test_an_overdue_alarm_is_escalated_and_a_send_kafka_refuses_is_tried_again(city):
    commands = Sent(failed_send(KafkaTimeoutError()))
    routing, timers, tables, _ = make(city, commands=commands)
    tables.deadlines["a1"] = {"level": "street", "due": time.time() - 1}
    await timers.escalate_overdue_alarms()
    assert not commands.records and commands.tries == 1
    await timers.escalate_overdue_alarms()  # the next tick
    [(key, value, headers)] = commands.records
    command = envelope_from_kafka(headers, key, value)
    assert key == b"a1" and command.type == "linkduty.linkage.EscalateAlarm" and command.subject == "a1"
    assert escalate_alarm_from_data(command.data).from_level == "street"
    await timers.escalate_overdue_alarms()  # asked for: not again before escalation_retry_s
    assert commands.tries == 2


async def test_a_send_failing_for_another_reason_stops_the_timer_loudly(city):
    routing, timers, tables, _ = make(city, commands=Sent(always=ValueError("a bug")))
    tables.deadlines["a1"] = {"level": "street", "due": time.time() - 1}
    with pytest.raises(ValueError, match="a bug"):
        await timers.escalate_overdue_alarms()


def test_which_errors_are_outages():
    assert is_transient(failed_send(KafkaConnectionError())) and is_transient(OSError()) and is_transient(TimeoutError())
    assert not is_transient(failed_send(ValueError())) and not is_transient(ProducerSendError("no transaction producer"))
    assert not is_transient(ValueError()) and not is_transient(ContractViolation("x")) and not is_transient(KeyError("k"))


async def test_a_record_retried_without_end_shows_as_stuck_for_the_heartbeat_and_not_after(city):
    """A PartitionsMismatch that is not stale metadata is retried forever and holds every agent:
    stuck_for (which stops the liveness heartbeat past stuck_after_s) must see it."""
    routing, _, _, _ = make(city, notifications=Sent(*[PartitionsMismatch("6 vs 12 partitions")] * 10_000))
    assert routing.stuck_for() == 0.0
    reported, _ = alarm_reported(city)
    task = asyncio.create_task(routing.route(message(ALARMS, 0, 0, reported)))
    await asyncio.sleep(0.3)
    assert routing.stuck_for() >= 0.25 and not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert routing.stuck_for() == 0.0

"""Routing: the records of `alarms.events`, `units.events`, `hazards.events` (hazards' own, and
the alarms' pre-incident pictures, routed as a units record about the alarm is) and
`volunteers.events` (the volunteers' response to an alarm, routed the same way), a poll at a time,
through the router (`linkage.router`) into notifications, with the state they change kept in
PostgreSQL.

The shared `ConsumerRunner` reads the three topics in one consumer group and hands each poll to
`Routing.route_batch`, which, in one PostgreSQL transaction:

1. takes the routing lock of the poll's partition numbers (`state.lock_partitions`);
2. drops the records below each partition's next offset (routed already: redelivered after a
   crash, or by a worker the group has replaced);
3. reads the state of the alarms and hazards the rest are about (the hazards' only when the poll
   has hazard records: an alarm poll makes no round trip more for them), and routes them in
   order, in memory; a hazard record is checked against the hazards.events contract first;
4. sends their notifications (and the dead letters of poison records) and waits until Kafka has
   acknowledged every one (acks=all);
5. writes the state and the partitions' next offsets, and commits.

Only then does the runner commit the group's offsets in Kafka. A crash before 5 leaves nothing
marked done, so the records are routed again, from the same state, into notifications under the
same ids (the gateway drops a repeated one). CRASH_SAFETY.md walks every point a crash can fall.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer, ConsumerRecord

from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts.alarm_context import alarm_context_from_data, is_alarm_context
from linkduty_shared.contracts.hazards import TYPE_PREFIX as HAZARD_EVENT_PREFIX
from linkduty_shared.contracts.hazards import hazard_event_from_data
from linkduty_shared.contracts.units import is_for_consoles
from linkduty_shared.contracts.volunteers import (
    is_order_event,
    is_response_for_consoles,
    order_event_from_data,
    response_from_data,
)
from linkduty_shared.events.envelope import Envelope, EnvelopeError, envelope_to_kafka
from linkduty_shared.messaging.consumer import POISON_ERRORS, RecordOrigin, dlq_headers, is_outage
from linkduty_shared.messaging.kafka import is_kafka_outage
from linkduty_shared.messaging.topics import dlq_topic

from linkage import state
from linkage.config import LinkageSettings
from linkage.router import KEEP, Router, summary_of
from linkage.unit_records import alarm_id_of, envelope_from_json, envelope_json, unparked

log = logging.getLogger(__name__)

ALARM_EVENT_PREFIX = "linkduty.alarm."


def is_transient(error: BaseException) -> bool:
    """Whether `error` means the world is down, not the record: retried without limit, never
    dead-lettered. That covers what every consumer retries (PostgreSQL, OS and network errors,
    timeouts), Kafka being unreachable or not ready, and a transaction PostgreSQL ended (a
    deadlock with a timer, the idle timeout while Kafka was slow to acknowledge)."""
    return (is_outage(error) or is_kafka_outage(error)
            or isinstance(error, asyncpg.DeadlockDetectedError | asyncpg.IdleInTransactionSessionTimeoutError))


def is_routed(event_type: str) -> bool:
    """Whether linkage routes records of this CloudEvent type (the runner skips others unparsed):
    every alarm event, the units records about an alarm that consoles show, every hazard event
    (one of a type the hazards contract does not know goes to the DLQ, to be replayed once
    linkage knows it, rather than be skipped unseen), the alarms' pre-incident pictures, the
    volunteers' responses that consoles show, and every transition of a service order."""
    return (event_type.startswith(ALARM_EVENT_PREFIX) or event_type.startswith(HAZARD_EVENT_PREFIX)
            or is_for_consoles(event_type) or is_alarm_context(event_type) or is_response_for_consoles(event_type)
            or is_order_event(event_type))


def checked_hazard_event(envelope: Envelope) -> Any:
    """The hazards.events contract's dataclass of a hazard record, or ContractViolation (poison)."""
    if envelope.dataversion != 1:
        raise ContractViolation(f"{envelope.type} {envelope.id}: dataversion {envelope.dataversion}, not 1")
    if not envelope.subject:
        raise ContractViolation(f"{envelope.type} {envelope.id} names no hazard (no subject, no key)")
    return hazard_event_from_data(envelope.type, envelope.data)


def checked_order_event(envelope: Envelope, record: ConsumerRecord) -> dict[str, Any]:
    """A service order's transition (volunteers.events, contracts/volunteers.py): the fields its
    contract lets through to a console, or ContractViolation (poison)."""
    if envelope.dataversion != 1:
        raise ContractViolation(f"{envelope.type} {envelope.id}: dataversion {envelope.dataversion}, not 1")
    return order_event_from_data(envelope.type, envelope.data, len(record.value or b""))


def checked_about_alarm(envelope: Envelope) -> Envelope:
    """A record about an alarm from another service's stream keyed by the alarm (a pre-incident
    picture, contracts/alarm_context.py; a volunteers' response, contracts/volunteers.py) with
    only its contract's fields in its data, re-serialized (nothing a record adds beyond them
    reaches a console), or ContractViolation (poison)."""
    if envelope.dataversion != 1:
        raise ContractViolation(f"{envelope.type} {envelope.id}: dataversion {envelope.dataversion}, not 1")
    parse = alarm_context_from_data if is_alarm_context(envelope.type) else response_from_data
    checked = parse(envelope.type, envelope.data)
    if envelope.subject != checked.alarm_id:
        raise ContractViolation(f"{envelope.type} {envelope.id}: subject {envelope.subject!r} is not its alarm_id")
    return dataclasses.replace(envelope, data=dataclasses.asdict(checked))


class Outgoing:
    """What a batch sends, in order: (topic, key, value, headers)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]] = []

    def envelope(self, topic: str, envelope: Envelope) -> None:
        message = envelope_to_kafka(envelope)
        self.records.append((topic, envelope.subject.encode(), message.value, list(message.headers.items())))

    def dead_letter(self, origin: RecordOrigin, key: bytes | None, value: bytes | None,
                    headers: list[tuple[str, bytes]], error: BaseException, *, consumer: str) -> None:
        log.error("record at %s[%s]@%s goes to the DLQ: %s", origin.topic, origin.partition, origin.offset, error,
                  exc_info=not isinstance(error, POISON_ERRORS))
        self.records.append((dlq_topic(origin.topic), key, value,
                             [*headers, *dlq_headers(origin, error, 1, consumer=consumer)]))

    async def send(self, producer: AIOKafkaProducer) -> None:
        """Send them all, and return once Kafka has acknowledged every one."""
        sent = [await producer.send(topic, value=value, key=key, headers=headers)
                for topic, key, value, headers in self.records]
        await asyncio.gather(*sent)


class Routing:
    def __init__(self, settings: LinkageSettings, router: Router, pool: asyncpg.Pool,
                 producer: AIOKafkaProducer) -> None:
        self._settings = settings
        self._consumer = settings.app_id
        self._router = router
        self._pool = pool
        self._producer = producer

    async def route_one(self, envelope: Envelope, record: ConsumerRecord) -> None:
        """The runner's handler for one record (a batch that failed is retried record by record)."""
        await self.route_batch([(envelope, record)])

    async def route_batch(self, batch: list[tuple[Envelope, ConsumerRecord]]) -> None:
        """Route a poll's records (see the module): once, whatever crashes around it."""
        async with self._pool.acquire() as conn, conn.transaction():
            await state.lock_partitions(conn, self._consumer, [record.partition for _, record in batch])
            done = await state.next_offsets(conn, self._consumer, {(r.topic, r.partition) for _, r in batch})
            todo = [(envelope, record) for envelope, record in batch
                    if record.offset >= done.get((record.topic, record.partition), 0)]
            if len(todo) < len(batch):
                log.info("%d record(s) of the poll routed already (redelivered): skipped", len(batch) - len(todo))
            if not todo:
                return
            outgoing, about, hazard_events, order_events = Outgoing(), {}, {}, {}
            for i, (envelope, record) in enumerate(todo):
                try:
                    if record.topic == self._settings.volunteers_topic and is_order_event(envelope.type):
                        order_events[id(record)] = checked_order_event(envelope, record)
                    elif record.topic == self._settings.volunteers_topic or (
                            record.topic == self._settings.hazards_topic and is_alarm_context(envelope.type)):
                        checked = checked_about_alarm(envelope)  # about an alarm: routed as a units record is
                        todo[i] = (checked, record)
                        about[id(record)] = checked.subject
                    elif record.topic == self._settings.hazards_topic:
                        hazard_events[id(record)] = checked_hazard_event(envelope)
                    else:
                        about[id(record)] = self._alarm_of(envelope, record)
                except (EnvelopeError, ContractViolation) as exc:
                    outgoing.dead_letter(record, record.key, record.value, list(record.headers or ()), exc,
                                         consumer=self._consumer)
            alarms = await state.AlarmsState.load(conn, self._consumer, set(about.values()))
            hazards = await state.HazardsState.load(conn, self._consumer, {
                envelope.subject for envelope, record in todo if id(record) in hazard_events})
            now = dt.datetime.now(dt.UTC)
            joined: dict[str, set[str]] = {}  # alarm id → centres its events added to its audience in this poll
            for envelope, record in todo:
                alarm_id, hazard_event = about.get(id(record)), hazard_events.get(id(record))
                order_event = order_events.get(id(record))
                if alarm_id is None and hazard_event is None and order_event is None:
                    continue  # dead-lettered above
                try:
                    if order_event is not None:  # no state: the record's `divisions` say where it is
                        for notification in self._router.order_event(envelope, order_event, now=now):
                            outgoing.envelope(self._settings.notifications_topic, notification)
                    elif hazard_event is not None:
                        self._route_hazard(hazards, outgoing, envelope, hazard_event, now)
                    else:
                        self._route(alarms, outgoing, alarm_id, envelope, record, now, joined)
                except Exception as exc:  # the router is pure: no retry changes its answer
                    outgoing.dead_letter(record, record.key, record.value, list(record.headers or ()), exc,
                                         consumer=self._consumer)
            if joined:
                await self._picture_to_joined(conn, alarms, outgoing, joined, now)
            await outgoing.send(self._producer)
            await alarms.save(conn)
            await hazards.save(conn)
            offsets: dict[tuple[str, int], int] = {}
            for _, record in todo:
                offsets[(record.topic, record.partition)] = record.offset + 1  # in order within a partition
            await state.save_offsets(conn, self._consumer, offsets)

    def _alarm_of(self, envelope: Envelope, record: ConsumerRecord) -> str:
        if record.topic == self._settings.alarms_topic:
            return envelope.subject
        return alarm_id_of(envelope, record.key)

    def _route(self, alarms: state.AlarmsState, outgoing: Outgoing, alarm_id: str, envelope: Envelope,
               record: ConsumerRecord, now: dt.datetime, joined: dict[str, set[str]]) -> None:
        """One record, in memory: decided whole (into `pending`) before anything of it is kept."""
        topic, pending = self._settings.notifications_topic, Outgoing()
        if record.topic == self._settings.alarms_topic:
            previous = alarms.entries.get(alarm_id)
            routed = self._router.alarm_event(previous, envelope, partition=record.partition, now=now)
            if routed is None:
                log.warning("event %s for alarm %s before its AlarmReported: skipped", envelope.id, alarm_id)
                return
            for notification in routed.notifications:
                pending.envelope(topic, notification)
            if previous and (added := routed.entry["notified"].keys() - previous["notified"].keys()):
                joined.setdefault(alarm_id, set()).update(added)  # they get its picture too (_picture_to_joined)
            if alarm_id in alarms.parked:
                self._release_parked(pending, alarms, alarms.parked[alarm_id], routed.entry, alarm_id, now)
                alarms.set_parked(alarm_id, None)
            alarms.set_entry(alarm_id, routed.entry)
            if routed.deadline is not KEEP:
                alarms.set_deadline(alarm_id, routed.deadline)
        else:
            routed = self._router.unit_record(alarms.entries.get(alarm_id), alarms.parked.get(alarm_id), envelope,
                                              partition=record.partition, offset=record.offset, now=now,
                                              topic=record.topic)
            if routed.waiting is not None:
                if routed.dropped:
                    log.warning("alarm %s: %d parked units record(s) dropped, over %d waiting for its AlarmReported",
                                alarm_id, routed.dropped, self._settings.parked_per_alarm)
                alarms.set_parked(alarm_id, routed.waiting)
            for notification in routed.notifications:
                pending.envelope(topic, notification)
            if routed.waiting is None and is_alarm_context(envelope.type):
                alarms.set_context(alarm_id, envelope_json(envelope))
        outgoing.records.extend(pending.records)

    async def _picture_to_joined(self, conn, alarms: state.AlarmsState, outgoing: Outgoing,
                                 joined: dict[str, set[str]], now: dt.datetime) -> None:
        """The pre-incident picture of each alarm whose audience grew in this poll (an escalation
        to the street, a rule), sent to the centres that joined: they see the alarm from now on and
        need what prevention knows as much as the first ones did. Read only for those alarms."""
        pictures = await alarms.contexts_of(conn, set(joined))
        for alarm_id, fields in pictures.items():
            entry = alarms.entries[alarm_id]
            audience = {centre: entry["notified"][centre] for centre in sorted(joined[alarm_id])}
            for notification in self._router.notifications(envelope_from_json(fields), summary_of(entry), audience,
                                                            now=now):
                outgoing.envelope(self._settings.notifications_topic, notification)

    def _route_hazard(self, hazards: state.HazardsState, outgoing: Outgoing, envelope: Envelope, event: Any,
                      now: dt.datetime) -> None:
        hazard_id = envelope.subject
        routed = self._router.hazard_event(hazards.entries.get(hazard_id), envelope, event, now=now)
        if routed is None:  # forgotten once finished, or reported before linkage read hazards.events
            log.warning("event %s for hazard %s before its HazardReported: skipped", envelope.id, hazard_id)
            return
        pending = Outgoing()  # decided whole before anything of it is kept
        for notification in routed.notifications:
            pending.envelope(self._settings.notifications_topic, notification)
        hazards.set_entry(hazard_id, routed.entry)
        outgoing.records.extend(pending.records)

    def _release_parked(self, pending: Outgoing, alarms: state.AlarmsState, waiting: dict[str, Any],
                        entry: dict[str, Any], alarm_id: str, now: dt.datetime) -> None:
        """The records parked for the alarm, routed in the order they came, now that its
        AlarmReported is here. A poison one goes to the DLQ alone."""
        summary, audience = summary_of(entry), entry["notified"]
        for parked in waiting["records"]:
            envelope = unparked(parked)
            released = Outgoing()
            try:
                for notification in self._router.notifications(envelope, summary, audience, now=now):
                    released.envelope(self._settings.notifications_topic, notification)
            except Exception as exc:
                message = envelope_to_kafka(envelope)
                offset = parked.get("offset")
                # records parked before their topic was kept are all units records
                origin = _Origin(parked.get("topic") or self._settings.units_topic, waiting["partition"],
                                 -1 if offset is None else offset)
                pending.dead_letter(origin, alarm_id.encode(), message.value, list(message.headers.items()), exc,
                                    consumer=self._consumer)
                continue
            pending.records.extend(released.records)
            if is_alarm_context(envelope.type):
                alarms.set_context(alarm_id, envelope_json(envelope))


class _Origin:
    """Where a parked record was read."""

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset


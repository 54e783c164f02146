"""The agents: `route_alarm_events` consumes `alarms.events`, `route_unit_records` consumes
`units.events`, and `Routing` does the work for both, one record at a time.

Both topics have the same partitions and are keyed by alarm id, so an alarm's records on both share
one partition and one table partition. There are two agents, so that a 119 alarm event never
queues behind a burst of dispatch records: each agent has its own buffer, and Faust pauses a
partition whose buffer is full, not the other topic. There is one lock, so that between them they
handle one record at a time, as one agent would: an alarm's summary is read and written, and its
notifications sent, with the other agent kept out.

What is sent while a record is handled (notifications, dead letters, table changelogs) is attached
to it by Faust, which publishes it and flushes the producer before it commits past the record
(CRASH_SAFETY.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Any

import faust
from faust.exceptions import PartitionsMismatch, ProducerSendError

from linkduty_shared.contracts.units import is_for_consoles
from linkduty_shared.events.envelope import Envelope, EnvelopeError, envelope_from_kafka, envelope_to_kafka, event_type_of
from linkduty_shared.messaging.consumer import (
    POISON_ERRORS,
    Failure,
    RecordOrigin,
    dlq_headers,
    handle_with_retries,
    is_outage,
)
from linkduty_shared.messaging.kafka import is_kafka_outage

from linkage.config import LinkageSettings
from linkage.router import KEEP, Router, summary_of
from linkage.unit_records import alarm_id_of, unparked

if TYPE_CHECKING:
    from linkage.app import Tables, Topics
    from linkage.timers import Escalations

log = logging.getLogger(__name__)


def is_transient(error: BaseException) -> bool:
    """Whether `error` means the world is down, not the record: retried without limit, never
    dead-lettered. That covers what the consumer runner retries (PostgreSQL, OS and network
    errors, timeouts), Kafka being unreachable or not ready (also when Faust's producer wraps it
    in a ProducerSendError), and a changelog whose partitions Faust does not know yet. That last
    one (PartitionsMismatch from stale metadata, CRASH_SAFETY.md, Open) used to dead-letter every
    table write until the metadata was refreshed, minutes later."""
    if isinstance(error, ProducerSendError) and error.__cause__ is not None:
        error = error.__cause__
    return is_outage(error) or is_kafka_outage(error) or isinstance(error, PartitionsMismatch)


class Routing:
    def __init__(self, settings: LinkageSettings, router: Router, tables: Tables, topics: Topics,
                 escalations: Escalations) -> None:
        self._settings = settings
        self._router = router
        self._tables = tables
        self._topics = topics
        self._escalations = escalations
        self.one_at_a_time = asyncio.Lock()  # fair (FIFO): an alarm event waits for one units record at most
        # When the record being handled was taken up (monotonic), None between records: a record
        # retried for minutes (an outage that does not end, a PartitionsMismatch that is not stale
        # metadata) holds every agent, and the heartbeat stops vouching for the worker (stuck_for).
        self.busy_since: float | None = None
        # The last offset this worker handled, per topic partition. Faust hands a worker records it
        # has already handled. Once its tables are recovered (at start, after a rebalance), it
        # resumes the partitions and only then seeks them to their committed offsets, so what it
        # fetched in between comes again, and its read-offset check lets that offset through.
        # Routed twice, an alarm event or units record would reach every centre twice, so the
        # second time is skipped here. This is in memory: a new worker routes again whatever was
        # not committed, at least once.
        self.handled: dict[tuple[str, int], int] = {}

    def skipped_unparsed(self, message: faust.types.Message) -> bool:
        """Whether a `units.events` record is of a type linkage does not route (a unit's own record,
        or an order): passed over unparsed, and counted as handled."""
        event_type = event_type_of(message.headers)
        if event_type is None or is_for_consoles(event_type):
            return False
        partition = (message.topic, message.partition)
        self.handled[partition] = max(self.handled.get(partition, -1), message.offset)  # (a re-delivery may come late)
        return True

    async def route(self, message: faust.types.Message) -> None:
        """Route one record. Outages are retried in place (routing waits, in order). A poison record
        goes to its topic's DLQ, and routing goes on for every other alarm."""
        partition = (message.topic, message.partition)
        if message.offset <= self.handled.get(partition, -1):
            log.info("record at %s[%s]@%s already handled here: skipped", message.topic, message.partition,
                     message.offset)
            return
        try:
            envelope = envelope_from_kafka(message.headers or [], message.key, message.value)
        except EnvelopeError as exc:
            failure: Failure | None = Failure(exc, 0)  # as the consumer runner counts it: never handled
        else:
            self.busy_since = time.monotonic()
            try:
                failure = await handle_with_retries(
                    lambda: self._route(envelope, message), name=self._settings.app_id, outage=is_transient,
                    max_attempts=self._settings.consumer_max_attempts,
                    backoff_s=self._settings.consumer_retry_backoff_s)
            finally:
                self.busy_since = None
        if failure is not None:
            await self._dead_letter(message, message.key, message.value, message.headers or [], failure)
        self.handled[partition] = message.offset

    def stuck_for(self, now: float | None = None) -> float:
        """Seconds the record in hand has been handled (retried) so far; 0 between records."""
        since = self.busy_since
        return 0.0 if since is None else (time.monotonic() if now is None else now) - since

    async def _route(self, envelope: Envelope, message: faust.types.Message) -> None:
        if message.topic == self._settings.alarms_topic:
            await self._alarm_event(envelope, message.partition)
        elif is_for_consoles(envelope.type):
            await self._unit_record(envelope, alarm_id_of(envelope, message.key), message.partition, message.offset)

    async def _alarm_event(self, envelope: Envelope, partition: int) -> None:
        alarm_id, tables = envelope.subject, self._tables
        routed = self._router.alarm_event(tables.summaries.get(alarm_id), envelope, partition=partition,
                                          now=dt.datetime.now(dt.UTC))
        if routed is None:
            log.warning("event %s for alarm %s before its AlarmReported: skipped", envelope.id, alarm_id)
            return
        tables.summaries[alarm_id] = routed.entry
        await self._send_notifications(routed.notifications)
        if routed.deadline is not KEEP:
            if routed.deadline is None:
                tables.deadlines.pop(alarm_id, None)
            else:
                tables.deadlines[alarm_id] = routed.deadline
            self._escalations.deadline_changed(alarm_id, routed.deadline)
        if alarm_id in tables.parked:
            await self._route_parked(alarm_id, routed.entry)

    async def _unit_record(self, envelope: Envelope, alarm_id: str, partition: int, offset: int) -> None:
        entry = self._tables.summaries.get(alarm_id)
        routed = self._router.unit_record(entry, self._tables.parked.get(alarm_id), envelope, partition=partition,
                                          offset=offset, now=dt.datetime.now(dt.UTC))
        if routed.waiting is not None:
            if routed.dropped:
                log.warning("alarm %s: %d parked units record(s) dropped, over %d waiting for its AlarmReported",
                            alarm_id, routed.dropped, self._settings.parked_per_alarm)
            self._tables.parked[alarm_id] = routed.waiting
            return
        if alarm_id in self._tables.parked:  # a restart came between its AlarmReported and their routing
            await self._route_parked(alarm_id, entry)
        await self._send_notifications(routed.notifications)

    async def _route_parked(self, alarm_id: str, entry: dict[str, Any]) -> None:
        """The records parked for the alarm, routed in the order they came, then unparked."""
        waiting = self._tables.parked[alarm_id]
        summary, audience = summary_of(entry), entry["notified"]
        for record in waiting["records"]:
            envelope = unparked(record)
            try:
                await self._send_notifications(
                    self._router.notifications(envelope, summary, audience, now=dt.datetime.now(dt.UTC)))
            except Exception as exc:
                if is_transient(exc):
                    raise  # the record that released them is retried, and these with it
                # a poison parked record must not send the record that released it to the DLQ
                message = envelope_to_kafka(envelope)
                offset = record.get("offset")  # none in records parked by a worker older than this module
                origin = _Origin(self._settings.units_topic, waiting["partition"], -1 if offset is None else offset)
                await self._dead_letter(origin, alarm_id.encode(), message.value, list(message.headers.items()),
                                        Failure(exc, 1))
        self._tables.parked.pop(alarm_id, None)

    async def _send_notifications(self, notifications: list[Envelope]) -> None:
        for notification in notifications:
            message = envelope_to_kafka(notification)
            await self._topics.notifications.send(key=notification.subject.encode(), value=message.value,
                                                  headers=list(message.headers.items()))

    async def _dead_letter(self, origin: RecordOrigin, key: bytes | None, value: bytes | None,
                           headers: list[tuple[str, bytes]], failure: Failure) -> None:
        """Copy a record to its topic's DLQ, with the headers every consumer's dead letters carry
        (`messaging.consumer.dlq_headers`), so that `replay_dead_letters` replays them the same."""
        exc = failure.error
        log.error("record at %s[%s]@%s goes to the DLQ after %d attempt(s): %s", origin.topic, origin.partition,
                  origin.offset, failure.attempts, exc, exc_info=not isinstance(exc, POISON_ERRORS))
        await self._topics.dead_letters[origin.topic].send(
            key=key, value=value,
            headers=[*headers, *dlq_headers(origin, exc, failure.attempts, consumer=self._settings.app_id)])


@dataclasses.dataclass(frozen=True)
class _Origin:
    """Where a parked record was read."""

    topic: str
    partition: int
    offset: int


def register(app: faust.App, topics: Topics, routing: Routing) -> None:
    @app.agent(topics.alarm_events)
    async def route_alarm_events(stream):
        async for event in stream.events():
            async with routing.one_at_a_time:
                await routing.route(event.message)

    @app.agent(topics.unit_records)
    async def route_unit_records(stream):
        async for event in stream.events():
            if routing.skipped_unparsed(event.message):
                continue
            async with routing.one_at_a_time:
                await routing.route(event.message)

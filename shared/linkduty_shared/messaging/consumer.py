"""The one consumer runner every service uses.

Consumes topics in a consumer group, hands each record's envelope to a handler, and commits
offsets only after the handler finished (at least once; handlers de-duplicate by event id).

A poison message never stops the stream: a record that is not a valid envelope, or whose
handler keeps failing after bounded retries, is copied to `<topic>.dlq` with the error in its
headers and the stream goes on. Infrastructure outages are not poison: while PostgreSQL is
unreachable the runner waits and retries the same record, so nothing is sent to the DLQ for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from opentelemetry import trace

from linkduty_shared.contracts import ContractViolation
from linkduty_shared.db import OUTAGE_ERRORS
from linkduty_shared.events.envelope import Envelope, EnvelopeError, envelope_from_kafka, event_type_of
from linkduty_shared.messaging.kafka import Kafka, connection, reliable_producer
from linkduty_shared.messaging.topics import dlq_topic
from linkduty_shared.telemetry import context_from_headers

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

Handler = Callable[[Envelope, ConsumerRecord], Awaitable[None]]
BatchHandler = Callable[[list[tuple[Envelope, ConsumerRecord]]], Awaitable[None]]

def static_member_id(instance_id: str, topics: Sequence[str]) -> str:
    """The static member id of a worker reading `topics`: its configured id and a digest of the
    topics. Kafka hands a static member that rejoins under its old id its cached assignment,
    without a rebalance, so a worker released with one more topic would never be given that
    topic's partitions; under a new id it joins as a new member, and the old id's member leaves
    the group when its session ends (a rebalance then, as for any member that died)."""
    digest = hashlib.sha256("\n".join(sorted(topics)).encode()).hexdigest()[:8]
    return f"{instance_id}.{digest}"


class ConsumerRunner:
    def __init__(
        self,
        *,
        bootstrap: Kafka,
        group_id: str,
        topics: Sequence[str],
        handler: Handler,
        batch_handler: BatchHandler | None = None,
        dlq_producer_factory: Callable[[], AIOKafkaProducer] | None = None,
        max_attempts: int = 3,
        retry_backoff_s: float = 0.05,
        auto_offset_reset: str = "earliest",
        max_records: int = 500,
        commit_interval_s: float = 0.2,
        wanted: Callable[[str], bool] | None = None,
        outage: Callable[[BaseException], bool] | None = None,
        group_instance_id: str | None = None,
        co_partitioned: bool = False,
    ) -> None:
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._topics = list(topics)
        self._handler = handler
        self._batch_handler = batch_handler
        # A fresh DLQ producer for every run(): a stopped aiokafka producer cannot be started again,
        # and the supervisor calls run() again after a crash.
        self._dlq_producer_factory = dlq_producer_factory or (
            lambda: reliable_producer(bootstrap, client_id=f"{group_id}-dlq"))
        self._dlq_producer: AIOKafkaProducer | None = None
        self._max_attempts = max_attempts
        self._retry_backoff_s = retry_backoff_s
        self._auto_offset_reset = auto_offset_reset
        self._max_records = max_records
        self._commit_interval_s = commit_interval_s
        # Records whose CloudEvent type (header) this predicate refuses are skipped unparsed.
        self._wanted = wanted
        # What counts as the world being down (retried without limit, never dead-lettered):
        # PostgreSQL and the network by default; a handler that produces adds Kafka's outages.
        self._outage = outage or is_outage
        # Static membership (KIP-345): a member restarted under the same id takes its partitions
        # back at once, without waiting out the session of the one that died.
        self._group_instance_id = static_member_id(group_instance_id, self._topics) if group_instance_id else None
        # Range assignment: a member gets the same partition numbers of every topic (they must
        # have as many partitions), so that one member handles all of a key's records.
        self._assignors = (RangePartitionAssignor,) if co_partitioned else (RoundRobinPartitionAssignor,)
        self.processed = 0
        self.dead_lettered = 0
        # When the poll in hand was taken up (monotonic), None between polls: a record retried for
        # minutes (an outage that does not end) holds the whole stream, and a liveness check can
        # say so (stuck_for) rather than vouch for a consumer that handles nothing.
        self.busy_since: float | None = None
        self.assigned = asyncio.Event()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            *self._topics,
            **connection(self._bootstrap).client_kwargs(),
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset=self._auto_offset_reset,
            isolation_level="read_committed",
            group_instance_id=self._group_instance_id,
            partition_assignment_strategy=self._assignors,
        )
        self._dlq_producer = self._dlq_producer_factory()
        try:
            await self._dlq_producer.start()
            await consumer.start()
        except BaseException:  # e.g. refused by its group: nothing is left open for the next run()
            await consumer.stop()
            await self._dlq_producer.stop()
            raise
        # Offsets are committed at most every `commit_interval_s`, not after every poll: a commit
        # is a broker round trip that would otherwise sit between every two polls. Delivery stays
        # at least once (handlers de-duplicate by event id); what was processed but not yet
        # committed is redelivered after a crash or rebalance.
        pending: dict[TopicPartition, int] = {}
        last_commit = asyncio.get_running_loop().time()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=self._max_records)
                if consumer.assignment():
                    self.assigned.set()
                self.busy_since = time.monotonic()
                try:
                    if self._batch_handler is not None and batches:
                        await self._process_batch([r for records in batches.values() for r in records])
                    else:
                        for records in batches.values():
                            for record in records:
                                await self._process(record)
                finally:
                    self.busy_since = None
                pending.update({tp: records[-1].offset + 1 for tp, records in batches.items()})
                now = asyncio.get_running_loop().time()
                if pending and now - last_commit >= self._commit_interval_s:
                    await _commit_owned(consumer, pending)
                    last_commit = now
        finally:
            try:
                await _commit_owned(consumer, pending)
            finally:
                try:
                    await consumer.stop()
                finally:
                    await self._dlq_producer.stop()

    def stuck_for(self, now: float | None = None) -> float:
        """Seconds the poll in hand has been handled (retried) so far; 0 between polls."""
        since = self.busy_since
        return 0.0 if since is None else (time.monotonic() if now is None else now) - since

    async def _process_batch(self, records: list[ConsumerRecord]) -> None:
        """Hand a whole poll (in per-partition order) to the batch handler, e.g. to write it in
        one transaction: one commit instead of one per record. If the batch fails for a reason
        other than an outage, it is retried record by record, so only a poison record goes to
        the DLQ."""
        parsed = []
        for record in records:
            if self._unwanted(record):
                continue
            try:
                parsed.append((envelope_from_kafka(record.headers, record.key, record.value), record))
            except EnvelopeError as exc:
                await self._dead_letter(record, exc, attempts=0)
        backoff = self._retry_backoff_s
        while parsed:
            try:
                await self._batch_handler(parsed)
                self.processed += len(parsed)
                return
            except Exception as exc:
                if not self._outage(exc):
                    log.warning("consumer %s: batch of %d failed (%s); retrying record by record",
                                self._group_id, len(parsed), exc)
                    break
                # the world is down, not this message: retried without limit
                log.warning("consumer %s: transient failure (%s); retrying the batch", self._group_id, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        for envelope, record in parsed:
            await self._process_parsed(envelope, record)

    def _unwanted(self, record: ConsumerRecord) -> bool:
        if self._wanted is None:
            return False
        event_type = event_type_of(record.headers)
        return event_type is not None and not self._wanted(event_type)  # no type: parse it, poison or not

    async def _process(self, record: ConsumerRecord) -> None:
        if self._unwanted(record):
            return
        try:
            envelope = envelope_from_kafka(record.headers, record.key, record.value)
        except EnvelopeError as exc:
            await self._dead_letter(record, exc, attempts=0)
            return
        await self._process_parsed(envelope, record)

    async def _process_parsed(self, envelope: Envelope, record: ConsumerRecord) -> None:
        with tracer.start_as_current_span(
            f"consume {record.topic}", context=context_from_headers(record.headers), kind=trace.SpanKind.CONSUMER
        ):
            failure = await handle_with_retries(lambda: self._handler(envelope, record), name=self._group_id,
                                                max_attempts=self._max_attempts, backoff_s=self._retry_backoff_s,
                                                outage=self._outage)
            if failure is None:
                self.processed += 1
            else:
                await self._dead_letter(record, failure.error, attempts=failure.attempts)

    async def _dead_letter(self, record: ConsumerRecord, error: BaseException, *, attempts: int) -> None:
        log.error(
            "consumer %s: %s[%d]@%d goes to the DLQ after %d attempts: %s",
            self._group_id, record.topic, record.partition, record.offset, attempts, error,
        )
        headers = [*(record.headers or ()), *dlq_headers(record, error, attempts, consumer=self._group_id)]
        await self._dlq_producer.send_and_wait(dlq_topic(record.topic), value=record.value, key=record.key, headers=headers)
        self.dead_lettered += 1


async def _commit_owned(consumer: AIOKafkaConsumer, pending: dict[TopicPartition, int]) -> None:
    """Commit the pending offsets of the partitions this consumer still owns (a rebalance may
    have taken some away: their records will be redelivered to the new owner)."""
    owned = {tp: offset for tp, offset in pending.items() if tp in consumer.assignment()}
    pending.clear()
    if owned:
        await consumer.commit(owned)


class Failure(NamedTuple):
    """A record given up on: the last error, after this many attempts (for the DLQ headers)."""

    error: BaseException
    attempts: int


def is_outage(error: BaseException) -> bool:
    """Whether `error` means PostgreSQL (or the network, or a deadline) is down, not the record."""
    return isinstance(error, OUTAGE_ERRORS)


# Poison for certain: no retry makes the record valid.
POISON_ERRORS: tuple[type[BaseException], ...] = (ContractViolation, EnvelopeError)


async def handle_with_retries(handle: Callable[[], Awaitable[None]], *, name: str, max_attempts: int,
                              backoff_s: float, outage: Callable[[BaseException], bool] = is_outage) -> Failure | None:
    """Run `handle` (one record's handling) until it returns (None), or until the record counts as
    poison (its Failure, for the DLQ). The consumer runner's policy, for every consumer:

    - an outage (`outage(error)`) is the world being down, not this record: it is retried without
      limit and uses up no attempt, so an outage sends nothing to the DLQ;
    - a ContractViolation or EnvelopeError is poison at once (a retry cannot make it valid);
    - any other error is retried, up to `max_attempts` attempts in all.

    Retries back off from `backoff_s`, doubling up to 5 s. `handle` must be safe to run again
    (consumers de-duplicate by event id anyway).
    """
    attempt = 0
    backoff = backoff_s
    while True:
        attempt += 1
        try:
            await handle()
            return None
        except Exception as exc:
            if outage(exc):
                log.warning("consumer %s: transient failure (%s: %s); retrying", name, type(exc).__name__, exc)
                attempt -= 1
            elif isinstance(exc, POISON_ERRORS) or attempt >= max_attempts:
                return Failure(exc, attempt)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 5.0)


class RecordOrigin(Protocol):
    """Where a record was read: an aiokafka ConsumerRecord, or the like."""

    topic: str
    partition: int
    offset: int


def dlq_headers(record: RecordOrigin, error: BaseException, attempts: int, *,
                consumer: str) -> list[tuple[str, bytes]]:
    """Why and where a record failed. `consumer` (the consumer group) tells apart the dead
    letters of the several groups that read one topic and share its `.dlq`."""
    return [
        ("dlq_consumer", consumer.encode()),
        ("dlq_error", f"{type(error).__name__}: {error}"[:2000].encode()),
        ("dlq_topic", record.topic.encode()),
        ("dlq_partition", str(record.partition).encode()),
        ("dlq_offset", str(record.offset).encode()),
        ("dlq_attempts", str(attempts).encode()),
        ("dlq_failed_at", dt.datetime.now(dt.UTC).isoformat().encode()),
    ]


async def replay_dead_letters(bootstrap: Kafka, topic: str, *, timeout_s: float = 5.0) -> int:
    """Re-publish every record of `<topic>.dlq` to `topic` (after fixing the cause); returns count.

    Reads the DLQ from the start with no group, so it can be run again; consumers drop what they
    already applied by event id.
    """
    # No group: the consumer assigns itself every partition of the DLQ and starts at the beginning.
    consumer = AIOKafkaConsumer(
        dlq_topic(topic), **connection(bootstrap).client_kwargs(), group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = reliable_producer(bootstrap, client_id="dlq-replay")
    await consumer.start()
    await producer.start()
    try:
        for _ in range(int(timeout_s / 0.1)):
            if consumer.assignment():
                break
            await asyncio.sleep(0.1)
        partitions = sorted(consumer.assignment())
        if not partitions:
            return 0
        end = await consumer.end_offsets(partitions)
        replayed = 0
        async def behind() -> bool:
            return any([await consumer.position(tp) < end[tp] for tp in partitions])

        while await behind():
            batches = await consumer.getmany(timeout_ms=int(timeout_s * 1000))
            if not batches:
                break
            for records in batches.values():
                for r in records:
                    headers = [(k, v) for k, v in (r.headers or ()) if not k.startswith("dlq_")]
                    await producer.send_and_wait(topic, value=r.value, key=r.key, headers=headers)
                    replayed += 1
        return replayed
    finally:
        await consumer.stop()
        await producer.stop()

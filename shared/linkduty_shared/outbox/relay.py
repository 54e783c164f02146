"""The outbox relay: publishes committed outbox rows to Kafka, in order per aggregate.

- One active relay per outbox (per database and schema): the leader holds a session advisory
  lock; other replicas wait. Two relays publishing at once could interleave one aggregate's events.
- A leader that stalls is replaced. A healthy one queries at least every poll interval, or
  retries Kafka with bounded backoff; one frozen (SIGSTOP, a hung process) keeps its session and
  its lock, and every replica's events would wait for it. A waiting relay that sees the
  leader's session idle for `stalled_after_s` while rows wait ends that session
  (pg_terminate_backend): the lock passes on. The stalled leader, if it wakes, finds its
  connection gone and waits as a replica; what it sends meanwhile goes out again under the same
  event ids, which consumers drop.
- Woken promptly after a commit: in-process (the event store calls `wake` after an append), by
  LISTEN/NOTIFY when writers in other processes enable the outbox trigger, and by polling as the
  safety net.
- A batch is deleted only after Kafka acknowledged every record of it (acks=all, idempotent
  producer). If Kafka is down the relay keeps the rows, backs off, and tries again; a crash
  between publish and delete republishes, and consumers drop the duplicate by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaProducer

from linkduty_shared.db import OUTAGE_ERRORS
from linkduty_shared.events.envelope import envelope_to_kafka, leaving_the_service
from linkduty_shared.eventstore.store import row_to_event, select_columns

log = logging.getLogger(__name__)

LEADER_LOCK = 0x11D7_0002  # the seed of the per-schema lock key
# Rows turned into records between two chances for the event loop to run something else.
YIELD_EVERY = 50

# The leader lock's key for the outbox of the session's schema.
LEADER_KEY = "SELECT hashtextextended(current_schema() || '.outbox', $1)"
# The session holding the leader lock of key $1 (pg_locks shows a bigint advisory key as two
# 32-bit halves).
LEADER_SESSION = """
SELECT a.pid, a.application_name, extract(epoch FROM now() - a.state_change) AS idle_s
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = (($1::bigint >> 32) & 4294967295)::oid AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1
"""
# ... when it has run nothing for $2 seconds while rows wait in the outbox.
_STALLED_LEADER = LEADER_SESSION + """
  AND a.state = 'idle' AND a.state_change < now() - make_interval(secs => $2)
  AND EXISTS (SELECT 1 FROM outbox)
"""
_FETCH = f"""
SELECT o.id AS outbox_id, o.topic, o.partition_key, {select_columns("e")}
FROM outbox o JOIN events e ON e.event_id = o.event_id
ORDER BY o.id
LIMIT $1
"""


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer_factory: Callable[[], AIOKafkaProducer],
        *,
        batch_size: int = 500,
        poll_interval_s: float = 0.5,
        max_backoff_s: float = 5.0,
        stalled_after_s: float = 15.0,
    ) -> None:
        self._pool = pool
        self._producer_factory = producer_factory
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._max_backoff_s = max_backoff_s
        # Longer than a healthy leader goes without a query: a Kafka send waits up to its request
        # timeout (10 s, messaging.kafka.reliable_producer), then the leader queries again.
        self._stalled_after_s = stalled_after_s
        self._wakeup = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._conn: asyncpg.Connection | None = None  # the leader's own connection
        self.published = 0  # records acknowledged by Kafka since start (for health and tests)

    def wake(self, *_: object) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        """Run until cancelled: become leader, then publish whenever there is work. A lost
        database connection (PostgreSQL restarted) is replaced at once, then every second."""
        backoff = 0.1
        while True:
            try:
                await self._lead()
            except OUTAGE_ERRORS + (asyncpg.InterfaceError,) as exc:  # InterfaceError: "connection is closed"
                if asyncio.current_task().cancelling():  # stopping: the clean-up met a closed pool
                    raise
                log.warning("outbox relay: database connection lost (%s); reconnecting in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)

    async def _lead(self) -> None:
        async with self._pool.acquire() as leader_conn:
            # Advisory locks are per database; the key includes the schema so that outboxes in
            # different schemas of one database (tests, several services sharing a database)
            # each get a relay of their own.
            lock = await leader_conn.fetchval(LEADER_KEY, LEADER_LOCK)
            while not await leader_conn.fetchval("SELECT pg_try_advisory_lock($1)", lock):
                await self._replace_a_stalled_leader(leader_conn, lock)
                await asyncio.sleep(self._poll_interval_s)
            await leader_conn.add_listener("linkduty_outbox", self.wake)
            # The relay reads and deletes on this connection of its own, never through the pool:
            # when writers hold every pooled connection (a commit stall under load), publishing
            # must not queue behind them.
            self._conn = leader_conn
            try:
                await self._publish_forever()
            finally:
                self._conn = None
                await self._close_producer()
                if not leader_conn.is_closed():  # a dead connection took its lock and listener with it
                    await leader_conn.remove_listener("linkduty_outbox", self.wake)
                    await leader_conn.execute("SELECT pg_advisory_unlock($1)", lock)

    async def _replace_a_stalled_leader(self, conn: asyncpg.Connection, lock: int) -> None:
        stalled = await conn.fetchrow(_STALLED_LEADER, lock, self._stalled_after_s)
        if stalled is not None:
            log.warning("outbox relay: the leader (backend %d) has run nothing for %.0f s while events wait; "
                        "ending its session to take over", stalled["pid"], stalled["idle_s"])
            await conn.fetchval("SELECT pg_terminate_backend($1)", stalled["pid"])

    async def _publish_forever(self) -> None:
        backoff = 0.1
        while True:
            self._wakeup.clear()
            try:
                sent = await self.publish_batch()
                backoff = 0.1
            except _KafkaUnavailable as exc:
                log.warning("outbox relay: Kafka did not acknowledge (%s); retrying in %.1fs", exc, backoff)
                await self._close_producer()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            if sent < self._batch_size:
                try:
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_s)
                except TimeoutError:
                    pass

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished rows; returns how many Kafka acknowledged."""
        async with self._connection() as conn:
            rows = await conn.fetch(_FETCH, self._batch_size)
        if not rows:
            return 0
        producer = await self._ensure_producer()
        try:
            futures = []
            for i, row in enumerate(rows, 1):
                if i % YIELD_EVERY == 0:
                    # A send that finds room in the producer's buffer does not suspend, so a batch
                    # of 500 rows (~0.2 ms of Python each) would hold the event loop all along.
                    await asyncio.sleep(0)
                message = envelope_to_kafka(leaving_the_service(row_to_event(row).envelope()))
                futures.append(
                    await producer.send(
                        row["topic"],
                        value=message.value,
                        key=row["partition_key"].encode(),
                        headers=list(message.headers.items()),
                    )
                )
            await asyncio.gather(*futures)
        except Exception as exc:  # any producer failure leaves the rows for the next attempt
            raise _KafkaUnavailable(exc) from exc
        async with self._connection() as conn, conn.transaction():
            # The delete need not wait for its WAL flush: if it is lost in a crash, the rows are
            # published again and consumers drop them by event id. Waiting would put every fsync
            # stall of the disk on the commit→Kafka path of the next batch.
            await conn.execute("SET LOCAL synchronous_commit = off")
            await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["outbox_id"] for r in rows])
        self.published += len(rows)
        return len(rows)

    def _connection(self):
        """The leader's connection when running; a pooled one for a one-off `publish_batch`."""
        if self._conn is not None:
            return contextlib.nullcontext(self._conn)
        return self._pool.acquire()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self._producer_factory()
            try:
                await producer.start()
            except Exception as exc:
                await producer.stop()
                raise _KafkaUnavailable(exc) from exc
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await asyncio.wait_for(producer.stop(), 10)
            except Exception:  # a producer that cannot flush to a dead broker is dropped anyway
                log.debug("outbox relay: producer did not stop cleanly", exc_info=True)


class _KafkaUnavailable(Exception):
    pass

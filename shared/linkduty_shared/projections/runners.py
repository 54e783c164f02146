from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import asyncpg
from aiokafka import ConsumerRecord

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.eventstore.store import EventStore, Position
from linkduty_shared.projections.base import Projection
from linkduty_shared.retention import bounded_delete, purge_in_batches


async def apply_once(conn: asyncpg.Connection, projection: Projection, event: Envelope) -> bool:
    """Apply `event` unless this projection already has (by event id); the caller's transaction
    holds both the dedup row and the projection's rows. Both feeds go through here, so a
    projection rebuilt from the store and then fed from Kafka applies nothing twice."""
    first_time = await conn.fetchval(
        "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
        projection.name,
        uuid.UUID(event.id),
    )
    if first_time:
        await projection.apply(conn, event)
    return bool(first_time)


PURGE_PROCESSED = bounded_delete("processed_events", "processed_at < now() - make_interval(secs => $1)",
                                  "processed_at", "$2")


async def purge_processed_events(pool: asyncpg.Pool, keep: dt.timedelta, *, batch: int = 2000) -> int:
    """Drop dedup rows older than `keep` (the runtime runs it; retention.py). An event processed
    before then was produced before then: with `keep` past the longest a record stays in Kafka
    (the topics' retention, a DLQ's for a replay, plus a segment, since Kafka deletes whole ones),
    nothing can deliver it again. A store-fed projection never reads behind its checkpoint, and
    its rebuild drops its rows anyway."""
    return await purge_in_batches(pool, "processed_events rows", PURGE_PROCESSED, keep.total_seconds(), batch=batch)


class KafkaProjectionHandler:
    """A consumer-runner handler: apply each event once, by event id, with its dedup row."""

    def __init__(self, pool: asyncpg.Pool, projection: Projection) -> None:
        self._pool = pool
        self._projection = projection

    async def __call__(self, event: Envelope, record: ConsumerRecord | None = None) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await apply_once(conn, self._projection, event)


class StoreProjectionRunner:
    """Follows the event store's global order; checkpoint and rows commit together."""

    def __init__(self, store: EventStore, pool: asyncpg.Pool, projection: Projection, *, batch_size: int = 500) -> None:
        self._store = store
        self._pool = pool
        self._projection = projection
        self._batch_size = batch_size

    async def position(self) -> Position:
        async with self._pool.acquire() as conn:
            text = await conn.fetchval(
                "SELECT position FROM projection_checkpoints WHERE projection = $1", self._projection.name
            )
        return Position.parse(text) if text else Position.START

    async def catch_up(self) -> int:
        """Apply everything committed so far; returns the number of events applied."""
        applied = 0
        after = await self.position()
        while True:
            events = await self._store.read_all(after, limit=self._batch_size)
            if not events:
                return applied
            async with self._pool.acquire() as conn, conn.transaction():
                for stored in events:
                    await apply_once(conn, self._projection, stored.envelope())
                after = events[-1].position
                await conn.execute(
                    "INSERT INTO projection_checkpoints (projection, position) VALUES ($1, $2)"
                    " ON CONFLICT (projection) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
                    self._projection.name,
                    str(after),
                )
            applied += len(events)

    async def rebuild(self) -> int:
        """Drop the projection's rows and replay the whole store into it."""
        async with self._pool.acquire() as conn, conn.transaction():
            await self._projection.reset(conn)
            await conn.execute("DELETE FROM projection_checkpoints WHERE projection = $1", self._projection.name)
            await conn.execute("DELETE FROM processed_events WHERE consumer = $1", self._projection.name)
        return await self.catch_up()

    async def run(self, poll_interval_s: float = 0.2) -> None:
        while True:
            if not await self.catch_up():
                await asyncio.sleep(poll_interval_s)

"""Append, load and read-all over the `events` table.

Appends are one SQL statement: a version guard, the event rows and their outbox rows, so the
events and the outbox commit together or not at all, in a single round trip.

Global order without skipped events: identity values are taken at insert time but transactions
commit in any order, so a reader that trusts `global_position` alone could pass position 41
before the transaction holding 40 commits, and never see 40. Every row therefore records its
transaction id (xid8), and `read_all` returns only rows of transactions older than the oldest
one still running (`pg_snapshot_xmin`), ordered by (tx_id, global_position). A transaction that
commits later always has a tx_id at or above that horizon, so it sorts after everything already
read. Writers never wait for each other; readers lag by at most the longest open transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import asyncpg
import orjson

from linkduty_shared.events.envelope import CONTEXT_EXTENSIONS, Envelope
from linkduty_shared.ids import time_ordered_uuid


class ConcurrencyConflict(Exception):
    """The stream was not at the expected version: someone else appended first."""

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(f"stream {stream_id!r} is not at version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


@dataclasses.dataclass(frozen=True, order=True)
class Position:
    """A place in the global order: (writing transaction, identity within it)."""

    tx_id: int
    seq: int

    START: ClassVar[Position]

    def __str__(self) -> str:
        return f"{self.tx_id}.{self.seq}"

    @classmethod
    def parse(cls, text: str) -> Position:
        tx, _, seq = text.partition(".")
        return cls(int(tx), int(seq))


Position.START = Position(0, 0)


@dataclasses.dataclass(frozen=True)
class NewEvent:
    event_type: str
    data: dict[str, Any]
    schema_version: int = 1
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    event_id: uuid.UUID = dataclasses.field(default_factory=time_ordered_uuid)  # events_event_id grows at its end
    occurred_at: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclasses.dataclass(frozen=True)
class StoredEvent:
    stream_id: str
    stream_type: str
    version: int
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    occurred_at: dt.datetime
    position: Position

    def envelope(self) -> Envelope:
        """The CloudEvents envelope this event travels in."""
        meta = self.metadata
        return Envelope(
            id=str(self.event_id),
            source=meta.get("source", f"/linkduty/{self.stream_type}"),
            type=f"linkduty.{self.stream_type}.{self.event_type}",
            subject=self.stream_id,
            time=self.occurred_at,
            data=self.data,
            dataversion=self.schema_version,
            streamversion=self.version,
            divisions=meta.get("divisions"),
            **{k: meta.get(k) for k in CONTEXT_EXTENSIONS},
        )


def select_columns(alias: str = "") -> str:
    """The columns `row_to_event` reads, optionally qualified by a table alias for joins."""
    p = f"{alias}." if alias else ""
    return (
        f"{p}stream_id, {p}stream_type, {p}version, {p}event_id, {p}event_type, {p}schema_version,"
        f" {p}data, {p}metadata, {p}occurred_at, {p}tx_id::text::bigint AS tx, {p}global_position"
    )


_COLUMNS = select_columns()

_APPEND = """
WITH guard AS (
    SELECT COALESCE(MAX(version), 0) AS current FROM events WHERE stream_id = $1
), inserted AS (
    INSERT INTO events (stream_id, stream_type, version, event_id, event_type, schema_version,
                        data, metadata, occurred_at)
    SELECT $1, $2, $3 + t.ord, t.event_id, t.event_type, t.schema_version,
           t.data::jsonb, t.metadata::jsonb, t.occurred_at
    FROM unnest($4::uuid[], $5::text[], $6::int[], $7::text[], $8::text[], $9::timestamptz[])
         WITH ORDINALITY AS t(event_id, event_type, schema_version, data, metadata, occurred_at, ord)
    WHERE (SELECT current FROM guard) = $3
    RETURNING event_id, version, tx_id::text::bigint AS tx, global_position
), outboxed AS (
    INSERT INTO outbox (event_id, topic, partition_key)
    SELECT event_id, $10, COALESCE($11, $1) FROM inserted WHERE $10::text IS NOT NULL
)
SELECT event_id, version, tx, global_position FROM inserted ORDER BY version
"""
_LOAD_MANY = f"SELECT {_COLUMNS} FROM events WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version"

_READ_ALL = f"""
SELECT {_COLUMNS} FROM events
WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY tx_id, global_position
LIMIT $3
"""


_LOAD = f"""
SELECT {_COLUMNS} FROM events
WHERE stream_id = $1 AND version > $2
  AND ($3::int IS NULL OR version <= $3)
  AND ($4::timestamptz IS NULL OR occurred_at <= $4)
ORDER BY version
"""


def row_to_event(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(
        stream_id=row["stream_id"],
        stream_type=row["stream_type"],
        version=row["version"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        data=row["data"],
        metadata=row["metadata"],
        occurred_at=row["occurred_at"],
        position=Position(row["tx"], row["global_position"]),
    )


class EventStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._append_listeners: list[Callable[[], None]] = []

    def on_append(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every committed append (the outbox relay's in-process wake-up)."""
        self._append_listeners.append(listener)

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        topic: str | None = None,
        partition_key: str | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> list[StoredEvent]:
        """Append `events` if the stream is at `expected_version` (0: a new stream).

        With `topic`, each event also gets an outbox row in the same statement, for the relay to
        publish, keyed by `partition_key` (default: the stream id). With `conn`, the append joins
        the caller's transaction.
        """
        if not events:
            return []
        args = (
            stream_id,
            stream_type,
            expected_version,
            [e.event_id for e in events],
            [e.event_type for e in events],
            [e.schema_version for e in events],
            [orjson.dumps(e.data).decode() for e in events],
            [orjson.dumps(e.metadata).decode() for e in events],
            [e.occurred_at for e in events],
            topic,
            partition_key,
        )
        try:
            if conn is not None:
                rows = await conn.fetch(_APPEND, *args)
            else:
                async with self.pool.acquire() as c:
                    rows = await c.fetch(_APPEND, *args)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "events_pkey":
                raise ConcurrencyConflict(stream_id, expected_version) from None
            raise
        if not rows:
            raise ConcurrencyConflict(stream_id, expected_version)
        if conn is None:
            self.committed()
        return [
            StoredEvent(
                stream_id=stream_id,
                stream_type=stream_type,
                version=row["version"],
                event_id=row["event_id"],
                event_type=e.event_type,
                schema_version=e.schema_version,
                data=e.data,
                metadata=e.metadata,
                occurred_at=e.occurred_at,
                position=Position(row["tx"], row["global_position"]),
            )
            for row, e in zip(rows, events, strict=True)
        ]

    def committed(self) -> None:
        """Tell the listeners an append committed; callers that appended inside their own
        transaction (`conn=`) call this after their commit."""
        for listener in self._append_listeners:
            listener()

    async def load(
        self,
        stream_id: str,
        *,
        after_version: int = 0,
        up_to_version: int | None = None,
        as_of: dt.datetime | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> list[StoredEvent]:
        """A stream's events in order; `up_to_version` / `as_of` read it as it was then."""
        args = (stream_id, after_version, up_to_version, as_of)
        if conn is not None:
            rows = await conn.fetch(_LOAD, *args)
        else:
            async with self.pool.acquire() as c:
                rows = await c.fetch(_LOAD, *args)
        return [row_to_event(r) for r in rows]

    async def load_many(self, stream_ids: list[str], *,
                        conn: asyncpg.Connection | None = None) -> dict[str, list[StoredEvent]]:
        """Several streams' events in one round trip: stream id → its events in order (absent:
        no such stream)."""
        if conn is not None:
            rows = await conn.fetch(_LOAD_MANY, stream_ids)
        else:
            async with self.pool.acquire() as c:
                rows = await c.fetch(_LOAD_MANY, stream_ids)
        streams: dict[str, list[StoredEvent]] = {}
        for r in rows:
            streams.setdefault(r["stream_id"], []).append(row_to_event(r))
        return streams

    async def read_all(self, after: Position = Position.START, *, limit: int = 1000) -> list[StoredEvent]:
        """Events in global order after `after`, never skipping one that commits later."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(_READ_ALL, str(after.tx_id), after.seq, limit)
        return [row_to_event(r) for r in rows]

"""The application layer every service reuses: load an aggregate → decide → append (+ outbox).

`EventSourcedRepository` turns stored rows into domain events (upcasting old schema versions)
and pending domain events into stored rows with the command's context (actor, agency,
correlation, causation, trace) in their metadata.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import asyncpg

from linkduty_shared.domain.aggregate import Aggregate
from linkduty_shared.domain.event import DomainEvent, event_class
from linkduty_shared.events.upcasting import Upcasters, upcasters
from linkduty_shared.eventstore.store import ConcurrencyConflict, EventStore, NewEvent, StoredEvent
from linkduty_shared.projections.base import Projection
from linkduty_shared.telemetry import current_trace_context

A = TypeVar("A", bound=Aggregate)


class PreconditionFailed(Exception):
    """The caller's If-Match names a version the aggregate is no longer at."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"aggregate is at version {actual}, not {expected}")
        self.expected = expected
        self.actual = actual


class AggregateNotFound(LookupError):
    pass


@dataclasses.dataclass(frozen=True)
class CommandContext:
    """Who asked, on behalf of which agency, and what caused it: copied into every event."""

    actor: str | None = None
    agency: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None

    def metadata(self, source: str) -> dict[str, str]:
        meta = {"source": source, **current_trace_context()}
        for key, value in (
            ("actor", self.actor),
            ("agency", self.agency),
            ("correlationid", self.correlation_id),
            ("causationid", self.causation_id),
        ):
            if value is not None:
                meta[key] = value
        return meta


def to_domain_event(stored: StoredEvent, registry: Upcasters = upcasters) -> DomainEvent:
    cls = event_class(stored.event_type)
    data = registry.upcast(stored.event_type, stored.schema_version, stored.data, cls.schema_version)
    return cls.from_data(data)


class EventSourcedRepository(Generic[A]):
    """Loads and saves one aggregate type.

    `inline_projections` are read models updated in the same transaction as the append, for
    queries that must see a write at once (e.g. duplicate-call matching sees the alarm the
    previous call just opened). Other read models follow asynchronously from Kafka or the store.
    """

    def __init__(
        self,
        store: EventStore,
        aggregate_cls: type[A],
        *,
        source: str,
        topic: str | None,
        inline_projections: Sequence[Projection] = (),
        partition_key: Callable[[A], str] | None = None,
    ) -> None:
        self._store = store
        # The Kafka key of the aggregate's events: its id unless it must share another stream's
        # partition (e.g. a record about an alarm keyed by the alarm id).
        self._partition_key = partition_key
        self._cls = aggregate_cls
        self._source = source
        self._topic = topic
        self._inline = tuple(inline_projections)

    async def load(
        self,
        aggregate_id: str,
        *,
        up_to_version: int | None = None,
        as_of: dt.datetime | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> A:
        """The aggregate now, or as it was at a version or a moment. Empty if it never existed."""
        stored = await self._store.load(aggregate_id, up_to_version=up_to_version, as_of=as_of, conn=conn)
        if stored and stored[0].stream_type != self._cls.stream_type:
            stored = []  # another aggregate's stream (a unit's id asked for as a dispatch): not one of ours
        return self._cls.rehydrate(aggregate_id, (to_domain_event(s) for s in stored))

    async def get(self, aggregate_id: str, **kwargs) -> A:
        aggregate = await self.load(aggregate_id, **kwargs)
        if not aggregate.exists:
            raise AggregateNotFound(aggregate_id)
        return aggregate

    async def save(self, aggregate: A, context: CommandContext, *, conn: asyncpg.Connection | None = None) -> list[StoredEvent]:
        """Append the aggregate's pending events at its loaded version (conflict if it moved).

        Inside the caller's transaction with `conn` (the caller then calls `store.committed()`
        after its commit); otherwise in a transaction of its own.
        """
        if conn is None:
            async with self._store.pool.acquire() as own, own.transaction():
                stored = await self._save(aggregate, context, own)
            self._store.committed()
            return stored
        return await self._save(aggregate, context, conn)

    async def _save(self, aggregate: A, context: CommandContext, conn: asyncpg.Connection) -> list[StoredEvent]:
        metadata = context.metadata(self._source)
        new = [
            NewEvent(event_type=e.event_type, schema_version=e.schema_version, data=e.to_data(), metadata=metadata)
            for e in aggregate.pending
        ]
        stored = await self._store.append(
            aggregate.id, self._cls.stream_type, aggregate.version, new, topic=self._topic, conn=conn,
            partition_key=self._partition_key(aggregate) if self._partition_key else None,
        )
        # Inline projections need no dedup row: they commit with the append, so they cannot
        # see an event twice.
        for projection in self._inline:
            for event in stored:
                await projection.apply(conn, event.envelope())
        aggregate.version += len(stored)
        aggregate.pending.clear()
        return stored

    async def execute(
        self,
        aggregate_id: str,
        decide: Callable[[A], object],
        context: CommandContext,
        *,
        expected_version: int | None = None,
        attempts: int = 3,
        must_exist: bool = False,
    ) -> A:
        """Load, run `decide` (which records events on the aggregate), and append.

        With `expected_version` (from If-Match) a moved aggregate is a PreconditionFailed; without
        it a concurrent append is retried on fresh state, since `decide` re-checks invariants.
        With `must_exist`, an id with no events is AggregateNotFound rather than an empty
        aggregate handed to `decide` (which may create it).
        """
        for attempt in range(1, attempts + 1):
            aggregate = await self.load(aggregate_id)
            if must_exist and not aggregate.exists:
                raise AggregateNotFound(aggregate_id)
            if expected_version is not None and aggregate.version != expected_version:
                raise PreconditionFailed(expected_version, aggregate.version)
            decide(aggregate)
            if not aggregate.pending:
                return aggregate  # nothing to record (an idempotent no-op)
            try:
                await self.save(aggregate, context)
                return aggregate
            except ConcurrencyConflict:
                if expected_version is not None or attempt == attempts:
                    raise
        raise AssertionError("unreachable")

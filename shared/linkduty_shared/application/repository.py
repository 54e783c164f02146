"""`EventSourcedRepository` turns stored rows into domain events (upcasting old schema versions)
and pending domain events into stored rows with the command's context (actor, agency,
correlation, causation, trace) in their metadata. Writes go through `UnitOfWork`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import asyncpg

from linkduty_shared.auth.tokens import Principal
from linkduty_shared.domain.aggregate import Aggregate
from linkduty_shared.domain.event import DomainEvent, event_class
from linkduty_shared.events.upcasting import Upcasters, upcasters
from linkduty_shared.eventstore.store import EventStore, NewEvent, StoredEvent
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

    @classmethod
    def caused_by(cls, event: Any, actor: str) -> CommandContext:
        """What a consumer decides because of a record (an Envelope): its agency and correlation
        carried on, the record itself the cause."""
        return cls(actor=actor, agency=event.agency, correlation_id=event.correlationid, causation_id=event.id)

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
        chain: Callable[[A], Sequence[str]] | None = None,
    ) -> None:
        self._store = store
        # The divisions an aggregate lies in (its own and those above): who may see it.
        self._chain = chain
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

    async def load_many(self, aggregate_ids: list[str], *, conn: asyncpg.Connection | None = None) -> dict[str, A]:
        """Several aggregates as they are now, in one round trip (an id that never existed, or
        is another aggregate's, maps to an empty one)."""
        streams = await self._store.load_many(list(aggregate_ids), conn=conn)
        out = {}
        for aggregate_id in aggregate_ids:
            stored = streams.get(aggregate_id, [])
            if stored and stored[0].stream_type != self._cls.stream_type:
                stored = []
            out[aggregate_id] = self._cls.rehydrate(aggregate_id, (to_domain_event(s) for s in stored))
        return out

    async def get(self, aggregate_id: str, *, visible_to: Principal | None = None, **kwargs) -> A:
        """The aggregate, or AggregateNotFound if it never existed or lies outside the
        jurisdiction of `visible_to` (None: a service's own actor, which sees everything). Outside
        is a 404 like unknown, not a 403: a record's existence is not the caller's to know."""
        aggregate = await self.load(aggregate_id, **kwargs)
        if not aggregate.exists or not self.visible(aggregate, visible_to):
            raise AggregateNotFound(aggregate_id)
        return aggregate

    def visible(self, aggregate: A, principal: Principal | None) -> bool:
        if principal is None:
            return True
        if self._chain is None:
            raise TypeError(f"{self._cls.__name__} has no division chain: give its repository `chain=`")
        return principal.may_see(tuple(self._chain(aggregate)))

    async def append(self, aggregate: A, context: CommandContext, conn: asyncpg.Connection) -> list[StoredEvent]:
        """Append the aggregate's pending events at its loaded version (a ConcurrencyConflict if
        it moved), inside the caller's transaction: `UnitOfWork` is the one caller."""
        metadata = context.metadata(self._source)
        if self._chain is not None and (chain := [code for code in self._chain(aggregate) if code]):
            metadata["divisions"] = " ".join(chain)
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

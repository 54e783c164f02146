"""One unit of work: load aggregates, decide, append, commit, then wake the relay.

Every write of every service goes through `UnitOfWork.run` (or its one-aggregate form
`execute`), so that three things are never left to the caller: the transaction spans every
stream the command touches (a plan and the units it orders, nothing half-written); a concurrent
append is decided again on fresh state, since the domain re-checks its invariants; and the
outbox relay is woken only after the commit (`EventStore.committed`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from linkduty_shared.application.repository import (
    AggregateNotFound,
    CommandContext,
    EventSourcedRepository,
    PreconditionFailed,
)
from linkduty_shared.auth.tokens import Principal
from linkduty_shared.domain.aggregate import Aggregate
from linkduty_shared.eventstore.store import ConcurrencyConflict, EventStore, StoredEvent

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

ATTEMPTS = 4  # a fourth conflict in a row is a real contention problem: answered as a 409


class Transaction:
    """What a unit of work's `work` is handed: one connection in one transaction, the command's
    context, and the principal whose jurisdiction bounds what `get` finds."""

    def __init__(self, conn: asyncpg.Connection, context: CommandContext, principal: Principal | None) -> None:
        self.conn = conn
        self.context = context
        self.principal = principal

    async def load(self, repo: EventSourcedRepository[A], aggregate_id: str) -> A:
        """The aggregate, empty if it never existed (a command may create it). No visibility check."""
        return await repo.load(aggregate_id, conn=self.conn)

    async def get(self, repo: EventSourcedRepository[A], aggregate_id: str) -> A:
        """The aggregate; AggregateNotFound if it never existed or the principal may not see it."""
        return await repo.get(aggregate_id, visible_to=self.principal, conn=self.conn)

    async def save(self, repo: EventSourcedRepository[A], aggregate: A) -> list[StoredEvent]:
        """Append the aggregate's pending events (none: nothing happens); they commit with the rest."""
        if not aggregate.pending:
            return []
        return await repo.append(aggregate, self.context, self.conn)


class UnitOfWork:
    def __init__(self, store: EventStore, *, attempts: int = ATTEMPTS) -> None:
        self.store = store
        self.attempts = attempts

    async def run(self, work: Callable[[Transaction], Awaitable[T]], context: CommandContext, *,
                  principal: Principal | None = None, retry: bool = True) -> T:
        """Run `work` in one transaction and commit; on a concurrent append, run it again on fresh
        state (unless `retry` is False: the caller named the version it decided on)."""
        for attempt in range(1, self.attempts + 1):
            try:
                async with self.store.pool.acquire() as conn, conn.transaction():
                    result = await work(Transaction(conn, context, principal))
            except ConcurrencyConflict:
                if not retry or attempt == self.attempts:
                    raise
                continue
            self.store.committed()
            return result
        raise AssertionError("unreachable")

    async def execute(self, repo: EventSourcedRepository[A], aggregate_id: str, decide: Callable[[A], object],
                      context: CommandContext, *, principal: Principal | None = None,
                      expected_version: int | None = None, must_exist: bool = True) -> A:
        """The shape of most commands: get one aggregate, let `decide` record events on it, append.

        With a `principal`, an aggregate outside its jurisdiction is AggregateNotFound before
        anything is decided. With `expected_version` (from If-Match), a moved aggregate is
        PreconditionFailed and nothing is retried. `must_exist=False` hands `decide` an empty
        aggregate for an unknown id (a command that creates it)."""
        async def work(tx: Transaction) -> A:
            if must_exist:
                aggregate = await tx.get(repo, aggregate_id)
            else:  # created if missing; one that exists must still be the principal's to see
                aggregate = await tx.load(repo, aggregate_id)
                if aggregate.exists and not repo.visible(aggregate, principal):
                    raise AggregateNotFound(aggregate_id)
            if expected_version is not None and aggregate.version != expected_version:
                raise PreconditionFailed(expected_version, aggregate.version)
            decide(aggregate)
            await tx.save(repo, aggregate)
            return aggregate

        return await self.run(work, context, principal=principal, retry=expected_version is None)


__all__ = ["AggregateNotFound", "Transaction", "UnitOfWork"]

"""Aggregate base: state folded from events, commands decided into new events.

Subclasses implement `evolve(event)` (state transition, never fails) and command methods that
check invariants and return the events they decide, recording them with `_record`. Nothing
here awaits anything.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import ClassVar, Self

from linkduty_shared.domain.event import DomainEvent


class Aggregate(abc.ABC):
    stream_type: ClassVar[str]

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        self.version = 0
        self.pending: list[DomainEvent] = []

    @abc.abstractmethod
    def evolve(self, event: DomainEvent) -> None:
        """Apply one event to the state. Must accept every event the aggregate ever emitted."""

    @classmethod
    def rehydrate(cls, aggregate_id: str, events: Iterable[DomainEvent]) -> Self:
        aggregate = cls(aggregate_id)
        for e in events:
            aggregate.evolve(e)
            aggregate.version += 1
        return aggregate

    @property
    def exists(self) -> bool:
        return self.version > 0 or bool(self.pending)

    def _record(self, *events: DomainEvent) -> list[DomainEvent]:
        """Apply decided events to the state and queue them for appending."""
        for e in events:
            self.evolve(e)
            self.pending.append(e)
        return list(events)

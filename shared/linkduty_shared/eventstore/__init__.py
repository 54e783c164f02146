"""The event store on PostgreSQL (asyncpg)."""

from linkduty_shared.eventstore.store import (
    ConcurrencyConflict,
    EventStore,
    NewEvent,
    Position,
    StoredEvent,
)

__all__ = ["ConcurrencyConflict", "EventStore", "NewEvent", "Position", "StoredEvent"]

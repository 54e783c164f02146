from __future__ import annotations

import abc
from typing import ClassVar

import asyncpg

from linkduty_shared.events.envelope import Envelope


class Projection(abc.ABC):
    """A read model. `apply` runs inside a transaction the runner owns; it must not commit."""

    name: ClassVar[str]
    ddl: ClassVar[str] = ""  # CREATE TABLE IF NOT EXISTS … for the projection's rows

    @abc.abstractmethod
    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        """Apply one event; ignore event types this projection does not read."""

    @abc.abstractmethod
    async def reset(self, conn: asyncpg.Connection) -> None:
        """Delete every row of the projection (before a rebuild)."""

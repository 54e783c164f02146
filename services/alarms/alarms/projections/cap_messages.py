"""Read model: which alarm each CAP message (sender, identifier) acted on, so that an Update or
Cancel naming earlier messages in `references` finds its alarm. Updated inline."""

from __future__ import annotations

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.projections import Projection


class CapMessages(Projection):
    name = "cap_messages"
    ddl = """
    CREATE TABLE IF NOT EXISTS cap_messages (
        sender     text NOT NULL,
        identifier text NOT NULL,
        alarm_id   text NOT NULL,
        PRIMARY KEY (sender, identifier)
    );
    """

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        cap = event.data.get("cap") if event.event_name in ("AlarmReported", "CallLinked", "AlarmUpdated", "AlarmCancelled") else None
        if cap:
            await conn.execute(
                "INSERT INTO cap_messages VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                cap["sender"], cap["identifier"], event.subject,
            )

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM cap_messages")


async def alarm_for_references(conn: asyncpg.Connection, references: list[tuple[str, str]]) -> str | None:
    """The alarm the referenced messages acted on (the latest reference that is known), in one query."""
    if not references:
        return None
    senders, identifiers = zip(*references, strict=True)
    return await conn.fetchval(
        """SELECT m.alarm_id FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(sender, identifier, n)
           JOIN cap_messages m USING (sender, identifier) ORDER BY r.n DESC LIMIT 1""",
        list(senders), list(identifiers),
    )


async def known_message(conn: asyncpg.Connection, sender: str, identifier: str) -> str | None:
    return await conn.fetchval("SELECT alarm_id FROM cap_messages WHERE sender = $1 AND identifier = $2",
                               sender, identifier)

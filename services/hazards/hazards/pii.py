"""Who follows which hazard, beside the PII vault (`linkduty_shared.vault`: reporters' contacts
and the unscrubbed free text of reports, kept out of events so they can be erased).

`hazard_reporters` says which hazards a reporter (the subject of their token) follows: the one
they reported and, once it is merged, the open one it was merged into. A token's subject can be
personal (a resident's app account), so it is kept here, beside the vault, not in any event: a
reporter's rows are deleted with their contact (`erase_reporter`), and their hazards stay.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from linkduty_shared import vault
from linkduty_shared.vault import reveal, store

__all__ = ["DDL", "erase_reporter", "follow", "follow_merged", "follows", "reveal", "store"]

DDL = vault.DDL + """
CREATE TABLE IF NOT EXISTS hazard_reporters (
    subject      text NOT NULL,
    hazard_id    text NOT NULL,
    following_at timestamptz NOT NULL,
    vault_refs   uuid[] NOT NULL DEFAULT '{}',  -- what this report put in the vault: shredded with the reporter
    PRIMARY KEY (subject, hazard_id)
);
CREATE INDEX IF NOT EXISTS hazard_reporters_newest ON hazard_reporters (subject, following_at DESC, hazard_id DESC);
CREATE INDEX IF NOT EXISTS hazard_reporters_hazard ON hazard_reporters (hazard_id);
"""


# ---- who follows which hazard ------------------------------------------------------------------

async def follow(conn: asyncpg.Connection, subject: str, hazard_id: str, at: dt.datetime,
                 vault_refs: list[str] = ()) -> None:
    """`subject` reported `hazard_id`, leaving `vault_refs` (their contact, the text as typed)."""
    await conn.execute(
        """INSERT INTO hazard_reporters (subject, hazard_id, following_at, vault_refs) VALUES ($1, $2, $3, $4)
           ON CONFLICT (subject, hazard_id) DO NOTHING""",
        subject, hazard_id, at, [uuid.UUID(r) for r in vault_refs])


async def follow_merged(conn: asyncpg.Connection, duplicate_id: str, target_id: str, at: dt.datetime) -> None:
    """The reporters of a merged duplicate follow the open hazard it was merged into (and still it)."""
    await conn.execute(
        """INSERT INTO hazard_reporters (subject, hazard_id, following_at, vault_refs)
           SELECT subject, $2, $3, vault_refs FROM hazard_reporters WHERE hazard_id = $1
           ON CONFLICT (subject, hazard_id) DO NOTHING""",
        duplicate_id, target_id, at)


async def follows(conn: asyncpg.Connection, subject: str, hazard_id: str) -> bool:
    return await conn.fetchval("SELECT true FROM hazard_reporters WHERE subject = $1 AND hazard_id = $2",
                               subject, hazard_id) or False


async def erase_reporter(conn: asyncpg.Connection, subject: str) -> int:
    """Forget a reporter: their contacts and typed texts shredded, what they follow forgotten.
    Returns how many hazards they followed. Their reports stay, with a masked number no one can
    call and their text as scrubbed."""
    rows = await conn.fetch("DELETE FROM hazard_reporters WHERE subject = $1 RETURNING vault_refs", subject)
    shredded = {ref for r in rows for ref in r["vault_refs"]}
    if shredded:
        await vault.erase_all(conn, list(shredded))
    return len(rows)

"""The PII vault: reporters' contacts and the unscrubbed free text of reports, kept out of events
so they can be erased; and who follows which hazard.

The vault is the alarms service's (`alarms/pii.py`), table for table: events carry only a masked
number, free text with phone and ID numbers masked, and vault references (`*_ref`, which never
leave the service: the relay drops them). The originals are stored here, each encrypted with a
data key of its own (AES-GCM); erasing deletes the key, which makes every copy of the ciphertext
(backups included) unreadable without rewriting any event (crypto-shredding). Nothing here is
ever logged.

`hazard_reporters` says which hazards a reporter (the subject of their token) follows: the one
they reported and, once it is merged, the open one it was merged into. A token's subject can be
personal (a resident's app account), so it is kept here, beside the vault, not in any event: a
reporter's rows are deleted with their contact (`erase_reporter`), and their hazards stay.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from linkduty_shared.ids import time_ordered_uuid

DDL = """
CREATE TABLE IF NOT EXISTS pii_keys (
    ref        uuid PRIMARY KEY,
    data_key   bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS pii_values (
    ref        uuid PRIMARY KEY,
    nonce      bytea NOT NULL,
    ciphertext bytea NOT NULL
);
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


async def store(conn: asyncpg.Connection, secret: str) -> str:
    """Encrypt and store a contact or a text (in the caller's transaction); returns its reference."""
    ref = time_ordered_uuid()  # pii_keys' index grows at its end, not all over
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, secret.encode(), ref.bytes)
    await conn.execute(
        """WITH k AS (INSERT INTO pii_keys (ref, data_key) VALUES ($1, $2))
           INSERT INTO pii_values (ref, nonce, ciphertext) VALUES ($1, $3, $4)""",
        ref, key, nonce, ciphertext,
    )
    return str(ref)


async def reveal(conn: asyncpg.Connection, ref: str) -> str | None:
    """What was stored, or None once erased."""
    row = await conn.fetchrow(
        "SELECT k.data_key, v.nonce, v.ciphertext FROM pii_values v JOIN pii_keys k USING (ref) WHERE ref = $1",
        uuid.UUID(ref),
    )
    if row is None:
        return None
    return AESGCM(row["data_key"]).decrypt(row["nonce"], row["ciphertext"], uuid.UUID(ref).bytes).decode()


async def erase(conn: asyncpg.Connection, ref: str) -> bool:
    """Crypto-shred: drop the data key. Returns whether there was one."""
    return await conn.fetchval("DELETE FROM pii_keys WHERE ref = $1 RETURNING true", uuid.UUID(ref)) or False


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
    shredded = sorted({ref for r in rows for ref in r["vault_refs"]})
    if shredded:
        await conn.execute("DELETE FROM pii_keys WHERE ref = ANY($1::uuid[])", shredded)
    return len(rows)

"""The PII vault every service with personal data keeps in its own database (`DDL` in its
schema): callers' and reporters' phone numbers and contacts, and the unscrubbed free text they
typed, kept out of events so they can be erased.

Events carry only a masked number, free text with phone and ID numbers masked, and vault
references (`*_ref`, which never leave the service: the relay drops them). The originals are stored here,
each encrypted with a data key of its own (AES-GCM); erasing deletes the key, which makes every
copy of the ciphertext (backups included) unreadable without rewriting any event
(crypto-shredding). Nothing here is ever logged.
"""

from __future__ import annotations

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
"""


async def store(conn: asyncpg.Connection, secret: str) -> str:
    """Encrypt and store a phone number, a contact or a text (in the caller's transaction); returns its reference."""
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


async def erase_all(conn: asyncpg.Connection, refs: list[uuid.UUID]) -> None:
    """Crypto-shred several at once."""
    await conn.execute("DELETE FROM pii_keys WHERE ref = ANY($1::uuid[])", sorted(refs))

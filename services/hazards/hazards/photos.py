"""Photos: their bytes in the object store, their record here (in the hazards database).

Upload first, then report: a mini-program on a weak network uploads each photo (retrying as
often as it must: the same bytes from the same uploader are the same photo) and then sends the
report naming the photos' ids. A photo belongs to its uploader until a report or a rectification
attaches it to one hazard (in that command's transaction); from then on it is shown to whoever may
see that hazard, and to nobody else. Photos never attached are deleted after a day.

A photo is not an event: its bytes are in the object store under `photos/<id>/full` and
`photos/<id>/thumbnail`, and the hazard's events name its id. The uploader (a resident's app
account is personal) is forgotten with the rest of the reporter (`forget_uploader`); the photo
stays with the hazard it documents.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

DDL = """
CREATE TABLE IF NOT EXISTS hazard_photos (
    photo_id        uuid PRIMARY KEY,
    uploader        text,            -- the token's subject until attached and erased; NULL once forgotten
    original_sha256 text NOT NULL,   -- of the upload: a retried upload finds its photo
    sha256          text NOT NULL,   -- of the stored copy
    media_type      text NOT NULL,
    width           integer NOT NULL,
    height          integer NOT NULL,
    bytes           integer NOT NULL,
    hazard_id       text,            -- NULL until a report or a rectification attaches it
    attached_as     text,            -- report | rectification
    uploaded_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS hazard_photos_retry ON hazard_photos (uploader, original_sha256)
    WHERE hazard_id IS NULL;
CREATE INDEX IF NOT EXISTS hazard_photos_unattached ON hazard_photos (uploaded_at) WHERE hazard_id IS NULL;
CREATE INDEX IF NOT EXISTS hazard_photos_of_hazard ON hazard_photos (hazard_id) WHERE hazard_id IS NOT NULL;
"""

COLUMNS = "photo_id, sha256, media_type, width, height, bytes, hazard_id, uploaded_at"


def stored_key(photo_id: str) -> str:
    return f"photos/{photo_id}/full"


def thumbnail_key(photo_id: str) -> str:
    return f"photos/{photo_id}/thumbnail"


def as_uuid(photo_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(photo_id)
    except ValueError:
        return None


async def pending_upload(conn: asyncpg.Connection, uploader: str, original_sha256: str) -> asyncpg.Record | None:
    """The photo these bytes already became, if this uploader sent them before and nothing attached it yet."""
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM hazard_photos WHERE uploader = $1 AND original_sha256 = $2"
                               " AND hazard_id IS NULL", uploader, original_sha256)


async def record(conn: asyncpg.Connection, *, photo_id: uuid.UUID, uploader: str, original_sha256: str, sha256: str,
                 media_type: str, width: int, height: int, size: int, at: dt.datetime) -> asyncpg.Record:
    """The new photo's row; a concurrent retry of the same upload that got there first wins (its row is returned)."""
    row = await conn.fetchrow(
        f"""INSERT INTO hazard_photos (photo_id, uploader, original_sha256, sha256, media_type, width, height, bytes,
                                      uploaded_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (uploader, original_sha256) WHERE hazard_id IS NULL DO NOTHING
            RETURNING {COLUMNS}""",
        photo_id, uploader, original_sha256, sha256, media_type, width, height, size, at)
    return row or await pending_upload(conn, uploader, original_sha256)


async def attach(conn: asyncpg.Connection, photo_ids: list[str], *, uploader: str, hazard_id: str,
                 attached_as: str) -> list[str]:
    """Attach the uploader's unattached photos to a hazard; returns the ids that were not theirs to attach."""
    ids = [as_uuid(p) for p in photo_ids]
    wanted = [i for i in ids if i is not None]
    done = {str(r["photo_id"]) for r in await conn.fetch(
        """UPDATE hazard_photos SET hazard_id = $2, attached_as = $3
           WHERE photo_id = ANY($1::uuid[]) AND uploader = $4 AND hazard_id IS NULL RETURNING photo_id""",
        wanted, hazard_id, attached_as, uploader)}
    return [p for p, i in zip(photo_ids, ids, strict=True) if i is None or str(i) not in done]


async def of_hazard(conn: asyncpg.Connection, hazard_id: str, photo_id: str) -> asyncpg.Record | None:
    pid = as_uuid(photo_id)
    if pid is None:
        return None
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM hazard_photos WHERE photo_id = $1 AND hazard_id = $2",
                               pid, hazard_id)


async def report_photos(conn: asyncpg.Connection, hazard_ids: list[str]) -> dict[str, str]:
    """One photo of each of these hazards' reports (the first uploaded), by hazard id: one query for a page."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (hazard_id) hazard_id, photo_id FROM hazard_photos
           WHERE hazard_id = ANY($1) AND attached_as = 'report' ORDER BY hazard_id, uploaded_at, photo_id""",
        hazard_ids)
    return {r["hazard_id"]: str(r["photo_id"]) for r in rows}


async def uploaded_by(conn: asyncpg.Connection, uploader: str, photo_id: str) -> asyncpg.Record | None:
    pid = as_uuid(photo_id)
    if pid is None:
        return None
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM hazard_photos WHERE photo_id = $1 AND uploader = $2",
                               pid, uploader)


async def take_unattached(conn: asyncpg.Connection, before: dt.datetime, limit: int) -> list[str]:
    """Delete (and return) the rows of photos uploaded before `before` and never attached."""
    rows = await conn.fetch(
        """DELETE FROM hazard_photos WHERE photo_id IN (
               SELECT photo_id FROM hazard_photos WHERE hazard_id IS NULL AND uploaded_at < $1
               ORDER BY uploaded_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING photo_id""", before, limit)
    return [str(r["photo_id"]) for r in rows]


async def forget_uploader(conn: asyncpg.Connection, uploader: str) -> list[str]:
    """Erasure: attached photos stay with their hazards, no longer linked to the uploader; the
    unattached ones are deleted (their ids returned, for their objects to be deleted too)."""
    await conn.execute("UPDATE hazard_photos SET uploader = NULL WHERE uploader = $1 AND hazard_id IS NOT NULL",
                       uploader)
    rows = await conn.fetch("DELETE FROM hazard_photos WHERE uploader = $1 RETURNING photo_id", uploader)
    return [str(r["photo_id"]) for r in rows]

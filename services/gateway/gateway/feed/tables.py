"""The gateway's tables and the reads the streams make of them."""

from __future__ import annotations

import dataclasses
from typing import Any

import asyncpg

# seq is the SSE event id. Commit order = seq order because one writer appends, one record at a
# time (feed/writer.py), so "rows with seq > N" never misses a row that commits late.
DDL = """
CREATE TABLE IF NOT EXISTS centre_feed (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    centre_id       text NOT NULL,
    notification_id text NOT NULL UNIQUE,
    alarm_id        text NOT NULL,  -- what it is about: the alarm, the hazard of a HazardNotification, the order of a ServiceOrderNotification
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS centre_feed_by_centre ON centre_feed (centre_id, seq);

CREATE TABLE IF NOT EXISTS centre_alarms (
    centre_id text NOT NULL,
    alarm_id  text NOT NULL,
    summary   jsonb NOT NULL,
    open      boolean NOT NULL,
    version   integer NOT NULL,
    last_seq  bigint NOT NULL,
    PRIMARY KEY (centre_id, alarm_id)
);
CREATE INDEX IF NOT EXISTS centre_alarms_open ON centre_alarms (centre_id, last_seq) WHERE open;
-- the alarm's pre-incident picture (an AlarmContextAttached notification's event_data), once attached
ALTER TABLE centre_alarms ADD COLUMN IF NOT EXISTS context jsonb;
-- Retention (feed/retention.py): the feed keeps `feed_keep_days`, purged from its oldest row on,
-- so what is left is always every row from some seq on. through_seq: a centre's newest purged
-- row, so that a stream resuming before it knows it missed something (streams.py, Resync).
CREATE TABLE IF NOT EXISTS centre_feed_purged (
    centre_id   text PRIMARY KEY,
    through_seq bigint NOT NULL
);
-- closed alarms whose last notification is purged leave the board (retention.py)
CREATE INDEX IF NOT EXISTS centre_alarms_closed ON centre_alarms (last_seq) WHERE NOT open;
-- The fire hazards a centre sees (HazardNotification), as centre_alarms: newest version wins;
-- open ones stay on the board however old, the others leave it once their last row is purged.
CREATE TABLE IF NOT EXISTS centre_hazards (
    centre_id text NOT NULL,
    hazard_id text NOT NULL,
    summary   jsonb NOT NULL,
    open      boolean NOT NULL,
    version   integer NOT NULL,
    last_seq  bigint NOT NULL,
    PRIMARY KEY (centre_id, hazard_id)
);
CREATE INDEX IF NOT EXISTS centre_hazards_open ON centre_hazards (centre_id, last_seq) WHERE open;
CREATE INDEX IF NOT EXISTS centre_hazards_closed ON centre_hazards (last_seq) WHERE NOT open;
"""

# The writer's NOTIFY channel: follower replicas wake on it to read the rows just committed.
FEED_CHANNEL = "linkduty_gateway_feed"

PAGE_SIZE = 500


@dataclasses.dataclass(frozen=True, slots=True)
class FeedItem:
    seq: int
    centre_id: str
    event_type: str
    notification: dict[str, Any]  # AlarmNotification.to_data() or HazardNotification.to_data()


@dataclasses.dataclass(frozen=True, slots=True)
class Resync:
    """A stream cannot go on after the client's last id: notifications of the centre after it are
    no longer kept (`cause` "purged"), or the feed never gave that id out ("unknown": another or
    a rebuilt database). The client must replace what it shows with the snapshot that follows."""

    centre_id: str
    last_event_id: int
    cause: str

    @property
    def reason(self) -> str:
        missed = (f"notifications after {self.last_event_id} are no longer kept" if self.cause == "purged"
                  else f"{self.last_event_id} is not an id this stream has given out")
        return f"{missed}: replace what you show with the snapshot that follows"

    def to_data(self) -> dict[str, Any]:
        return {"reason": self.reason, "cause": self.cause, "last_event_id": self.last_event_id}


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """A page of a centre's feed after an id, or the Resync that replaces it."""

    rows: list[FeedItem]
    resync: Resync | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Board:
    """A centre's alarms and hazards as of feed position `seq`: the stream resumes after it with
    no gap."""

    centre_id: str
    seq: int
    alarms: list[dict[str, Any]]
    hazards: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        """The `snapshot` message's data (SSE and WebSocket)."""
        return {"centre_id": self.centre_id, "alarms": self.alarms, "hazards": self.hazards}


_COLUMNS = "seq, centre_id, event_type, payload"


def _item(row: asyncpg.Record) -> FeedItem:
    return FeedItem(row["seq"], row["centre_id"], row["event_type"], row["payload"])


# One statement, so one snapshot: the page, the centre's newest purged row and the last seq given
# out. A purge that commits after the page was read took nothing the page missed; one that
# committed before it shows in `purged`.
_PAGE = f"""
SELECT p.purged, p.issued, f.*
FROM (SELECT coalesce((SELECT through_seq FROM centre_feed_purged WHERE centre_id = $1), 0) AS purged,
             coalesce(pg_sequence_last_value(pg_get_serial_sequence('centre_feed', 'seq')::regclass), 0) AS issued) p
LEFT JOIN LATERAL (SELECT {_COLUMNS} FROM centre_feed WHERE centre_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) f ON true
"""


async def centre_page(pool: asyncpg.Pool, centre_id: str, after: int, limit: int = PAGE_SIZE) -> Page:
    """The centre's rows after `after` (at most `limit`), or a Resync if some are gone or `after`
    is no id of this feed."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(_PAGE, centre_id, after, limit)
    purged, issued = rows[0]["purged"], rows[0]["issued"]
    if after < purged or after > issued:
        return Page([], Resync(centre_id, after, "purged" if after < purged else "unknown"))
    return Page([_item(r) for r in rows if r["seq"] is not None])


async def all_rows_after(pool: asyncpg.Pool, after: int, limit: int = PAGE_SIZE) -> list[FeedItem]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT {_COLUMNS} FROM centre_feed WHERE seq > $1 ORDER BY seq LIMIT $2", after, limit)
    return [_item(r) for r in rows]


async def head(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT coalesce(max(seq), 0) FROM centre_feed")


# The centre's newest row, or its newest purged one when none is kept: resuming from 0 then would
# get a resync, and its snapshot the same position, for ever.
_BOARD_SEQ = """SELECT greatest((SELECT max(seq) FROM centre_feed WHERE centre_id = $1),
                                (SELECT through_seq FROM centre_feed_purged WHERE centre_id = $1), 0)"""
_OPEN_BOARD = "SELECT summary, open, context FROM centre_alarms WHERE centre_id = $1 AND open ORDER BY last_seq"
_WHOLE_BOARD = "SELECT summary, open, context FROM centre_alarms WHERE centre_id = $1 ORDER BY last_seq"
_OPEN_HAZARDS = "SELECT summary, open FROM centre_hazards WHERE centre_id = $1 AND open ORDER BY last_seq"
_ALL_HAZARDS = "SELECT summary, open FROM centre_hazards WHERE centre_id = $1 ORDER BY last_seq"


def _board_alarm(row: asyncpg.Record) -> dict[str, Any]:
    """An alarm as the board shows it: its summary, whether open, and its pre-incident picture once
    one is attached."""
    alarm = {**row["summary"], "open": row["open"]}
    if row["context"] is not None:
        alarm["context"] = row["context"]
    return alarm


async def read_board(pool: asyncpg.Pool, centre_id: str, *, open_only: bool = True, alarms: bool = True,
                     hazards: bool = True) -> Board:
    """The board (its alarms and/or hazards) and the feed position it reflects, read in one
    snapshot (REPEATABLE READ), so that resuming after `seq` neither repeats nor misses a change."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # Two texts, not `open OR NOT $2`: a generic plan can use the open rows' partial index
        # only for a literal `open`, and without it read every alarm the centre ever had.
        alarm_rows = await conn.fetch(_OPEN_BOARD if open_only else _WHOLE_BOARD, centre_id) if alarms else []
        hazard_rows = await conn.fetch(_OPEN_HAZARDS if open_only else _ALL_HAZARDS, centre_id) if hazards else []
        seq = await conn.fetchval(_BOARD_SEQ, centre_id)
    return Board(centre_id, seq, [_board_alarm(r) for r in alarm_rows],
                 [{**r["summary"], "open": r["open"]} for r in hazard_rows])

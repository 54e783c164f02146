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
    alarm_id        text NOT NULL,
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
"""

# The writer's NOTIFY channel: follower replicas wake on it to read the rows just committed.
FEED_CHANNEL = "linkduty_gateway_feed"

PAGE_SIZE = 500


@dataclasses.dataclass(frozen=True, slots=True)
class FeedItem:
    seq: int
    centre_id: str
    event_type: str
    notification: dict[str, Any]  # AlarmNotification.to_data()


@dataclasses.dataclass(frozen=True, slots=True)
class Board:
    """A centre's alarms as of feed position `seq`: the stream resumes after it with no gap."""

    centre_id: str
    seq: int
    alarms: list[dict[str, Any]]


_COLUMNS = "seq, centre_id, event_type, payload"


def _item(row: asyncpg.Record) -> FeedItem:
    return FeedItem(row["seq"], row["centre_id"], row["event_type"], row["payload"])


async def centre_rows_after(pool: asyncpg.Pool, centre_id: str, after: int, limit: int = PAGE_SIZE) -> list[FeedItem]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM centre_feed WHERE centre_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            centre_id, after, limit,
        )
    return [_item(r) for r in rows]


async def all_rows_after(pool: asyncpg.Pool, after: int, limit: int = PAGE_SIZE) -> list[FeedItem]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT {_COLUMNS} FROM centre_feed WHERE seq > $1 ORDER BY seq LIMIT $2", after, limit)
    return [_item(r) for r in rows]


async def head(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT coalesce(max(seq), 0) FROM centre_feed")


async def read_board(pool: asyncpg.Pool, centre_id: str, *, open_only: bool = True) -> Board:
    """The board and the feed position it reflects, read in one snapshot (REPEATABLE READ), so
    that resuming after `seq` neither repeats nor misses a change."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        alarms = await conn.fetch(
            "SELECT summary, open FROM centre_alarms WHERE centre_id = $1 AND (open OR NOT $2) ORDER BY last_seq",
            centre_id, open_only,
        )
        seq = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM centre_feed WHERE centre_id = $1", centre_id)
    return Board(centre_id, seq, [{**r["summary"], "open": r["open"]} for r in alarms])

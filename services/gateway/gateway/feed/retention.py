"""The feed keeps `feed_keep_days` of notifications; older rows are purged in bounded batches
(linkduty_shared.retention), by the writer's replica, every `retention_interval_s`.

A batch deletes a prefix of the feed in seq order: of the oldest `batch` rows, those before the
first one still to be kept. So what is left is every row from some seq on, and a centre's newest
purged row (centre_feed_purged) tells a stream resuming before it that it missed something: it
gets a `resync` and a snapshot (streams.py). A batch starts after the newest row purged so far,
not at the left edge of the index, which a large purge leaves full of dead entries until vacuum.

Closed alarms (and hazards no longer open) whose last notification is purged leave the boards too (the board shows the open
ones and, with include_closed, those closed within the feed's window); open ones stay, however old.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from linkduty_shared.retention import bounded_delete, purge_in_batches

_HORIZON = "(SELECT coalesce(max(through_seq), 0) FROM centre_feed_purged)"

PURGE_FEED = f"""
WITH page AS (
    SELECT seq, created_at FROM centre_feed WHERE seq > {_HORIZON} ORDER BY seq LIMIT $2
), cut AS (  -- the page's rows before its first one to keep
    SELECT coalesce(min(seq) FILTER (WHERE created_at >= now() - make_interval(secs => $1)), max(seq) + 1) AS below
    FROM page
), gone AS (
    DELETE FROM centre_feed WHERE seq > {_HORIZON} AND seq < (SELECT below FROM cut) RETURNING seq, centre_id
), marked AS (
    INSERT INTO centre_feed_purged (centre_id, through_seq)
    SELECT centre_id, max(seq) FROM gone GROUP BY centre_id
    ON CONFLICT (centre_id) DO UPDATE SET through_seq = greatest(centre_feed_purged.through_seq, EXCLUDED.through_seq)
)
SELECT count(*) FROM gone
"""

PURGE_BOARDS = bounded_delete("centre_alarms", f"NOT open AND last_seq <= {_HORIZON}", "last_seq", "$1")
PURGE_HAZARD_BOARDS = bounded_delete("centre_hazards", f"NOT open AND last_seq <= {_HORIZON}", "last_seq", "$1")


async def purge_feed(pool: asyncpg.Pool, keep: dt.timedelta, *, batch: int = 2000) -> tuple[int, int]:
    """Purge notifications older than `keep`, then the closed alarms and hazards they were the
    last of: (feed rows, board rows) deleted."""
    rows = await purge_in_batches(pool, "feed notifications", PURGE_FEED, keep.total_seconds(), batch=batch)
    boards = await purge_in_batches(pool, "closed alarms' board rows", PURGE_BOARDS, batch=batch)
    boards += await purge_in_batches(pool, "closed hazards' board rows", PURGE_HAZARD_BOARDS, batch=batch)
    return rows, boards

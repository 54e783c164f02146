"""Retention: rows that every request or message adds and nobody reads once they are old are
purged, a bounded batch at a time, never by one DELETE of everything that expired.

What each service's runtime purges (every `retention_interval_s`, settings in config.py):
- `idempotency_keys`: answers past KEEP_ANSWERS (24 h, api/idempotency.py); a retry after that
  is a new request whether or not the purge has run (the claim takes an expired row over);
- `processed_events`: dedup rows past `processed_events_keep_days`, when Kafka can no longer
  redeliver their records.
The gateway also purges its feed (gateway/feed/retention.py). Kept for good: the event store
(history), projections' rows (they are rebuilt from it), the PII vault (erased per caller).

A batch is one statement: the oldest `batch` expired rows by an index on their time (so a run
that finds nothing reads one index entry, not the table), locked SKIP LOCKED (two replicas
purging take different rows, and a row a request holds is left for the next run), deleted by
ctid. Between batches the purge pauses, so that clearing a backlog (the first run on a store that
never purged) does not crowd out the requests.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

log = logging.getLogger(__name__)

PAUSE_S = 0.05  # between two batches of one purge


def bounded_delete(table: str, expired: str, oldest_first: str, limit_param: str) -> str:
    """A statement deleting at most `limit_param` rows of `table` matching `expired`, oldest first
    (`oldest_first` is an indexed column); it returns how many it deleted."""
    return f"""WITH gone AS (
        DELETE FROM {table} WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM {table} WHERE {expired} ORDER BY {oldest_first} LIMIT {limit_param}
            FOR UPDATE SKIP LOCKED))
        RETURNING 1)
    SELECT count(*) FROM gone"""


async def purge_in_batches(pool: asyncpg.Pool, what: str, statement: str, *args, batch: int,
                           pause_s: float = PAUSE_S) -> int:
    """Run `statement` (its last parameter: the batch size) until a batch deletes fewer than
    `batch` rows; returns how many rows went."""
    total = 0
    while True:
        async with pool.acquire() as conn:
            deleted = await conn.fetchval(statement, *args, batch)
        total += deleted
        if deleted < batch:
            if total:
                log.info("retention: %d %s purged", total, what)
            return total
        await asyncio.sleep(pause_s)

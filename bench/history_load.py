"""Bulk load of "a year of history" into the alarms' and the gateway's real schemas (bench/history.py).

Everything is generated in SQL (generate_series, INSERT … SELECT), a chunk of alarms per statement,
into tables whose indexes are dropped first and built again after the load (one sort each instead
of millions of random index inserts), then VACUUM ANALYZE: the state autovacuum would leave a
year-old store in. Row contents are compact but of the real shapes; ids are md5s of the alarm's
number, so the alarm i of alarm_list, of the event store and of the feed is one alarm; event ids
are time-ordered as the store makes them (linkduty_shared.ids).

Alarm i (1…n) is received at `start + (i - ½)·year/n`; it lies in grid (i·7919 mod grids) of the
demo city (7919 is prime: every grid gets its share), ten events long, closed (a tenth false
alarms or cancelled), and reached its four centres (community, street, district, city) five
notifications each.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable

import asyncpg

from linkduty_shared.jurisdictions import Directory, Level

YEAR = dt.timedelta(days=365)
CHUNK = 100_000  # alarms per statement: progress shows, and no statement holds the lock for minutes
EVENTS_PER_STREAM = 10
FEED_PER_ALARM = 20  # 5 notifications × 4 centres

_KINDS = ["fire"] * 6 + ["rescue"] * 2 + ["medical", "hazmat", "other"]
_ENDINGS = ["closed"] * 8 + ["false_alarm", "cancelled"]
_EVENT_TYPES = ["AlarmReported", "CallLinked", "AlarmVerified", "AlarmAcknowledged", "AlarmAcknowledged",
                "AlarmAcknowledged", "AlarmAcknowledged", "ForceArrivedOnScene", "AlarmControlled", "AlarmClosed"]
_EVENT_DATA = '{"kind": "fire", "severity": "moderate", "received_at": "2025-01-01T08:00:00+00:00", ' \
              '"location": {"lat": 30.27, "lon": 120.15, "address": "某小区3幢"}, "description": "厨房起火", ' \
              '"caller_masked": "*******5678", "source": "119"}'
_EVENT_META = '{"source": "/linkduty/alarms", "actor": "operator-17", "correlationid": "4b1f6c1e-2f4e-4a43-9d6d-7c1b0e2f1a9d"}'
_SUMMARY = '{"status": "closed", "kind": "fire", "severity": "moderate", "description": "厨房起火", ' \
           '"location": {"lat": 30.27, "lon": 120.15, "address": "某小区3幢"}, "call_count": 2, ' \
           '"acknowledged": {"community": "centre-330102001001"}, "escalation_level": "community", "version": 10}'

Say = Callable[[str], None]


async def grids_table(conn: asyncpg.Connection, city: Directory) -> int:
    """The demo city's grids with their chain, numbered 0…: what the generated rows pick from."""
    await conn.execute("""CREATE TABLE bench_grids (n int PRIMARY KEY, grid text, community text, street text,
                              district text, city text, lat float8, lon float8)""")
    rows = []
    for n, grid in enumerate(city.divisions(Level.GRID)):
        grid_code, community, street, district, city_code = city.lineage(grid.code)
        rows.append((n, grid_code, community, street, district, city_code, grid.lat, grid.lon))
    await conn.copy_records_to_table("bench_grids", records=rows)
    return len(rows)


async def _indexes_after(conn: asyncpg.Connection, table: str, load: Callable[[], Awaitable[None]]) -> None:
    """Run `load` with `table`'s indexes (constraints' too) dropped, then build them again as they were."""
    found = await conn.fetch(
        """SELECT i.indexrelid::regclass::text AS index, pg_get_indexdef(i.indexrelid) AS indexdef,
                  c.conname, pg_get_constraintdef(c.oid) AS condef
           FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
           WHERE i.indrelid = $1::regclass""", table)
    for r in found:
        if r["conname"]:
            await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{r["conname"]}"')
        else:
            await conn.execute(f"DROP INDEX {r['index']}")
    await load()
    for r in found:
        if r["conname"]:
            await conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{r["conname"]}" {r["condef"]}')
        else:
            await conn.execute(r["indexdef"])


async def _chunks(conn: asyncpg.Connection, sql: str, count: int, *args, what: str, say: Say) -> None:
    started = time.perf_counter()
    for lo in range(1, count + 1, CHUNK):
        await conn.execute(sql, lo, min(count, lo + CHUNK - 1), *args)
        done = min(count, lo + CHUNK - 1)
        if done == count or (done // CHUNK) % 5 == 0:
            say(f"    {what}: {done:,}/{count:,} ({time.perf_counter() - started:.0f} s)")


_ALARM_LIST = """
INSERT INTO alarm_list (alarm_id, status, kind, severity, lat, lon, community, street, district, city,
                        received_at, last_call_at, calls, version, grid)
SELECT md5('alarm' || i)::uuid::text, ($5::text[])[1 + i % 10], ($6::text[])[1 + (i * 31) % 11], 'moderate',
       g.lat + (random() - 0.5) * 0.002, g.lon + (random() - 0.5) * 0.002, g.community, g.street, g.district, g.city,
       t.at, t.at + (i % 4) * interval '3 minutes', 1 + (i % 4 = 0)::int, 10, g.grid
FROM generate_series($1::int, $2::int) i
JOIN bench_grids g ON g.n = (i::bigint * 7919) % $7
CROSS JOIN LATERAL (SELECT $3::timestamptz + (i - 0.5) * $4::interval AS at) t
"""

_EVENTS = """
INSERT INTO events (stream_id, stream_type, version, event_id, event_type, schema_version, data, metadata,
                    occurred_at, recorded_at)
SELECT md5('alarm' || i)::uuid::text, 'alarm', e.v, x.event_id, e.event_type, 1, $5::jsonb, $6::jsonb, x.at, x.at
FROM generate_series($1::int, $2::int) i
CROSS JOIN LATERAL (SELECT $3::timestamptz + (i - 0.5) * $4::interval AS at) t
CROSS JOIN unnest($7::text[]) WITH ORDINALITY AS e(event_type, v)
CROSS JOIN LATERAL (SELECT t.at + e.v * interval '4 minutes' AS at, md5(i || '/' || e.v) AS h) r
CROSS JOIN LATERAL (  -- time-ordered, as linkduty_shared.ids makes them: milliseconds, 7, random, variant 8, random
    SELECT r.at, (lpad(to_hex((extract(epoch FROM r.at) * 1000)::bigint), 12, '0') || '7' || substr(r.h, 1, 3)
                  || '8' || substr(r.h, 4, 15))::uuid AS event_id) x
"""

_PII_KEYS = """
INSERT INTO pii_keys (ref, data_key, created_at)
SELECT md5('pii' || i)::uuid, decode(md5('k' || i) || md5('K' || i), 'hex'), $3::timestamptz + (i - 0.5) * $4::interval
FROM generate_series($1::int, $2::int) i
"""
_PII_VALUES = """
INSERT INTO pii_values (ref, nonce, ciphertext)
SELECT md5('pii' || i)::uuid, decode(substr(md5('n' || i), 1, 24), 'hex'), decode(md5('c' || i) || substr(md5('d' || i), 1, 22), 'hex')
FROM generate_series($1::int, $2::int) i
"""

_PROCESSED = """
INSERT INTO processed_events (consumer, event_id, processed_at)
SELECT 'bench-projection', gen_random_uuid(), $3::timestamptz + (i - 0.5) * $4::interval
FROM generate_series($1::int, $2::int) i
"""

_IDEMPOTENCY = """
INSERT INTO idempotency_keys (client_id, key, request_hash, status, headers, body, created_at, completed_at, rights)
SELECT 'partner-' || (i % 50), md5('idem' || i), decode(md5('h' || i) || md5('H' || i), 'hex'), 201,
       '[["content-type", "application/json"], ["etag", "\\"1\\""]]'::jsonb, convert_to($5, 'UTF8'),
       t.at, t.at + interval '20 milliseconds', '{"scopes": ["alarms:report"], "jurisdiction": ["330100000000"], "centre": null}'::jsonb
FROM generate_series($1::int, $2::int) i
CROSS JOIN LATERAL (SELECT $3::timestamptz + (i - 0.5) * $4::interval AS at) t
"""

_FEED = """
INSERT INTO centre_feed (seq, centre_id, notification_id, alarm_id, event_type, payload, created_at)
OVERRIDING SYSTEM VALUE
SELECT (i::bigint - 1) * 20 + (k - 1) * 4 + c, x.centre_id, md5(i || '/' || k || '/' || c)::uuid::text, x.alarm_id,
       ($6::text[])[k],
       jsonb_build_object('notification_id', md5(i || '/' || k || '/' || c)::uuid::text, 'centre_id', x.centre_id,
                          'event_type', ($6::text[])[k], 'open', k < 5, 'reason', 'jurisdiction',
                          'alarm', $5::jsonb || jsonb_build_object('alarm_id', x.alarm_id)),
       t.at + k * interval '5 minutes'
FROM generate_series($1::int, $2::int) i
JOIN bench_grids g ON g.n = (i::bigint * 7919) % $7
CROSS JOIN LATERAL (SELECT $3::timestamptz + (i - 0.5) * $4::interval AS at) t
CROSS JOIN generate_series(1, 5) k
CROSS JOIN generate_series(1, 4) c
CROSS JOIN LATERAL (SELECT md5('alarm' || i)::uuid::text AS alarm_id,
                           'centre-' || (ARRAY[g.community, g.street, g.district, g.city])[c] AS centre_id) x
"""

_BOARDS = """
INSERT INTO centre_alarms (centre_id, alarm_id, summary, open, version, last_seq)
SELECT 'centre-' || (ARRAY[g.community, g.street, g.district, g.city])[c], md5('alarm' || i)::uuid::text,
       $3::jsonb || jsonb_build_object('alarm_id', md5('alarm' || i)::uuid::text), false, 10, (i::bigint - 1) * 20 + 16 + c
FROM generate_series($1::int, $2::int) i
JOIN bench_grids g ON g.n = (i::bigint * 7919) % $4
CROSS JOIN generate_series(1, 4) c
"""


async def load_alarms_db(conn: asyncpg.Connection, city: Directory, *, alarms: int, events: int, processed: int,
                         keys: int, end: dt.datetime, say: Say) -> None:
    """alarm_list, events (streams of ten), the PII vault, processed_events, idempotency_keys."""
    grids = await grids_table(conn, city)
    start = end - YEAR
    streams = max(1, events // EVENTS_PER_STREAM)

    async def alarm_list() -> None:
        await _chunks(conn, _ALARM_LIST, alarms, start, YEAR / alarms, _ENDINGS, _KINDS, grids, what="alarm_list", say=say)

    async def event_rows() -> None:
        await _chunks(conn, _EVENTS, streams, start, YEAR / streams, _EVENT_DATA, _EVENT_META, _EVENT_TYPES,
                      what=f"events ({EVENTS_PER_STREAM} a stream)", say=say)

    async def pii() -> None:
        await _chunks(conn, _PII_KEYS, alarms, start, YEAR / alarms, what="pii_keys", say=say)
        await _chunks(conn, _PII_VALUES, alarms, what="pii_values", say=say)

    async def processed_rows() -> None:
        await _chunks(conn, _PROCESSED, processed, start, YEAR / processed, what="processed_events", say=say)

    async def key_rows() -> None:
        body = '{"alarm_id": "9b2f…", "status": "reported", "version": 1, "linked": false}' + " " * 120
        await _chunks(conn, _IDEMPOTENCY, keys, start, YEAR / keys, body, what="idempotency_keys", say=say)

    for table, load in (("alarm_list", alarm_list), ("events", event_rows), ("pii_values", pii),
                        ("processed_events", processed_rows), ("idempotency_keys", key_rows)):
        if table == "pii_values":  # two tables, one loader
            await _indexes_after(conn, "pii_keys", lambda: _indexes_after(conn, "pii_values", load))
        else:
            await _indexes_after(conn, table, load)
    await conn.execute("DROP TABLE bench_grids")


async def load_gateway_db(conn: asyncpg.Connection, city: Directory, *, feed: int, end: dt.datetime, say: Say) -> None:
    """centre_feed (20 rows an alarm) and centre_alarms (its four boards' rows, closed)."""
    grids = await grids_table(conn, city)
    start = end - YEAR
    fed_alarms = max(1, feed // FEED_PER_ALARM)
    kinds = ["AlarmReported", "CallLinked", "AlarmAcknowledged", "DispatchPlanned", "AlarmClosed"]
    await _indexes_after(conn, "centre_feed", lambda: _chunks(
        conn, _FEED, fed_alarms, start, YEAR / fed_alarms, _SUMMARY, kinds, grids,
        what=f"centre_feed ({FEED_PER_ALARM} an alarm)", say=say))
    await conn.execute("SELECT setval(pg_get_serial_sequence('centre_feed', 'seq'), (SELECT max(seq) FROM centre_feed))")
    await _indexes_after(conn, "centre_alarms", lambda: _chunks(
        conn, _BOARDS, fed_alarms, _SUMMARY, grids, what="centre_alarms (4 an alarm)", say=say))
    await conn.execute("DROP TABLE bench_grids")


async def settle(conn: asyncpg.Connection, say: Say) -> None:
    """VACUUM ANALYZE every table: hint bits set, visibility map and statistics as autovacuum leaves them."""
    started = time.perf_counter()
    tables = await conn.fetch("SELECT relname FROM pg_stat_user_tables ORDER BY relname")
    for t in tables:
        await conn.execute(f"VACUUM (ANALYZE) {t['relname']}")
    say(f"    VACUUM ANALYZE: {time.perf_counter() - started:.0f} s")

"""A year of history: what a request costs must not grow with it (issue 10, A.9).

    ./linkduty bench history [--alarms 1000000] [--events 10000000] [--feed 20000000] [--keep]

Two stores, each in databases of its own (bench_history_<run>_<store>_alarms and _gateway, with
the services' schemas from their own migrate; dropped at the end, on failure too, unless --keep):
- empty: nothing but what the measurement itself writes;
- year: a year of history bulk-loaded in SQL (bench/history_load.py): alarms in alarm_list (all
  closed but a handful left open, reported through the service), their events (streams of ten),
  the PII vault, processed_events, Idempotency-Key answers, and the gateway's feed (20 rows an
  alarm) with its centres' boards.
Both stores then get the same recent activity (30 notifications per centre through the feed
writer's statement) and the same measurements, paired sample by sample (each one on both stores
in turn), so that what else the machine does at a moment weighs on both alike:
  (a) 119 intake: AlarmsService.report() in-process, built as the alarms bootstrap builds it
      (street lock, PII vault, duplicate search, append + outbox, inline projections);
  (b) find_duplicate alone, on one connection of a service pool (force_generic_plan): one
      prepared statement executed over and over, so in its generic plan;
  (c) stream resume: the gateway's backlog read (tables.centre_page) after a Last-Event-ID ten
      notifications behind a centre's head;
  (d) snapshot: the city centre's board (tables.read_board), whose history is every alarm.
Before measuring: a CHECKPOINT (the load's dirty pages written, not flushed under the
measurement), and the indexes the intake writes to read once into memory (pg_prewarm), as a store
that has served a year of calls holds them; --cold skips that. Measured cold right after the load,
the intake waited on disk for some 25 index pages a call (1.5× at p50): random-keyed indexes (alarm
ids, PII refs) are hot all over, so the memory they need grows with history (linkduty_shared.ids).
Each figure year / empty; the target is ≤ 1.2× at p99 for (a), (b), (c) and (d). Then the
retention purges run on the year store for a bounded time each (the first run on a store that
never purged): rows per batch and batch times; a resume from a purged id must get a resync.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import gc
import os
import random
import signal
import time
import uuid

import asyncpg
import orjson

from linkduty_shared import vault as pii
from alarms.application import AlarmsService, ReportAlarm
from alarms.config import AlarmsSettings
from alarms.projections.cap_messages import CapMessages
from alarms.projections.open_alarms import FIND_DUPLICATE, OpenAlarms, find_duplicate
from bench import history_load
from bench.common import percentile, save, stack_env
from gateway.feed import retention as feed_retention
from gateway.feed.tables import DDL as GATEWAY_DDL
from gateway.feed.tables import centre_page, read_board
from gateway.feed.writer import _APPEND
from linkduty_shared.api.idempotency import PURGE_EXPIRED
from linkduty_shared.application import CommandContext
from linkduty_shared.contracts.notifications import AlarmNotification, AlarmSummary, notification_id
from linkduty_shared.db import create_pool, migrate
from linkduty_shared.eventstore import EventStore
from linkduty_shared.jurisdictions import Directory, Level, load_demo_city
from linkduty_shared.projections.runners import PURGE_PROCESSED

TARGET = 1.2
RECENT_PER_CENTRE = 30
BEHIND = 10  # how far behind its centre's head a resuming console is
OPEN_RECENT, OPEN_STALE = 5, 5  # the year store's handful of open alarms
CTX = CommandContext(actor="bench-history", agency="119")


@dataclasses.dataclass
class Store:
    name: str
    alarms_db: str
    gateway_db: str
    alarms: asyncpg.Pool | None = None
    gateway: asyncpg.Pool | None = None
    service: AlarmsService | None = None
    recent: dict[str, list[int]] = dataclasses.field(default_factory=dict)  # centre → its recent seqs
    samples: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    def sample(self, what: str, seconds: float) -> None:
        self.samples.setdefault(what, []).append(seconds * 1000)


def say(text: str) -> None:
    print(text, flush=True)


# ---- set-up ----------------------------------------------------------------------------------

async def open_store(store: Store, base: str, city: Directory) -> None:
    store.alarms = await create_pool(f"{base}/{store.alarms_db}", min_size=2, max_size=4)
    await migrate(store.alarms, OpenAlarms.ddl, CapMessages.ddl, pii.DDL)  # as alarms.bootstrap
    store.gateway = await create_pool(f"{base}/{store.gateway_db}", min_size=2, max_size=4)
    await migrate(store.gateway, GATEWAY_DDL, event_store=False)  # as gateway.bootstrap
    settings = AlarmsSettings()
    store.service = AlarmsService(EventStore(store.alarms), city, topic=settings.events_topic,
                                  duplicate_radius_m=settings.duplicate_radius_m,
                                  duplicate_window=dt.timedelta(seconds=settings.duplicate_window_s))


async def load_year(store: Store, base: str, city: Directory, args) -> dict:
    """The bulk load, then the handful of open alarms through the service itself (real streams)."""
    end = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    timings = {}
    for db, loader in ((store.alarms_db, lambda c: history_load.load_alarms_db(
            c, city, alarms=args.alarms, events=args.events, processed=args.processed, keys=args.keys, end=end, say=say)),
                       (store.gateway_db, lambda c: history_load.load_gateway_db(c, city, feed=args.feed, end=end, say=say))):
        started = time.perf_counter()
        conn = await asyncpg.connect(f"{base}/{db}")  # no JSON codec: the loaders pass JSON text
        try:
            await conn.execute("SET synchronous_commit = off; SET maintenance_work_mem = '512MB'")
            await loader(conn)
            await history_load.settle(conn, say)
        finally:
            await conn.close()
        timings[db.rsplit("_", 1)[-1]] = round(time.perf_counter() - started, 1)
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    ages = [dt.timedelta(minutes=rng.uniform(5, 30)) for _ in range(OPEN_RECENT)]
    ages += [dt.timedelta(days=rng.uniform(90, 180)) for _ in range(OPEN_STALE)]  # left open, never closed
    for age in ages:
        await store.service.report(call(city, rng, now - age), CTX)
    return timings


def call(city: Directory, rng: random.Random, received_at: dt.datetime) -> ReportAlarm:
    grid = rng.choice(city.divisions(Level.GRID))
    return ReportAlarm(source="119", received_at=received_at, kind=rng.choice(["fire", "fire", "rescue", "medical"]),
                       severity="moderate", description="厨房起火，有人被困", lat=grid.lat, lon=grid.lon,
                       address="某小区3幢2单元", caller_phone="13812345678")


async def recent_activity(store: Store, city: Directory) -> None:
    """The same recent notifications in both feeds, through the feed writer's own statement."""
    now = dt.datetime.now(dt.UTC).isoformat()
    notifications = []
    for k in range(RECENT_PER_CENTRE):
        for centre in city.centres():
            division = city.division(centre.division_code)
            alarm = AlarmSummary(alarm_id=f"recent-{k}-{centre.id}", status="reported", kind="fire", severity="moderate",
                                 description="厨房起火", received_at=now,
                                 location={"lat": centre.lat, "lon": centre.lon, "address": "某小区3幢"},
                                 jurisdiction={d.level.value: d.code for d in [division, *city.ancestors(division.code)]},
                                 call_count=1, acknowledged={}, escalation_level=centre.level.value, version=1)
            event_id = str(uuid.uuid4())
            notifications.append(AlarmNotification(
                notification_id=notification_id(event_id, centre.id), centre_id=centre.id, reason="jurisdiction",
                event_id=event_id, event_type="AlarmReported", event_data={"kind": "fire"}, occurred_at=now,
                routed_at=now, alarm=alarm, open=True))
    async with store.gateway.acquire() as conn:
        for i in range(0, len(notifications), 500):
            batch = notifications[i:i + 500]
            rows = await conn.fetch(_APPEND, [n.centre_id for n in batch], [n.notification_id for n in batch],
                                    [n.alarm.alarm_id for n in batch], [n.event_type for n in batch],
                                    [orjson.dumps(n.to_data()).decode() for n in batch], "bench_history_feed")
            by_id = {n.notification_id: n.centre_id for n in batch}
            for r in rows:
                store.recent.setdefault(by_id[r["notification_id"]], []).append(r["seq"])


async def prewarm(store: Store) -> int:
    """Read the indexes the intake writes to (and alarm_list) into the OS cache; returns MB read."""
    async with store.alarms.acquire() as conn:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        blocks = await conn.fetchval(
            """SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c
               WHERE c.oid IN (SELECT indexrelid FROM pg_index
                               WHERE indrelid = ANY('{events,alarm_list,pii_keys,pii_values,outbox,cap_messages}'::regclass[]))
                  OR c.oid = 'alarm_list'::regclass""")
    return blocks * 8 // 1024


# ---- measurements ----------------------------------------------------------------------------

async def paired(stores: list[Store], what: str, count: int, op) -> None:
    """`op(store, i)` on both stores, sample by sample (which goes first alternates): whatever else
    the machine does at a moment weighs on both stores' samples alike."""
    for i in range(count):
        for store in (stores if i % 2 == 0 else stores[::-1]):
            started = time.perf_counter()
            await op(store, i)
            store.sample(what, time.perf_counter() - started)


async def measure(stores: list[Store], city: Directory, args) -> None:
    """(b), (c), (d), then (a): the duplicate search first sees the open alarms of history (the
    handful), not the thousands of open ones the measured calls leave in its window."""
    grids = city.divisions(Level.GRID)
    searched = [random.Random(i).choice(grids) for i in range(args.searches)]
    conns = {store.name: await store.alarms.acquire() for store in stores}  # one connection: one prepared statement
    try:
        async def search(store: Store, i: int) -> None:
            await find_duplicate(conns[store.name], kind="fire", lat=searched[i].lat, lon=searched[i].lon,
                                 received_at=dt.datetime.now(dt.UTC), radius_m=300.0, window=dt.timedelta(minutes=15),
                                 within=[city.city.code])
        await paired(stores, "find_duplicate", args.searches, search)
    finally:
        for store in stores:
            await store.alarms.release(conns[store.name])

    centres = sorted(stores[0].recent)
    resumed = [random.Random(i).choice(centres) for i in range(args.resumes)]

    async def resume(store: Store, i: int) -> None:
        page = await centre_page(store.gateway, resumed[i], store.recent[resumed[i]][-BEHIND - 1])
        assert page.resync is None and len(page.rows) == BEHIND, (store.name, resumed[i], page)
    await paired(stores, "resume", args.resumes, resume)

    city_centre = city.centre_of(city.city.code).id

    async def snapshot(store: Store, i: int) -> None:
        board = await read_board(store.gateway, city_centre)
        assert len(board.alarms) == RECENT_PER_CENTRE, len(board.alarms)
    await paired(stores, "snapshot", max(1, args.resumes // 10), snapshot)

    async def intake(store: Store, i: int) -> None:
        await store.service.report(call(city, random.Random(i), dt.datetime.now(dt.UTC)), CTX)  # the same calls
    await paired(stores, "intake", args.calls, intake)


async def explain(store: Store, city: Directory) -> list[str]:
    """find_duplicate's generic plan on this store, as EXPLAIN ANALYZE shows it."""
    grid = city.divisions(Level.GRID)[0]
    now = dt.datetime.now(dt.UTC)
    async with store.alarms.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.execute("PREPARE bench_fd(text[], text[], timestamptz, timestamptz, float8, float8, float8, float8)"
                           f" AS {FIND_DUPLICATE}")
        args = (f"'{{{city.city.code}}}'", "'{fire,rescue,hazmat}'", f"'{now - dt.timedelta(minutes=15)}'",
                f"'{now + dt.timedelta(minutes=15)}'", grid.lat - 0.003, grid.lat + 0.003, grid.lon - 0.003, grid.lon + 0.003)
        try:  # EXPLAIN EXECUTE takes no bind parameters: literals
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) EXECUTE bench_fd({', '.join(map(str, args))})")
        finally:
            await conn.execute("DEALLOCATE bench_fd")
    return [r[0] for r in rows]


def figures(empty: Store, year: Store) -> dict:
    out = {}
    for what in ("intake", "find_duplicate", "resume", "snapshot"):
        e, y = empty.samples[what], year.samples[what]
        row = {"count": len(y)}
        for store, values in (("empty", e), ("year", y)):
            row[store] = {"p50_ms": round(percentile(values, 50), 3), "p99_ms": round(percentile(values, 99), 3)}
        row["p50_ratio"] = round(row["year"]["p50_ms"] / row["empty"]["p50_ms"], 2)
        row["p99_ratio"] = round(row["year"]["p99_ms"] / row["empty"]["p99_ms"], 2)
        row["within_target"] = row["p99_ratio"] <= TARGET
        out[what] = row
    return out


# ---- retention on the year store ---------------------------------------------------------------

async def purge_for(pool: asyncpg.Pool, statement: str, *args, batch: int, seconds: float) -> dict:
    """One table's purge, batch by batch, for at most `seconds`."""
    times, rows, deadline = [], 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        async with pool.acquire() as conn:
            deleted = await conn.fetchval(statement, *args, batch)
        times.append((time.perf_counter() - started) * 1000)
        rows += deleted
        if deleted < batch:
            break
    return {"rows": rows, "batches": len(times), "batch_p50_ms": round(percentile(times, 50), 2),
            "batch_p99_ms": round(percentile(times, 99), 2), "batch_max_ms": round(max(times), 2),
            "rows_per_s": round(rows / (sum(times) / 1000)) if rows else 0}


async def retention(year: Store, city: Directory, args) -> dict:
    batch, seconds = 2000, args.purge_seconds
    out = {
        "idempotency_keys": await purge_for(year.alarms, PURGE_EXPIRED, batch=batch, seconds=seconds),
        "processed_events": await purge_for(year.alarms, PURGE_PROCESSED, 37 * 86400.0, batch=batch, seconds=seconds),
        "centre_feed": await purge_for(year.gateway, feed_retention.PURGE_FEED, 7 * 86400.0, batch=batch, seconds=seconds),
        "centre_alarms": await purge_for(year.gateway, feed_retention.PURGE_BOARDS, batch=batch, seconds=seconds),
    }
    centre = city.centre_of(city.city.code).id
    page = await centre_page(year.gateway, centre, 1)  # a console last seen on the year's first day
    out["resume_from_a_purged_id"] = page.resync.cause if page.resync else "no resync"
    return out


# ---- the run -----------------------------------------------------------------------------------

async def main(args) -> dict:
    base = stack_env()["LINKDUTY_PG_DSN"].rstrip("/")
    run = uuid.uuid4().hex[:8]
    stores = [Store(name, f"bench_history_{run}_{name}_alarms", f"bench_history_{run}_{name}_gateway")
              for name in ("empty", "year")]
    empty, year = stores
    city = load_demo_city()
    admin = await asyncpg.connect(f"{base}/postgres")
    created: list[str] = []
    loadavg = os.getloadavg()  # the machine is shared: what else ran
    try:
        for store in stores:
            for db in (store.alarms_db, store.gateway_db):
                await admin.execute(f"CREATE DATABASE {db}")
                created.append(db)
            await open_store(store, base, city)
        say(f"history benchmark: loading a year ({args.alarms:,} alarms, {args.events:,} events, {args.feed:,} feed rows,"
            f" {args.processed:,} processed_events, {args.keys:,} idempotency keys) into {year.alarms_db}, {year.gateway_db}")
        started = time.perf_counter()
        load = await load_year(year, base, city, args)
        load["total_s"] = round(time.perf_counter() - started, 1)
        load["sizes"] = {db: await admin.fetchval("SELECT pg_size_pretty(pg_database_size($1))", db)
                         for db in (year.alarms_db, year.gateway_db)}
        say(f"  loaded in {load['total_s']:.0f} s ({', '.join(f'{k} {v}' for k, v in load['sizes'].items())})")
        for store in stores:
            await recent_activity(store, city)
        await admin.execute("CHECKPOINT")  # the whole cluster's dirty pages, written now rather than under the measurement
        if not args.cold:
            for store in stores:
                load.setdefault("prewarmed_mb", {})[store.name] = int(await prewarm(store))
        gc.collect()
        gc.freeze()  # the city directory: out of the collector's sight, as in the services
        warm_up = argparse.Namespace(calls=10, searches=50, resumes=50)  # pools, prepared statements, caches
        await measure(stores, city, warm_up)
        for store in stores:
            store.samples.clear()
        plan = await explain(year, city)
        await measure(stores, city, args)
        result = {"scale": vars(args), "load": load, "loadavg_at_start": loadavg, "figures": figures(empty, year),
                  "find_duplicate_plan_year": plan}
        report(result)
        result["retention_year"] = await retention(year, city, args)
        report_retention(result["retention_year"])
        say(f"  results written to {save('history', result)}")
        return result
    finally:
        for store in stores:
            for pool in (store.alarms, store.gateway):
                if pool is not None:
                    await pool.close()
        if args.keep:
            say(f"  kept databases: {', '.join(created)}")
        else:
            for db in created:
                await admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        await admin.close()


def report(result: dict) -> None:
    names = {"intake": "(a) 119 intake, report()", "find_duplicate": "(b) find_duplicate, generic plan",
             "resume": f"(c) stream resume, {BEHIND} behind", "snapshot": "(d) city centre snapshot"}
    for what, row in result["figures"].items():
        e, y = row["empty"], row["year"]
        say(f"  {names[what]:<34} p50 {e['p50_ms']:8.3f} → {y['p50_ms']:8.3f} ms ({row['p50_ratio']:.2f}×)"
            f"   p99 {e['p99_ms']:8.3f} → {y['p99_ms']:8.3f} ms ({row['p99_ratio']:.2f}×)"
            f"   n={row['count']}  {'≤' if row['within_target'] else 'OVER'} {TARGET}×")
    say("  find_duplicate on the year store, generic plan:")
    for line in result["find_duplicate_plan_year"]:
        say(f"    {line}")


def report_retention(out: dict) -> None:
    say("  retention, first run on the year store (batches of 2000):")
    for table, r in out.items():
        if isinstance(r, dict):
            say(f"    {table:<17} {r['rows']:>10,} rows in {r['batches']:>5} batches: batch p50 {r['batch_p50_ms']} ms,"
                f" p99 {r['batch_p99_ms']} ms, max {r['batch_max_ms']} ms ({r['rows_per_s']:,} rows/s)")
    say(f"    a resume from the year's first id: {out['resume_from_a_purged_id']}")


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alarms", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--feed", type=int, default=20_000_000)
    parser.add_argument("--processed", type=int, default=5_000_000)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=3000, help="119 calls per store")
    parser.add_argument("--searches", type=int, default=10000, help="duplicate searches per store")
    parser.add_argument("--resumes", type=int, default=10000, help="stream resumes per store")
    parser.add_argument("--purge-seconds", type=float, default=20.0, help="how long each table's purge may run")
    parser.add_argument("--cold", action="store_true", help="measure without reading the intake's indexes in first")
    parser.add_argument("--keep", action="store_true", help="keep the databases (drop them yourself)")
    args = parser.parse_args(argv)
    asyncio.run(_cancellable(main(args)))


async def _cancellable(coro):
    """SIGTERM cancels the run like Ctrl-C, so that the databases are dropped either way."""
    task = asyncio.current_task()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await coro


if __name__ == "__main__":
    cli()

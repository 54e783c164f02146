"""City-wide statistics with a million hazards: the counters `GET /v1/reports/hazards` reads,
filled as the projections (`hazards.projections.statistics`) would have filled them for `n`
hazards and `m` inspections over the past two years, then the report timed.

Why not through the write path: the real one files ~870 hazards a second on this machine (bench
hazards, part 2), twenty minutes per million, and a report never reads an event, a hazard or a
fact row, only the counter cells (the integration test pins its plan: primary-key range reads).
So the bench computes each synthetic hazard's cells with the projection's own `cells()` and
`rectification_bucket()` and adds them in bulk (COPY into a staging table, then one upsert that
adds, as the projection's `_add` does), and writes the per-hazard facts too, so that the tables
have the size and the shape they would have. What is timed is the service as deployed answering
the report over HTTP.
"""

from __future__ import annotations

import collections
import datetime as dt
import random
import time

import asyncpg

from hazards.domain.categories import default_taxonomy
from hazards.domain.statistics import HAZARD_COUNTS, INSPECTION_COUNTS, LEVELS, cells, local_day, rectification_bucket
from hazards.domain.venue_kinds import parse_venue_kinds, shipped_venue_kinds_text
from linkduty_shared.jurisdictions import Level

DAYS = 730  # two years: a year's report and its year-on-year comparison both have data


def _grids(city) -> list[dict[str, str]]:
    return [city.resolve(g.lat, g.lon).codes() for g in city.divisions(level=Level.GRID)]


async def _add_counts(conn: asyncpg.Connection, table: str, key_columns: list[tuple[str, str]],
                      counts: dict[tuple, list[int]], names: tuple[str, ...]) -> int:
    """Add the counts to the table's cells (created when missing): COPY into a staging table, one upsert."""
    staging = f"staging_{table}"
    keys = ", ".join(k for k, _ in key_columns)
    await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE {table} INCLUDING DEFAULTS); "
                       f"TRUNCATE {staging}")
    records = [(*cell, *values) for cell, values in counts.items()]
    await conn.copy_records_to_table(staging, records=records, columns=[*(k for k, _ in key_columns), *names])
    await conn.execute(
        f"INSERT INTO {table} AS s ({keys}, {', '.join(names)}) SELECT {keys}, {', '.join(names)} FROM {staging} "
        f"ON CONFLICT ({keys}) DO UPDATE SET " + ", ".join(f"{c} = s.{c} + EXCLUDED.{c}" for c in names))
    return len(records)


async def load(pool: asyncpg.Pool, city, *, hazards: int, inspections: int, first: int, seed: int) -> dict:
    """Add `hazards` hazards (ids from `first`) and `inspections` inspections to the counters."""
    rng = random.Random(seed)
    grids = _grids(city)
    categories = default_taxonomy().ids()
    kinds = parse_venue_kinds(shipped_venue_kinds_text(), default_taxonomy()).ids()
    today = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    index = {name: i for i, name in enumerate(HAZARD_COUNTS)}
    hazard_cells: dict[tuple, list[int]] = collections.defaultdict(lambda: [0] * len(HAZARD_COUNTS))
    hours_cells: collections.Counter = collections.Counter()
    facts = []
    for i in range(first, first + hazards):
        j = grids[rng.randrange(len(grids))]
        at = today - dt.timedelta(seconds=rng.randrange(DAYS * 86_400))
        category = categories[rng.randrange(len(categories))]
        figures = ["reported"]
        outcome = rng.random()
        if outcome < 0.08:
            figures.append("rejected")
        elif outcome < 0.12:
            figures.append("merged")
        else:
            figures.append("accepted")
            if rng.random() < 0.75:
                figures.append("closed")
            if rng.random() < 0.12:
                figures.append("overdue")
            if rng.random() < 0.03:
                figures.append("reopened")
        if rng.random() < 0.05:
            figures.append("recurrences")
        day = local_day(at)
        where = cells(day, category, j)
        for cell in where:
            counts = hazard_cells[cell]
            for figure in figures:
                counts[index[figure]] += 1
        if "closed" in figures:
            bucket = rectification_bucket(dt.timedelta(hours=rng.expovariate(1 / 60)))
            for cell in where:
                hours_cells[(*cell, bucket)] += 1
        facts.append((f"bench-h{i:08d}", at, day, category, *(j[level] for level in LEVELS), figures))
    inspection_cells: dict[tuple, list[int]] = collections.defaultdict(lambda: [0] * len(INSPECTION_COUNTS))
    for _ in range(inspections):
        j = grids[rng.randrange(len(grids))]
        day = local_day(today - dt.timedelta(seconds=rng.randrange(DAYS * 86_400)))
        found = rng.choice((0, 0, 0, 1, 1, 2, 3))
        for cell in cells(day, kinds[rng.randrange(len(kinds))], j):
            counts = inspection_cells[cell]
            counts[0] += 1  # due
            counts[1] += 1  # done
            counts[2] += found
    computed = time.perf_counter() - started
    key = [("level", "text"), ("code", "text"), ("grain", "text"), ("period", "date")]
    async with pool.acquire() as conn, conn.transaction():
        await conn.copy_records_to_table("hazard_stat_facts", records=facts, columns=[
            "hazard_id", "reported_at", "report_day", "category", *LEVELS, "counted"])
        written = await _add_counts(conn, "hazard_stats", [*key, ("category", "text")], hazard_cells, HAZARD_COUNTS)
        written += await _add_counts(conn, "hazard_rectification_hours", [*key, ("category", "text"), ("hours", "int")],
                                     {cell: [n] for cell, n in hours_cells.items()}, ("closed",))
        written += await _add_counts(conn, "inspection_stats", [*key, ("venue_kind", "text")], inspection_cells,
                                     INSPECTION_COUNTS)
    # What autovacuum does after such a load: statistics, and the visibility map that lets the
    # report read the counters by index-only scans.
    for table in ("hazard_stats", "hazard_rectification_hours", "inspection_stats", "hazard_stat_facts"):
        await pool.execute(f"VACUUM ANALYZE {table}")
    sizes = {t: await pool.fetchval(f"SELECT count(*) FROM {t}")
             for t in ("hazard_stat_facts", "hazard_stats", "hazard_rectification_hours", "inspection_stats")}
    return {"hazards_added": hazards, "inspections_added": inspections, "computed_s": round(computed, 1),
            "written_s": round(time.perf_counter() - started - computed, 1), "cells_upserted": written,
            "rows": sizes}

"""alarm_list's queries on a table with history: the same answers as the plain queries they
replace, and plans that read the open alarms' index, not the table (issue 10, A.9)."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest

from alarms.domain.values import OPEN_STATUSES
from alarms.projections.open_alarms import FIND_DUPLICATE, OpenAlarms, find_duplicate, list_alarms
from linkduty_shared.db import migrate
from linkduty_shared.jurisdictions import Level

NOW = dt.datetime.now(dt.UTC)
STATUSES = ["closed"] * 6 + ["false_alarm", "cancelled", "reported", "verified", "controlled"]

# What list_alarms answered before it walked the per-level indexes: the reference.
_PLAIN = """SELECT alarm_id FROM alarm_list
   WHERE (grid = ANY($1::text[]) OR community = ANY($1::text[]) OR street = ANY($1::text[])
          OR district = ANY($1::text[]) OR city = ANY($1::text[]))
     AND (NOT $2 OR status = ANY($3::text[]))
   ORDER BY received_at DESC, alarm_id LIMIT $4"""


@pytest.fixture
async def alarm_list(pool, city):
    """3,000 alarms over a year in the grids of two streets, a tenth of them open; ANALYZEd."""
    await migrate(pool, OpenAlarms.ddl)
    rng = random.Random(3)
    streets = city.divisions(Level.STREET)[:2]
    grids = [g for g in city.divisions(Level.GRID) if city.lineage(g.code)[2] in {s.code for s in streets}]
    rows = []
    for i in range(3000):
        grid = rng.choice(grids)
        _, community, street, district, city_code = city.lineage(grid.code)
        received = NOW - dt.timedelta(seconds=rng.uniform(0, 365 * 86400))
        status = rng.choice(STATUSES)
        rows.append((f"a-{i:05d}", status, rng.choice(["fire", "rescue", "medical"]), "moderate", grid.lat, grid.lon,
                     community, street, district, city_code, received, received, 1, 1, grid.code))
    async with pool.acquire() as conn:
        await conn.copy_records_to_table("alarm_list", records=rows, columns=[
            "alarm_id", "status", "kind", "severity", "lat", "lon", "community", "street", "district", "city",
            "received_at", "last_call_at", "calls", "version", "grid"])
        await conn.execute("ANALYZE alarm_list")
    return rows


def within_cases(city, rows):
    grid = rows[0][14]
    grid_code, community, street, district, city_code = city.lineage(grid)
    other_community = next(r[6] for r in rows if r[6] != community)
    return [[city_code], [district], [street], [community], [grid_code], [community, other_community],
            [street, community], ["330999999999"]]


async def test_the_alarm_list_answers_as_the_plain_query_did(pool, city, alarm_list):
    open_statuses = [s.value for s in OPEN_STATUSES]
    async with pool.acquire() as conn:
        for within in within_cases(city, alarm_list):
            for open_only in (True, False):
                for limit in (1, 7, 100, 500):
                    expected = [r["alarm_id"] for r in await conn.fetch(_PLAIN, within, open_only, open_statuses, limit)]
                    got = await list_alarms(conn, within=within, open_only=open_only, limit=limit)
                    assert [r["alarm_id"] for r in got] == expected, (within, open_only, limit)  # no two at one µs


async def test_the_duplicate_search_matches_open_and_controlled_alarms_only(pool, city):
    await migrate(pool, OpenAlarms.ddl)
    grid = city.divisions(Level.GRID)[100]
    chain = city.lineage(grid.code)
    async with pool.acquire() as conn:
        for i, (status, metres) in enumerate([("closed", 10), ("controlled", 120), ("reported", 250), ("cancelled", 5)]):
            await conn.execute(
                """INSERT INTO alarm_list VALUES ($1, $2, 'fire', 'moderate', $3, $4, $5, $6, $7, $8, $9, $9, 1, 1, $10)""",
                f"d-{i}", status, grid.lat + metres / 111_000, grid.lon, chain[1], chain[2], chain[3], chain[4],
                NOW - dt.timedelta(minutes=3), grid.code)
        match = await find_duplicate(conn, kind="fire", lat=grid.lat, lon=grid.lon, received_at=NOW, radius_m=300,
                                     window=dt.timedelta(minutes=15), within=[chain[4]])
        assert match is not None and match[0] == "d-1"  # the closed and cancelled ones nearer are not matched
        assert await find_duplicate(conn, kind="medical", lat=grid.lat, lon=grid.lon, received_at=NOW, radius_m=300,
                                    window=dt.timedelta(minutes=15), within=[chain[4]]) is None


async def test_the_duplicate_search_s_generic_plan_reads_the_open_alarms_index(pool, city, alarm_list):
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.execute("PREPARE fd(text[], text[], timestamptz, timestamptz, float8, float8, float8, float8)"
                           f" AS {FIND_DUPLICATE}")
        plan = "\n".join(r[0] for r in await conn.fetch(
            f"EXPLAIN EXECUTE fd('{{{city.city.code}}}', '{{fire}}', '{NOW - dt.timedelta(minutes=15)}', '{NOW}',"
            " 30.0, 30.5, 120.0, 120.5)"))
        await conn.execute("DEALLOCATE fd")
    assert re.search(r"(using|Bitmap Index Scan on) alarm_list_open( on|  \()", plan) and "Seq Scan" not in plan, plan

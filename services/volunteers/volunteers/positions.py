"""The live position index of on-duty volunteers: where each one last said they are, from their
app, kept only while fresh.

Not event-sourced: a position is telemetry, not a fact anyone decides on later, and it is
personal (where a person is). So it is one row per volunteer, replaced by each report, never
published, deleted when the volunteer goes off duty, when it goes stale (the sweep), and with
their personal data. The index on (lat, lon) narrows an alarm's circle to its bounding box; the
exact distance is measured after.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from linkduty_shared.jurisdictions import bounding_box, distance_m

DDL = """
CREATE TABLE IF NOT EXISTS volunteer_positions (
    volunteer_id  text PRIMARY KEY,
    lat           double precision NOT NULL,
    lon           double precision NOT NULL,
    accuracy_m    real,
    reported_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS volunteer_positions_lat_lon ON volunteer_positions (lat, lon);
CREATE INDEX IF NOT EXISTS volunteer_positions_reported_at ON volunteer_positions (reported_at);
"""

_NEAR = """SELECT volunteer_id, lat, lon FROM volunteer_positions
   WHERE lat BETWEEN $1 AND $2 AND lon BETWEEN $3 AND $4 AND reported_at >= $5"""


async def report(conn: asyncpg.Connection, volunteer_id: str, lat: float, lon: float, accuracy_m: float | None,
                 at: dt.datetime) -> None:
    await conn.execute(
        """INSERT INTO volunteer_positions (volunteer_id, lat, lon, accuracy_m, reported_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (volunteer_id) DO UPDATE SET lat = $2, lon = $3, accuracy_m = $4, reported_at = $5
           WHERE volunteer_positions.reported_at <= $5""", volunteer_id, lat, lon, accuracy_m, at)


async def forget(conn: asyncpg.Connection, volunteer_id: str) -> bool:
    return await conn.fetchval("DELETE FROM volunteer_positions WHERE volunteer_id = $1 RETURNING true",
                               volunteer_id) or False


async def forget_stale(conn: asyncpg.Connection, before: dt.datetime) -> int:
    status = await conn.execute("DELETE FROM volunteer_positions WHERE reported_at < $1", before)
    return int(status.split()[-1])


async def within(conn: asyncpg.Connection, lat: float, lon: float, radius_m: float,
                 fresh_since: dt.datetime) -> list[tuple[str, float]]:
    """(volunteer id, distance in metres) of every position reported since `fresh_since` within
    `radius_m` of the point, nearest first."""
    rows = await conn.fetch(_NEAR, *bounding_box(lat, lon, radius_m), fresh_since)
    near = [(r["volunteer_id"], distance_m(lat, lon, r["lat"], r["lon"])) for r in rows]
    return sorted((n for n in near if n[1] <= radius_m), key=lambda n: n[1])


async def of(conn: asyncpg.Connection, volunteer_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM volunteer_positions WHERE volunteer_id = $1", volunteer_id)

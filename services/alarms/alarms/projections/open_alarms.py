"""Read model: alarms as a console lists them, and the query duplicate-call matching asks.

Updated inline (in the append's transaction), so the next call sees the alarm the previous call
opened a moment ago. Closed alarms stay (lists and reports read them), so every query is shaped
to cost what it returns, not what the table holds (bench/history.py: a year of history):
- open alarms are found through a partial index whose predicate (`OPEN`) the queries repeat as
  literal text, so that a generic plan (the pools use them) can prove it and use the index: a
  status given as a parameter cannot be, and with a million closed alarms the duplicate search of
  every 119 call, under the street lock, had been a 200 ms scan;
- "newest first inside these divisions" walks one (level, received_at) index per level and
  division code, stopping at the limit, instead of sorting every alarm of the city.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from linkduty_shared.contracts.alarms import STATUS_AFTER_EVENT
from linkduty_shared.events.envelope import Envelope
from linkduty_shared.projections import Projection

from alarms.domain.values import OPEN_STATUSES, compatible_kinds
from linkduty_shared.jurisdictions import bounding_box, distance_m

# 1 degree of latitude ≈ 111 km; the bounding box pre-filter, before the exact distance.
# The open statuses as SQL text: the partial index's predicate and the queries' condition.
OPEN = "status IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(OPEN_STATUSES)))
_WITHIN = """(grid = ANY($1::text[]) OR community = ANY($1::text[]) OR street = ANY($1::text[])
             OR district = ANY($1::text[]) OR city = ANY($1::text[]))"""


class OpenAlarms(Projection):
    name = "alarm_list"
    ddl = """
    CREATE TABLE IF NOT EXISTS alarm_list (
        alarm_id      text PRIMARY KEY,
        status        text NOT NULL,
        kind          text NOT NULL,
        severity      text NOT NULL,
        lat           double precision NOT NULL,
        lon           double precision NOT NULL,
        community     text NOT NULL,
        street        text NOT NULL,
        district      text NOT NULL,
        city          text NOT NULL,
        received_at   timestamptz NOT NULL,
        last_call_at  timestamptz NOT NULL,
        calls         integer NOT NULL,
        version       integer NOT NULL
    );
    CREATE INDEX IF NOT EXISTS alarm_list_community ON alarm_list (community, received_at DESC);
    -- a grid worker's token names its grid: its calls are matched and its list read by it
    ALTER TABLE alarm_list ADD COLUMN IF NOT EXISTS grid text;
    -- open_recent left out 'controlled' (so no query could use it) and had no generic plan
    DROP INDEX IF EXISTS alarm_list_open_recent;
    CREATE INDEX IF NOT EXISTS alarm_list_open ON alarm_list (last_call_at) WHERE """ + OPEN + """;
    CREATE INDEX IF NOT EXISTS alarm_list_grid ON alarm_list (grid, received_at DESC);
    CREATE INDEX IF NOT EXISTS alarm_list_street ON alarm_list (street, received_at DESC);
    CREATE INDEX IF NOT EXISTS alarm_list_district ON alarm_list (district, received_at DESC);
    CREATE INDEX IF NOT EXISTS alarm_list_city ON alarm_list (city, received_at DESC);
    """

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        d, alarm_id, version = event.data, event.subject, event.streamversion
        match event.event_name:
            case "AlarmReported":
                j = d["jurisdiction"]
                await conn.execute(
                    """INSERT INTO alarm_list (alarm_id, status, kind, severity, lat, lon, community, street, district,
                                              city, received_at, last_call_at, calls, version, grid)
                       VALUES ($1, 'reported', $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1, $11, $12)
                       ON CONFLICT (alarm_id) DO NOTHING""",
                    alarm_id, d["kind"], d["severity"], d["location"]["lat"], d["location"]["lon"],
                    j["community"], j["street"], j["district"], j["city"], dt.datetime.fromisoformat(d["received_at"]), version,
                    j.get("grid"),
                )
            case "CallLinked":
                await conn.execute(
                    """UPDATE alarm_list SET calls = calls + 1, version = $2,
                         last_call_at = GREATEST(last_call_at, $3) WHERE alarm_id = $1""",
                    alarm_id, version, dt.datetime.fromisoformat(d["received_at"]),
                )
            case "CallSplit":
                await conn.execute("UPDATE alarm_list SET calls = calls - 1, version = $2 WHERE alarm_id = $1",
                                   alarm_id, version)
            case "AlarmUpdated":
                changes = {k: v for k, v in d["changes"].items() if k in ("kind", "severity")}
                await conn.execute(
                    """UPDATE alarm_list SET kind = COALESCE($2, kind), severity = COALESCE($3, severity),
                         version = $4 WHERE alarm_id = $1""",
                    alarm_id, changes.get("kind"), changes.get("severity"), version,
                )
            case _:
                status = STATUS_AFTER_EVENT.get(event.event_name)
                if status:
                    await conn.execute("UPDATE alarm_list SET status = $2, version = $3 WHERE alarm_id = $1",
                                       alarm_id, status, version)
                else:
                    await conn.execute("UPDATE alarm_list SET version = $2 WHERE alarm_id = $1", alarm_id, version)

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM alarm_list")


FIND_DUPLICATE = f"""SELECT alarm_id, lat, lon FROM alarm_list
   WHERE {OPEN} AND {_WITHIN} AND kind = ANY($2::text[])
     AND last_call_at >= $3 AND received_at <= $4 AND lat BETWEEN $5 AND $6 AND lon BETWEEN $7 AND $8"""


async def find_duplicate(
    conn: asyncpg.Connection, *, kind: str, lat: float, lon: float, received_at: dt.datetime,
    radius_m: float, window: dt.timedelta, within: list[str],
) -> tuple[str, float] | None:
    """The nearest open alarm of a compatible kind within `radius_m` whose last call came within
    `window` of this one, inside the divisions `within` (what the caller may see): (alarm id,
    distance). Controlled alarms still take calls, closed do not. Reads only the open alarms'
    index entries of the window (alarm_list_open), however many closed alarms there are."""
    rows = await conn.fetch(
        FIND_DUPLICATE, within, list(compatible_kinds(kind)), received_at - window, received_at + window,
        *bounding_box(lat, lon, radius_m),
    )
    candidates = [(r["alarm_id"], distance_m(lat, lon, r["lat"], r["lon"])) for r in rows]
    candidates = [c for c in candidates if c[1] <= radius_m]
    return min(candidates, key=lambda c: c[1]) if candidates else None


_LIST_OPEN = f"SELECT * FROM alarm_list WHERE {OPEN} AND {_WITHIN} ORDER BY received_at DESC LIMIT $2"
# Each division code at each level: its newest `limit` alarms by that level's index; the union
# holds the newest `limit` of them all (an alarm inside two of the codes counts once).
_NEWEST_AT_EACH_LEVEL = "\n        UNION ALL ".join(
    f"(SELECT alarm_id FROM alarm_list WHERE {level} = w.code ORDER BY received_at DESC LIMIT $2)"
    for level in ("grid", "community", "street", "district", "city"))
_LIST_ALL = f"""SELECT * FROM alarm_list WHERE alarm_id IN (
    SELECT n.alarm_id FROM unnest($1::text[]) AS w(code) CROSS JOIN LATERAL (
        {_NEWEST_AT_EACH_LEVEL}) n)
ORDER BY received_at DESC LIMIT $2"""


async def list_alarms(conn: asyncpg.Connection, *, within: list[str], open_only: bool, limit: int) -> list[asyncpg.Record]:
    """Alarms inside any of the divisions `within` (city, district, street, community or grid codes),
    newest first."""
    return await conn.fetch(_LIST_OPEN if open_only else _LIST_ALL, within, limit)

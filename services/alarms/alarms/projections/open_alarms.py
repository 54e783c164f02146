"""Read model: alarms as a console lists them, and the query duplicate-call matching asks.

Updated inline (in the append's transaction), so the next call sees the alarm the previous call
opened a moment ago.
"""

from __future__ import annotations

import datetime as dt
import math

import asyncpg

from linkduty_shared.contracts.alarms import STATUS_AFTER_EVENT
from linkduty_shared.events.envelope import Envelope
from linkduty_shared.projections import Projection

from alarms.domain.values import OPEN_STATUSES, compatible_kinds, distance_m

# 1 degree of latitude ≈ 111 km; the bounding box pre-filter, before the exact distance.
_M_PER_DEG = 111_000.0


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
    CREATE INDEX IF NOT EXISTS alarm_list_open_recent ON alarm_list (last_call_at) WHERE status IN ('reported', 'verified');
    CREATE INDEX IF NOT EXISTS alarm_list_community ON alarm_list (community, received_at DESC);
    -- a grid worker's token names its grid: its calls are matched and its list read by it
    ALTER TABLE alarm_list ADD COLUMN IF NOT EXISTS grid text;
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


async def find_duplicate(
    conn: asyncpg.Connection, *, kind: str, lat: float, lon: float, received_at: dt.datetime,
    radius_m: float, window: dt.timedelta, within: list[str],
) -> tuple[str, float] | None:
    """The nearest open alarm of a compatible kind within `radius_m` whose last call came within
    `window` of this one, inside the divisions `within` (what the caller may see): (alarm id,
    distance). Controlled alarms still take calls, closed do not."""
    dlat = radius_m / _M_PER_DEG
    dlon = dlat / max(0.01, abs(math.cos(math.radians(lat))))
    rows = await conn.fetch(
        """SELECT alarm_id, lat, lon FROM alarm_list
           WHERE status = ANY($1::text[]) AND kind = ANY($2::text[])
             AND last_call_at >= $3 AND received_at <= $4
             AND lat BETWEEN $5 AND $6 AND lon BETWEEN $7 AND $8
             AND (grid = ANY($9::text[]) OR community = ANY($9::text[]) OR street = ANY($9::text[])
                  OR district = ANY($9::text[]) OR city = ANY($9::text[]))""",
        [s.value for s in OPEN_STATUSES], list(compatible_kinds(kind)), received_at - window,
        received_at + window, lat - dlat, lat + dlat, lon - dlon, lon + dlon, within,
    )
    candidates = [(r["alarm_id"], distance_m(lat, lon, r["lat"], r["lon"])) for r in rows]
    candidates = [c for c in candidates if c[1] <= radius_m]
    return min(candidates, key=lambda c: c[1]) if candidates else None


async def list_alarms(conn: asyncpg.Connection, *, within: list[str], open_only: bool, limit: int) -> list[asyncpg.Record]:
    """Alarms inside any of the divisions `within` (city, district, street, community or grid codes)."""
    return await conn.fetch(
        """SELECT * FROM alarm_list
           WHERE (grid = ANY($1::text[]) OR community = ANY($1::text[]) OR street = ANY($1::text[])
                  OR district = ANY($1::text[]) OR city = ANY($1::text[]))
             AND (NOT $2 OR status = ANY($3::text[]))
           ORDER BY received_at DESC LIMIT $4""",
        within, open_only, [s.value for s in OPEN_STATUSES], limit,
    )

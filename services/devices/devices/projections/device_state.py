"""Read model: each device's state now (last signal, offline, low battery, the open alarm and how
many times it repeated), in one row. The device's events update it inline, in the append's
transaction; heartbeats and alarm repeats update it directly (they are not events). The sweep
finds silent devices by `silent_after` through a partial index."""

from __future__ import annotations

import datetime as dt

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.projections import Projection

LEVELS = ("community", "street", "district", "city")


class DeviceState(Projection):
    name = "device_state"
    ddl = """
    CREATE TABLE IF NOT EXISTS device_state (
        device_id          text PRIMARY KEY,
        platform           text NOT NULL,
        model              text NOT NULL,
        community          text NOT NULL,
        street             text NOT NULL,
        district           text NOT NULL,
        city               text NOT NULL,
        heartbeat_period_s integer NOT NULL,
        registered_at      timestamptz NOT NULL,
        last_seen_at       timestamptz NOT NULL,   -- LinkDuty's time of the newest signal
        last_heartbeat_at  timestamptz,            -- the device's time of its newest heartbeat (replays are older)
        silent_after       timestamptz NOT NULL,   -- offline when nothing arrives by then
        offline            boolean NOT NULL DEFAULT false,
        low_battery        boolean NOT NULL DEFAULT false,
        troubles           text[] NOT NULL DEFAULT '{}',
        battery_pct        integer,
        alarm_episode      text,
        alarm_repeats      integer NOT NULL DEFAULT 0,
        version            integer NOT NULL
    );
    CREATE INDEX IF NOT EXISTS device_state_silent ON device_state (silent_after) WHERE NOT offline;
    """ + "".join(f"""
    CREATE INDEX IF NOT EXISTS device_state_{level} ON device_state ({level}, device_id);""" for level in LEVELS)

    def __init__(self, offline_grace: float) -> None:
        self.offline_grace = offline_grace

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        d, device_id, version = event.data, event.subject, event.streamversion
        match event.event_name:
            case "DeviceRegistered":
                j, at = d["jurisdiction"], dt.datetime.fromisoformat(d["at"])
                await conn.execute(
                    """INSERT INTO device_state (device_id, platform, model, community, street, district, city,
                           heartbeat_period_s, registered_at, last_seen_at, silent_after, version)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11) ON CONFLICT DO NOTHING""",
                    device_id, d["platform"], d["model"], j["community"], j["street"], j["district"], j["city"],
                    d["heartbeat_period_s"], at, at + dt.timedelta(seconds=d["heartbeat_period_s"] * self.offline_grace),
                    version)
                return
            case "DeviceAlarmRaised":
                change, args = "alarm_episode = $3, alarm_repeats = 1", [d["episode_id"]]
            case "DeviceAlarmCleared":
                change, args = "alarm_episode = NULL, alarm_repeats = 0", []
            case "DeviceTroubleBegan":
                change = ("troubles = array_append(array_remove(troubles, $3), $3), offline = offline OR $3 = 'offline',"
                          " low_battery = low_battery OR $3 = 'low_battery'")
                args = [d["trouble"]]
            case "DeviceTroubleEnded":
                change = ("troubles = array_remove(troubles, $3), offline = offline AND $3 <> 'offline',"
                          " low_battery = low_battery AND $3 <> 'low_battery'")
                args = [d["trouble"]]
            case _:
                change, args = "", []
        await conn.execute(f"UPDATE device_state SET version = $2{', ' + change if change else ''} WHERE device_id = $1",
                           device_id, version, *args)

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM device_state")


async def heartbeats(conn: asyncpg.Connection, beats: list[tuple[str, str, dt.datetime, int | None]], *,
                     now: dt.datetime, grace: float) -> dict[str, asyncpg.Record]:
    """Heartbeats (device id, platform, signalled at, battery %), at most one per device, each
    newer than its device's last: the devices seen now, in one statement. Returns device id →
    the row's offline and low_battery; a heartbeat missing from it is of a device unknown to
    that platform, or not newer than its last (a replay)."""
    rows = await conn.fetch(
        """UPDATE device_state d SET last_seen_at = greatest(d.last_seen_at, $5), last_heartbeat_at = b.signalled_at,
               silent_after = greatest(d.silent_after, $5 + d.heartbeat_period_s * $6::float8 * interval '1 second'),
               battery_pct = coalesce(b.battery_pct, d.battery_pct)
           FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[]) AS b(device_id, platform, signalled_at, battery_pct)
           WHERE d.device_id = b.device_id AND d.platform = b.platform
             AND (d.last_heartbeat_at IS NULL OR d.last_heartbeat_at < b.signalled_at)
           RETURNING d.device_id, d.offline, d.low_battery""",
        [b[0] for b in beats], [b[1] for b in beats], [b[2] for b in beats], [b[3] for b in beats], now, grace)
    return {r["device_id"]: r for r in rows}


async def seen(conn: asyncpg.Connection, device_id: str, now: dt.datetime, grace: float) -> asyncpg.Record | None:
    """Any other signal: the device is seen now; its row (the open alarm's repeats) as it is."""
    return await conn.fetchrow(
        """UPDATE device_state SET last_seen_at = greatest(last_seen_at, $2),
               silent_after = greatest(silent_after, $2 + heartbeat_period_s * $3::float8 * interval '1 second')
           WHERE device_id = $1 RETURNING alarm_episode, alarm_repeats""", device_id, now, grace)


async def count_repeat(conn: asyncpg.Connection, device_id: str) -> int:
    return await conn.fetchval(
        "UPDATE device_state SET alarm_repeats = alarm_repeats + 1 WHERE device_id = $1 RETURNING alarm_repeats",
        device_id)


async def silent(conn: asyncpg.Connection, now: dt.datetime, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT device_id, last_seen_at FROM device_state WHERE NOT offline AND silent_after < $1
           ORDER BY silent_after LIMIT $2""", now, limit)


async def state_of(conn: asyncpg.Connection, device_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM device_state WHERE device_id = $1", device_id)

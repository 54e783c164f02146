"""Read model: which alarm holds each networked detector's call (its call id is the device's id
and its alarm episode's, `contracts.devices.episode_key`), so that the detector's "alarm cleared" finds its
alarm, and a raise redelivered after the duplicate window still links nothing twice. Updated
inline, from the calls the devices.events consumer took in only (their events name the device):
a call posted over HTTP with source `device` is not one of them.

One row a device alarm, by its primary key; a split call's row moves to the alarm it was split
into (that alarm's AlarmReported names the same call id)."""

from __future__ import annotations

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.projections import Projection

class DeviceCalls(Projection):
    name = "alarm_device_calls"
    ddl = """
    CREATE TABLE IF NOT EXISTS alarm_device_calls (
        call_id  text PRIMARY KEY,
        alarm_id text NOT NULL
    );
    """

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        if event.event_name not in ("AlarmReported", "CallLinked") or not event.data.get("device_id"):
            return
        await conn.execute(
            """INSERT INTO alarm_device_calls (call_id, alarm_id) VALUES ($1, $2)
               ON CONFLICT (call_id) DO UPDATE SET alarm_id = EXCLUDED.alarm_id""",
            event.data["call_id"], event.subject)

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM alarm_device_calls")


async def alarm_of_device_call(conn: asyncpg.Connection, call_id: str) -> str | None:
    """The alarm holding the detector's call `call_id`, if any alarm ever took it."""
    return await conn.fetchval("SELECT alarm_id FROM alarm_device_calls WHERE call_id = $1", call_id)

"""Read model: each unit's response to each alarm (ordered, en route, on scene), the input of the
response-time report (analytics/response_times.py). Updated inline from the `dispatch` stream.

The alarm's facts (kind, when received, its division chain) come with DispatchPlanned, before the
orders: they go to `response_alarms`, one row per alarm, so a later plan that changes the kind
changes it once. `response_intervals` holds one row per (alarm, unit): an order declined,
unanswered or stood down before arrival keeps its row, marked `ended` (it counts for processing
only); the unit ordered again gets a fresh response on the same row, keeping its first order time.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.projections import Projection

from units.analytics.response_times import UnitTimeline

CHAIN = ("grid", "community", "street", "district", "city")
_ENDED_BY = {"DispatchOrderDeclined": "declined", "DispatchOrderUnanswered": "unanswered",
             "DispatchOrderStoodDown": "stood_down"}
_STAGE = {"DispatchedUnitEnRoute": "en_route_at", "DispatchedUnitArrived": "on_scene_at"}


class ResponseIntervals(Projection):
    name = "response_intervals"
    ddl = """
    CREATE TABLE IF NOT EXISTS response_alarms (
        alarm_id      text PRIMARY KEY,
        kind          text NOT NULL,
        received_at   timestamptz NOT NULL,
        within        text[] NOT NULL
    );
    CREATE INDEX IF NOT EXISTS response_alarms_received ON response_alarms (received_at);
    CREATE INDEX IF NOT EXISTS response_alarms_within ON response_alarms USING gin (within);
    CREATE TABLE IF NOT EXISTS response_intervals (
        alarm_id             text NOT NULL,
        unit_id              text NOT NULL,
        role                 text NOT NULL,
        force_kind           text NOT NULL,
        first_dispatched_at  timestamptz NOT NULL,
        dispatched_at        timestamptz NOT NULL,
        en_route_at          timestamptz,
        on_scene_at          timestamptz,
        ended                text,
        PRIMARY KEY (alarm_id, unit_id)
    );
    """

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        name, d, alarm_id = event.event_name, event.data, event.subject
        if name == "DispatchPlanned":
            await self._alarm(conn, alarm_id, d.get("alarm") or {})
        elif name == "DispatchOrderIssued":
            await conn.execute(
                """INSERT INTO response_intervals VALUES ($1, $2, $3, $4, $5, $5, NULL, NULL, NULL)
                   ON CONFLICT (alarm_id, unit_id) DO UPDATE SET role = $3, force_kind = $4, dispatched_at = $5,
                       en_route_at = NULL, on_scene_at = NULL, ended = NULL""",
                alarm_id, d["unit_id"], d["role"], d["force_kind"], _time(d["issued_at"]))
        elif name in _ENDED_BY:
            await conn.execute(
                "UPDATE response_intervals SET ended = $3 WHERE alarm_id = $1 AND unit_id = $2 AND on_scene_at IS NULL",
                alarm_id, d["unit_id"], _ENDED_BY[name])
        elif name in _STAGE:
            await conn.execute(
                f"UPDATE response_intervals SET {_STAGE[name]} = $3 WHERE alarm_id = $1 AND unit_id = $2",
                alarm_id, d["unit_id"], _time(d["at"]))

    @staticmethod
    async def _alarm(conn: asyncpg.Connection, alarm_id: str, alarm: dict) -> None:
        """The first plan brings every fact; a later one may change the kind (an updated alarm)."""
        jurisdiction, received = alarm.get("jurisdiction") or {}, alarm.get("received_at")
        if received is None or not jurisdiction:
            if alarm.get("kind"):
                await conn.execute("UPDATE response_alarms SET kind = $2 WHERE alarm_id = $1", alarm_id, alarm["kind"])
            return
        await conn.execute(
            """INSERT INTO response_alarms VALUES ($1, $2, $3, $4)
               ON CONFLICT (alarm_id) DO UPDATE SET kind = $2, within = $4""",
            alarm_id, alarm["kind"], _time(received),
            [jurisdiction[level] for level in CHAIN if jurisdiction.get(level)])

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("TRUNCATE response_intervals, response_alarms")


def _time(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


_SELECT = """SELECT i.*, a.kind, a.received_at, a.within FROM response_intervals i
             JOIN response_alarms a USING (alarm_id)"""


def _timeline(r: asyncpg.Record) -> UnitTimeline:
    return UnitTimeline(
        alarm_id=r["alarm_id"], unit_id=r["unit_id"], role=r["role"], alarm_kind=r["kind"],
        received_at=r["received_at"], dispatched_at=r["dispatched_at"], en_route_at=r["en_route_at"],
        on_scene_at=r["on_scene_at"], ended=r["ended"],
        first_dispatched_at=r["first_dispatched_at"])


async def timelines(conn: asyncpg.Connection, *, within: list[str], start: dt.datetime, end: dt.datetime,
                    alarm_kind: str | None = None) -> list[UnitTimeline]:
    """Every order to alarms received in [start, end) inside one of the divisions `within`."""
    rows = await conn.fetch(
        _SELECT + """ WHERE a.within && $1::text[] AND a.received_at >= $2 AND a.received_at < $3
                        AND ($4::text IS NULL OR a.kind = $4)
                      ORDER BY a.received_at, i.alarm_id, i.dispatched_at, i.unit_id""",
        within, start, end, alarm_kind)
    return [_timeline(r) for r in rows]


async def alarm_timelines(conn: asyncpg.Connection, alarm_id: str) -> tuple[list[str], list[UnitTimeline]]:
    """The alarm's division chain (empty if unknown) and every order to it, first ordered first."""
    rows = await conn.fetch(_SELECT + " WHERE i.alarm_id = $1 ORDER BY i.dispatched_at, i.unit_id", alarm_id)
    return (list(rows[0]["within"]) if rows else []), [_timeline(r) for r in rows]

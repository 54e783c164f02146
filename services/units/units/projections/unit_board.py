"""Read model: every unit with its registration and current status (the board a centre watches,
and what a plan reads to know who is available). Updated inline, in the append's transaction, so a
plan never sends a unit another plan has just sent."""

from __future__ import annotations

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.jurisdictions import Directory, Force
from linkduty_shared.projections import Projection

from units.domain.availability import PlanningStatus

# Unit events → the status they leave the unit in.
STATUS_AFTER = {
    "UnitRegistered": "available", "UnitDispatched": "dispatched", "UnitEnRoute": "en_route",
    "UnitArrived": "on_scene", "UnitReturning": "returning", "UnitStoodDown": "available",
    "UnitReturnedToService": "available", "UnitTakenOutOfService": "out_of_service",
}
# What a plan needs to know of a status: only available units are sent.
_PLANNING_STATUS = {"out_of_service": PlanningStatus.OUT_OF_SERVICE}


class UnitBoard(Projection):
    """`within` holds the unit's division and every division above it, so that "the units a
    district centre may see" is one array overlap with its jurisdiction claim."""

    name = "unit_board"
    ddl = """
    CREATE TABLE IF NOT EXISTS unit_board (
        unit_id        text PRIMARY KEY,
        force_kind     text NOT NULL,
        name           text NOT NULL,
        division_code  text NOT NULL,
        lat            double precision NOT NULL,
        lon            double precision NOT NULL,
        appliances     jsonb NOT NULL,
        members        integer NOT NULL,
        capabilities   jsonb NOT NULL,
        status         text NOT NULL,
        alarm_id       text,
        within         text[] NOT NULL,
        changed_at     timestamptz NOT NULL,
        version        integer NOT NULL
    );
    CREATE INDEX IF NOT EXISTS unit_board_within ON unit_board USING gin (within);
    CREATE INDEX IF NOT EXISTS unit_board_busy ON unit_board (unit_id) WHERE status <> 'available';
    """

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        name, d = event.event_name, event.data
        if name not in STATUS_AFTER:
            return
        if name == "UnitRegistered":
            await conn.execute(
                """INSERT INTO unit_board VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::jsonb, 'available', NULL,
                           $10, $11, $12)
                   ON CONFLICT (unit_id) DO NOTHING""",
                event.subject, d["force_kind"], d["name"], d["division_code"], d["lat"], d["lon"],
                d.get("appliances", []), d.get("members", 0), d.get("capabilities", []), self.directory.lineage(d["division_code"]), event.time,
                event.streamversion)
            return
        alarm_id = d.get("alarm_id") if name in ("UnitDispatched", "UnitEnRoute", "UnitArrived", "UnitReturning") else None
        await conn.execute(
            "UPDATE unit_board SET status = $2, alarm_id = $3, changed_at = $4, version = $5 WHERE unit_id = $1",
            event.subject, STATUS_AFTER[name], alarm_id, event.time, event.streamversion)

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("TRUNCATE unit_board")


async def busy_units(conn: asyncpg.Connection) -> dict[str, PlanningStatus]:
    """Every unit a plan may not send, with why (dispatched covers every stage of a call-out)."""
    rows = await conn.fetch("SELECT unit_id, status FROM unit_board WHERE status <> 'available'")
    return {r["unit_id"]: _PLANNING_STATUS.get(r["status"], PlanningStatus.DISPATCHED) for r in rows}


async def registered_forces(conn: asyncpg.Connection) -> list[Force]:
    rows = await conn.fetch("SELECT unit_id, force_kind, name, division_code, lat, lon FROM unit_board")
    return [Force(id=r["unit_id"], kind=r["force_kind"], name=r["name"], division_code=r["division_code"],
                  lat=r["lat"], lon=r["lon"]) for r in rows]


async def list_units(conn: asyncpg.Connection, *, within: list[str], kind: str | None, status: str | None,
                     limit: int) -> list[asyncpg.Record]:
    """Units covering a division inside one of the divisions `within`, by id."""
    return await conn.fetch(
        """SELECT * FROM unit_board
           WHERE within && $1::text[] AND ($2::text IS NULL OR force_kind = $2)
             AND ($3::text IS NULL OR status = $3)
           ORDER BY unit_id LIMIT $4""", within, kind, status, limit)


async def unit_row(conn: asyncpg.Connection, unit_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM unit_board WHERE unit_id = $1", unit_id)

"""Read model: the joint standby rosters (联合备勤) as the dispatch planner reads them.

Updated inline, in the append's transaction, so a plan made right after a shift is scheduled or
cancelled already honours it. `duty_rosters` lists every force that has a roster (one row each);
`duty_shifts` its shifts, cancelled ones kept with `cancelled_at`.
"""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.jurisdictions import Directory
from linkduty_shared.projections import Projection

from units.domain.availability import DutyRoster, DutyWindow


class DutyShifts(Projection):
    name = "duty_shifts"
    ddl = """
    CREATE TABLE IF NOT EXISTS duty_rosters (
        force_id       text PRIMARY KEY,
        division_code  text NOT NULL,
        within         text[] NOT NULL,
        version        integer NOT NULL
    );
    CREATE TABLE IF NOT EXISTS duty_shifts (
        force_id      text NOT NULL REFERENCES duty_rosters (force_id) ON DELETE CASCADE,
        shift_id      text NOT NULL,
        starts_at     timestamptz NOT NULL,
        ends_at       timestamptz NOT NULL,
        members       integer NOT NULL,
        cancelled_at  timestamptz,
        PRIMARY KEY (force_id, shift_id)
    );
    CREATE INDEX IF NOT EXISTS duty_shifts_live ON duty_shifts (force_id, ends_at) WHERE cancelled_at IS NULL;
    """

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        d = event.data
        match event.event_name:
            case "ShiftScheduled":
                within = self.directory.lineage(d["division_code"])
                await conn.execute(
                    """INSERT INTO duty_rosters VALUES ($1, $2, $3, $4)
                       ON CONFLICT (force_id) DO UPDATE SET division_code = $2, within = $3, version = $4""",
                    d["force_id"], d["division_code"], within, event.streamversion)
                await conn.execute(
                    "INSERT INTO duty_shifts VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT DO NOTHING",
                    d["force_id"], d["shift_id"], dt.datetime.fromisoformat(d["start"]),
                    dt.datetime.fromisoformat(d["end"]), d["members"])
            case "ShiftCancelled":
                force_id = event.subject.removesuffix("/roster")
                await conn.execute(
                    "UPDATE duty_shifts SET cancelled_at = $3 WHERE force_id = $1 AND shift_id = $2",
                    force_id, d["shift_id"], event.time)
                await conn.execute("UPDATE duty_rosters SET version = $2 WHERE force_id = $1",
                                   force_id, event.streamversion)

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("TRUNCATE duty_shifts, duty_rosters")


async def roster_at(conn: asyncpg.Connection, moment: dt.datetime) -> DutyRoster:
    """The DutyRoster the planner uses at `moment`: every force with a roster, with its shifts not
    ended by then (none: off duty). Forces without a roster are not listed, so on duty."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware: shifts are compared with it")
    rows = await conn.fetch(
        """SELECT r.force_id, s.starts_at, s.ends_at FROM duty_rosters r
           LEFT JOIN duty_shifts s ON s.force_id = r.force_id AND s.cancelled_at IS NULL AND s.ends_at > $1
           ORDER BY r.force_id, s.starts_at""", moment)
    windows: dict[str, list[DutyWindow]] = {}
    for r in rows:
        shifts = windows.setdefault(r["force_id"], [])
        if r["starts_at"] is not None:
            shifts.append(DutyWindow(r["starts_at"], r["ends_at"]))
    return DutyRoster(MappingProxyType({force: tuple(ws) for force, ws in windows.items()}))


async def on_duty_now(conn: asyncpg.Connection, force_id: str, moment: dt.datetime) -> bool:
    """Whether one force is on duty at `moment` by its roster (True when it has none)."""
    return await conn.fetchval(
        """SELECT NOT EXISTS (SELECT 1 FROM duty_rosters WHERE force_id = $1)
                  OR EXISTS (SELECT 1 FROM duty_shifts WHERE force_id = $1 AND cancelled_at IS NULL
                                AND starts_at <= $2 AND ends_at > $2)""", force_id, moment)

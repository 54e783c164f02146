"""Read models: joint patrols (联防) and joint trainings (联训) as a centre lists them.

Updated inline. `within` holds the record's division and every division above it, so "the
records a caller may see" is one array overlap with its jurisdiction claim.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.jurisdictions import Directory
from linkduty_shared.projections import Projection


def _time(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


class JointPatrols(Projection):
    name = "joint_patrols"
    ddl = """
    CREATE TABLE IF NOT EXISTS joint_patrols (
        patrol_id      text PRIMARY KEY,
        status         text NOT NULL,
        division_code  text NOT NULL,
        within         text[] NOT NULL,
        forces         text[] NOT NULL,
        planned_start  timestamptz NOT NULL,
        planned_end    timestamptz NOT NULL,
        started_at     timestamptz,
        completed_at   timestamptz,
        findings       integer NOT NULL,
        version        integer NOT NULL
    );
    CREATE INDEX IF NOT EXISTS joint_patrols_within ON joint_patrols USING gin (within);
    """

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        d, pid, version = event.data, event.subject, event.streamversion
        match event.event_name:
            case "PatrolPlanned":
                await conn.execute(
                    """INSERT INTO joint_patrols VALUES ($1, 'planned', $2, $3, $4, $5, $6, NULL, NULL, 0, $7)
                       ON CONFLICT (patrol_id) DO NOTHING""",
                    pid, d["division_code"], self.directory.lineage(d["division_code"]), d["forces"],
                    _time(d["planned_start"]), _time(d["planned_end"]), version)
            case "PatrolStarted":
                await conn.execute("UPDATE joint_patrols SET status = 'started', started_at = $2, version = $3"
                                   " WHERE patrol_id = $1", pid, _time(d["at"]), version)
            case "PatrolFindingLogged":
                await conn.execute("UPDATE joint_patrols SET findings = findings + 1, version = $2 WHERE patrol_id = $1",
                                   pid, version)
            case "PatrolCompleted":
                await conn.execute("UPDATE joint_patrols SET status = 'completed', completed_at = $2, version = $3"
                                   " WHERE patrol_id = $1", pid, _time(d["at"]), version)

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("TRUNCATE joint_patrols")


class JointTrainings(Projection):
    name = "joint_trainings"
    ddl = """
    CREATE TABLE IF NOT EXISTS joint_trainings (
        training_id    text PRIMARY KEY,
        status         text NOT NULL,
        topic          text NOT NULL,
        division_code  text NOT NULL,
        within         text[] NOT NULL,
        at             timestamptz NOT NULL,
        forces         text[] NOT NULL,
        attendance     jsonb NOT NULL,
        present        integer NOT NULL,
        version        integer NOT NULL
    );
    CREATE INDEX IF NOT EXISTS joint_trainings_within ON joint_trainings USING gin (within);
    """

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        d, tid, version = event.data, event.subject, event.streamversion
        match event.event_name:
            case "TrainingScheduled":
                await conn.execute(
                    """INSERT INTO joint_trainings VALUES ($1, 'scheduled', $2, $3, $4, $5, $6, '{}'::jsonb, 0, $7)
                       ON CONFLICT (training_id) DO NOTHING""",
                    tid, d["topic"], d["division_code"], self.directory.lineage(d["division_code"]),
                    _time(d["at"]), d["forces"], version)
            case "TrainingAttendanceRecorded":
                # A correction replaces the force's count: the total is recomputed from the map.
                await conn.execute(
                    """UPDATE joint_trainings SET attendance = attendance || $2::jsonb, version = $3,
                         present = present - COALESCE((attendance ->> $4)::int, 0) + $5
                       WHERE training_id = $1""",
                    tid, {d["force_id"]: d["present"]}, version, d["force_id"], d["present"])
            case "TrainingCompleted" | "TrainingCancelled":
                status = "completed" if event.event_name == "TrainingCompleted" else "cancelled"
                await conn.execute("UPDATE joint_trainings SET status = $2, version = $3 WHERE training_id = $1",
                                   tid, status, version)

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("TRUNCATE joint_trainings")


async def list_patrols(conn: asyncpg.Connection, *, jurisdiction: list[str], division: str | None, status: str | None,
                       limit: int) -> list[asyncpg.Record]:
    """Patrols the caller may see (within its jurisdiction), optionally inside one division; latest first."""
    return await conn.fetch(
        """SELECT * FROM joint_patrols
           WHERE within && $1::text[] AND ($2::text IS NULL OR $2 = ANY(within)) AND ($3::text IS NULL OR status = $3)
           ORDER BY planned_start DESC, patrol_id LIMIT $4""", jurisdiction, division, status, limit)


async def list_trainings(conn: asyncpg.Connection, *, jurisdiction: list[str], division: str | None,
                         status: str | None, limit: int) -> list[asyncpg.Record]:
    """Trainings the caller may see, optionally inside one division; latest first."""
    return await conn.fetch(
        """SELECT * FROM joint_trainings
           WHERE within && $1::text[] AND ($2::text IS NULL OR $2 = ANY(within)) AND ($3::text IS NULL OR status = $3)
           ORDER BY at DESC, training_id LIMIT $4""", jurisdiction, division, status, limit)

"""Read model: each volunteer's alerts (the app's list of what it was alerted to, and how it
answered). Updated inline, in the append's transaction, from the alarm responses' events. The
alarm's point is kept (the volunteer goes there); nothing of the volunteer's own position is."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.projections import Projection


class VolunteerAlerts(Projection):
    name = "volunteer_alerts"
    ddl = """
    CREATE TABLE IF NOT EXISTS volunteer_alerts (
        alarm_id      text NOT NULL,
        volunteer_id  text NOT NULL,
        status        text NOT NULL,      -- alerted | accepted | declined | stood_down
        kind          text NOT NULL,
        place         text NOT NULL,
        lat           double precision NOT NULL,
        lon           double precision NOT NULL,
        distance_m    real NOT NULL,
        alerted_at    timestamptz NOT NULL,
        answered_at   timestamptz,
        eta_minutes   integer,
        PRIMARY KEY (volunteer_id, alarm_id)
    );
    CREATE INDEX IF NOT EXISTS volunteer_alerts_recent ON volunteer_alerts (volunteer_id, alerted_at DESC);
    """

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        """Each change rings the named volunteers' streams on commit (alert_stream.py)."""
        d, name = event.data, event.event_name
        named = {"VolunteersAlerted": lambda: [line["volunteer_id"] for line in d["alerted"]],
                 "VolunteerAlertsStoodDown": lambda: list(d["volunteer_ids"])}.get(name, lambda: [d["volunteer_id"]])()
        await conn.execute("SELECT pg_notify('volunteer_alerts', $1)",
                           json.dumps({"alarm_id": d["alarm_id"], "volunteer_ids": named}))
        match name:
            case "VolunteersAlerted":
                at = dt.datetime.fromisoformat(d["at"])
                await conn.executemany(
                    """INSERT INTO volunteer_alerts (alarm_id, volunteer_id, status, kind, place, lat, lon, distance_m,
                           alerted_at) VALUES ($1, $2, 'alerted', $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
                    [(d["alarm_id"], line["volunteer_id"], d["kind"], d["place"], d["lat"], d["lon"],
                      line["distance_m"], at) for line in d["alerted"]])
            case "VolunteerResponseAccepted" | "VolunteerResponseDeclined":
                await conn.execute(
                    """UPDATE volunteer_alerts SET status = $3, answered_at = $4, eta_minutes = $5
                       WHERE volunteer_id = $1 AND alarm_id = $2""",
                    d["volunteer_id"], d["alarm_id"], "accepted" if name == "VolunteerResponseAccepted" else "declined",
                    dt.datetime.fromisoformat(d["at"]), d.get("eta_minutes"))
            case "VolunteerAlertsStoodDown":
                await conn.execute(
                    """UPDATE volunteer_alerts SET status = 'stood_down'
                       WHERE alarm_id = $1 AND volunteer_id = ANY($2::text[]) AND status = 'alerted'""",
                    d["alarm_id"], list(d["volunteer_ids"]))

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM volunteer_alerts")


async def alerts_of(conn: asyncpg.Connection, volunteer_id: str, *, open_only: bool,
                    limit: int) -> list[asyncpg.Record]:
    """The volunteer's alerts, newest first; `open_only`: those still waiting for an answer."""
    return await conn.fetch(
        """SELECT * FROM volunteer_alerts WHERE volunteer_id = $1 AND (NOT $2 OR status = 'alerted')
           ORDER BY alerted_at DESC LIMIT $3""", volunteer_id, open_only, limit)

"""Read model: every dispatch order with its state — what a centre lists for an alarm, what a
unit's app polls for, and what the answer-deadline sweep scans. Updated inline."""

from __future__ import annotations

import datetime as dt

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.projections import Projection

_STATE_AFTER = {
    "DispatchOrderAcknowledged": "acknowledged", "DispatchOrderDeclined": "declined",
    "DispatchOrderUnanswered": "unanswered", "DispatchOrderStoodDown": "stood_down",
    "DispatchedUnitEnRoute": "en_route", "DispatchedUnitArrived": "on_scene", "DispatchedUnitLeftScene": "left_scene",
}


class DispatchOrders(Projection):
    name = "dispatch_orders"
    ddl = """
    CREATE TABLE IF NOT EXISTS dispatch_orders (
        alarm_id     text NOT NULL,
        unit_id      text NOT NULL,
        force_kind   text NOT NULL,
        role         text NOT NULL,
        status       text NOT NULL,
        issued_at    timestamptz NOT NULL,
        answer_by    timestamptz NOT NULL,
        eta_s        integer,
        changed_at   timestamptz NOT NULL,
        PRIMARY KEY (alarm_id, unit_id)
    );
    CREATE INDEX IF NOT EXISTS dispatch_orders_unanswered ON dispatch_orders (answer_by) WHERE status = 'issued';
    CREATE INDEX IF NOT EXISTS dispatch_orders_unit ON dispatch_orders (unit_id, issued_at DESC);
    """

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        name, d = event.event_name, event.data
        if name == "DispatchOrderIssued":
            # A unit ordered again to the same alarm (after declining, say) starts a fresh order.
            await conn.execute(
                """INSERT INTO dispatch_orders VALUES ($1, $2, $3, $4, 'issued', $5, $6, $7, $5)
                   ON CONFLICT (alarm_id, unit_id) DO UPDATE SET status = 'issued', role = $4, issued_at = $5,
                       answer_by = $6, eta_s = $7, changed_at = $5""",
                d["alarm_id"], d["unit_id"], d["force_kind"], d["role"], dt.datetime.fromisoformat(d["issued_at"]),
                dt.datetime.fromisoformat(d["answer_by"]), d["estimated_eta_s"])
        elif name in _STATE_AFTER:
            await conn.execute(
                """UPDATE dispatch_orders SET status = $3, eta_s = COALESCE($4, eta_s), changed_at = $5
                   WHERE alarm_id = $1 AND unit_id = $2""",
                d["alarm_id"], d["unit_id"], _STATE_AFTER[name], d.get("eta_s"), dt.datetime.fromisoformat(d["at"]))

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("TRUNCATE dispatch_orders")


async def overdue_orders(conn: asyncpg.Connection, now: dt.datetime, limit: int = 100) -> list[tuple[str, str]]:
    """(alarm id, unit id) of orders still unanswered past their answer-by time, oldest first."""
    rows = await conn.fetch(
        "SELECT alarm_id, unit_id FROM dispatch_orders WHERE status = 'issued' AND answer_by <= $1 ORDER BY answer_by LIMIT $2",
        now, limit)
    return [(r["alarm_id"], r["unit_id"]) for r in rows]


async def orders_for_unit(conn: asyncpg.Connection, unit_id: str, limit: int = 20) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM dispatch_orders WHERE unit_id = $1 ORDER BY issued_at DESC LIMIT $2", unit_id, limit)

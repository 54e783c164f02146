"""Read model: service orders as a community lists them and as volunteers find the published ones
to claim, and the deadlines the sweep returns. Updated inline, in the append's transaction.
Nothing personal beyond the masked fields the events carry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.projections import Projection

from volunteers.projections.volunteer_list import LEVELS

_STATUS_AFTER = {"ServiceOrderAssigned": "assigned", "ServiceOrderPublished": "published",
                 "ServiceOrderAccepted": "accepted", "ServiceOrderDeclined": "placed", "ServiceOrderReturned": "placed",
                 "ServiceOrderCompleted": "completed", "ServiceOrderConfirmed": "confirmed",
                 "ServiceOrderCancelled": "cancelled"}


class OrderList(Projection):
    name = "order_list"
    ddl = """
    CREATE TABLE IF NOT EXISTS order_list (
        order_id      text PRIMARY KEY,
        kind          text NOT NULL,
        domain        text NOT NULL,
        status        text NOT NULL,
        community     text NOT NULL,
        street        text NOT NULL,
        district      text NOT NULL,
        city          text NOT NULL,
        placed_at     timestamptz NOT NULL,
        answer_by     timestamptz,     -- while assigned or published: back to the assigner after
        volunteer_id  text,            -- assigned to, or accepted by
        team_id       text,
        rating        smallint,
        version       integer NOT NULL
    );
    CREATE INDEX IF NOT EXISTS order_list_answer_by ON order_list (answer_by) WHERE answer_by IS NOT NULL;
    """ + "".join(f"""
    CREATE INDEX IF NOT EXISTS order_list_{level} ON order_list ({level}, placed_at DESC, order_id DESC);"""
                  for level in LEVELS)

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        d, order_id, version, name = event.data, event.subject, event.streamversion, event.event_name
        if name == "ServiceOrderPlaced":
            j = d["jurisdiction"]
            await conn.execute(
                """INSERT INTO order_list (order_id, kind, domain, status, community, street, district, city,
                       placed_at, version)
                   VALUES ($1, $2, $3, 'placed', $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING""",
                order_id, d["kind"], d["domain"], j["community"], j["street"], j["district"], j["city"],
                dt.datetime.fromisoformat(d["at"]), version)
            return
        back = name in ("ServiceOrderDeclined", "ServiceOrderReturned")  # to its assigner: nobody holds it
        answer_by = dt.datetime.fromisoformat(d["answer_by"]) if name in ("ServiceOrderAssigned",
                                                                          "ServiceOrderPublished") else None
        await conn.execute(
            """UPDATE order_list SET status = COALESCE($2, status), answer_by = $3, version = $4,
                   volunteer_id = CASE WHEN $5 THEN $6 ELSE volunteer_id END,
                   team_id = CASE WHEN $5 THEN $7 ELSE team_id END, rating = COALESCE($8, rating)
               WHERE order_id = $1""",
            order_id, _STATUS_AFTER.get(name), answer_by, version,
            name in ("ServiceOrderAssigned", "ServiceOrderAccepted", "ServiceOrderPublished", "ServiceOrderDeclined",
                     "ServiceOrderReturned"),
            None if back else d.get("volunteer_id"), None if back else d.get("team_id"), d.get("rating"))

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM order_list")


_AT_EACH_LEVEL = "\n    UNION ALL ".join(
    f"""(SELECT order_id FROM order_list WHERE {level} = w.code
        AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR kind = $4)
        AND (placed_at, order_id) < ($5::timestamptz, $6::text)
     ORDER BY placed_at DESC, order_id DESC LIMIT $2)""" for level in LEVELS)
_LIST = f"""SELECT * FROM order_list WHERE order_id IN (
    SELECT n.order_id FROM unnest($1::text[]) AS w(code) CROSS JOIN LATERAL ({_AT_EACH_LEVEL}) n)
ORDER BY placed_at DESC, order_id DESC LIMIT $2"""


async def list_orders(conn: asyncpg.Connection, *, within: Collection[str], limit: int, status: str | None,
                      kind: str | None, after: tuple[dt.datetime, str]) -> list[asyncpg.Record]:
    """Newest orders first inside any of the divisions `within`, after the cursor."""
    return await conn.fetch(_LIST, list(within), limit, status, kind, *after)


async def overdue_orders(conn: asyncpg.Connection, now: dt.datetime, limit: int) -> list[str]:
    rows = await conn.fetch("SELECT order_id FROM order_list WHERE answer_by <= $1 ORDER BY answer_by LIMIT $2",
                            now, limit)
    return [r["order_id"] for r in rows]

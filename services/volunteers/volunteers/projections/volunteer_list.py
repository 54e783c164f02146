"""Read model: volunteers as a community or street lists them (by review status, by service
domain, and whether insured on a day). Updated inline, in the append's transaction. Nothing
personal beyond the masked fields the events carry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.projections import Projection

LEVELS = ("community", "street", "district", "city")
_STATUS_AFTER = {"VolunteerReviewStarted": "under_review", "VolunteerApproved": "approved",
                 "VolunteerRejected": "rejected"}


class VolunteerList(Projection):
    name = "volunteer_list"
    ddl = """
    CREATE TABLE IF NOT EXISTS volunteer_list (
        volunteer_id  text PRIMARY KEY,
        status        text NOT NULL,
        name_masked   text NOT NULL,
        phone_masked  text NOT NULL,
        domains       text[] NOT NULL,
        community     text NOT NULL,
        street        text NOT NULL,
        district      text NOT NULL,
        city          text NOT NULL,
        applied_at    timestamptz NOT NULL,
        insured_until date,          -- the last day of the longest policy recorded
        erased        boolean NOT NULL DEFAULT false,
        version       integer NOT NULL
    );
    """ + "".join(f"""
    CREATE INDEX IF NOT EXISTS volunteer_list_{level} ON volunteer_list ({level}, applied_at DESC, volunteer_id DESC);"""
                  for level in LEVELS)

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        d, volunteer_id, version = event.data, event.subject, event.streamversion
        match event.event_name:
            case "VolunteerApplied":
                j = d["jurisdiction"]
                await conn.execute(
                    """INSERT INTO volunteer_list (volunteer_id, status, name_masked, phone_masked, domains, community,
                           street, district, city, applied_at, version)
                       VALUES ($1, 'submitted', $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING""",
                    volunteer_id, d["name_masked"], d["phone_masked"], list(d["domains"]), j["community"], j["street"],
                    j["district"], j["city"], dt.datetime.fromisoformat(d["at"]), version)
                return
            case "VolunteerInsured":
                await conn.execute(
                    "UPDATE volunteer_list SET insured_until = GREATEST(insured_until, $2) WHERE volunteer_id = $1",
                    volunteer_id, dt.date.fromisoformat(d["valid_to"]))
            case "VolunteerPersonalDataErased":
                await conn.execute("UPDATE volunteer_list SET erased = true WHERE volunteer_id = $1", volunteer_id)
        await conn.execute("UPDATE volunteer_list SET status = COALESCE($2, status), version = $3 WHERE volunteer_id = $1",
                           volunteer_id, _STATUS_AFTER.get(event.event_name), version)

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM volunteer_list")


_AT_EACH_LEVEL = "\n    UNION ALL ".join(
    f"""(SELECT volunteer_id FROM volunteer_list WHERE {level} = w.code
        AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR $4 = ANY(domains))
        AND (applied_at, volunteer_id) < ($5::timestamptz, $6::text)
     ORDER BY applied_at DESC, volunteer_id DESC LIMIT $2)""" for level in LEVELS)
_LIST = f"""SELECT * FROM volunteer_list WHERE volunteer_id IN (
    SELECT n.volunteer_id FROM unnest($1::text[]) AS w(code) CROSS JOIN LATERAL ({_AT_EACH_LEVEL}) n)
ORDER BY applied_at DESC, volunteer_id DESC LIMIT $2"""
FIRST_PAGE = (dt.datetime(9999, 1, 1, tzinfo=dt.UTC), "")


async def list_volunteers(conn: asyncpg.Connection, *, within: Collection[str], limit: int, status: str | None = None,
                          domain: str | None = None,
                          after: tuple[dt.datetime, str] = FIRST_PAGE) -> list[asyncpg.Record]:
    """Newest applications first inside any of the divisions `within`, after the cursor."""
    return await conn.fetch(_LIST, list(within), limit, status, domain, *after)

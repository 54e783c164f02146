"""Read model: the venue registry as a community lists it, the inspection sweep finds the overdue
ones, and the pre-incident picture finds the venue at an alarm's point.

Updated inline (in the append's transaction). A venue row is never deleted (its inspections and
hazards keep pointing at it): a deregistered venue keeps its row, with its status, and every
query about what is active repeats the partial indexes' predicate as literal text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.jurisdictions import bounding_box
from linkduty_shared.projections import Projection

from hazards.projections.hazard_list import LEVELS

ACTIVE = "status = 'active'"
# Inspections a sweep can escalate: active, below the top of the chain.
ESCALABLE = f"{ACTIVE} AND handling_level <> 'district'"


def _time(iso: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(iso) if iso else None


class VenueList(Projection):
    name = "venue_list"
    ddl = """
    CREATE TABLE IF NOT EXISTS venue_list (
        venue_id          text PRIMARY KEY,
        kind              text NOT NULL,
        name              text NOT NULL,
        address           text,
        lat               double precision NOT NULL,
        lon               double precision NOT NULL,
        grid              text NOT NULL,
        community         text NOT NULL,
        street            text NOT NULL,
        district          text NOT NULL,
        city              text NOT NULL,
        floor_area_m2     double precision,
        risk_class        text NOT NULL,
        status            text NOT NULL,   -- active | deregistered
        responsible_masked text,
        contact_masked    text,
        ledger_ref        text,
        registered_at     timestamptz NOT NULL,
        last_inspected_at timestamptz,
        last_inspection_id text,
        last_inspection_kind text,
        inspection_due_at timestamptz,     -- when its next inspection falls due (its kind's interval)
        handling_level    text NOT NULL,   -- who must see to an overdue inspection: community → street → district
        version           integer NOT NULL,
        updated_at        timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS venue_list_active_lat ON venue_list (lat) WHERE """ + ACTIVE + """;
    CREATE INDEX IF NOT EXISTS venue_list_due ON venue_list (inspection_due_at) WHERE """ + ESCALABLE + """;
    CREATE UNIQUE INDEX IF NOT EXISTS venue_list_ledger ON venue_list (street, ledger_ref)
        WHERE ledger_ref IS NOT NULL;
    """ + "".join(f"""
    CREATE INDEX IF NOT EXISTS venue_list_{level} ON venue_list ({level}, name, venue_id);"""
                  for level in LEVELS)

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        d, venue_id, version = event.data, event.subject, event.streamversion
        at = _time(d.get("at"))
        match event.event_name:
            case "VenueRegistered":
                j, loc = d["jurisdiction"], d["location"]
                await conn.execute(
                    """INSERT INTO venue_list (venue_id, kind, name, address, lat, lon, grid, community, street,
                           district, city, floor_area_m2, risk_class, status, responsible_masked, contact_masked,
                           ledger_ref, registered_at, inspection_due_at, handling_level, version, updated_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'active', $14, $15, $16, $17,
                           $18, 'community', $19, $17)
                       ON CONFLICT (venue_id) DO NOTHING""",
                    venue_id, d["kind"], d["name"], loc.get("address"), loc["lat"], loc["lon"], j["grid"],
                    j["community"], j["street"], j["district"], j["city"], d.get("floor_area_m2"), d["risk_class"],
                    d.get("responsible_masked"), d.get("contact_masked"), d.get("ledger_ref"), at,
                    _time(d.get("inspection_due_at")), version)
                return
            case "VenueDetailsChanged":
                c = d["changes"]
                loc, j = c.get("location") or {}, c.get("jurisdiction") or {}
                await conn.execute(
                    """UPDATE venue_list SET name = COALESCE($2, name), kind = COALESCE($3, kind),
                           floor_area_m2 = CASE WHEN $4 THEN $5 ELSE floor_area_m2 END,
                           address = CASE WHEN $6 THEN $7 ELSE address END,
                           lat = COALESCE($8, lat), lon = COALESCE($9, lon), grid = COALESCE($10, grid),
                           community = COALESCE($11, community), street = COALESCE($12, street),
                           district = COALESCE($13, district), city = COALESCE($14, city),
                           inspection_due_at = COALESCE($15, inspection_due_at)
                       WHERE venue_id = $1""",
                    venue_id, c.get("name"), c.get("kind"), "floor_area_m2" in c, c.get("floor_area_m2"),
                    "address" in c or "address" in loc, c.get("address", loc.get("address")), loc.get("lat"),
                    loc.get("lon"), j.get("grid"), j.get("community"), j.get("street"), j.get("district"),
                    j.get("city"), _time(c.get("inspection_due_at")))
            case "VenueContactsChanged":
                await conn.execute(
                    "UPDATE venue_list SET responsible_masked = $2, contact_masked = $3 WHERE venue_id = $1",
                    venue_id, d.get("responsible_masked"), d.get("contact_masked"))
            case "VenueRiskClassified":
                await conn.execute("UPDATE venue_list SET risk_class = $2 WHERE venue_id = $1", venue_id,
                                   d["risk_class"])
            case "VenueDeregistered":
                await conn.execute("UPDATE venue_list SET status = 'deregistered' WHERE venue_id = $1", venue_id)
            case "VenueInspected":
                # Inspected: back to the community, with its next due date (an escalation was for the last one).
                await conn.execute(
                    """UPDATE venue_list SET last_inspected_at = GREATEST(last_inspected_at, $2),
                           last_inspection_id = CASE WHEN last_inspected_at IS NULL OR $2 >= last_inspected_at
                                                     THEN $3 ELSE last_inspection_id END,
                           last_inspection_kind = CASE WHEN last_inspected_at IS NULL OR $2 >= last_inspected_at
                                                       THEN $4 ELSE last_inspection_kind END,
                           inspection_due_at = $5, handling_level = 'community'
                       WHERE venue_id = $1""",
                    venue_id, _time(d["inspected_at"]), d["inspection_id"], d["inspection_kind"],
                    _time(d["inspection_due_at"]))
            case "VenueInspectionEscalated":
                await conn.execute(
                    "UPDATE venue_list SET handling_level = $2, inspection_due_at = $3 WHERE venue_id = $1",
                    venue_id, d["to_level"], _time(d["due_at"]))
        await conn.execute("UPDATE venue_list SET version = $2, updated_at = GREATEST(updated_at, $3) "
                           "WHERE venue_id = $1", venue_id, version, at)

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM venue_list")


# ---- queries ----------------------------------------------------------------------------------

_NEAR = f"""SELECT * FROM venue_list WHERE {ACTIVE} AND lat BETWEEN $1 AND $2 AND lon BETWEEN $3 AND $4
    LIMIT 200"""


async def active_venues_near(conn: asyncpg.Connection, lat: float, lon: float,
                             radius_m: float) -> list[asyncpg.Record]:
    """Active venues in the box around the point (the caller measures the distance)."""
    return await conn.fetch(_NEAR, *bounding_box(lat, lon, radius_m))


async def venue_row(conn: asyncpg.Connection, venue_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM venue_list WHERE venue_id = $1", venue_id)


_OVERDUE = f"""SELECT venue_id FROM venue_list WHERE {ESCALABLE} AND inspection_due_at <= $1
    ORDER BY inspection_due_at, venue_id LIMIT $2"""


async def overdue_venues(conn: asyncpg.Connection, now: dt.datetime, limit: int = 100) -> list[str]:
    """Active venues whose inspection fell due by `now`, below the top of the chain, the longest
    overdue first: candidates for the sweep (the aggregate decides again)."""
    return [r["venue_id"] for r in await conn.fetch(_OVERDUE, now, limit)]


_LIST_AT_EACH_LEVEL = "\n        UNION ALL ".join(
    f"""(SELECT venue_id FROM venue_list WHERE {level} = w.code
            AND ($3::text[] IS NULL OR kind = ANY($3)) AND ($4::text IS NULL OR status = $4)
            AND ($5::timestamptz IS NULL OR inspection_due_at <= $5)
            AND (name, venue_id) > ($6::text, $7::text)
         ORDER BY name, venue_id LIMIT $2)""" for level in LEVELS)
_LIST = f"""SELECT * FROM venue_list WHERE venue_id IN (
    SELECT n.venue_id FROM unnest($1::text[]) AS w(code) CROSS JOIN LATERAL (
        {_LIST_AT_EACH_LEVEL}) n)
ORDER BY name, venue_id LIMIT $2"""


async def list_venues(conn: asyncpg.Connection, *, within: list[str], limit: int,
                      kinds: Collection[str] | None = None, status: str | None = "active",
                      due_by: dt.datetime | None = None, after: tuple[str, str] = ("", "")) -> list[asyncpg.Record]:
    """Venues inside any of the divisions `within`, by name, after the cursor (name, venue_id);
    of these kinds (None: any), this status (None: any) and, with `due_by`, only those whose
    inspection falls due by then (overdue, when `due_by` is now)."""
    return await conn.fetch(_LIST, within, limit, None if kinds is None else list(kinds), status, due_by, *after)

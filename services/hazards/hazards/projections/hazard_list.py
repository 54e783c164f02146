"""Read model: hazards as a centre lists them, a reporter finds their own, and the intake's
duplicate and recurrence searches ask.

Updated inline (in the append's transaction), so the next report sees the hazard the previous
one opened a moment ago. Nothing is deleted (lists, reports and recurrences read closed
hazards), so every query is shaped to cost what it returns (services/README.md, "What grows with
time"): the open and the fixed hazards are searched through partial indexes whose predicates the
queries repeat as literal text (a generic plan can prove them), and "newest first inside these
divisions" walks one (level, reported_at, hazard_id) index per level and code, stopping at the
page size, from the page's cursor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import asyncpg

from linkduty_shared.contracts.hazards import STATUS_AFTER_EVENT
from linkduty_shared.events.envelope import Envelope
from linkduty_shared.jurisdictions import bounding_box
from linkduty_shared.projections import Projection

from hazards.domain.rules import Sighting
from hazards.domain.values import CLOSED_STATUSES, OPEN_STATUSES

LEVELS = ("grid", "community", "street", "district", "city")


def _status_in(statuses) -> str:
    return "status IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(statuses)))


OPEN = _status_in(OPEN_STATUSES)
FIXED = _status_in(CLOSED_STATUSES)
# The hazards a deadline can escalate: below the top of the chain, waiting on triage or on the fix.
BELOW_THE_TOP = "handling_level <> 'district'"
UNTRIAGED = f"status = 'reported' AND {BELOW_THE_TOP}"
RECTIFYING = f"status = 'rectifying' AND {BELOW_THE_TOP}"


def _time(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


class HazardList(Projection):
    name = "hazard_list"
    ddl = """
    CREATE TABLE IF NOT EXISTS hazard_list (
        hazard_id      text PRIMARY KEY,
        status         text NOT NULL,
        category       text NOT NULL,
        severity       text NOT NULL,
        source         text NOT NULL,
        lat            double precision NOT NULL,
        lon            double precision NOT NULL,
        venue_id       text,
        grid           text NOT NULL,
        community      text NOT NULL,
        street         text NOT NULL,
        district       text NOT NULL,
        city           text NOT NULL,
        handling_level text NOT NULL,
        reported_at    timestamptz NOT NULL,
        triage_due_at  timestamptz NOT NULL,
        rectification_due_at timestamptz,
        closed_at      timestamptz,
        reinspection_due_at timestamptz,
        reporters      integer NOT NULL,
        failures       integer NOT NULL,
        assignee_kind  text,
        assignee_id    text,
        merged_into    text,
        recurrence_of  text,
        version        integer NOT NULL,
        updated_at     timestamptz,  -- the last event's time
        description    text,         -- as recorded (phone and ID numbers masked)
        address        text,
        status_note    text          -- the note (or rejection message) of the event that set the status
    );
    -- Tables made before these columns get them here; their older rows keep NULLs until the
    -- projection is rebuilt (readers fall back: updated_at to reported_at).
    ALTER TABLE hazard_list ADD COLUMN IF NOT EXISTS updated_at timestamptz,
        ADD COLUMN IF NOT EXISTS description text, ADD COLUMN IF NOT EXISTS address text,
        ADD COLUMN IF NOT EXISTS status_note text;
    CREATE INDEX IF NOT EXISTS hazard_list_open ON hazard_list (lat) WHERE """ + OPEN + """;
    CREATE INDEX IF NOT EXISTS hazard_list_fixed ON hazard_list (category, lat) WHERE """ + FIXED + """;
    CREATE INDEX IF NOT EXISTS hazard_list_fixed_venue ON hazard_list (venue_id, category) WHERE """ + FIXED + """;
    CREATE INDEX IF NOT EXISTS hazard_list_venue ON hazard_list (venue_id, reported_at DESC) WHERE venue_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS hazard_list_untriaged_due ON hazard_list (triage_due_at) WHERE """ + UNTRIAGED + """;
    CREATE INDEX IF NOT EXISTS hazard_list_rectifying_due ON hazard_list (rectification_due_at)
        WHERE """ + RECTIFYING + """;
    """ + "".join(f"""
    CREATE INDEX IF NOT EXISTS hazard_list_{level} ON hazard_list ({level}, reported_at DESC, hazard_id DESC);"""
                  for level in LEVELS)

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        d, hazard_id, version = event.data, event.subject, event.streamversion
        status = STATUS_AFTER_EVENT.get(event.event_name)
        match event.event_name:
            case "HazardReported":
                j = d["jurisdiction"]
                await conn.execute(
                    """INSERT INTO hazard_list (hazard_id, status, category, severity, source, lat, lon, venue_id,
                           grid, community, street, district, city, handling_level, reported_at, triage_due_at,
                           reporters, failures, version, updated_at, description, address)
                       VALUES ($1, 'reported', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'community', $13, $14,
                           1, 0, $15, $13, $16, $17)
                       ON CONFLICT (hazard_id) DO NOTHING""",
                    hazard_id, d["category"], d["severity"], d["source"], d["location"]["lat"], d["location"]["lon"],
                    d.get("venue_id"), j["grid"], j["community"], j["street"], j["district"], j["city"],
                    _time(d["at"]), _time(d["triage_due_at"]), version, d["description"], d["location"].get("address"))
                return
            case "RecurrenceFlagged":
                await conn.execute("UPDATE hazard_list SET recurrence_of = $2 WHERE hazard_id = $1",
                                   hazard_id, d["previous_hazard_id"])
            case "HazardMerged":
                await conn.execute("UPDATE hazard_list SET merged_into = $2 WHERE hazard_id = $1",
                                   hazard_id, d["into_hazard_id"])
            case "DuplicateMerged":
                await conn.execute("UPDATE hazard_list SET reporters = reporters + $2 WHERE hazard_id = $1",
                                   hazard_id, d["reporters"])
            case "HazardAccepted":
                await conn.execute("UPDATE hazard_list SET severity = $2 WHERE hazard_id = $1", hazard_id,
                                   d["severity"])
            case "HazardAssigned":
                await conn.execute(
                    """UPDATE hazard_list SET assignee_kind = $2, assignee_id = $3, rectification_due_at = $4
                       WHERE hazard_id = $1""", hazard_id, d["assignee_kind"], d["assignee_id"], _time(d["due_at"]))
            case "RectificationFailed":
                await conn.execute(
                    "UPDATE hazard_list SET failures = $2, rectification_due_at = $3 WHERE hazard_id = $1",
                    hazard_id, d["failures"], _time(d["due_at"]))
            case "RectificationVerified" | "HazardFixedOnSpot" | "HazardResolvedAtSource":
                await conn.execute("UPDATE hazard_list SET closed_at = $2 WHERE hazard_id = $1", hazard_id,
                                   _time(d["at"]))
            case "ReinspectionScheduled":
                await conn.execute("UPDATE hazard_list SET reinspection_due_at = $2 WHERE hazard_id = $1", hazard_id,
                                   _time(d["due_at"]))
            case "ReinspectionConfirmed":
                await conn.execute("UPDATE hazard_list SET reinspection_due_at = NULL WHERE hazard_id = $1", hazard_id)
            case "HazardReopened":
                await conn.execute(
                    """UPDATE hazard_list SET closed_at = NULL, reinspection_due_at = NULL, rectification_due_at = $2
                       WHERE hazard_id = $1""", hazard_id, _time(d["due_at"]))
            case "HazardEscalated":
                # The escalation moves the deadline it was for (the level above has a window of its own).
                column = {"triage": "triage_due_at", "rectification": "rectification_due_at"}.get(d.get("deadline"))
                if column and d.get("due_at"):
                    await conn.execute(f"UPDATE hazard_list SET handling_level = $2, {column} = $3 WHERE hazard_id = $1",
                                       hazard_id, d["to_level"], _time(d["due_at"]))
                else:
                    await conn.execute("UPDATE hazard_list SET handling_level = $2 WHERE hazard_id = $1", hazard_id,
                                       d["to_level"])
        # An event that sets the status sets its note too (none: NULL), so the note is always the current status's.
        note = (d.get("note") or d.get("message")) if status is not None else None
        await conn.execute(
            """UPDATE hazard_list SET status = COALESCE($2, status), version = $3,
                   updated_at = GREATEST(updated_at, $4), status_note = CASE WHEN $2::text IS NULL THEN status_note
                                                                            ELSE $5 END
               WHERE hazard_id = $1""", hazard_id, status, version, _time(d["at"]) if d.get("at") else None, note)

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM hazard_list")


def _sighting(row: asyncpg.Record) -> Sighting:
    return Sighting(row["hazard_id"], row["category"], row["status"], row["lat"], row["lon"], row["venue_id"],
                    row["closed_at"])


_SIGHTING = "hazard_id, category, status, lat, lon, venue_id, closed_at"
_OPEN_NEAR = f"""SELECT {_SIGHTING} FROM hazard_list
   WHERE {OPEN} AND lat BETWEEN $1 AND $2 AND lon BETWEEN $3 AND $4 LIMIT 200"""
# The same category fixed since $2: at the same venue, or in the box around the point.
_FIXED_NEAR = f"""SELECT {_SIGHTING} FROM hazard_list
   WHERE {FIXED} AND category = $1 AND closed_at >= $2 AND lat BETWEEN $3 AND $4 AND lon BETWEEN $5 AND $6
   UNION
   SELECT {_SIGHTING} FROM hazard_list
   WHERE {FIXED} AND venue_id = $7 AND category = $1 AND closed_at >= $2"""


async def open_near(conn: asyncpg.Connection, lat: float, lon: float, radius_m: float) -> list[Sighting]:
    """Open hazards in the box around the point (the rules then measure): at most 200, since a
    box of 50 m holding more open hazards than that is a list for triage, not a duplicate search."""
    return [_sighting(r) for r in await conn.fetch(_OPEN_NEAR, *bounding_box(lat, lon, radius_m))]


async def fixed_near(conn: asyncpg.Connection, *, category: str, lat: float, lon: float, venue_id: str | None,
                     radius_m: float, since: dt.datetime) -> list[Sighting]:
    """Hazards of `category` fixed since `since` at the venue or in the box around the point."""
    rows = await conn.fetch(_FIXED_NEAR, category, since, *bounding_box(lat, lon, radius_m), venue_id)
    return [_sighting(r) for r in rows]


async def hazards_at_venue(conn: asyncpg.Connection, venue_id: str, limit: int) -> list[asyncpg.Record]:
    """The venue's hazards, newest first, at most `limit`."""
    return await conn.fetch("SELECT * FROM hazard_list WHERE venue_id = $1 ORDER BY reported_at DESC LIMIT $2",
                            venue_id, limit)


async def chains_of(conn: asyncpg.Connection, hazard_ids: list[str]) -> dict[str, tuple[str, ...]]:
    """Each hazard's division chain (who may see it), for the ids the read model has."""
    rows = await conn.fetch(f"SELECT hazard_id, {', '.join(LEVELS)} FROM hazard_list WHERE hazard_id = ANY($1)",
                            hazard_ids)
    return {r["hazard_id"]: tuple(r[level] for level in LEVELS) for r in rows}


# ---- overdue, for the deadline sweep ----------------------------------------------------------
# Each half walks its partial index from the oldest deadline and stops at the batch size: the
# cost is the overdue hazards returned, however many closed ones the table holds. The predicates
# are the indexes' own, as literal text, so that the generic plan of a prepared statement can use
# them too.

_OVERDUE = f"""SELECT hazard_id, due FROM (
    (SELECT hazard_id, triage_due_at AS due FROM hazard_list WHERE {UNTRIAGED} AND triage_due_at <= $1
     ORDER BY triage_due_at LIMIT $2)
    UNION ALL
    (SELECT hazard_id, rectification_due_at FROM hazard_list WHERE {RECTIFYING} AND rectification_due_at <= $1
     ORDER BY rectification_due_at LIMIT $2)) o
ORDER BY due, hazard_id LIMIT $2"""


async def overdue_hazards(conn: asyncpg.Connection, now: dt.datetime, limit: int = 100) -> list[str]:
    """Ids of hazards whose triage or rectification deadline has passed at `now` and that are
    below the top of the chain, the longest overdue first, at most `limit`. Candidates only: the
    aggregate decides again on its own state (`Hazard.overdue`)."""
    return [r["hazard_id"] for r in await conn.fetch(_OVERDUE, now, limit)]


# ---- lists, newest first, a page at a time ------------------------------------------------------
# A page starts after its cursor (reported_at, hazard_id); the first page's cursor lies after
# every hazard. Each division code at each level gives its newest `limit` after the cursor by
# that level's index; the union holds the page (a hazard inside two of the codes counts once).

_FILTERS = """($3::text[] IS NULL OR status = ANY($3)) AND ($4::text[] IS NULL OR category = ANY($4))
              AND (reported_at, hazard_id) < ($5::timestamptz, $6::text)
              AND ($7::timestamptz IS NULL OR reported_at >= $7)"""
_PAGE_AT_EACH_LEVEL = "\n        UNION ALL ".join(
    f"""(SELECT hazard_id FROM hazard_list WHERE {level} = w.code AND {_FILTERS}
         ORDER BY reported_at DESC, hazard_id DESC LIMIT $2)""" for level in LEVELS)
_LIST = f"""SELECT * FROM hazard_list WHERE hazard_id IN (
    SELECT n.hazard_id FROM unnest($1::text[]) AS w(code) CROSS JOIN LATERAL (
        {_PAGE_AT_EACH_LEVEL}) n)
ORDER BY reported_at DESC, hazard_id DESC LIMIT $2"""
_MINE = """SELECT h.*, r.following_at FROM hazard_reporters r JOIN hazard_list h USING (hazard_id)
    WHERE r.subject = $1 AND (r.following_at, r.hazard_id) < ($2::timestamptz, $3::text)
    ORDER BY r.following_at DESC, r.hazard_id DESC LIMIT $4"""
FIRST_PAGE = (dt.datetime.max.replace(tzinfo=dt.UTC), "")


async def list_hazards(conn: asyncpg.Connection, *, within: list[str], statuses: Collection[str] | None = None,
                       categories: Collection[str] | None = None, limit: int,
                       after: tuple[dt.datetime, str] = FIRST_PAGE,
                       since: dt.datetime | None = None) -> list[asyncpg.Record]:
    """Hazards inside any of the divisions `within`, newest first, after the cursor `after` and
    reported at `since` or later; of these statuses and categories (None: any)."""
    return await conn.fetch(_LIST, within, limit, _listed(statuses), _listed(categories), *after, since)


def _listed(values: Collection[str] | None) -> list[str] | None:
    return None if values is None else list(values)


async def hazards_by_id(conn: asyncpg.Connection, hazard_ids: Collection[str]) -> list[asyncpg.Record]:
    """The rows of these hazards (those the read model has), newest first; the caller checks who may see them."""
    return await conn.fetch(
        "SELECT * FROM hazard_list WHERE hazard_id = ANY($1) ORDER BY reported_at DESC, hazard_id DESC",
        list(hazard_ids))


async def list_followed(conn: asyncpg.Connection, *, subject: str, limit: int,
                        after: tuple[dt.datetime, str] = FIRST_PAGE) -> list[asyncpg.Record]:
    """The hazards `subject` follows (reported, or followed since a merge), newest first."""
    return await conn.fetch(_MINE, subject, *after, limit)


# The pre-incident picture: open hazards in the box around an alarm's point, or at the venues it
# may be at, each with the deadline it waits on now (triage, or the fix once assigned).
_OPEN_AROUND = f"""SELECT hazard_id, category, severity, status, description, lat, lon, venue_id, reported_at,
       CASE status WHEN 'reported' THEN triage_due_at WHEN 'rectifying' THEN rectification_due_at END AS due_at
   FROM hazard_list WHERE hazard_id IN (
       (SELECT hazard_id FROM hazard_list WHERE {OPEN} AND lat BETWEEN $1 AND $2 AND lon BETWEEN $3 AND $4
        ORDER BY (lat - ($1 + $2) / 2) ^ 2 + (lon - ($3 + $4) / 2) ^ 2 LIMIT $6)
       UNION
       (SELECT hazard_id FROM hazard_list WHERE venue_id = ANY($5::text[]) AND {OPEN} LIMIT $6))"""


async def open_around(conn: asyncpg.Connection, lat: float, lon: float, radius_m: float, venue_ids: list[str],
                      limit: int = 200) -> list[asyncpg.Record]:
    """Open hazards in the box around the point (the nearest `limit`, by degrees: the caller
    measures) or at these venues (at most `limit`)."""
    return await conn.fetch(_OPEN_AROUND, *bounding_box(lat, lon, radius_m), venue_ids, limit)

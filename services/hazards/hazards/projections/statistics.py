"""Read model: hazard and inspection statistics (GET /v1/reports/hazards), as counters.

Updated inline, in the append's transaction, so a report counts what has been committed. Nothing
here is read by scanning hazards: each figure is a counter cell keyed (level, division code,
grain, period, category or venue kind), one cell per level of the jurisdiction (grid … city), by
day and by month (`domain.statistics.cells`), so a division's figure for a period is a range read
of at most ~12 month cells and ~60 day cells per key (`read_ranges`), whatever the number of
hazards: the cost is O(periods × divisions × keys), never O(hazards).

- `HazardStatistics` (hazard streams, after HazardList): the report-day cohort's counts and the
  rectification-time histogram. Its per-hazard facts (`hazard_stat_facts`: the report's day,
  category and divisions, and which figures the hazard has been counted in) let a later event
  find its cells and count each hazard once per figure, without reading another read model.
- `VenueStatistics` (venue streams): inspections due, by the due date's day.
- `InspectionStatistics` (inspection streams): inspections done and hazards found, by the
  inspection's day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import asyncpg

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.projections import Projection

from hazards.domain.statistics import (
    ALL,
    FOUND_RESULTS,
    HAZARD_COUNTS,
    INSPECTION_COUNTS,
    LEVELS,
    Tally,
    cells,
    local_day,
    rectification_bucket,
)

Cell = tuple[str, str, str, dt.date, str]


def _time(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def _key(key: str, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return (("level", "text"), ("code", "text"), ("grain", "text"), ("period", "date"), (key, "text"), *extra)


HAZARD_KEY = _key("category")
HOURS_KEY = _key("category", ("hours", "int"))
INSPECTION_KEY = _key("venue_kind")


async def _add(conn: asyncpg.Connection, table: str, key: Sequence[tuple[str, str]], rows: Sequence[tuple],
               deltas: Mapping[str, int]) -> None:
    """Add `deltas` (column → amount) to each row's counters, creating the rows missing: one
    statement for all of an event's cells (10 to 20). The table, key and column names are this
    module's constants, never input; the rows' keys are distinct (one per level, grain, key)."""
    names = sorted(deltas)
    columns = [list(column) for column in zip(*rows, strict=True)]
    key_names = ", ".join(k for k, _ in key)
    n = len(key)
    sql = (f"INSERT INTO {table} AS s ({key_names}, {', '.join(names)}) "
           f"SELECT {', '.join(f'c.{k}' for k, _ in key)}, {', '.join(f'${n + 1 + i}::int' for i in range(len(names)))} "
           f"FROM unnest({', '.join(f'${i + 1}::{t}[]' for i, (_, t) in enumerate(key))}) AS c({key_names}) "
           f"ON CONFLICT ({key_names}) DO UPDATE SET " + ", ".join(f"{c} = s.{c} + EXCLUDED.{c}" for c in names))
    await conn.execute(sql, *columns, *(deltas[c] for c in names))


def _counters(names: Iterable[str]) -> str:
    return ",\n        ".join(f"{n} integer NOT NULL DEFAULT 0" for n in names)


# Figures an event counts a hazard in, each at most once per hazard (the first such event).
_FIGURES_OF = {
    "RecurrenceFlagged": ("recurrences",), "HazardMerged": ("merged",), "HazardAccepted": ("accepted",),
    "HazardRejected": ("rejected",), "HazardEscalated": ("overdue",), "HazardReopened": ("reopened",),
    "RectificationVerified": ("closed",), "HazardFixedOnSpot": ("fixed_on_spot", "closed"),
}
_LEVEL_COLUMNS = ", ".join(LEVELS)


class HazardStatistics(Projection):
    name = "hazard_statistics"
    ddl = f"""
    CREATE TABLE IF NOT EXISTS hazard_stat_facts (
        hazard_id   text PRIMARY KEY,
        reported_at timestamptz NOT NULL,
        report_day  date NOT NULL,  -- in the city's local time: the cohort it counts in
        category    text NOT NULL,
        grid text NOT NULL, community text NOT NULL, street text NOT NULL, district text NOT NULL, city text NOT NULL,
        counted     text[] NOT NULL DEFAULT '{{}}'  -- the figures it has been counted in
    );
    CREATE TABLE IF NOT EXISTS hazard_stats (
        level text NOT NULL, code text NOT NULL, grain text NOT NULL, period date NOT NULL,
        category text NOT NULL,  -- '{ALL}': every category
        {_counters(HAZARD_COUNTS)},
        PRIMARY KEY (level, code, grain, period, category)
    );
    CREATE TABLE IF NOT EXISTS hazard_rectification_hours (
        level text NOT NULL, code text NOT NULL, grain text NOT NULL, period date NOT NULL, category text NOT NULL,
        hours  integer NOT NULL,  -- the bucket (domain.statistics.rectification_bucket)
        closed integer NOT NULL DEFAULT 0,
        -- `closed` in the key's index: a year's city report reads ~60,000 of these rows, and an
        -- index-only scan reads them 9× faster than the heap can (bench hazards, part 3)
        PRIMARY KEY (level, code, grain, period, category, hours) INCLUDE (closed)
    );
    """

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        d, hazard_id = event.data, event.subject
        if event.event_name == "HazardReported":
            at = _time(d["at"])
            j = d["jurisdiction"]
            inserted = await conn.fetchval(
                f"""INSERT INTO hazard_stat_facts (hazard_id, reported_at, report_day, category, {_LEVEL_COLUMNS},
                        counted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '{{reported}}')
                    ON CONFLICT (hazard_id) DO NOTHING RETURNING true""",
                hazard_id, at, local_day(at), d["category"], *(j[level] for level in LEVELS))
            if inserted:
                await _add(conn, "hazard_stats", HAZARD_KEY, cells(local_day(at), d["category"], j), {"reported": 1})
            return
        for figure in _FIGURES_OF.get(event.event_name, ()):
            fact = await conn.fetchrow(
                f"""UPDATE hazard_stat_facts SET counted = counted || $2::text
                    WHERE hazard_id = $1 AND NOT ($2 = ANY(counted))
                    RETURNING reported_at, report_day, category, {_LEVEL_COLUMNS}""", hazard_id, figure)
            if fact is None:  # counted already (a second close after a reopening), or reported before this model
                continue
            where = cells(fact["report_day"], fact["category"], {level: fact[level] for level in LEVELS})
            await _add(conn, "hazard_stats", HAZARD_KEY, where, {figure: 1})
            if figure == "closed":
                hours = rectification_bucket(_time(d["at"]) - fact["reported_at"])
                await _add(conn, "hazard_rectification_hours", HOURS_KEY, [(*cell, hours) for cell in where],
                           {"closed": 1})

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM hazard_rectification_hours; DELETE FROM hazard_stats; "
                           "DELETE FROM hazard_stat_facts")


INSPECTION_DDL = f"""
    CREATE TABLE IF NOT EXISTS inspection_stats (
        level text NOT NULL, code text NOT NULL, grain text NOT NULL, period date NOT NULL,
        venue_kind text NOT NULL,  -- '{ALL}': every kind
        {_counters(INSPECTION_COUNTS)},
        PRIMARY KEY (level, code, grain, period, venue_kind)
    );
    CREATE TABLE IF NOT EXISTS venue_stat_facts (
        venue_id text PRIMARY KEY,
        kind     text NOT NULL,
        grid text NOT NULL, community text NOT NULL, street text NOT NULL, district text NOT NULL, city text NOT NULL,
        due_at   timestamptz  -- its pending inspection's due date, counted as due on its day
    );
    """


def _jurisdiction(row: Mapping) -> dict[str, str]:
    return {level: row[level] for level in LEVELS}


class VenueStatistics(Projection):
    """Inspections due, from the venue streams: a due date (VenueRegistered's or VenueInspected's
    `inspection_due_at`) is one inspection due on its local day, under the venue's kind and
    divisions. The venue's pending due date (the latest set) moves when VenueDetailsChanged
    changes it, or the venue's kind or jurisdiction; one passed before stays where it fell. A
    venue deregistered before its pending due date withdraws it."""

    name = "venue_statistics"
    ddl = INSPECTION_DDL

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        d, venue_id = event.data, event.subject
        match event.event_name:
            case "VenueRegistered":
                due = _time(d["inspection_due_at"]) if d.get("inspection_due_at") else None
                j = d["jurisdiction"]
                inserted = await conn.fetchval(
                    f"""INSERT INTO venue_stat_facts (venue_id, kind, {_LEVEL_COLUMNS}, due_at)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (venue_id) DO NOTHING RETURNING true""",
                    venue_id, d["kind"], *(j[level] for level in LEVELS), due)
                if inserted and due is not None:
                    await self._due(conn, due, d["kind"], j, +1)
            case "VenueInspected":
                fact = await self._fact(conn, venue_id)
                if fact is not None:
                    due = _time(d["inspection_due_at"])
                    await conn.execute("UPDATE venue_stat_facts SET due_at = $2 WHERE venue_id = $1", venue_id, due)
                    await self._due(conn, due, fact["kind"], _jurisdiction(fact), +1)
            case "VenueDetailsChanged":
                changes = d.get("changes") or {}
                fact = await self._fact(conn, venue_id)
                if fact is None or not ({"kind", "jurisdiction", "inspection_due_at"} & set(changes)):
                    return
                kind = changes.get("kind") or fact["kind"]
                j = changes.get("jurisdiction") or _jurisdiction(fact)
                due = fact["due_at"]
                if "inspection_due_at" in changes:  # a new due date, or none (null)
                    due = _time(changes["inspection_due_at"]) if changes["inspection_due_at"] else None
                if fact["due_at"] is not None:
                    await self._due(conn, fact["due_at"], fact["kind"], _jurisdiction(fact), -1)
                if due is not None:
                    await self._due(conn, due, kind, j, +1)
                await conn.execute(
                    f"""UPDATE venue_stat_facts SET kind = $2, due_at = $3,
                            ({_LEVEL_COLUMNS}) = ($4, $5, $6, $7, $8) WHERE venue_id = $1""",
                    venue_id, kind, due, *(j[level] for level in LEVELS))
            case "VenueDeregistered":
                fact = await self._fact(conn, venue_id)
                if fact is not None and fact["due_at"] is not None and fact["due_at"] > _time(d["at"]):
                    await self._due(conn, fact["due_at"], fact["kind"], _jurisdiction(fact), -1)
                    await conn.execute("UPDATE venue_stat_facts SET due_at = NULL WHERE venue_id = $1", venue_id)

    @staticmethod
    async def _fact(conn: asyncpg.Connection, venue_id: str) -> asyncpg.Record | None:
        return await conn.fetchrow("SELECT * FROM venue_stat_facts WHERE venue_id = $1", venue_id)

    @staticmethod
    async def _due(conn: asyncpg.Connection, due: dt.datetime, kind: str, jurisdiction: Mapping[str, str],
                   delta: int) -> None:
        await _add(conn, "inspection_stats", INSPECTION_KEY, cells(local_day(due), kind, jurisdiction),
                   {"inspections_due": delta})

    async def reset(self, conn: asyncpg.Connection) -> None:
        # The due counts only: inspections done are InspectionStatistics', rebuilt from their own streams.
        await conn.execute("UPDATE inspection_stats SET inspections_due = 0; DELETE FROM venue_stat_facts")


class InspectionStatistics(Projection):
    """Inspections done and the hazards they found (items failed or fixed on the spot), from the
    inspection streams, on the inspection's local day, under the venue's kind and divisions as
    the inspection recorded them."""

    name = "inspection_statistics"
    ddl = INSPECTION_DDL

    async def apply(self, conn: asyncpg.Connection, event: Envelope) -> None:
        if event.event_name != "InspectionRecorded":
            return
        d = event.data
        found = sum(1 for item in d.get("items") or () if item.get("result") in FOUND_RESULTS)
        await _add(conn, "inspection_stats", INSPECTION_KEY,
                   cells(local_day(_time(d["at"])), d["venue_kind"], d["jurisdiction"]),
                   {"inspections_done": 1, "hazards_found": found})

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("UPDATE inspection_stats SET inspections_done = 0, hazards_found = 0")


# ---- the report's reads ---------------------------------------------------------------------------
# `ranges` are (which, grain, first period, last period): which = 0 for the period asked, 1 for
# the year before, so that both are one statement. Each range is an index range of the primary
# key (level, code, grain, period, …) per code; `only_all` keeps the ALL cells (children's totals).

Range = tuple[int, str, dt.date, dt.date]
_RANGES = """unnest($3::int[], $4::text[], $5::date[], $6::date[]) AS r(which, grain, lo, hi)"""


def _range_columns(ranges: Sequence[Range]) -> list[list]:
    return [list(column) for column in zip(*ranges, strict=True)]


def _sums(names: Iterable[str]) -> str:
    return ", ".join(f"sum(t.{n})::int AS {n}" for n in names)


_HAZARD_COUNTS = f"""SELECT r.which, t.code, t.category AS k, {_sums(HAZARD_COUNTS)}
    FROM {_RANGES} CROSS JOIN LATERAL (
        SELECT * FROM hazard_stats WHERE level = $1 AND code = ANY($2::text[]) AND grain = r.grain
            AND period BETWEEN r.lo AND r.hi AND ($7::boolean IS FALSE OR category = '{ALL}')) t
    GROUP BY r.which, t.code, t.category"""
_HOURS = f"""SELECT r.which, t.code, t.category AS k, t.hours, sum(t.closed)::int AS closed
    FROM {_RANGES} CROSS JOIN LATERAL (
        SELECT * FROM hazard_rectification_hours WHERE level = $1 AND code = ANY($2::text[]) AND grain = r.grain
            AND period BETWEEN r.lo AND r.hi AND ($7::boolean IS FALSE OR category = '{ALL}')) t
    GROUP BY r.which, t.code, t.category, t.hours"""
_INSPECTIONS = f"""SELECT r.which, t.code, t.venue_kind AS k, {_sums(INSPECTION_COUNTS)}
    FROM {_RANGES} CROSS JOIN LATERAL (
        SELECT * FROM inspection_stats WHERE level = $1 AND code = ANY($2::text[]) AND grain = r.grain
            AND period BETWEEN r.lo AND r.hi AND ($7::boolean IS FALSE OR venue_kind = '{ALL}')) t
    GROUP BY r.which, t.code, t.venue_kind"""

Tallies = dict[tuple[int, str, str], Tally]  # (which, code, key) → what its cells hold


async def read_tallies(conn: asyncpg.Connection, *, level: str, codes: Sequence[str], ranges: Sequence[Range],
                       only_all: bool) -> tuple[Tallies, Tallies]:
    """The hazards' tallies by (which, code, category) and the inspections' by (which, code,
    venue kind), summed over `ranges`, for the divisions `codes` of `level`."""
    args = (level, list(codes), *_range_columns(ranges), only_all)
    hazards: dict[tuple[int, str, str], tuple[dict, dict]] = {}
    async with conn.transaction(readonly=True):
        # A plan for these values each time: the generic plan a prepared statement falls back to
        # after five runs cannot see which grain and level it reads, and scanned 9× more (bench
        # hazards, part 3: a city's year went from 20 ms to 180 ms on its sixth run).
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        for row in await conn.fetch(_HAZARD_COUNTS, *args):
            hazards[(row["which"], row["code"], row["k"])] = ({n: row[n] for n in HAZARD_COUNTS}, {})
        for row in await conn.fetch(_HOURS, *args):
            counts, hours = hazards.setdefault((row["which"], row["code"], row["k"]), ({}, {}))
            hours[row["hours"]] = row["closed"]
        inspections = {(row["which"], row["code"], row["k"]): Tally({n: row[n] for n in INSPECTION_COUNTS}, {})
                       for row in await conn.fetch(_INSPECTIONS, *args)}
    return {k: Tally(c, h) for k, (c, h) in hazards.items()}, inspections

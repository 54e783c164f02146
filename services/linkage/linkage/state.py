"""Linkage's state in PostgreSQL (`state.sql`): what each alarm's centres were told, its
acknowledgement deadline, the units records waiting for it, what each fire hazard's centres were
told, and the next offset of every input partition. The router (`linkage.router`) decides on plain dicts; this module reads them for a
batch of records and writes back what changed, in the batch's transaction.

One partition of the input topics is routed by one transaction at a time: `lock_partitions`
takes a transaction-level advisory lock per partition number (an alarm's records share one on
both topics). A worker that still holds partitions the group gave to another (frozen past its
session, then woken) waits for the lock, then finds their offsets moved on and routes nothing
twice; a frozen worker's open transaction is ended by PostgreSQL
(`idle_in_transaction_session_timeout`), so it cannot hold the lock for its successor.
"""

from __future__ import annotations

import dataclasses
import zlib
from importlib import resources
from typing import Any

import asyncpg

DDL = resources.files("linkage").joinpath("state.sql").read_text()


def lock_space(consumer: str) -> int:
    """The first key of this consumer group's advisory locks (a signed 32-bit number)."""
    return zlib.crc32(consumer.encode()) - 2**31


async def lock_partitions(conn: asyncpg.Connection, consumer: str, partitions: list[int]) -> None:
    """Hold the routing lock of these partition numbers until the transaction ends (taken in
    ascending order, so two workers never wait on each other in a circle)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, p) FROM unnest($2::int[]) AS p",
                       lock_space(consumer), sorted(set(partitions)))


async def next_offsets(conn: asyncpg.Connection, consumer: str,
                       partitions: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The next offset to route of each (topic, partition); absent: none routed yet."""
    topics, numbers = zip(*sorted(partitions), strict=True) if partitions else ((), ())
    rows = await conn.fetch(
        "SELECT o.topic, o.partition, o.next_offset FROM linkage_offsets o"
        " JOIN unnest($2::text[], $3::int[]) AS p(topic, partition) USING (topic, partition)"
        " WHERE o.consumer = $1", consumer, list(topics), list(numbers))
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


@dataclasses.dataclass
class AlarmsState:
    """The entries of a batch's alarms, as read, then as the router changed them."""

    consumer: str
    entries: dict[str, dict[str, Any]]  # alarm id → entry (linkage.router)
    parked: dict[str, dict[str, Any]]  # alarm id → {"partition", "records"}
    changed_entries: set[str] = dataclasses.field(default_factory=set)
    changed_parked: set[str] = dataclasses.field(default_factory=set)  # absent from `parked`: delete
    deadlines: dict[str, dict[str, Any] | None] = dataclasses.field(default_factory=dict)  # None: delete
    contexts: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # alarm id → picture routed now

    @classmethod
    async def load(cls, conn: asyncpg.Connection, consumer: str, alarm_ids: set[str]) -> AlarmsState:
        if not alarm_ids:  # a poll of hazard records only
            return cls(consumer, {}, {})
        ids = sorted(alarm_ids)
        entries = await conn.fetch("SELECT alarm_id, entry FROM linkage_alarms WHERE consumer = $1 AND alarm_id = ANY($2)",
                                   consumer, ids)
        parked = await conn.fetch("SELECT alarm_id, waiting FROM linkage_parked WHERE consumer = $1 AND alarm_id = ANY($2)",
                                  consumer, ids)
        return cls(consumer, {r["alarm_id"]: r["entry"] for r in entries}, {r["alarm_id"]: r["waiting"] for r in parked})

    def set_entry(self, alarm_id: str, entry: dict[str, Any]) -> None:
        self.entries[alarm_id] = entry
        self.changed_entries.add(alarm_id)

    def set_parked(self, alarm_id: str, waiting: dict[str, Any] | None) -> None:
        if waiting is None:
            self.parked.pop(alarm_id, None)
        else:
            self.parked[alarm_id] = waiting
        self.changed_parked.add(alarm_id)

    def set_deadline(self, alarm_id: str, deadline: dict[str, Any] | None) -> None:
        self.deadlines[alarm_id] = deadline

    def set_context(self, alarm_id: str, envelope: dict[str, Any]) -> None:
        """The alarm's pre-incident picture, routed (envelope_json); the first one kept stands."""
        self.contexts.setdefault(alarm_id, envelope)

    async def contexts_of(self, conn: asyncpg.Connection, alarm_ids: set[str]) -> dict[str, dict[str, Any]]:
        """The pictures of these alarms: routed in this batch, or kept from an earlier one."""
        found = {a: self.contexts[a] for a in alarm_ids if a in self.contexts}
        missing = sorted(alarm_ids - set(found))
        if missing:
            rows = await conn.fetch("SELECT alarm_id, envelope FROM linkage_alarm_contexts WHERE consumer = $1"
                                    " AND alarm_id = ANY($2)", self.consumer, missing)
            found |= {r["alarm_id"]: r["envelope"] for r in rows}
        return found

    async def save(self, conn: asyncpg.Connection) -> None:
        consumer = self.consumer
        if self.changed_entries:
            await conn.executemany(
                "INSERT INTO linkage_alarms (consumer, alarm_id, entry, closed_at) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (consumer, alarm_id) DO UPDATE SET entry = excluded.entry, closed_at = excluded.closed_at",
                [(consumer, alarm_id, self.entries[alarm_id], self.entries[alarm_id].get("closed_at"))
                 for alarm_id in sorted(self.changed_entries)])
        kept = {alarm_id: d for alarm_id, d in self.deadlines.items() if d is not None}
        if kept:
            # A deadline set anew has not been asked for: the timer escalates it once it is due.
            await conn.executemany(
                "INSERT INTO linkage_deadlines (consumer, alarm_id, level, due_at) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (consumer, alarm_id) DO UPDATE SET level = excluded.level, due_at = excluded.due_at,"
                " asked_at = NULL", [(consumer, alarm_id, d["level"], d["due"]) for alarm_id, d in sorted(kept.items())])
        dropped = sorted(alarm_id for alarm_id, d in self.deadlines.items() if d is None)
        if dropped:
            await conn.execute("DELETE FROM linkage_deadlines WHERE consumer = $1 AND alarm_id = ANY($2)",
                               consumer, dropped)
        await save_parked(conn, consumer, {alarm_id: self.parked.get(alarm_id) for alarm_id in self.changed_parked})
        if self.contexts:
            await conn.executemany(
                "INSERT INTO linkage_alarm_contexts (consumer, alarm_id, envelope) VALUES ($1, $2, $3)"
                " ON CONFLICT (consumer, alarm_id) DO NOTHING",
                [(consumer, alarm_id, envelope) for alarm_id, envelope in sorted(self.contexts.items())])


@dataclasses.dataclass
class HazardsState:
    """The entries of a batch's hazards, as read, then as the router changed them. A poll with no
    hazards.events record reads and writes none of it."""

    consumer: str
    entries: dict[str, dict[str, Any]]  # hazard id → entry (linkage.router)
    changed: set[str] = dataclasses.field(default_factory=set)

    @classmethod
    async def load(cls, conn: asyncpg.Connection, consumer: str, hazard_ids: set[str]) -> HazardsState:
        if not hazard_ids:
            return cls(consumer, {})
        rows = await conn.fetch("SELECT hazard_id, entry FROM linkage_hazards WHERE consumer = $1 AND hazard_id = ANY($2)",
                                consumer, sorted(hazard_ids))
        return cls(consumer, {r["hazard_id"]: r["entry"] for r in rows})

    def set_entry(self, hazard_id: str, entry: dict[str, Any]) -> None:
        self.entries[hazard_id] = entry
        self.changed.add(hazard_id)

    async def save(self, conn: asyncpg.Connection) -> None:
        if self.changed:  # in id order, as alarms: two writers never wait on each other in a circle
            await conn.executemany(
                "INSERT INTO linkage_hazards (consumer, hazard_id, entry, closed_at) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (consumer, hazard_id) DO UPDATE SET entry = excluded.entry, closed_at = excluded.closed_at",
                [(self.consumer, hazard_id, self.entries[hazard_id], self.entries[hazard_id].get("closed_at"))
                 for hazard_id in sorted(self.changed)])


async def save_parked(conn: asyncpg.Connection, consumer: str, waiting: dict[str, dict[str, Any] | None]) -> None:
    """Write each alarm's parked records (None, or none left: delete them)."""
    kept = {alarm_id: w for alarm_id, w in waiting.items() if w and w["records"]}
    if kept:
        await conn.executemany(
            "INSERT INTO linkage_parked (consumer, alarm_id, waiting, parked_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (consumer, alarm_id) DO UPDATE SET waiting = excluded.waiting, parked_at = excluded.parked_at",
            [(consumer, alarm_id, w, min(r["parked_at"] for r in w["records"])) for alarm_id, w in sorted(kept.items())])
    gone = sorted(set(waiting) - set(kept))
    if gone:
        await conn.execute("DELETE FROM linkage_parked WHERE consumer = $1 AND alarm_id = ANY($2)", consumer, gone)


async def save_offsets(conn: asyncpg.Connection, consumer: str, offsets: dict[tuple[str, int], int]) -> None:
    await conn.executemany(
        "INSERT INTO linkage_offsets (consumer, topic, partition, next_offset) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (consumer, topic, partition) DO UPDATE SET next_offset = excluded.next_offset",
        [(consumer, topic, partition, offset) for (topic, partition), offset in sorted(offsets.items())])

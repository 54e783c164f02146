"""The timers, on linkage's state in PostgreSQL. Each tick does a bounded amount of work.

- `escalate_overdue_alarms` (every `timer_interval_s`) sends `EscalateAlarm`
  (contracts/commands.py) to `linkage.commands` for every overdue deadline, and again every
  `escalation_retry_s` until it takes effect: the alarms service records `AlarmEscalated`, which
  comes back through routing and sets the next level's deadline. A command has a deterministic id
  (alarm, level), so one sent twice (two workers, a crash before `asked_at` was written) changes
  nothing. A send Kafka refuses is tried again on the next tick.
- `forget_closed_alarms` (every `forget_scan_interval_s`) removes the alarms closed more than
  `closed_retention_s` ago: until then the records that follow a closure (units recalled, the
  dispatch ended) still reach its centres. `forget_finished_hazards` does the same for hazards
  rejected, merged or confirmed (nothing follows those; a redelivery within the window is still
  recognised).
- `drop_stale_parked_records` (every `timer_interval_s`) drops parked records older than
  `parked_max_age_s`: their alarm never reached linkage, or was forgotten before them. It logs
  one warning per tick. It takes the routing lock of the alarm's partition, as routing does.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import time

import asyncpg
from aiokafka import AIOKafkaProducer

from linkduty_shared.retention import purge_in_batches
from linkduty_shared.runtime import every, supervise, together

from linkage import state
from linkage.config import LinkageSettings
from linkage.consumers import Outgoing, is_transient
from linkage.router import Router
from linkage.unit_records import expire

log = logging.getLogger(__name__)
TIMER_BATCH = 100  # escalations sent, or alarms' parked records expired, per tick


class Timers:
    def __init__(self, settings: LinkageSettings, router: Router, pool: asyncpg.Pool,
                 producer: AIOKafkaProducer) -> None:
        self._settings = settings
        self._consumer = settings.app_id
        self._router = router
        self._pool = pool
        self._producer = producer

    async def run(self) -> None:
        settings = self._settings
        # each restarted on its own after a failure (PostgreSQL down)
        await together(*(supervise(f"{name} timer", lambda i=interval, j=job: every(i, j)) for name, interval, job in (
            ("escalation", settings.timer_interval_s, self.escalate_overdue_alarms),
            ("parked records expiry", settings.timer_interval_s, self.drop_stale_parked_records),
            ("closed alarms expiry", settings.forget_scan_interval_s, self.forget_closed_alarms),
            ("finished hazards expiry", settings.forget_scan_interval_s, self.forget_finished_hazards))))

    async def escalate_overdue_alarms(self) -> int:
        """Ask for the escalation of every overdue alarm not asked for lately; how many were asked."""
        now = time.time()
        due = await self._pool.fetch(
            "SELECT alarm_id, level, due_at FROM linkage_deadlines WHERE consumer = $1 AND due_at <= $2"
            " AND (asked_at IS NULL OR asked_at <= $2 - $3) ORDER BY due_at LIMIT $4",
            self._consumer, now, self._settings.escalation_retry_s, TIMER_BATCH)
        if not due:
            return 0
        at, commands = dt.datetime.now(dt.UTC), Outgoing()
        for row in due:  # key = subject = the alarm id
            commands.envelope(self._settings.commands_topic, self._router.escalation(row["alarm_id"], row["level"])
                              .envelope(time=at))
        try:
            await commands.send(self._producer)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("escalation of alarm(s) %s not sent (%s: %s): tried again next tick",
                        ", ".join(row["alarm_id"] for row in due[:20]), type(exc).__name__, exc)
            return 0
        # Only where the deadline is still the one escalated: routing may have set the next since.
        # In alarm id order, as routing writes them: two writers never wait on each other in a circle.
        await self._pool.executemany(
            "UPDATE linkage_deadlines SET asked_at = $4 WHERE consumer = $1 AND alarm_id = $2 AND due_at = $3",
            sorted((self._consumer, row["alarm_id"], row["due_at"], now) for row in due))
        return len(due)

    async def forget_closed_alarms(self) -> int:
        cutoff = time.time() - self._settings.closed_retention_s
        return await purge_in_batches(
            self._pool, "closed alarms (linkage)",
            "WITH gone AS (DELETE FROM linkage_alarms WHERE ctid = ANY(ARRAY(SELECT ctid FROM linkage_alarms"
            " WHERE consumer = $1 AND closed_at <= $2 LIMIT $3)) RETURNING alarm_id),"
            " pictures AS (DELETE FROM linkage_alarm_contexts c USING gone WHERE c.consumer = $1"
            " AND c.alarm_id = gone.alarm_id) SELECT count(*) FROM gone",
            self._consumer, cutoff, batch=TIMER_BATCH)

    async def forget_finished_hazards(self) -> int:
        cutoff = time.time() - self._settings.closed_retention_s
        return await purge_in_batches(
            self._pool, "finished hazards (linkage)",
            "WITH gone AS (DELETE FROM linkage_hazards WHERE ctid = ANY(ARRAY(SELECT ctid FROM linkage_hazards"
            " WHERE consumer = $1 AND closed_at <= $2 LIMIT $3)) RETURNING 1) SELECT count(*) FROM gone",
            self._consumer, cutoff, batch=TIMER_BATCH)

    async def drop_stale_parked_records(self) -> int:
        """Drop what was parked past `parked_max_age_s`; how many records went."""
        now, max_age = time.time(), self._settings.parked_max_age_s
        stale = await self._pool.fetch(
            "SELECT alarm_id, (waiting->>'partition')::int AS partition FROM linkage_parked"
            " WHERE consumer = $1 AND parked_at < $2 ORDER BY parked_at LIMIT $3",
            self._consumer, now - max_age, TIMER_BATCH)
        dropped, alarms = collections.Counter(), []
        for row in stale:
            async with self._pool.acquire() as conn, conn.transaction():
                await state.lock_partitions(conn, self._consumer, [row["partition"]])
                waiting = await conn.fetchval("SELECT waiting FROM linkage_parked WHERE consumer = $1 AND alarm_id = $2",
                                              self._consumer, row["alarm_id"])
                if waiting is None:
                    continue  # routed meanwhile: its alarm came
                kept, gone = expire(waiting["records"], now, max_age)
                await state.save_parked(conn, self._consumer, {row["alarm_id"]: {**waiting, "records": kept}})
            dropped.update(r["envelope"]["type"].rsplit(".", 1)[-1] for r in gone)
            alarms.append(row["alarm_id"])
        if dropped:
            log.warning("%d units record(s) (%s) dropped, parked over %.0f s: their alarm never reached linkage "
                        "or was forgotten before them; alarms %s%s", sum(dropped.values()),
                        ", ".join(f"{n} {name}" for name, n in sorted(dropped.items())), max_age,
                        ", ".join(alarms[:20]), f" and {len(alarms) - 20} more" if len(alarms) > 20 else "")
        return sum(dropped.values())

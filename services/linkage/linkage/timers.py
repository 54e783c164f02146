"""The timers. Each runs every `timer_interval_s` unless noted, and does a bounded amount per tick.

- `escalate_overdue_alarms` sends `EscalateAlarm` (contracts/commands.py) to `linkage.commands` for
  every overdue deadline. The alarms service records `AlarmEscalated`, which comes back through
  the agents and starts the next level's deadline. A send that fails because Kafka is down is
  tried again on the next tick.
- `find_closed_alarms_to_forget` (every `forget_scan_interval_s`) lists the closed alarms past
  `closed_retention_s`, and `forget_closed_alarms` removes them from `alarm-routes-v2`.
- `drop_stale_parked_records` drops parked records older than `parked_max_age_s`: their alarm
  never reached linkage, or was forgotten before them. It logs one warning per tick.
- `beat_heartbeat` touches the file the liveness probe reads (`linkage.health`).
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import faust

from linkduty_shared.events.envelope import envelope_to_kafka

from linkage.agents import is_transient
from linkage.config import LinkageSettings
from linkage.health import beat, heartbeat_path
from linkage.router import Router, closed_before, due_escalations
from linkage.unit_records import expire

if TYPE_CHECKING:
    from linkage.app import Tables, Topics

log = logging.getLogger(__name__)
# Table writes one timer tick may make. Faust buffers changelog writes and, past 100 waiting,
# holds every agent until they are sent: 500 tombstones in one tick stalled routing for 12 s.
TIMER_BATCH = 40


class Escalations:
    """What the escalation timer keeps in memory, and what the agents tell it of the deadlines
    they set or drop."""

    def __init__(self) -> None:
        self.asked: dict[str, float] = {}  # alarm id → when it was last asked for (in memory: a re-ask is harmless)
        # The earliest due time seen in the last scan, or set since: the timer scans the table only
        # once something can be due, not on every tick.
        self.next_due = 0.0

    def deadline_changed(self, alarm_id: str, deadline: dict[str, Any] | None) -> None:
        self.asked.pop(alarm_id, None)
        if deadline is not None:
            self.next_due = min(self.next_due, deadline["due"])


class Timers:
    def __init__(self, settings: LinkageSettings, router: Router, tables: Tables, topics: Topics,
                 escalations: Escalations) -> None:
        self._settings = settings
        self._router = router
        self._tables = tables
        self._topics = topics
        self._escalations = escalations
        # Closed alarms due to be forgotten, found by a scan every `forget_scan_interval_s` and
        # deleted TIMER_BATCH per tick: the bench cancelling 1,600 alarms at once had them all due
        # together.
        self.forgetting: collections.deque[str] = collections.deque()

    async def escalate_overdue_alarms(self) -> None:
        escalations, now = self._escalations, time.time()
        if now < escalations.next_due:
            return
        due, escalations.next_due = due_escalations(dict(self._tables.deadlines.items()), escalations.asked, now=now,
                                                    retry_s=self._settings.escalation_retry_s)
        for alarm_id, level in due:
            escalations.asked[alarm_id] = now
            message = envelope_to_kafka(self._router.escalation(alarm_id, level).envelope(time=dt.datetime.now(dt.UTC)))
            try:
                await self._topics.commands.send(key=alarm_id.encode(), value=message.value,
                                                 headers=list(message.headers.items()))
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("escalation of alarm %s from %s level not sent (%s: %s): tried again next tick",
                            alarm_id, level, type(exc).__name__, exc)
                escalations.asked.pop(alarm_id, None)
                escalations.next_due = 0.0  # this one and the rest of `due` are still due, and not asked for
                return

    async def drop_stale_parked_records(self) -> None:
        now, dropped, alarms = time.time(), collections.Counter(), []
        parked = self._tables.parked
        for alarm_id, waiting in list(parked.items()):
            kept, stale = expire(waiting["records"], now, self._settings.parked_max_age_s)
            if not stale:
                continue
            dropped.update(r["envelope"]["type"].rsplit(".", 1)[-1] for r in stale)
            alarms.append(alarm_id)
            write_from_timer(parked, waiting["partition"], alarm_id, {**waiting, "records": kept} if kept else None)
            if len(alarms) >= TIMER_BATCH:
                break  # the rest next tick: a timer that runs long stalls routing
        if dropped:
            log.warning("%d units record(s) (%s) dropped, parked over %.0f s: their alarm never reached linkage "
                        "or was forgotten before them; alarms %s%s", sum(dropped.values()),
                        ", ".join(f"{n} {name}" for name, n in sorted(dropped.items())),
                        self._settings.parked_max_age_s, ", ".join(alarms[:20]),
                        f" and {len(alarms) - 20} more" if len(alarms) > 20 else "")

    async def find_closed_alarms_to_forget(self) -> None:
        if not self.forgetting:
            cutoff, summaries = time.time() - self._settings.closed_retention_s, self._tables.summaries
            self.forgetting.extend(alarm_id for alarm_id in list(summaries.keys())
                                   if closed_before(summaries.get(alarm_id), cutoff))

    async def forget_closed_alarms(self) -> None:
        cutoff, summaries = time.time() - self._settings.closed_retention_s, self._tables.summaries
        for _ in range(min(TIMER_BATCH, len(self.forgetting))):
            alarm_id = self.forgetting.popleft()
            entry = summaries.get(alarm_id)
            if closed_before(entry, cutoff):  # not re-opened since the scan
                write_from_timer(summaries, entry["partition"], alarm_id, None)


def write_from_timer(table: faust.Table, partition: int, key: str, value: dict | None) -> None:
    """Set `key` (delete it, with None) outside any stream event.

    Faust takes a write's changelog partition from the event being processed and refuses a write
    with none, as in a timer. Parked records remember the partition they came from, which is
    their alarm's partition on both topics, so the timer names it: the changelog record lands
    where a write from the agent would have put it, and a restart restores the same state.
    """
    if value is None:
        table.send_changelog(partition, key, None, value_serializer="raw")
        table.data.pop(key, None)
    else:
        table.send_changelog(partition, key, value)
        table.data[key] = value


def register(app: faust.App, settings: LinkageSettings, timers: Timers, stuck_for: Callable[[], float]) -> None:
    @app.timer(interval=settings.timer_interval_s)
    async def escalate_overdue_alarms():
        await timers.escalate_overdue_alarms()

    @app.timer(interval=settings.timer_interval_s)
    async def drop_stale_parked_records():
        await timers.drop_stale_parked_records()

    @app.timer(interval=settings.forget_scan_interval_s)
    async def find_closed_alarms_to_forget():
        await timers.find_closed_alarms_to_forget()

    @app.timer(interval=settings.timer_interval_s)
    async def forget_closed_alarms():
        await timers.forget_closed_alarms()

    heartbeat = heartbeat_path(settings.data_dir)
    heartbeat.unlink(missing_ok=True)  # a restarted container's last beat must not vouch for this one

    @app.timer(interval=settings.timer_interval_s)
    async def beat_heartbeat():
        # Read by the liveness probe (linkage.health). Not while one record has been retried past
        # stuck_after_s: routing is stalled behind it, and a restart (fresh metadata, a new
        # assignment) is the way out that a probe can take.
        if stuck_for() < settings.stuck_after_s:
            beat(heartbeat)

"""Composition root of the linkage worker: its database, its producer, routing on the shared
consumer runner (`linkage.consumers`), the timers (`linkage.timers`) and the heartbeat the
liveness probe reads (`linkage.health`).

- An alarm event (`alarms.events`) is folded into the alarm's summary (with every centre told so
  far). One notification goes to `linkage.notifications` (key = centre id) for each centre that
  must see it, or, with `notifications_shape = "per_event"`, one record listing them (key = alarm
  id; contracts/notifications.py), and the alarm's acknowledgement deadline is kept.
- A dispatch or joint-operation record (`units.events`, `contracts/units.py`) goes to every centre
  told about its alarm, with the alarm's summary as it is. A record can overtake its alarm's
  AlarmReported, because the topics are consumed independently: it is then parked, and routed
  right after that AlarmReported. Other `units.events` records (units, rosters…) are skipped unparsed.
- A record that cannot be parsed or routed goes to its topic's DLQ, and routing goes on. An outage
  (PostgreSQL, Kafka, a timeout) is not the record's fault: it is retried, and nothing goes to the
  DLQ for it.
- A hazard event (`hazards.events`), checked against its contract, is folded into the hazard's
  summary and goes, one HazardNotification per centre, to every centre that sees the hazard: its
  community, the levels it was escalated to, and those a `[[hazard_rules]]` rule reaches.
- The volunteers' response to an alarm (`volunteers.events`, `contracts/volunteers.py`: who was
  alerted, who is coming and when, scene reports, the stand-down), checked against its contract,
  goes to every centre that sees the alarm, routed (and parked) like a units record about it.
  A service order's transition (`volunteers.events`) goes to its community's and street's
  centres, read from the record's `divisions` extension: no state.
- An overdue deadline becomes an `EscalateAlarm` command on `linkage.commands` (a hazard's
  deadlines are the hazards service's: its HazardEscalated comes back through routing).
"""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg

from linkduty_shared.db import create_pool, migrate
from linkduty_shared.jurisdictions import load_city
from linkduty_shared.messaging.consumer import ConsumerRunner
from linkduty_shared.messaging.kafka import reliable_producer
from linkduty_shared.runtime import every, supervise, together

from linkage import state
from linkage.config import LinkageSettings
from linkage.consumers import Routing, is_routed, is_transient
from linkage.health import beat, heartbeat_path
from linkage.router import Router
from linkage.routing import DEFAULT_RULES, RoutingConfig
from linkage.timers import Timers

log = logging.getLogger(__name__)


def build_router(settings: LinkageSettings) -> Router:
    directory = load_city(settings.directory_path)
    directory.neighbours(directory.city.code)  # builds the adjacency index now, not on the first major fire
    routing = RoutingConfig.load(Path(settings.routing_rules_path) if settings.routing_rules_path else DEFAULT_RULES)
    return Router(directory, routing.rules,
                  {level: s * settings.ack_timeout_scale for level, s in routing.ack_timeouts_s.items()},
                  settings.parked_per_alarm, shape=settings.notifications_shape, hazard_rules=routing.hazard_rules)


async def open_pool(settings: LinkageSettings) -> asyncpg.Pool:
    """Linkage's pool, its schema applied. A routing transaction waits on Kafka's acknowledgement
    while it holds its partitions' lock; PostgreSQL ends one left idle longer than
    `idle_in_transaction_s` (its worker frozen, or cut off), so that the lock passes on."""
    pool = await create_pool(settings.pg_dsn, min_size=1, max_size=settings.pg_pool_max, server_settings={
        "idle_in_transaction_session_timeout": str(int(settings.idle_in_transaction_s * 1000))})
    await migrate(pool, state.DDL, event_store=False)
    return pool


class Worker:
    def __init__(self, settings: LinkageSettings, router: Router, pool: asyncpg.Pool) -> None:
        self.settings = settings
        self.router = router
        self.pool = pool
        self.runner: ConsumerRunner | None = None

    async def run(self) -> None:
        """Route and time until cancelled; a crash (Kafka unreachable at start) is the caller's to restart."""
        settings = self.settings
        producer = reliable_producer(settings.kafka, client_id=f"{settings.app_id}-routing")
        await producer.start()
        try:
            routing = Routing(settings, self.router, self.pool, producer)
            self.runner = ConsumerRunner(
                bootstrap=settings.kafka, group_id=settings.app_id, topics=[settings.alarms_topic, settings.units_topic, settings.hazards_topic,
                                                                    settings.volunteers_topic],
                handler=routing.route_one, batch_handler=routing.route_batch, wanted=is_routed, outage=is_transient,
                max_attempts=settings.consumer_max_attempts, retry_backoff_s=settings.consumer_retry_backoff_s,
                group_instance_id=settings.group_instance_id, co_partitioned=True)
            await together(self.runner.run(), Timers(settings, self.router, self.pool, producer).run())
        finally:
            await producer.stop()

    def stuck_for(self) -> float:
        return 0.0 if self.runner is None else self.runner.stuck_for()

    async def beat_heartbeat(self) -> None:
        """Touch the file the liveness probe reads (linkage.health), not while one poll has been
        retried past `stuck_after_s`: routing is stalled behind it, and a restart (fresh metadata,
        a new assignment) is the way out that a probe can take."""
        if self.stuck_for() < self.settings.stuck_after_s:
            beat(heartbeat_path(self.settings.data_dir))


async def run(settings: LinkageSettings) -> None:
    heartbeat_path(settings.data_dir).unlink(missing_ok=True)  # a restarted container's last beat must not vouch
    router = build_router(settings)
    pool = await open_pool(settings)
    worker = Worker(settings, router, pool)
    try:
        await together(supervise("routing", worker.run),
                       supervise("heartbeat", lambda: every(settings.timer_interval_s, worker.beat_heartbeat)))
    finally:
        await pool.close()

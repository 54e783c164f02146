"""The composition root's parts every service shares: pool, store, relay, verifier, consumers.

`Runtime.start` wires them from one settings object; `create_app` (api/app.py) runs it in the
FastAPI lifespan. Background loops are supervised: a crash is logged and the loop restarted
with backoff, so a broker restart never leaves a service silently deaf.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from aiokafka import AIOKafkaClient

from linkduty_shared.api.idempotency import purge_expired_keys
from linkduty_shared.auth.tokens import TokenVerifier
from linkduty_shared.config import ServiceSettings
from linkduty_shared.db import create_pool, migrate
from linkduty_shared.eventstore.store import EventStore
from linkduty_shared.messaging.kafka import reliable_producer
from linkduty_shared.outbox.relay import OutboxRelay
from linkduty_shared.projections.runners import purge_processed_events

log = logging.getLogger(__name__)


async def supervise(name: str, loop: Callable[[], Awaitable[None]], *, max_backoff_s: float = 10.0) -> None:
    backoff = 0.5
    while True:
        try:
            await loop()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            if asyncio.current_task().cancelling():  # stopping: its clean-up failed, do not restart it
                raise
            log.exception("%s crashed; restarting in %.1fs", name, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff_s)


async def together(*jobs: Awaitable[None]) -> None:
    """Run `jobs` side by side until one ends: the others are cancelled, and its error is raised.

    Not a TaskGroup: under `supervise`, a TaskGroup whose task fails cancels the supervising task
    itself (Python 3.11), which `supervise` then takes for a stop instead of restarting the loop."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()


async def every(seconds: float, job: Callable[[], Awaitable[None]]) -> None:
    while True:
        await job()
        await asyncio.sleep(seconds)


@dataclasses.dataclass
class Runtime:
    settings: ServiceSettings
    pool: asyncpg.Pool
    store: EventStore | None
    relay: OutboxRelay | None
    verifier: TokenVerifier
    tasks: list[asyncio.Task] = dataclasses.field(default_factory=list)

    @classmethod
    async def start(cls, settings: ServiceSettings, *, schema_sql: tuple[str, ...] = (),
                    event_store: bool = True) -> Runtime:
        """`event_store`: the service keeps events (a store, its outbox and their relay); the
        gateway keeps none."""
        pool = await create_pool(settings.pg_dsn, min_size=settings.pg_pool_min, max_size=settings.pg_pool_max)
        await migrate(pool, *schema_sql, event_store=event_store)
        store = relay = None
        if event_store:
            store = EventStore(pool)
            relay = OutboxRelay(
                pool,
                lambda: reliable_producer(settings.kafka, client_id=f"{settings.service_name}-relay"),
                batch_size=settings.outbox_batch_size,
                poll_interval_s=settings.outbox_poll_interval_s,
                stalled_after_s=settings.outbox_stalled_after_s,
            )
            store.on_append(relay.wake)
        verifier = TokenVerifier(
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            jwks_file=settings.auth_jwks_file,
            jwks_url=settings.auth_jwks_url,
        )
        runtime = cls(settings, pool, store, relay, verifier)
        if relay is not None:
            runtime.background("outbox relay", relay.run)
        runtime.background("token issuer keys", verifier.keep_keys_fresh)
        runtime.background("retention", lambda: every(settings.retention_interval_s,
                                                      lambda: runtime.purge_expired(event_store=event_store)))
        return runtime

    async def purge_expired(self, *, event_store: bool) -> None:
        """One retention run (linkduty_shared.retention): what expired goes, in bounded batches."""
        batch = self.settings.retention_batch_size
        await purge_expired_keys(self.pool, batch=batch)
        if event_store:
            await purge_processed_events(self.pool, dt.timedelta(days=self.settings.processed_events_keep_days),
                                         batch=batch)

    def background(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        self.tasks.append(asyncio.create_task(supervise(name, loop), name=name))

    async def ready(self) -> dict[str, str]:
        """What /readyz reports: each dependency 'ok' or its error."""
        checks: dict[str, str] = {}
        try:
            async with self.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1")
            checks["postgres"] = "ok"
        except Exception as exc:
            checks["postgres"] = f"unavailable: {type(exc).__name__}"
        client = AIOKafkaClient(**self.settings.kafka.client_kwargs(), request_timeout_ms=2000)
        try:
            await asyncio.wait_for(client.bootstrap(), 3)
            checks["kafka"] = "ok"
        except Exception as exc:
            checks["kafka"] = f"unavailable: {type(exc).__name__}"
        finally:
            await client.close()
        return checks

    async def stop(self, grace_s: float = 15.0) -> None:
        """Cancel the background loops and close the pool, within `grace_s` each: a loop stuck in
        its clean-up (a Kafka consumer leaving a group mid-rebalance) must not hang the shutdown."""
        for task in self.tasks:
            task.cancel()
        _, stuck = await asyncio.wait(self.tasks, timeout=grace_s) if self.tasks else (set(), set())
        for task in stuck:
            log.warning("background task %s did not stop within %.0f s: abandoned", task.get_name(), grace_s)
        try:
            await asyncio.wait_for(self.pool.close(), grace_s)
        except TimeoutError:
            log.warning("database pool did not close within %.0f s: terminated", grace_s)
            self.pool.terminate()

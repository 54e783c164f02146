"""The MQTT intake: the service subscribes to `linkduty/devices/+/signals` (the suffix is a
setting) on the broker
(Mosquitto; each platform's user may write only under its own `linkduty/devices/<id>/`, so the
topic names the platform the broker authenticated) and feeds every message to the same intake
as the webhooks.

One replica reads the broker at a time: the one holding a PostgreSQL advisory lock (as the
outbox relay's leader); the others stand by and take over when its session with PostgreSQL ends.
Every replica subscribing would take in every signal once per replica, and a shared subscription
would lose a device's order (its alarm and its clear taken in by two replicas at once). The
session is persistent (clean_session false, the service's one client id, whichever replica
leads) with QoS 1: the broker keeps what arrives while no replica reads and delivers it to the
next leader. Messages are
taken in by `workers` tasks, a device always by the same one, so one device's alarm and its
clear are taken in the order sent while others proceed beside them. What the intake refuses (a
malformed payload, an unknown device, a replay…) is a dead letter with its reason
(`mqtt_dead_letters`, read at `GET /v1/device-signals/dead-letters`), never silently dropped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib

import aiomqtt
import asyncpg

from linkduty_shared.db import OUTAGE_ERRORS
from linkduty_shared.domain import DomainError

from devices.application.intake import Intake
from devices.domain.values import Signal
from devices.signal_contract import parse_signal

log = logging.getLogger(__name__)

TOPIC_PREFIX = "linkduty/devices"
# The intake's leadership, one per topic filter (tests read filters of their own).
_TRY_LEAD = "SELECT pg_try_advisory_lock(hashtext('linkduty.devices.mqtt'), hashtext($1))"
_STOP_LEADING = "SELECT pg_advisory_unlock(hashtext('linkduty.devices.mqtt'), hashtext($1))"
MAX_PAYLOAD = 4096
DEAD_LETTERS_DDL = """
CREATE TABLE IF NOT EXISTS mqtt_dead_letters (
    dead_letter_id bigserial PRIMARY KEY,
    topic          text NOT NULL,
    platform       text,
    reason         text NOT NULL,
    detail         text NOT NULL,
    payload        text NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now()
);
"""


class MqttIntake:
    def __init__(self, intake: Intake, platforms: dict, pool: asyncpg.Pool, *, host: str, port: int,
                 username: str | None, password: str | None, client_id: str, workers: int = 8,
                 attempts: int = 5, topic_suffix: str = "signals", persistent_session: bool = True,
                 ca_file: str | None = None, standby_poll_s: float = 2.0, lease_check_s: float = 5.0) -> None:
        self.intake, self.platforms, self.pool = intake, platforms, pool
        self.host, self.port, self.username, self.password, self.client_id = host, port, username, password, client_id
        self.queues: list[asyncio.Queue[tuple[str, Signal, bytes]]] = [asyncio.Queue(maxsize=1000) for _ in range(workers)]
        self.attempts = attempts
        self.topic_filter = f"{TOPIC_PREFIX}/+/{topic_suffix}"
        self.persistent_session = persistent_session
        # TLS to the broker when a CA is given (production's brokers; the local Mosquitto is loopback only)
        self.tls = aiomqtt.TLSParameters(ca_certs=ca_file) if ca_file else None
        self.connected = asyncio.Event()  # this replica leads and is subscribed
        self.standby_poll_s, self.lease_check_s = standby_poll_s, lease_check_s
        self.taken = 0

    async def run(self) -> None:
        workers = [asyncio.create_task(self._work(q), name=f"mqtt intake worker {i}")
                   for i, q in enumerate(self.queues)]
        try:
            while True:
                try:
                    await self._lead()
                except aiomqtt.MqttError as exc:
                    log.warning("MQTT broker %s:%s: %s; reconnecting in 2 s", self.host, self.port, exc)
                    await asyncio.sleep(2)
                except OUTAGE_ERRORS + (asyncpg.InterfaceError,) as exc:
                    log.warning("MQTT intake: PostgreSQL lost (%s); off the broker, leading again in 1 s", exc)
                    await asyncio.sleep(1)
                finally:
                    self.connected.clear()
        finally:
            for w in workers:
                w.cancel()

    async def _lead(self) -> None:
        """Wait to lead, then read the broker for as long as this replica is sure it leads: its
        lock's connection is checked every `lease_check_s` (a lost one has freed the lock for a
        standby: this replica leaves the broker)."""
        async with self.pool.acquire() as lock_conn:
            while not await lock_conn.fetchval(_TRY_LEAD, self.topic_filter):
                await asyncio.sleep(self.standby_poll_s)
            log.info("MQTT intake: this replica leads (%s)", self.topic_filter)
            subscription = asyncio.create_task(self._subscribe(), name="MQTT subscription")
            try:
                while not subscription.done():
                    await asyncio.wait({subscription}, timeout=self.lease_check_s)
                    if not subscription.done():
                        await asyncio.wait_for(lock_conn.fetchval("SELECT 1"), self.lease_check_s)
                subscription.result()  # the broker's error, if it ended
            finally:
                subscription.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                    await subscription
                if not lock_conn.is_closed():
                    with contextlib.suppress(*OUTAGE_ERRORS, asyncpg.InterfaceError):
                        await lock_conn.fetchval(_STOP_LEADING, self.topic_filter)

    async def _subscribe(self) -> None:
        async with aiomqtt.Client(self.host, self.port, username=self.username, password=self.password,
                                  identifier=self.client_id, clean_session=not self.persistent_session, keepalive=30,
                                  tls_params=self.tls,
                                  max_queued_incoming_messages=10_000) as client:
            await client.subscribe(self.topic_filter, qos=1)
            self.connected.set()
            log.info("MQTT: subscribed to %s on %s:%s", self.topic_filter, self.host, self.port)
            async for message in client.messages:
                await self._dispatch(message.topic.value, message.payload)

    async def _dispatch(self, topic: str, payload) -> None:
        # the broker delivers only what matches the filter: the platform is its one wildcard level
        platform = topic.split("/")[2]
        raw = payload if isinstance(payload, bytes) else str(payload).encode()
        if platform not in self.platforms:
            return await self.dead_letter(topic, platform, "unknown-platform", "no platform of this service", raw)
        if len(raw) > MAX_PAYLOAD:
            return await self.dead_letter(topic, platform, "payload-too-large", f"over {MAX_PAYLOAD} bytes", raw)
        try:
            signal = parse_signal(platform, raw, signal_id=None)
        except DomainError as exc:
            return await self.dead_letter(topic, platform, exc.type_slug, str(exc), raw)
        queue = self.queues[zlib.crc32(signal.device_id.encode()) % len(self.queues)]
        await queue.put((topic, signal, raw))

    async def _work(self, queue: asyncio.Queue) -> None:
        while True:
            topic, signal, raw = await queue.get()
            for attempt in range(1, self.attempts + 1):
                try:
                    await self.intake.take(signal)
                    self.taken += 1
                    break
                except DomainError as exc:
                    await self.dead_letter(topic, signal.platform, exc.type_slug, str(exc), raw)
                    break
                except Exception as exc:  # the database away: retried, then a dead letter, never lost silently
                    if attempt == self.attempts:
                        log.exception("MQTT signal %s: not taken after %d attempts", signal.signal_id, attempt)
                        await self.dead_letter(topic, signal.platform, "intake-unavailable",
                                               f"{type(exc).__name__} after {attempt} attempts", raw)
                    else:
                        await asyncio.sleep(0.2 * 2 ** attempt)

    async def dead_letter(self, topic: str, platform: str | None, reason: str, detail: str, raw: bytes) -> None:
        log.warning("MQTT message on %s dead-lettered: %s", topic[:200], reason)
        try:
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "INSERT INTO mqtt_dead_letters (topic, platform, reason, detail, payload) VALUES ($1, $2, $3, $4, $5)",
                    topic[:500].replace("\x00", ""), platform, reason, detail[:1000].replace("\x00", ""),
                    raw[:MAX_PAYLOAD].decode("utf-8", "replace").replace("\x00", ""))
        except Exception:
            log.exception("MQTT dead letter for %s could not be written", topic[:200])

"""One intake for every device signal, whichever way it came (HTTP webhook or MQTT): replay
refused, device known to the platform, then what the signal means recorded in one transaction.

The hot part is the heartbeat (20,000 detectors every 60 s: 333 a second, none of them news): it
is its device's row in a batched UPDATE of the state rows (heartbeats.py), with no event and no
stream read, unless it changes something (the device was offline, its battery went low or good
again). A heartbeat's replay is
refused by its time (not newer than the device's last heartbeat); any other signal's by its id
(`device_signals_seen`, kept a day, longer than any MQTT session queues a message)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import asyncpg

from linkduty_shared.application import CommandContext

from devices.application.errors import SignalFromTheFuture, SignalReplayed, SignalTooOld, UnknownDevice
from devices.application.heartbeats import HeartbeatBatcher
from devices.application.registry import Registry, utcnow
from devices.domain.device import Device
from devices.domain.values import Signal, SignalType
from devices.projections import device_state

log = logging.getLogger(__name__)

SEEN_DDL = """
CREATE TABLE IF NOT EXISTS device_signals_seen (
    platform  text NOT NULL,
    signal_id text NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, signal_id)
);
CREATE INDEX IF NOT EXISTS device_signals_seen_at ON device_signals_seen (seen_at);
"""
CLOCK_SKEW = dt.timedelta(minutes=2)
SEEN_FOR = dt.timedelta(days=1)


class Intake:
    def __init__(self, registry: Registry, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.registry, self.clock = registry, clock
        self.pool: asyncpg.Pool = registry.store.pool
        self.heartbeats = HeartbeatBatcher(self.pool, grace=registry.timing.offline_grace, clock=clock)

    def _check_time(self, signal: Signal, now: dt.datetime) -> None:
        if signal.signalled_at > now + CLOCK_SKEW:
            raise SignalFromTheFuture(f"at {signal.signalled_at.isoformat()} is more than {CLOCK_SKEW} ahead")
        if signal.signalled_at < now - SEEN_FOR:
            raise SignalTooOld(f"at {signal.signalled_at.isoformat()} is older than {SEEN_FOR}")

    async def take(self, signal: Signal) -> list[str]:
        """The names of the events the signal decided (none for a heartbeat or a repeat).
        UnknownDevice, SignalReplayed, SignalFromTheFuture, SignalTooOld when refused."""
        now = self.clock()
        self._check_time(signal, now)
        grace = self.registry.timing.offline_grace
        if signal.type is SignalType.HEARTBEAT:
            row = await self.heartbeats.beat(signal)
            if row is None:
                async with self.pool.acquire() as conn:
                    await self._refuse(conn, signal)
            low = signal.battery_pct is not None and signal.battery_pct < self.registry.timing.battery_ok_pct
            if not row["offline"] and (signal.battery_pct is None or low == row["low_battery"]):
                return []  # alive, nothing new: the row says so, no event
        ctx = CommandContext(actor=f"platform:{signal.platform}", correlation_id=signal.signal_id)
        return await self.registry.uow.run(lambda tx: self._decide(tx, signal, now, grace), ctx)

    async def _refuse(self, conn: asyncpg.Connection, signal: Signal) -> None:
        known = await conn.fetchval("SELECT platform FROM device_state WHERE device_id = $1", signal.device_id)
        if known != signal.platform:  # another platform's device is as unknown as none
            raise UnknownDevice(f"{signal.device_id[:64]!r} is not registered for platform {signal.platform}")
        raise SignalReplayed(f"heartbeat at {signal.signalled_at.isoformat()} is not newer than the device's last")

    async def _decide(self, tx, signal: Signal, now: dt.datetime, grace: float) -> list[str]:
        conn = tx.conn
        if signal.type is not SignalType.HEARTBEAT:
            first = await conn.fetchval(
                """INSERT INTO device_signals_seen (platform, signal_id) VALUES ($1, $2)
                   ON CONFLICT DO NOTHING RETURNING true""", signal.platform, signal.signal_id)
            if not first:
                raise SignalReplayed(f"signal {signal.signal_id[:64]} of platform {signal.platform} was taken in already")
        device: Device = await tx.load(self.registry.devices, signal.device_id)
        if not device.exists or device.registered.platform != signal.platform:
            raise UnknownDevice(f"{signal.device_id[:64]!r} is not registered for platform {signal.platform}")
        row = await device_state.seen(conn, signal.device_id, now, grace)
        repeats, vulnerability = row["alarm_repeats"], None
        if signal.type is SignalType.SMOKE_ALARM:
            if device.alarm is not None:
                repeats = await device_state.count_repeat(conn, signal.device_id)
            else:
                vulnerability = await self.registry.vulnerability_of(device, conn)
        decided = device.take(signal, now=now, timing=self.registry.timing, vulnerability=vulnerability,
                              repeats=repeats)
        await tx.save(self.registry.devices, device)
        return [type(e).__name__ for e in decided]

    async def sweep_silent(self, batch: int = 500) -> int:
        """Devices silent past their heartbeat period and grace: offline (a maintenance hazard
        for their community follows, by the hazards service). Every replica sweeps; optimistic
        concurrency makes each episode begin once."""
        now = self.clock()
        async with self.pool.acquire() as conn:
            silent = await device_state.silent(conn, now, batch)
        for row in silent:
            ctx = CommandContext(actor="devices:heartbeat-monitor")
            try:
                await self.registry.uow.run(lambda tx, device_id=row["device_id"]: self._silence(tx, device_id, now),
                                            ctx)
            except Exception:
                log.exception("device %s: could not be marked offline", row["device_id"])
        return len(silent)

    async def _silence(self, tx, device_id: str, now: dt.datetime) -> None:
        # Locked and read again: a heartbeat that came since the sweep's query keeps it online.
        last_seen = await tx.conn.fetchval(
            """SELECT last_seen_at FROM device_state WHERE device_id = $1 AND NOT offline AND silent_after < $2
               FOR UPDATE""", device_id, now)
        if last_seen is None:
            return
        device = await tx.load(self.registry.devices, device_id)
        device.went_silent(last_seen=last_seen, now=now)
        await tx.save(self.registry.devices, device)

    async def forget_seen(self) -> int:
        async with self.pool.acquire() as conn:
            done = await conn.execute("DELETE FROM device_signals_seen WHERE seen_at < $1", self.clock() - SEEN_FOR)
        return int(done.split()[-1])

"""Heartbeats written together: 20,000 detectors beating once a minute are 333 a second, none of
them news, on the same PostgreSQL as the 119 path. One write at a time, of every heartbeat that
came while the one before was being written (up to `max_batch`: group commit, so a heartbeat
never waits for a timer, and batches grow with the load), in one UPDATE, committed without
waiting for the disk (`synchronous_commit off`): a crash may lose the last fraction of a second
of heartbeats, which moves a device's last sighting back by one period at most, well inside the
offline grace (2.5 periods). Each caller awaits its own heartbeat's outcome."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import asyncpg

from devices.domain.values import Signal
from devices.projections import device_state


class HeartbeatBatcher:
    def __init__(self, pool: asyncpg.Pool, *, grace: float, clock: Callable[[], dt.datetime],
                 max_batch: int = 500) -> None:
        self.pool, self.grace, self.clock, self.max_batch = pool, grace, clock, max_batch
        self._batch: dict[str, tuple[Signal, asyncio.Future]] = {}  # device id → its heartbeat
        self._later: list[tuple[Signal, asyncio.Future]] = []  # a device's second heartbeat: the next batch
        # One write at a time (two batches never wait on each other's rows); the next batch
        # fills meanwhile.
        self._writer: asyncio.Task | None = None
        self.batches = 0

    async def beat(self, signal: Signal) -> asyncpg.Record | None:
        """The device's row (offline, low_battery) after this heartbeat; None when the device is
        unknown to the platform or the heartbeat is not newer than its last."""
        future = asyncio.get_running_loop().create_future()
        self._add(signal, future)
        return await future

    def _add(self, signal: Signal, future: asyncio.Future) -> None:
        if signal.device_id in self._batch or len(self._batch) >= self.max_batch:
            self._later.append((signal, future))
        else:
            self._batch[signal.device_id] = (signal, future)
        if self._writer is None:
            # Started on the loop's next turn: heartbeats taken in during this one join the batch.
            self._writer = asyncio.get_running_loop().create_task(self._write_all())

    async def _write_all(self) -> None:
        try:
            while self._batch:
                batch, self._batch = self._batch, {}
                later, self._later = self._later, []
                for signal, future in later:
                    self._add(signal, future)
                await self._write(batch)
        finally:
            self._writer = None

    async def _write(self, batch: dict[str, tuple[Signal, asyncio.Future]]) -> None:
        beats = sorted((s.device_id, s.platform, s.signalled_at, s.battery_pct) for s, _ in batch.values())
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute("SET LOCAL synchronous_commit TO off")
                rows = await device_state.heartbeats(conn, beats, now=self.clock(), grace=self.grace)
        except BaseException as exc:  # PostgreSQL down or the task cancelled: every caller learns it
            for _, future in batch.values():
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            if not isinstance(exc, Exception):
                raise
            return
        self.batches += 1
        for signal, future in batch.values():
            if not future.done():
                future.set_result(rows.get(signal.device_id))  # one heartbeat a device in a batch

"""Brings committed feed rows to this replica's hub, whoever wrote them.

On the writer's replica the writer hands each row over itself right after its commit; there the
tail is only the safety net. On a follower replica (see writer.py: one writer per database) the
tail is how live rows arrive: woken by the writer's NOTIFY, and by polling if a NOTIFY is lost.
Reading "seq > last fanned out" in seq order never skips a row, because there is one writer.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from gateway.fanout import Hub
from gateway.feed.tables import FEED_CHANNEL, PAGE_SIZE, all_rows_after, head

log = logging.getLogger(__name__)


class FeedTail:
    def __init__(self, pool: asyncpg.Pool, hub: Hub, *, poll_interval_s: float) -> None:
        self._pool = pool
        self._hub = hub
        self._poll_interval_s = poll_interval_s
        self._wakeup = asyncio.Event()
        self._reading = asyncio.Lock()

    async def start_at_head(self) -> None:
        """Fan out only what commits from now on: streams read older rows from the table."""
        self._hub.last_seq = max(self._hub.last_seq, await head(self._pool))

    async def catch_up(self) -> None:
        """Publish every committed row the hub has not seen yet."""
        async with self._reading:
            while True:
                rows = await all_rows_after(self._pool, self._hub.last_seq)
                self._hub.publish(rows)
                if len(rows) < PAGE_SIZE:
                    return

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if not payload.isdigit() or int(payload) > self._hub.last_seq:
            self._wakeup.set()

    async def run(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.add_listener(FEED_CHANNEL, self._on_notify)
            try:
                while not conn.is_closed():
                    self._wakeup.clear()
                    await self.catch_up()
                    try:
                        await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_s)
                    except TimeoutError:
                        pass
                raise ConnectionError("the feed tail's LISTEN connection closed")
            finally:
                if not conn.is_closed():
                    await conn.remove_listener(FEED_CHANNEL, self._on_notify)

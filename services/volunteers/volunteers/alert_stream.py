"""The volunteer's own alert stream: an alert reaches the app the moment it is committed.

The alerts projection (projections/alerts.py) notifies channel `volunteer_alerts` inside the
append's transaction (PostgreSQL delivers it on commit, to every replica listening); each
replica holds one listening connection (`AlertHub.listen`, supervised: a lost connection is
listened again) and wakes the streams of the volunteers named. A stream then reads that
volunteer's alert from the projection, so a missed wake-up only delays an alert until the next
one or the reconnect's snapshot: the table is the truth, the notification only a doorbell.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "volunteer_alerts"


class TooManyStreams(Exception):
    pass


class AlertHub:
    def __init__(self, pool: asyncpg.Pool, *, max_streams: int, per_volunteer: int = 3) -> None:
        self._pool, self._max, self._per_volunteer = pool, max_streams, per_volunteer
        self._queues: dict[str, set[asyncio.Queue]] = collections.defaultdict(set)
        self._count = 0

    async def listen(self) -> None:
        """Hold a connection listening on the channel until it is lost (then the supervisor
        calls again). Every open stream is woken on (re)connecting: it rereads what it missed."""
        async with self._pool.acquire() as conn:
            await conn.add_listener(CHANNEL, self._rang)
            self._wake_all()
            try:
                while not conn.is_closed():
                    await asyncio.sleep(5)
            finally:
                if not conn.is_closed():
                    await conn.remove_listener(CHANNEL, self._rang)
        raise ConnectionError("the alert listener's connection was lost")

    def _rang(self, conn, pid, channel, payload: str) -> None:
        try:
            named = json.loads(payload)["volunteer_ids"]
        except (ValueError, KeyError, TypeError):
            log.warning("volunteer_alerts: unreadable notification ignored")
            return
        for volunteer_id in named:
            for queue in self._queues.get(volunteer_id, ()):
                _ring(queue)

    def _wake_all(self) -> None:
        for queues in self._queues.values():
            for queue in queues:
                _ring(queue)

    def subscribe(self, volunteer_id: str) -> asyncio.Queue:
        if self._count >= self._max or len(self._queues[volunteer_id]) >= self._per_volunteer:
            raise TooManyStreams(volunteer_id)
        queue: asyncio.Queue = asyncio.Queue(maxsize=1)  # a doorbell (_ring)
        self._queues[volunteer_id].add(queue)
        self._count += 1
        return queue

    def unsubscribe(self, volunteer_id: str, queue: asyncio.Queue) -> None:
        self._queues[volunteer_id].discard(queue)
        if not self._queues[volunteer_id]:
            del self._queues[volunteer_id]
        self._count -= 1


def _ring(doorbell: asyncio.Queue) -> None:
    """One ring stands for many: a stream rereads everything it has not sent when it wakes."""
    if doorbell.empty():
        doorbell.put_nowait(None)

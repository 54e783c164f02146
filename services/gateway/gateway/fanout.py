"""In-process fan-out of committed feed rows to the streams open on this replica.

The publisher never waits for a client: each subscription has a bounded queue, and one that is
full is marked overflowed and dropped. Its stream then tells the client `overflow` and closes;
the client reconnects with Last-Event-ID and catches up from the table (streams.py).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable

from gateway.feed.tables import FeedItem


class TooFarBehind(Exception):
    """The subscriber's queue overflowed: its stream must end with `overflow`."""


class Subscription:
    def __init__(self, hub: Hub, centre_id: str, maxsize: int, overflowed: asyncio.Event) -> None:
        self.centre_id = centre_id
        self.overflowed = overflowed
        self._hub = hub
        self._queue: asyncio.Queue[FeedItem] = asyncio.Queue(maxsize)

    def offer(self, item: FeedItem) -> bool:
        try:
            self._queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.overflowed.set()
            return False

    async def next(self, timeout_s: float) -> FeedItem | None:
        """The next live item, or None when none came within `timeout_s` (time for a heartbeat)."""
        if self.overflowed.is_set():
            raise TooFarBehind(self.centre_id)
        try:
            async with asyncio.timeout(timeout_s):
                return await self._queue.get()
        except TimeoutError:
            return None

    def close(self) -> None:
        self._hub.unsubscribe(self)


class Hub:
    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        # The highest seq fanned out. Rows reach the hub twice on the writer's replica (from the
        # writer after its commit, and from the tail's safety-net read); the second is dropped.
        self.last_seq = 0

    def subscribe(self, centre_id: str, overflowed: asyncio.Event | None = None) -> Subscription:
        subscription = Subscription(self, centre_id, self._queue_size, overflowed or asyncio.Event())
        self._subscriptions[centre_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscriptions.get(subscription.centre_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscriptions[subscription.centre_id]

    def subscribers(self, centre_id: str) -> int:
        return len(self._subscriptions.get(centre_id, ()))

    def publish(self, items: Iterable[FeedItem]) -> None:
        """Hand committed rows, in seq order, to their centre's subscribers. Never blocks."""
        for item in items:
            if item.seq <= self.last_seq:
                continue
            self.last_seq = item.seq
            for subscription in tuple(self._subscriptions.get(item.centre_id, ())):
                if not subscription.offer(item):
                    self.unsubscribe(subscription)

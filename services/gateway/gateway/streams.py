"""One client's stream of a centre's feed: where it starts, then live, every seq at most once.

- Resume (Last-Event-ID = N): the rows of the centre with seq > N from the table, then live.
  Most of a long backlog is read before subscribing, so the live queue does not fill while the
  client downloads it; the rest is read after subscribing, so that nothing committed in between
  is missed, and live items the backlog already had (seq <= last sent) are dropped.
- Resync: a page of that backlog finds rows of the centre after N purged (the feed keeps
  `feed_keep_days`, feed/retention.py), or N is no id of this feed: a `resync` item, then the
  stream goes on as a snapshot stream does.
- Snapshot: subscribe, then read the open alarms and the feed position they reflect in one
  snapshot (tables.read_board), then live items after that position.
- Neither: live from now.

A stream ends when the token it was opened with expires (the pump sends a last event saying so;
a new token resumes with Last-Event-ID, no gap), and a client holds at most
`max_streams_per_client` streams at once on a replica (StreamQuota).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Callable

import asyncpg

from gateway.fanout import Hub, Subscription
from gateway.feed.tables import PAGE_SIZE, Board, FeedItem, Resync, centre_page, read_board


class Heartbeat:
    """Nothing happened for a while: an SSE comment keeps proxies from closing the stream."""


HEARTBEAT = Heartbeat()
StreamItem = FeedItem | Board | Resync | Heartbeat


class TooManyStreams(Exception):
    pass


class StreamQuota:
    """Open streams per client (the token's subject), on this replica: one token opening streams
    without end would hold connections and memory of every console's share."""

    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self._open: collections.Counter[str] = collections.Counter()

    def acquire(self, client_id: str) -> Callable[[], None]:
        """A slot for one more stream, or TooManyStreams; returns its release (idempotent)."""
        if self._open[client_id] >= self.per_client:
            raise TooManyStreams(f"{self.per_client} streams are open with this client's tokens already")
        self._open[client_id] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._open[client_id] -= 1
                if not self._open[client_id]:
                    del self._open[client_id]

        return release

    def open_streams(self, client_id: str) -> int:
        return self._open[client_id]


class CentreStream:
    def __init__(self, hub: Hub, pool: asyncpg.Pool, centre_id: str, *, after: int | None = None,
                 snapshot: bool = False, heartbeat_s: float = 15.0, expires_at: float | None = None,
                 release: Callable[[], None] = lambda: None) -> None:
        self.centre_id = centre_id
        self.expires_at = expires_at  # epoch seconds: the token's exp
        self._release = release
        self.overflowed = asyncio.Event()  # set by the hub when this client falls too far behind
        self._hub = hub
        self._pool = pool
        self._after = after
        self._snapshot = snapshot and after is None
        self._heartbeat_s = heartbeat_s
        self._subscription: Subscription | None = None

    async def __aenter__(self) -> CentreStream:
        # Live and snapshot streams subscribe before the response starts: a client that got its
        # 200 (or its WebSocket handshake) misses nothing committed after that.
        if self._after is None:
            self._subscribe()
        return self

    async def __aexit__(self, *_: object) -> None:
        self._release()
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    def _subscribe(self) -> Subscription:
        self._subscription = self._hub.subscribe(self.centre_id, self.overflowed)
        return self._subscription

    async def _backlog(self, after: int) -> AsyncIterator[FeedItem | Resync]:
        """The centre's rows after `after`, committed by the time the last page was read; or,
        from the page that found some gone, a Resync (and nothing more)."""
        while True:
            page = await centre_page(self._pool, self.centre_id, after)
            if page.resync is not None:
                yield page.resync
                return
            for row in page.rows:
                yield row
            if len(page.rows) < PAGE_SIZE:
                return
            after = page.rows[-1].seq

    async def items(self) -> AsyncIterator[StreamItem]:
        """Never ends by itself; raises fanout.TooFarBehind when the client fell too far behind."""
        last: int | None = None
        resync: Resync | None = None
        if self._after is not None:
            last = self._after
            for subscribed_first in (False, True):  # most of a long backlog before subscribing, the rest after
                if subscribed_first:
                    self._subscribe()
                async for item in self._backlog(last):
                    if isinstance(item, Resync):
                        resync = item  # the backlog's last item
                    else:
                        last = item.seq
                        yield item
                if resync is not None:
                    yield resync
                    break
        if self._snapshot or resync is not None:
            if self._subscription is None:  # before the board: nothing committed after it is missed
                self._subscribe()
            board = await read_board(self._pool, self.centre_id)
            last = board.seq
            yield board
        subscription = self._subscription or self._subscribe()
        while True:
            item = await subscription.next(self._heartbeat_s)
            if item is None:
                yield HEARTBEAT
            elif last is None or item.seq > last:
                last = item.seq
                yield item

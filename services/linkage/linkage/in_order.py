"""A Faust consumer that hands the agents every record of their source topics, in offset order,
with no gaps: LinkDuty's fix of a record-losing race in faust-streaming 0.15.3.

The race (reproduced by `tests/faults/test_linkage_kill.py`; faust-streaming issues #216, #221,
#606 describe its relatives). A worker that starts, or takes partitions in a rebalance, recovers
its tables, then `Recovery._resume_streams` resumes the stream partitions and *only then* seeks
them to their committed offsets. In that window the fetcher already returned a batch from the
committed offset C on: its first records (C … C+k) reach a stream queue that the flow control
clears on resume, so they are never processed; then the seek sets Faust's read offset back to C,
the batch goes on with C+k+1, and `Consumer._drain_messages` sees a gap C+1 … C+k, which it
counts as acknowledged (`_add_gap`). The next commit moves past records no agent ever saw: after
a kill -9 the alarms reported while the worker was down, at the head of each partition's
backlog, reached no centre, and never would.

The fix is in `getmany`, the one place every fetched record passes before Faust's bookkeeping:
for the source topics (whose offsets are contiguous: their producers use no transactions, and
they are not compacted) it remembers the next offset each partition must deliver, set by every
seek and advanced by every record delivered. A record past it means records were lost on the
way (fetched before a seek and cleared, or dropped while a partition was paused): the partition
is sought back to the missing offset and the rest of its batch is dropped, so they are fetched
again and delivered in order. A record below it was delivered already (fetched again after a
seek back). Records the agents skip are still delivered and acknowledged, so acknowledgements
stay contiguous and the commit never stalls on a hole. A gap that is still there after a seek
back is real (retention deleted the records): it is logged as an error and passed over.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP

log = logging.getLogger(__name__)


class InOrderConsumer(aiokafka_driver.Consumer):
    """`getmany` delivers the records of `in_order_topics` without gaps (see the module)."""

    in_order_topics: frozenset[str] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_offset: dict[TP, int] = {}  # the next offset each partition must deliver
        self._sought_back: dict[TP, int] = {}  # the offset a partition was last sought back to

    async def perform_seek(self) -> None:
        await super().perform_seek()  # every assigned partition to its committed offset
        for tp, offset in self._read_offset.items():
            if tp.topic in self.in_order_topics:
                self._expect(tp, offset)

    async def seek(self, partition: TP, offset: int) -> None:
        await super().seek(partition, offset)
        if partition.topic in self.in_order_topics:
            self._expect(partition, offset)

    def _expect(self, tp: TP, offset: int | None) -> None:
        # Nothing committed yet: the group starts at the earliest record (Faust's default reset),
        # which is 0 unless retention removed some; then the first gap is passed over, logged.
        self._next_offset[tp] = offset or 0

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self._forget(revoked)
        await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        self._forget(set(self._next_offset) - set(assigned))
        await super().on_partitions_assigned(assigned, generation_id)

    def _forget(self, tps: Iterable[TP]) -> None:
        for tp in tps:
            self._next_offset.pop(tp, None)
            self._sought_back.pop(tp, None)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        sought_back: set[TP] = set()  # partitions whose rest of this batch is dropped
        async for tp, message in super().getmany(timeout):
            if tp.topic not in self.in_order_topics:
                yield tp, message
                continue
            if tp in sought_back:
                continue
            expected = self._next_offset.get(tp)
            if expected is not None and message.offset < expected:
                continue  # delivered already: fetched again after a seek back
            if expected is not None and message.offset > expected:
                if self._sought_back.get(tp) != expected:
                    log.warning("%s[%d]: offset %d fetched where %d was due; seeking back to it",
                                tp.topic, tp.partition, message.offset, expected)
                    self._sought_back[tp] = expected
                    sought_back.add(tp)
                    await self.seek(tp, expected)
                    continue
                log.error("%s[%d]: offsets %d…%d are not in the log (deleted by retention?): passed over",
                          tp.topic, tp.partition, expected, message.offset - 1)
            self._next_offset[tp] = message.offset + 1
            yield tp, message


class InOrderTransport(aiokafka_driver.Transport):
    Consumer = InOrderConsumer


class LinkageApp(faust.App):
    """A Faust app whose consumer delivers `in_order_topics` without gaps."""

    def __init__(self, *args: Any, in_order_topics: Iterable[str], **kwargs: Any) -> None:
        self._in_order_topics = frozenset(in_order_topics)
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> InOrderTransport:
        consumer = type("InOrderConsumerFor", (InOrderConsumer,), {"in_order_topics": self._in_order_topics})
        transport = type("InOrderTransportFor", (InOrderTransport,), {"Consumer": consumer})
        return transport(self.conf.broker_consumer, self)

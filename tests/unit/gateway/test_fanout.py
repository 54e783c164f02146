"""The hub: in-order fan-out per centre, each seq once, and a full queue drops only its owner."""

import asyncio

import pytest

from gateway.fanout import Hub, TooFarBehind
from gateway.feed.tables import FeedItem


def item(seq: int, centre: str = "c1") -> FeedItem:
    return FeedItem(seq, centre, "AlarmReported", {"seq": seq})


async def test_items_reach_the_subscribers_of_their_centre_in_order():
    hub = Hub(queue_size=10)
    mine, theirs = hub.subscribe("c1"), hub.subscribe("c2")
    hub.publish([item(1), item(2, "c2"), item(3)])
    assert [(await mine.next(1)).seq for _ in range(2)] == [1, 3]
    assert (await theirs.next(1)).seq == 2
    assert await mine.next(0.01) is None  # nothing more: time for a heartbeat


async def test_a_row_seen_twice_is_fanned_out_once():
    hub = Hub(queue_size=10)
    sub = hub.subscribe("c1")
    hub.publish([item(1), item(2)])
    hub.publish([item(1), item(2), item(3)])  # the tail's safety-net read after the writer's hand-over
    assert [(await sub.next(1)).seq for _ in range(3)] == [1, 2, 3]
    assert await sub.next(0.01) is None and hub.last_seq == 3


async def test_a_full_queue_overflows_its_subscriber_only_and_never_blocks_the_publisher():
    hub = Hub(queue_size=2)
    stuck, reader = hub.subscribe("c1"), hub.subscribe("c1")
    hub.publish([item(1), item(2)])
    assert [(await reader.next(1)).seq for _ in range(2)] == [1, 2]
    hub.publish([item(3), item(4)])
    assert stuck.overflowed.is_set() and not reader.overflowed.is_set()
    assert hub.subscribers("c1") == 1
    assert [(await reader.next(1)).seq for _ in range(2)] == [3, 4]
    with pytest.raises(TooFarBehind):
        await stuck.next(1)


async def test_closing_unsubscribes():
    hub = Hub(queue_size=2)
    sub = hub.subscribe("c1", asyncio.Event())
    sub.close()
    sub.close()
    assert hub.subscribers("c1") == 0
    hub.publish([item(1)])
    assert await sub.next(0.01) is None

"""The event store against the real PostgreSQL."""

import asyncio
import datetime as dt
import random
import uuid

import pytest

from linkduty_shared.eventstore import ConcurrencyConflict, EventStore, NewEvent, Position


def ev(n: int, **kw) -> NewEvent:
    return NewEvent(event_type="TallyIncremented", schema_version=2, data={"by": n, "reason": "t"}, **kw)


async def test_two_concurrent_appends_to_one_stream_one_wins_one_conflicts(pool):
    store = EventStore(pool)
    await store.append("s-1", "tally", 0, [ev(1)])
    results = await asyncio.gather(
        store.append("s-1", "tally", 1, [ev(2)]),
        store.append("s-1", "tally", 1, [ev(3)]),
        return_exceptions=True,
    )
    conflicts = [r for r in results if isinstance(r, ConcurrencyConflict)]
    winners = [r for r in results if isinstance(r, list)]
    assert len(conflicts) == 1 and len(winners) == 1
    loaded = await store.load("s-1")
    assert [e.version for e in loaded] == [1, 2]
    assert loaded[1].data == winners[0][0].data


async def test_append_at_a_stale_or_future_version_conflicts_and_writes_nothing(pool):
    store = EventStore(pool)
    await store.append("s-2", "tally", 0, [ev(1), ev(2)])
    for expected in (0, 1, 5):
        with pytest.raises(ConcurrencyConflict):
            await store.append("s-2", "tally", expected, [ev(9)])
    assert [e.version for e in await store.load("s-2")] == [1, 2]
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0  # nothing half-written


async def test_append_writes_events_and_outbox_rows_together(pool):
    store = EventStore(pool)
    stored = await store.append("s-3", "tally", 0, [ev(1), ev(2), ev(3)], topic="t.events")
    rows = await pool.fetch("SELECT event_id, topic, partition_key FROM outbox ORDER BY id")
    assert [r["event_id"] for r in rows] == [s.event_id for s in stored]
    assert {(r["topic"], r["partition_key"]) for r in rows} == {("t.events", "s-3")}


async def test_load_as_of_a_version_or_a_moment(pool):
    store = EventStore(pool)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(5):
        await store.append("s-4", "tally", i, [ev(i, occurred_at=t0 + dt.timedelta(minutes=i))])
    assert [e.version for e in await store.load("s-4", up_to_version=3)] == [1, 2, 3]
    as_of = await store.load("s-4", as_of=t0 + dt.timedelta(minutes=1, seconds=30))
    assert [e.version for e in as_of] == [1, 2]


async def test_read_all_does_not_pass_an_event_whose_transaction_commits_later(pool):
    """Position 1 is taken by a transaction that commits after position 2's: the reader must
    not return 2 until 1 is visible, or a follower would skip 1 forever."""
    store = EventStore(pool)
    async with pool.acquire() as slow:
        tx = slow.transaction()
        await tx.start()
        await store.append("slow", "tally", 0, [ev(1)], conn=slow)  # takes the lower position
        await store.append("fast", "tally", 0, [ev(2)])  # commits first
        assert await store.read_all(Position.START) == []  # nothing past the open transaction
        await tx.commit()
    seen = await store.read_all(Position.START)
    assert [e.stream_id for e in seen] == ["slow", "fast"]


async def test_a_follower_of_the_global_order_sees_every_event_once_under_concurrent_writers(pool):
    store = EventStore(pool)
    writers, per_writer = 16, 40
    done = asyncio.Event()
    seen: list = []

    async def writer(w: int) -> None:
        for i in range(per_writer):
            await store.append(f"w{w}", "tally", i, [ev(i)])
            if random.random() < 0.3:
                await asyncio.sleep(0)

    async def follower() -> None:
        after = Position.START
        while True:
            batch = await store.read_all(after, limit=50)
            seen.extend(batch)
            if batch:
                after = batch[-1].position
            elif done.is_set():
                batch = await store.read_all(after)
                seen.extend(batch)
                if not batch:
                    return
            else:
                await asyncio.sleep(0.001)

    follow = asyncio.create_task(follower())
    await asyncio.gather(*(writer(w) for w in range(writers)))
    done.set()
    await asyncio.wait_for(follow, 30)
    ids = [e.event_id for e in seen]
    assert len(ids) == len(set(ids)) == writers * per_writer
    assert [e.position for e in seen] == sorted(e.position for e in seen)
    for w in range(writers):
        assert [e.version for e in seen if e.stream_id == f"w{w}"] == list(range(1, per_writer + 1))


async def test_event_ids_are_unique_across_the_store(pool):
    store = EventStore(pool)
    same = uuid.uuid4()
    await store.append("u-1", "tally", 0, [ev(1, event_id=same)])
    with pytest.raises(Exception):
        await store.append("u-2", "tally", 0, [ev(1, event_id=same)])

"""The outbox relay against the real PostgreSQL and Kafka, including a kill and a broker outage."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict

from linkduty_shared.events import envelope_from_kafka
from linkduty_shared.eventstore import EventStore, NewEvent
from linkduty_shared.messaging.kafka import reliable_producer
from linkduty_shared.outbox import OutboxRelay
from tests.conftest import ROOT, eventually
from tests.support.kafka import read_topic


def ev(n: int) -> NewEvent:
    return NewEvent(event_type="TallyIncremented", schema_version=2, data={"by": n, "reason": "t"})


async def append_many(store: EventStore, topic: str, streams: int, per_stream: int, prefix: str = "agg") -> set[uuid.UUID]:
    ids: set[uuid.UUID] = set()

    async def one_stream(s: int) -> None:
        for v in range(per_stream):
            stored = await store.append(f"{prefix}-{s}", "tally", v, [ev(v)], topic=topic)
            ids.update(e.event_id for e in stored)

    await asyncio.gather(*(one_stream(s) for s in range(streams)))
    return ids


def assert_each_once_in_order(records, expected_ids: set[uuid.UUID]) -> None:
    """What an idempotent consumer sees: every event once, versions in order per aggregate."""
    applied: set[str] = set()
    versions = defaultdict(list)
    for r in records:
        envelope = envelope_from_kafka(r.headers, r.key, r.value)
        assert r.key.decode() == envelope.subject  # key = aggregate id
        if envelope.id in applied:
            continue  # a redelivery, dropped by event id
        applied.add(envelope.id)
        versions[envelope.subject].append(envelope.streamversion)
    assert applied == {str(i) for i in expected_ids}
    for subject, seq in versions.items():
        assert seq == list(range(1, len(seq) + 1)), f"{subject} out of order: {seq}"


async def test_relay_publishes_in_order_per_aggregate_as_cloudevents(pool, topic, kafka_bootstrap):
    store = EventStore(pool)
    relay = OutboxRelay(pool, lambda: reliable_producer(kafka_bootstrap), batch_size=50)
    store.on_append(relay.wake)
    task = asyncio.create_task(relay.run())
    try:
        ids = await append_many(store, topic, streams=12, per_stream=25)
        records = await read_topic(kafka_bootstrap, topic, until_count=len(ids))
        assert_each_once_in_order(records, ids)
        assert len(records) == len(ids)  # no duplicates without a crash
        headers = dict(records[0].headers)
        assert headers["ce_specversion"] == b"1.0" and headers["ce_type"] == b"linkduty.tally.TallyIncremented"
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM outbox"), what="outbox drained")
    finally:
        task.cancel()


def start_relay_process(dsn: str, bootstrap: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "linkduty_shared.outbox", "--dsn", dsn, "--bootstrap", bootstrap, "--batch-size", "20"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def test_a_frozen_leader_is_replaced_and_the_events_waiting_for_it_are_published_once_each(
        pool, schema_dsn, topic, kafka_bootstrap):
    """The leader relay frozen (SIGSTOP) keeps its session and lock: the replica waiting ends that
    session once it has been idle past stalled_after_s with rows waiting, takes over, and the
    thawed relay finds its connection gone and stands by."""
    store = EventStore(pool)
    frozen = start_relay_process(schema_dsn, kafka_bootstrap)
    standby = OutboxRelay(pool, lambda: reliable_producer(kafka_bootstrap, client_id="it-standby"),
                          poll_interval_s=0.1, stalled_after_s=2.0)
    task = None
    try:
        first = await append_many(store, topic, streams=3, per_stream=5, prefix="before")
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM outbox"), what="the leader publishing")
        task = asyncio.create_task(standby.run())
        await asyncio.sleep(1)  # the standby waits for the lock
        frozen.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        later = await append_many(store, topic, streams=3, per_stream=5, prefix="while-frozen")
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM outbox"), timeout=30,
                         what="the events published by the standby")
        taken_over_in = time.monotonic() - frozen_at
        assert 2.0 <= taken_over_in < 10.0 and standby.published == len(later)
        frozen.send_signal(signal.SIGCONT)
        after = await append_many(store, topic, streams=3, per_stream=5, prefix="after")
        await eventually(lambda: standby.published == len(later) + len(after), what="the standby still leading")
        await asyncio.sleep(1)
        assert frozen.poll() is None  # the thawed relay lives on, standing by
    finally:
        frozen.send_signal(signal.SIGCONT)
        frozen.send_signal(signal.SIGTERM)
        frozen.wait(20)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    records = await read_topic(kafka_bootstrap, topic, until_count=len(first | later | after))
    assert_each_once_in_order(records, first | later | after)


async def test_killed_relay_restarts_and_publishes_the_rest_with_nothing_lost(pool, schema_dsn, topic, kafka_bootstrap):
    store = EventStore(pool)
    ids = await append_many(store, topic, streams=10, per_stream=400)
    relay = start_relay_process(schema_dsn, kafka_bootstrap)
    try:
        # kill -9 once it has published part of the outbox, wherever it is in its cycle (watched
        # closely: a relay on a quiet machine published 1,000 events between two looks 0.1 s apart)
        await eventually(lambda: pool.fetchval("SELECT count(*) < 3900 FROM outbox"), interval=0.005,
                         what="relay progress")
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
        left = await pool.fetchval("SELECT count(*) FROM outbox")
        assert 0 < left < len(ids)
    finally:
        if relay.poll() is None:
            relay.kill()
    relay = start_relay_process(schema_dsn, kafka_bootstrap)
    try:
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM outbox"), what="outbox drained after restart")
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(20)
    records = await read_topic(kafka_bootstrap, topic, until_count=len(ids))
    assert_each_once_in_order(records, ids)


def stack(command: str) -> None:
    subprocess.run([str(ROOT / "deploy/local/stack.sh"), command], check=True, timeout=180)


async def test_events_appended_while_kafka_is_down_are_all_published_when_it_is_back(pool, topic, kafka_bootstrap):
    store = EventStore(pool)
    relay = OutboxRelay(pool, lambda: reliable_producer(kafka_bootstrap), batch_size=50, max_backoff_s=1.0)
    store.on_append(relay.wake)
    task = asyncio.create_task(relay.run())
    try:
        first = await append_many(store, topic, streams=4, per_stream=10)
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM outbox"), what="first batch published")
        await asyncio.to_thread(stack, "kafka-stop")
        try:
            during = await append_many(store, topic, streams=8, per_stream=20, prefix="during")
            await asyncio.sleep(2)  # the relay tries, fails, keeps every row
            assert await pool.fetchval("SELECT count(*) FROM outbox") == len(during)
        finally:
            await asyncio.to_thread(stack, "kafka-start")
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM outbox"), timeout=90, what="published after outage")
        records = await read_topic(kafka_bootstrap, topic, until_count=len(first | during), timeout=60)
        assert_each_once_in_order(records, first | during)
    finally:
        task.cancel()

"""The consumer runner (DLQ) and projections (idempotent, rebuildable) on the real stack."""

import asyncio
import dataclasses
import datetime as dt
import uuid

from aiokafka import AIOKafkaProducer

from linkduty_shared.events import Envelope, envelope_to_kafka
from linkduty_shared.eventstore import EventStore, NewEvent
from linkduty_shared.messaging.consumer import ConsumerRunner, replay_dead_letters
from linkduty_shared.messaging.kafka import reliable_producer
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic
from linkduty_shared.outbox import OutboxRelay
from linkduty_shared.projections import KafkaProjectionHandler, Projection, StoreProjectionRunner
from tests.conftest import eventually
from tests.support.kafka import make_topics, read_topic


class TalliesByStream(Projection):
    """Running total and event count per stream: enough to see a lost or doubled event."""

    name = "tallies_by_stream"
    ddl = """CREATE TABLE IF NOT EXISTS tallies_by_stream (
        stream_id text PRIMARY KEY, total bigint NOT NULL, events integer NOT NULL, last_version integer NOT NULL)"""

    async def apply(self, conn, event) -> None:
        if event.event_name != "TallyIncremented":
            return
        await conn.execute(
            """INSERT INTO tallies_by_stream VALUES ($1, $2, 1, $3)
               ON CONFLICT (stream_id) DO UPDATE SET total = tallies_by_stream.total + EXCLUDED.total,
                 events = tallies_by_stream.events + 1, last_version = EXCLUDED.last_version""",
            event.subject, event.data["by"], event.streamversion,
        )

    async def reset(self, conn) -> None:
        await conn.execute("DELETE FROM tallies_by_stream")


def ev(n: int) -> NewEvent:
    return NewEvent(event_type="TallyIncremented", schema_version=2, data={"by": n, "reason": "t"})


async def snapshot(pool) -> list:
    return [tuple(r) for r in await pool.fetch("SELECT * FROM tallies_by_stream ORDER BY stream_id")]


async def test_poison_message_goes_to_the_dlq_and_the_next_message_is_processed(pool, topic, kafka_bootstrap):
    handled, attempts = [], {"poison-data": 0}

    async def handler(envelope, record) -> None:
        if envelope.data.get("boom"):
            attempts["poison-data"] += 1
            raise ValueError("cannot apply this event")
        handled.append(envelope.data["n"])

    store = EventStore(pool)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        good = [s.envelope() for s in await store.append("a", "tally", 0, [
            NewEvent("X", {"n": 1}), NewEvent("X", {"boom": True}), NewEvent("X", {"n": 2})])]
        for envelope in good[:2]:
            m = envelope_to_kafka(envelope)
            await producer.send_and_wait(topic, m.value, key=m.key, headers=list(m.headers.items()), partition=0)
        await producer.send_and_wait(topic, b"\x00 not a cloudevent", key=b"a", partition=0)  # unparseable
        m = envelope_to_kafka(good[2])
        await producer.send_and_wait(topic, m.value, key=m.key, headers=list(m.headers.items()), partition=0)
    finally:
        await producer.stop()

    runner = ConsumerRunner(bootstrap=kafka_bootstrap, group_id=f"g-{topic}", topics=[topic], handler=handler,
                            max_attempts=3, retry_backoff_s=0.01)
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: handled == [1, 2], what="good messages around the poison ones")
        dead = await read_topic(kafka_bootstrap, dlq_topic(topic), until_count=2)
    finally:
        task.cancel()
    assert len(dead) == 2 and runner.dead_lettered == 2
    errors = [dict(r.headers)["dlq_error"].decode() for r in dead]
    assert errors[0].startswith("ValueError: cannot apply this event") and attempts["poison-data"] == 3
    assert errors[1].startswith("EnvelopeError")
    assert {dict(r.headers)["dlq_topic"] for r in dead} == {topic.encode()}

    # once the cause is fixed, the DLQ can be replayed onto the topic
    replayed = await replay_dead_letters(kafka_bootstrap, topic)
    assert replayed == 2
    everything = await read_topic(kafka_bootstrap, topic, until_count=6)
    assert sum(1 for r in everything if r.value == b"\x00 not a cloudevent") == 2


async def test_projection_fed_from_kafka_applies_redelivered_events_once(pool, topic, kafka_bootstrap):
    await pool.execute(TalliesByStream.ddl)
    store = EventStore(pool)
    for s in range(3):
        for v in range(5):
            await store.append(f"s{s}", "tally", v, [ev(v + 1)], topic=topic)
    relay = OutboxRelay(pool, lambda: reliable_producer(kafka_bootstrap))
    await relay.publish_batch()
    # the relay crashed before deleting its rows: everything is published a second time
    await pool.execute("INSERT INTO outbox (event_id, topic, partition_key) SELECT event_id, $1, stream_id FROM events",
                       topic)
    await relay.publish_batch()
    handler = KafkaProjectionHandler(pool, TalliesByStream())
    runner = ConsumerRunner(bootstrap=kafka_bootstrap, group_id=f"g-{topic}", topics=[topic], handler=handler)
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: runner.processed == 30, what="30 deliveries")
    finally:
        task.cancel()
    assert await snapshot(pool) == [(f"s{s}", 15, 5, 5) for s in range(3)]


async def test_projection_rebuilt_from_the_store_equals_the_live_one(pool, topic, kafka_bootstrap):
    await pool.execute(TalliesByStream.ddl)
    store = EventStore(pool)
    relay = OutboxRelay(pool, lambda: reliable_producer(kafka_bootstrap))
    store.on_append(relay.wake)
    live = ConsumerRunner(bootstrap=kafka_bootstrap, group_id=f"g-{topic}", topics=[topic],
                          handler=KafkaProjectionHandler(pool, TalliesByStream()))
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(live.run())]
    try:
        async def writer(s: int) -> None:
            for v in range(20):
                await store.append(f"s{s}", "tally", v, [ev(s * 100 + v)], topic=topic)

        await asyncio.gather(*(writer(s) for s in range(8)))
        await eventually(lambda: live.processed == 160, what="live projection caught up")
    finally:
        for t in tasks:
            t.cancel()
    live_rows = await snapshot(pool)
    assert len(live_rows) == 8

    rebuilt = StoreProjectionRunner(store, pool, TalliesByStream(), batch_size=37)
    assert await rebuilt.rebuild() == 160
    assert await snapshot(pool) == live_rows
    assert await rebuilt.catch_up() == 0  # the checkpoint committed with the rows


async def test_a_restarted_runner_still_dead_letters(pool, topic, kafka_bootstrap):
    """The supervisor calls run() again after a crash: the DLQ producer must work the second time."""
    async def handler(envelope, record) -> None:
        raise ValueError("always poison")

    runner = ConsumerRunner(bootstrap=kafka_bootstrap, group_id=f"g-{topic}", topics=[topic], handler=handler,
                            max_attempts=1)
    first = asyncio.create_task(runner.run())
    await asyncio.wait_for(runner.assigned.wait(), 30)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        m = envelope_to_kafka(Envelope(id=str(uuid.uuid4()), source="/test", type="linkduty.tally.X", subject="a",
                                         time=dt.datetime.now(dt.UTC), data={"n": 1}))
        await producer.send_and_wait(topic, m.value, key=m.key, headers=list(m.headers.items()))
    finally:
        await producer.stop()
    second = asyncio.create_task(runner.run())
    try:
        [dead] = await read_topic(kafka_bootstrap, dlq_topic(topic), until_count=1)
    finally:
        second.cancel()
    assert dict(dead.headers)["dlq_error"].startswith(b"ValueError: always poison")


async def test_records_of_types_the_consumer_does_not_want_are_skipped_unparsed(kafka_bootstrap, topic):
    """`wanted` looks at the ce_type header only: an unwanted record is neither parsed nor handled."""
    handled: list[str] = []

    async def handle(envelope, record):
        handled.append(envelope.event_name)

    wanted_event = Envelope(id=str(uuid.uuid4()), source="/t", type="linkduty.t.Wanted", subject="s",
                            time=dt.datetime.now(dt.UTC), data={})
    unwanted = envelope_to_kafka(dataclasses.replace(wanted_event, id=str(uuid.uuid4()), type="linkduty.t.Other"))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        # an unwanted type whose value is not even JSON: parsing it would dead-letter it
        await producer.send_and_wait(topic, b"\xff", key=b"s", headers=list(unwanted.headers.items()))
        message = envelope_to_kafka(wanted_event)
        await producer.send_and_wait(topic, message.value, key=b"s", headers=list(message.headers.items()))
    finally:
        await producer.stop()
    runner = ConsumerRunner(bootstrap=kafka_bootstrap, group_id=f"g-{uuid.uuid4().hex[:6]}", topics=[topic],
                            handler=handle, wanted=lambda t: t.endswith(".Wanted"))
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: handled == ["Wanted"], what="the wanted record handled")
        assert runner.dead_lettered == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_static_member_restarted_with_one_more_topic_reads_it(kafka_bootstrap, topic):
    """A release that adds a topic to a worker under static membership (linkage took on
    hazards.events): Kafka hands a static member rejoining under its old id its cached
    assignment, without the new topic, so the new subscription must join under a new member id."""
    added = f"test.{uuid.uuid4().hex[:10]}.more"
    await make_topics(kafka_bootstrap, [TopicSpec(added, 3, 1, 3_600_000), TopicSpec(dlq_topic(added), 1, 1, 3_600_000)])
    group, handled = f"g-{uuid.uuid4().hex[:6]}", []

    async def handle(envelope, record):
        handled.append(record.topic)

    def worker(topics: list[str]) -> ConsumerRunner:
        return ConsumerRunner(bootstrap=kafka_bootstrap, group_id=group, topics=topics, handler=handle,
                              group_instance_id="worker-0", co_partitioned=True)

    before = worker([topic])
    task = asyncio.create_task(before.run())
    await asyncio.wait_for(before.assigned.wait(), 60)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        m = envelope_to_kafka(Envelope(id=str(uuid.uuid4()), source="/test", type="linkduty.t.X", subject="a",
                                         time=dt.datetime.now(dt.UTC), data={}))
        await producer.send_and_wait(added, m.value, key=m.key, headers=list(m.headers.items()))
    finally:
        await producer.stop()
    after = worker([topic, added])
    task = asyncio.create_task(after.run())
    try:
        await eventually(lambda: handled == [added], timeout=60, what="the added topic's record handled")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

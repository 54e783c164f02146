"""Reading a test topic back from the real broker."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def read_topic(bootstrap: str, topic: str, *, until_count: int, timeout: float = 30.0) -> list[ConsumerRecord]:
    """Every record of `topic` from the start, once `until_count` arrived (or fail at timeout)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < until_count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{topic}: {len(records)} of {until_count} records after {timeout}s")
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
        # a short grace read, so duplicates beyond the expected count are seen too
        for batch in (await consumer.getmany(timeout_ms=300)).values():
            records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def group_lag(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """Per partition of `topic`: records past `group`'s committed offset (all of them if none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await probe.start()
    try:
        committed = {tp: m.offset for tp, m in (await admin.list_consumer_group_offsets(group)).items()
                     if tp.topic == topic}
        ends = await probe.end_offsets([TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()])
        return {tp.partition: end - max(committed.get(tp, 0), 0) for tp, end in ends.items()}
    finally:
        await probe.stop()
        await admin.close()

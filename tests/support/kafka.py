"""Reading a test topic back from the real broker."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, ConsumerRecord


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

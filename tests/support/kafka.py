"""Reading a test topic back from the real broker."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from linkduty_shared.messaging.topics import ensure_topics


async def read_topic(bootstrap: str, topic: str, *, until_count: int = 1,
                     until: Callable[[list[ConsumerRecord]], bool] | None = None,
                     timeout: float = 30.0) -> list[ConsumerRecord]:
    """Every record of `topic` from the start, once `until_count` arrived and `until` (when
    given) holds for what arrived (or fail at timeout)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < until_count or (until is not None and not until(records)):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{topic}: {len(records)} records (wanted {until_count}"
                                     f"{' and a condition' if until else ''}) after {timeout}s")
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
        # the topic's partitions from the admin client: a probe subscribed to nothing knows none of them
        [described] = await admin.describe_topics([topic])
        ends = await probe.end_offsets([TopicPartition(topic, p["partition"]) for p in described["partitions"]])
        return {tp.partition: end - max(committed.get(tp, 0), 0) for tp, end in ends.items()}
    finally:
        await probe.stop()
        await admin.close()


# ---- the suite's own topics, deleted after each test module ---------------------------------
# A broker that keeps every topic the suite made recovers all of them on each restart: the fault
# tests, last in the suite, restarted a broker holding a few thousand and waited minutes for it.

_made_topics: set[str] = set()
_bootstrap: list[str] = []  # the broker they were made on


async def make_topics(bootstrap: str, specs) -> None:
    """`ensure_topics` for a test's own topics, remembered for `delete_made_topics`."""
    _bootstrap[:] = [bootstrap]
    _made_topics.update(spec.name for spec in specs)
    await ensure_topics(bootstrap, list(specs))


def made_anything() -> bool:
    return bool(_made_topics)


async def delete_made_topics() -> int:
    """Delete what `make_topics` made; returns how many.
    Housekeeping, never a test's verdict: a broker that cannot be reached (a fault test restarting
    it) leaves them for the next broker reset, and nothing is raised."""
    made = set(_made_topics)
    _made_topics.clear()
    if not made:
        return 0
    admin = AIOKafkaAdminClient(bootstrap_servers=_bootstrap[0], request_timeout_ms=10_000)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        doomed = sorted(made & existing)
        if doomed:
            await admin.delete_topics(doomed, timeout_ms=30_000)
        return len(doomed)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        warnings.warn(f"test topics not deleted ({type(exc).__name__}: {exc})", stacklevel=1)
        return 0
    finally:
        await admin.close()

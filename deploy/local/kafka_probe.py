"""Readiness probe for the local Kafka broker (used by deploy/local/stack.sh).

An open port is not enough: right after start-up the broker accepts connections before the
controller has elected itself and before partitions have leaders.  The probe therefore does what a
service does: it makes sure the topic `_linkduty_probe` exists (auto-create is off on purpose),
produces one message with acks=all and reads that very message back by its offset. On a cluster
it also waits until every node has registered (`--brokers`), and the probe topic is replicated as
the project's topics are (`--replication`), so that acks=all means what it will mean for them.

Exit code 0 when the round trip worked, 1 otherwise (the reason goes to stderr, one line).
Usage: kafka_probe.py [--bootstrap 127.0.0.1:19092[,...]] [--brokers 1] [--replication 1] [--timeout 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

TOPIC = "_linkduty_probe"
# Kafka protocol error codes that mean "the topic is there (or about to be)".
_OK_CREATE_CODES = {0, 36}  # NONE, TOPIC_ALREADY_EXISTS


async def ensure_topic(bootstrap: str, brokers: int, replication: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        registered = len((await admin.describe_cluster())["brokers"])
        if registered < brokers:
            raise RuntimeError(f"{registered} of {brokers} brokers registered")
        if TOPIC in await admin.list_topics():
            return
        response = await admin.create_topics(
            [NewTopic(TOPIC, num_partitions=1, replication_factor=replication)]
        )
        for topic, code, *rest in response.topic_errors:
            if code not in _OK_CREATE_CODES:
                message = rest[0] if rest else ""
                raise RuntimeError(f"create topic {topic}: error code {code} {message}".strip())
    finally:
        await admin.close()


async def produce(bootstrap: str, payload: bytes) -> tuple[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=5000)
    await producer.start()
    try:
        meta = await producer.send_and_wait(TOPIC, payload)
        return meta.partition, meta.offset
    finally:
        await producer.stop()


async def consume(bootstrap: str, partition: int, offset: int, payload: bytes) -> None:
    # No group_id: plain assignment, so the probe leaves no consumer group behind.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(TOPIC, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        record = await consumer.getone(tp)
        if record.offset != offset or record.value != payload:
            raise RuntimeError(f"read back offset {record.offset} with an unexpected value")
    finally:
        await consumer.stop()


async def probe(bootstrap: str, brokers: int, replication: int) -> None:
    payload = f"probe {os.getpid()} {uuid.uuid4()}".encode()
    await ensure_topic(bootstrap, brokers, replication)
    partition, offset = await produce(bootstrap, payload)
    await consume(bootstrap, partition, offset, payload)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_port = os.environ.get("LINKDUTY_KAFKA_PORT", "19092")
    parser.add_argument("--bootstrap", default=f"127.0.0.1:{default_port}")
    parser.add_argument("--brokers", type=int, default=1, help="nodes that must have registered")
    parser.add_argument("--replication", type=int, default=1, help="of the probe topic, when created")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds for the whole probe")
    args = parser.parse_args()
    try:
        asyncio.run(asyncio.wait_for(probe(args.bootstrap, args.brokers, args.replication), args.timeout))
    except Exception as exc:  # any failure just means "not ready yet"
        reason = str(exc) or "no details"
        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            reason = f"no round trip within {args.timeout:g} s"
        print(f"kafka probe {args.bootstrap}: {type(exc).__name__}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Create the topics named in topics.toml (and their dead-letter topics), idempotently, and wait
until every partition has a leader: Kafka answers CreateTopics before the partitions are led, and
a client that reads the metadata in between caches a topic with no partitions (a producer's sends
then fail until its metadata is refreshed)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import tomllib
from importlib import resources

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from linkduty_shared.messaging.kafka import Kafka, connection


READY_TIMEOUT_S = 30.0


@dataclasses.dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    retention_ms: int | None  # None: the broker's default (a compacted topic keeps every key)
    configs: dict[str, str] = dataclasses.field(default_factory=dict)  # more topic configs

    def topic_configs(self) -> dict[str, str]:
        retention = {} if self.retention_ms is None else {"retention.ms": str(self.retention_ms)}
        return retention | self.configs


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def configured_topics(replication_factor: int | None = None) -> list[TopicSpec]:
    """topics.toml's topics and their DLQs; `replication_factor` overrides the file's (a cluster)."""
    config = tomllib.loads(resources.files(__package__).joinpath("topics.toml").read_text())
    defaults = config["defaults"]
    specs = []
    for name, overrides in config["topics"].items():
        settings = {**defaults, **overrides}
        replicas = replication_factor or settings["replication_factor"]
        specs.append(TopicSpec(name, settings["partitions"], replicas, settings["retention_ms"]))
        specs.append(TopicSpec(dlq_topic(name), 1, replicas, settings["dlq_retention_ms"]))
    return specs


async def ensure_topics(kafka: Kafka, specs: list[TopicSpec], *, ready_timeout_s: float = READY_TIMEOUT_S) -> list[str]:
    """Create the missing topics; return the names created, once every partition of every topic
    in `specs` has a leader (TimeoutError after `ready_timeout_s`)."""
    admin = AIOKafkaAdminClient(**connection(kafka).client_kwargs())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            s.name,
                            num_partitions=s.partitions,
                            replication_factor=s.replication_factor,
                            topic_configs=s.topic_configs(),
                        )
                        for s in missing
                    ]
                )
            except TopicAlreadyExistsError:
                pass  # another process created them between list and create
        await _wait_until_led(admin, specs, ready_timeout_s)
        return [s.name for s in missing]
    finally:
        await admin.close()


async def _wait_until_led(admin: AIOKafkaAdminClient, specs: list[TopicSpec], timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    waiting = {s.name: s.partitions for s in specs}
    while True:
        for topic in await admin.describe_topics(list(waiting)):
            partitions = topic["partitions"]
            if (topic["error_code"] == 0 and len(partitions) >= waiting.get(topic["topic"], 0)
                    and all(p["leader"] >= 0 for p in partitions)):
                waiting.pop(topic["topic"], None)
        if not waiting:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"topics without a leader on every partition after {timeout_s:g} s: {sorted(waiting)}")
        await asyncio.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description="Create LinkDuty's Kafka topics")
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--replication-factor", type=int, default=int(os.environ.get("LINKDUTY_TOPIC_REPLICATION_FACTOR", 0)),
                        help="instead of topics.toml's (default: $LINKDUTY_TOPIC_REPLICATION_FACTOR, else the file's)")
    args = parser.parse_args()
    created = asyncio.run(ensure_topics(args.bootstrap, configured_topics(args.replication_factor or None)))
    print(f"topics: {len(created)} created" + (f" ({', '.join(created)})" if created else ", all present"))


if __name__ == "__main__":
    main()

"""Create the topics named in topics.toml (and their dead-letter topics), idempotently."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tomllib
from importlib import resources

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


@dataclasses.dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    retention_ms: int


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def configured_topics() -> list[TopicSpec]:
    config = tomllib.loads(resources.files(__package__).joinpath("topics.toml").read_text())
    defaults = config["defaults"]
    specs = []
    for name, overrides in config["topics"].items():
        settings = {**defaults, **overrides}
        specs.append(TopicSpec(name, settings["partitions"], settings["replication_factor"], settings["retention_ms"]))
        specs.append(TopicSpec(dlq_topic(name), 1, settings["replication_factor"], settings["dlq_retention_ms"]))
    return specs


async def ensure_topics(bootstrap: str, specs: list[TopicSpec]) -> list[str]:
    """Create the missing topics; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
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
                            topic_configs={"retention.ms": str(s.retention_ms)},
                        )
                        for s in missing
                    ]
                )
            except TopicAlreadyExistsError:
                pass  # another process created them between list and create
        return [s.name for s in missing]
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Create LinkDuty's Kafka topics")
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    args = parser.parse_args()
    created = asyncio.run(ensure_topics(args.bootstrap, configured_topics()))
    print(f"topics: {len(created)} created" + (f" ({', '.join(created)})" if created else ", all present"))


if __name__ == "__main__":
    main()

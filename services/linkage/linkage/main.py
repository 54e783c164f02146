"""`linkduty-linkage worker` / `python -m linkage.main worker`: run the linkage Faust worker."""

from __future__ import annotations

import asyncio
import gc
import sys
from pathlib import Path

import faust

from linkduty_shared.jurisdictions import load_city
from linkduty_shared.messaging.topics import TopicSpec, ensure_topics

from linkage.app import create_app
from linkage.config import LinkageSettings
from linkage.routing import DEFAULT_RULES, RoutingConfig


def build(settings: LinkageSettings) -> faust.App:
    directory = load_city(settings.directory_path)
    directory.neighbours(directory.city.code)  # builds the adjacency index now, not on the first major fire
    routing = RoutingConfig.load(Path(settings.routing_rules_path) if settings.routing_rules_path else DEFAULT_RULES)
    return create_app(settings, directory, routing)


def changelog_topics(app: faust.App) -> list[TopicSpec]:
    """The tables' changelog topics, as Faust would create them (compacted, one partition per
    source partition). Created before the worker starts: Faust creates them as it starts and reads
    the metadata before they are led, then takes them for topics with no partitions and sends
    every table write of the first minutes to the DLQ (PartitionsMismatch)."""
    return [TopicSpec(table.changelog_topic.get_topic_name(), table.partitions or app.conf.topic_partitions,
                      app.conf.topic_replication_factor, None, {"cleanup.policy": "compact"})
            for table in app.tables.values()]


def main() -> None:
    settings = LinkageSettings()
    app = build(settings)
    if "worker" in sys.argv or len(sys.argv) == 1:
        asyncio.run(ensure_topics(settings.kafka, changelog_topics(app)))
    # The city directory and the app live as long as the process: out of the collector's sight, a
    # full collection no longer walks them in the middle of routing (as in api.app.create_app).
    gc.collect()
    gc.freeze()
    if len(sys.argv) == 1:
        sys.argv.append("worker")
    if "worker" in sys.argv:
        if not any(a in ("-l", "--loglevel") or a.startswith("--loglevel=") for a in sys.argv):
            sys.argv += ["--loglevel", "warn"]
        # Faust's web server binds 0.0.0.0 by default; LinkDuty needs none of it (no HTTP API here).
        sys.argv.append("--without-web")
    app.main()


if __name__ == "__main__":
    main()

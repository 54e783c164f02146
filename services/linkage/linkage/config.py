from __future__ import annotations

from typing import Literal

from linkduty_shared.config import ServiceSettings


class LinkageSettings(ServiceSettings):
    service_name: str = "linkage"
    app_id: str = "linkduty-linkage"  # the Faust app id: consumer group and table changelog prefix
    alarms_topic: str = "alarms.events"
    units_topic: str = "units.events"  # its dispatch and joint-operation records are routed too
    notifications_topic: str = "linkage.notifications"
    # What goes to notifications_topic (contracts/notifications.py): "per_centre", one
    # AlarmNotification per centre (key = centre id), or "per_event", one AlarmRouted per event
    # listing its centres (key = alarm id), which the gateway fans out. The gateway reads both.
    notifications_shape: Literal["per_centre", "per_event"] = "per_centre"
    commands_topic: str = "linkage.commands"
    # Static group membership (KIP-345), unique per worker: a worker restarted under the same id
    # gets its partitions back at once, without waiting out the session of the one that died.
    # None: dynamic membership (every join is a rebalance, a dead member holds its partitions
    # for the session timeout).
    group_instance_id: str | None = None
    topic_replication_factor: int = 1  # of the changelog topics Faust creates (3 in production: min.insync.replicas 2)
    partitions: int = 6  # must equal the partitions of alarms_topic and units_topic (tables are co-partitioned)
    routing_rules_path: str | None = None  # defaults to linkage/routing_rules.toml
    ack_timeout_scale: float = 1.0  # multiplies every acknowledgement timeout (tests shrink it)
    timer_interval_s: float = 1.0
    escalation_retry_s: float = 10.0  # re-send an escalation whose effect has not been seen
    closed_retention_s: float = 900.0  # a closed alarm's records are routed this long after its closure
    forget_scan_interval_s: float = 10.0  # how often closed alarms past their retention are looked for
    parked_max_age_s: float = 600.0  # a units record whose alarm is still unknown after this is dropped
    parked_per_alarm: int = 200  # parked units records kept per alarm (the oldest go first)
    data_dir: str = ".state/linkage"
    heartbeat_max_age_s: float = 30.0  # linkage.health: older than this, the worker counts as stuck
    stuck_after_s: float = 300.0  # one record retried longer than this: the heartbeat stops (a restart)

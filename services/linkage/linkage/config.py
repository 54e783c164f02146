from __future__ import annotations

from typing import Literal

from linkduty_shared.config import ServiceSettings


class LinkageSettings(ServiceSettings):
    service_name: str = "linkage"
    app_id: str = "linkduty-linkage"  # its consumer group, and the owner of its rows in the database (state.sql)
    alarms_topic: str = "alarms.events"
    units_topic: str = "units.events"  # its dispatch and joint-operation records are routed too
    # Fire hazards, routed to their community, street, district centres (routing_rules.toml). It
    # must have as many partitions as alarms_topic (one consumer group, range assignment).
    hazards_topic: str = "hazards.events"
    # The volunteers' response to an alarm (keyed by the alarm id): the same partition count too.
    volunteers_topic: str = "volunteers.events"
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
    # A routing transaction left idle this long (its worker frozen or cut off while it waited on
    # Kafka) is ended by PostgreSQL, so that its partitions' lock passes to the group's new owner
    # (linkage.state). Shorter than the group session (10 s), and longer than a slow produce.
    idle_in_transaction_s: float = 5.0
    routing_rules_path: str | None = None  # defaults to linkage/routing_rules.toml
    ack_timeout_scale: float = 1.0  # multiplies every acknowledgement timeout (tests shrink it)
    timer_interval_s: float = 1.0
    escalation_retry_s: float = 10.0  # re-send an escalation whose effect has not been seen
    closed_retention_s: float = 900.0  # a closed alarm's records are routed this long after its closure (a finished hazard's too)
    forget_scan_interval_s: float = 10.0  # how often closed alarms past their retention are looked for
    parked_max_age_s: float = 600.0  # a units record whose alarm is still unknown after this is dropped
    parked_per_alarm: int = 200  # parked units records kept per alarm (the oldest go first)
    data_dir: str = ".state/linkage"
    heartbeat_max_age_s: float = 30.0  # linkage.health: older than this, the worker counts as stuck
    stuck_after_s: float = 300.0  # one record retried longer than this: the heartbeat stops (a restart)

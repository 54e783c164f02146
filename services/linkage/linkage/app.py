"""The Faust app: its topics declared once, its tables (with changelogs), then its agents
(`linkage.agents`) and timers (`linkage.timers`). What each record leads to is decided in
`linkage.router`.

- An alarm event (`alarms.events`) is folded into the alarm's summary (table `alarm-routes-v2`,
  with every centre told so far). One notification goes to `linkage.notifications` (key = centre
  id) for each centre that must see it, or, with `notifications_shape = "per_event"`, one record
  listing them (key = alarm id; contracts/notifications.py), and the alarm's acknowledgement
  deadline is kept (table `ack-deadlines`).
- A dispatch or joint-operation record (`units.events`, `contracts/units.py`) goes to every centre
  told about its alarm, with the alarm's summary as it is (its version and deadlines unchanged).
  A record can overtake its alarm's AlarmReported, because the topics are consumed independently.
  It then finds no alarm yet: it is parked (table `parked-alarm-records`, bounded per alarm) and
  routed right after that AlarmReported. Other `units.events` records (units, rosters…) are ignored.
- A record that cannot be parsed or routed goes to its topic's DLQ, and routing goes on. An outage
  (Kafka, a timeout) is not the record's fault: it is retried, and nothing goes to the DLQ for it.
- A record at an offset this worker already handled is skipped. Faust fetches some twice after
  recovering the tables (`agents.Routing.handled`), and each centre must be told once.
- An overdue deadline becomes an `EscalateAlarm` command on `linkage.commands`.
- A closed alarm stays in `alarm-routes-v2` (marked closed) for `closed_retention_s`, so that the
  records that follow its closure (units recalled, the dispatch ended) still reach its centres.
"""

from __future__ import annotations

import dataclasses

import faust

from linkduty_shared.jurisdictions import Directory
from linkduty_shared.messaging.kafka import KafkaConnection
from linkduty_shared.messaging.topics import dlq_topic

from linkage import agents, timers
from linkage.config import LinkageSettings
from linkage.in_order import LinkageApp
from linkage.router import Router
from linkage.routing import RoutingConfig


@dataclasses.dataclass(frozen=True)
class Topics:
    alarm_events: faust.TopicT
    unit_records: faust.TopicT
    notifications: faust.TopicT
    commands: faust.TopicT
    dead_letters: dict[str, faust.TopicT]  # source topic → its DLQ


@dataclasses.dataclass(frozen=True)
class Tables:
    """Their entries are described in `linkage.router`."""

    summaries: faust.Table  # alarm-routes-v2
    deadlines: faust.Table  # ack-deadlines
    parked: faust.Table  # parked-alarm-records


def faust_credentials(kafka: KafkaConnection) -> faust.types.auth.CredentialsT | None:
    """The service's Kafka identity as Faust takes it (None: plaintext, the local stack)."""
    if kafka.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(username=kafka.username, password=kafka.password, mechanism=kafka.sasl_mechanism,
                                     ssl_context=kafka.ssl_context())
    if kafka.tls:
        return faust.SSLCredentials(kafka.ssl_context())
    return None


def create_app(settings: LinkageSettings, directory: Directory, routing: RoutingConfig) -> faust.App:
    app = LinkageApp(
        settings.app_id,
        in_order_topics=(settings.alarms_topic, settings.units_topic),  # see linkage.in_order
        broker=";".join(f"kafka://{server}" for server in settings.kafka_bootstrap.split(",")),  # Faust's list
        broker_credentials=faust_credentials(settings.kafka),
        store="memory://",  # state is rebuilt from the changelog topics on start
        datadir=settings.data_dir,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.topic_replication_factor,
        producer_acks=-1,
        # 2 ms lets one alarm event's notifications (one per centre, on different partitions)
        # leave in one produce request instead of queueing one round trip behind each other.
        producer_linger=0.002,
        # A worker that dies without leaving its group (killed, or its LeaveGroup lost) holds its
        # partitions until the session times out: Faust's 60 s default meant a minute without
        # routing; an e2e restart test waited that out now and then.
        broker_session_timeout=10.0,
        consumer_group_instance_id=settings.group_instance_id,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        stream_wait_empty=False,
        web_enabled=False,
        web_host="127.0.0.1",
        web_bind="127.0.0.1",
        # The worker's own log setup left aiokafka at DEBUG: building those records cost about a
        # tenth of the worker's time under load (py-spy).
        logging_config={
            "version": 1, "disable_existing_loggers": False,
            "handlers": {"console": {"class": "logging.StreamHandler"}},
            "root": {"level": "WARNING", "handlers": ["console"]},
            "loggers": {name: {"level": "WARNING"} for name in ("aiokafka", "faust", "mode")},
        },
    )
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    topics = Topics(
        alarm_events=app.topic(settings.alarms_topic, **raw),
        unit_records=app.topic(settings.units_topic, **raw),
        notifications=app.topic(settings.notifications_topic, **raw),
        commands=app.topic(settings.commands_topic, **raw),
        dead_letters={t: app.topic(dlq_topic(t), **raw) for t in (settings.alarms_topic, settings.units_topic)},
    )
    # The names are the changelog topics' (`<app id>-<name>-changelog`): renaming one loses its state.
    tables = Tables(
        summaries=app.Table("alarm-routes-v2", partitions=settings.partitions),
        deadlines=app.Table("ack-deadlines", partitions=settings.partitions),
        parked=app.Table("parked-alarm-records", partitions=settings.partitions),
    )
    router = Router(directory, routing.rules,
                    {level: s * settings.ack_timeout_scale for level, s in routing.ack_timeouts_s.items()},
                    settings.parked_per_alarm, shape=settings.notifications_shape)
    escalations = timers.Escalations()
    routing_agents = agents.Routing(settings, router, tables, topics, escalations)
    agents.register(app, topics, routing_agents)
    timers.register(app, settings, timers.Timers(settings, router, tables, topics, escalations), routing_agents.stuck_for)
    return app

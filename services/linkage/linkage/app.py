"""The Faust app: topics declared once, tables with changelogs, two agents and timers.

- `route_alarm_events` consumes `alarms.events`, `route_unit_records` consumes `units.events`.
  Both topics have the same partitions and are keyed by alarm id, so an alarm's records of both
  share one partition and one table partition. Two agents, so that a 119 alarm event never
  queues behind a burst of dispatch records (each agent has its own buffer, and Faust pauses a
  partition whose buffer is full, not the other topic); one lock, so that they handle one record
  at a time between them, as one agent would (an alarm's summary is read and written, and its
  notifications sent, without the other agent in between).
  - An alarm event is folded into the alarm's summary (table `alarm-routes-v2`, with every centre
    told so far); one notification goes to `linkage.notifications` (key = centre id) per centre
    that must see it, and the alarm's acknowledgement deadline is kept (table `ack-deadlines`).
  - A dispatch or joint-operation record (`contracts/units.py`) goes to every centre told about
    its alarm, with the alarm's summary as it is (its version and deadlines unchanged). One that
    overtook its alarm's AlarmReported (the topics are consumed independently) finds no alarm
    yet: it is parked (table `parked-alarm-records`, bounded per alarm) and routed right after
    that AlarmReported. Other `units.events` records (units, rosters…) are ignored.
  - A record that cannot be parsed or routed goes to its topic's DLQ; routing goes on.
  - A record at an offset this worker already handled is skipped: Faust fetches some twice after
    recovering the tables (see `handled`), and each centre must be told once.
- `escalate_overdue_alarms` (a timer) sends `EscalateAlarm` to `linkage.commands` for every
  overdue deadline; the alarms service records `AlarmEscalated`, which comes back here and
  starts the next level's deadline. Deadlines live in a changelogged table and are absolute
  times taken from the events, so a restart neither loses nor extends them.
- A closed alarm stays in `alarm-routes-v2` (marked closed) for `closed_retention_s`, so that
  the records that follow its closure (units recalled, the dispatch ended) still reach its
  centres; `forget_closed_alarms` (a timer) removes it after that, a bounded number per tick
  (`find_closed_alarms_to_forget` lists them).
- `beat_heartbeat` (a timer) touches the file the liveness probe reads (`linkage.health`).
- `drop_stale_parked_records` (a timer) drops parked records older than `parked_max_age_s` (their
  alarm never reached linkage, or was forgotten before them), a bounded number per tick, with
  one warning per tick.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import logging
import time
import uuid

import faust

from linkduty_shared.contracts.alarms import CLOSED_STATUSES, levels_from
from linkduty_shared.contracts.notifications import AlarmNotification, AlarmSummary, notification_id
from linkduty_shared.contracts.units import is_for_consoles
from linkduty_shared.events.envelope import (
    Envelope,
    EnvelopeError,
    envelope_from_kafka,
    envelope_to_kafka,
    event_type_of,
)
from linkduty_shared.jurisdictions import Directory
from linkduty_shared.messaging.consumer import dlq_headers
from linkduty_shared.messaging.kafka import KafkaConnection
from linkduty_shared.messaging.topics import dlq_topic

from linkage.config import LinkageSettings
from linkage.health import beat, heartbeat_path
from linkage.in_order import LinkageApp
from linkage.routing import RoutingConfig, recipients
from linkage.summary import fold
from linkage.unit_records import alarm_id_of, expire, park, unparked

log = logging.getLogger(__name__)
# Table writes one timer tick may make. Faust buffers changelog writes and, past 100 waiting,
# holds every agent until they are sent: 500 tombstones in one tick stalled routing for 12 s.
TIMER_BATCH = 40
_COMMAND_NS = uuid.UUID("0b5f7f63-0f55-4a4e-b5a8-7c4a8f0e2d31")


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
    alarm_events = app.topic(settings.alarms_topic, **raw)
    unit_records = app.topic(settings.units_topic, **raw)
    notifications = app.topic(settings.notifications_topic, **raw)
    commands = app.topic(settings.commands_topic, **raw)
    dead_letters = {t: app.topic(dlq_topic(t), **raw) for t in (settings.alarms_topic, settings.units_topic)}
    # alarm id → {"summary": AlarmSummary fields, "notified": {centre id: reason}}
    summaries = app.Table("alarm-routes-v2", partitions=settings.partitions)
    deadlines = app.Table("ack-deadlines", partitions=settings.partitions)
    # alarm id → {"partition": int, "records": [unit_records.parked_record(…), …]}
    parked = app.Table("parked-alarm-records", partitions=settings.partitions)
    timeouts = {level: s * settings.ack_timeout_scale for level, s in routing.ack_timeouts_s.items()}
    sent_escalations: dict[str, float] = {}  # alarm id → when we last asked (in memory: a re-ask is harmless)
    # The earliest due time seen in the last scan (or set since): the timer scans the table only
    # once something can be due, not on every tick.
    next_due = 0.0

    async def route_alarm_event(envelope: Envelope, partition: int) -> None:
        alarm_id = envelope.subject
        version = envelope.streamversion or 0
        entry = summaries.get(alarm_id)  # {"summary": AlarmSummary fields, "notified": {centre: reason}}
        previous = AlarmSummary(**entry["summary"]) if entry else None
        # a redelivered event leaves the summary as it is; its notifications go out again with
        # the same ids, and the gateway drops them
        summary = fold(previous, alarm_id, envelope.event_name, envelope.data, version)
        if summary is None:
            log.warning("event %s for alarm %s before its AlarmReported: skipped", envelope.id, alarm_id)
            return
        # Everyone told about the alarm once keeps hearing about it (a major fire downgraded to
        # moderate must still close on the neighbouring streets' boards).
        audience = {**(entry["notified"] if entry else {}), **recipients(directory, summary, routing.rules)}
        entry = {"summary": dataclasses.asdict(summary), "notified": audience}
        if summary.status in CLOSED_STATUSES:
            # kept a while for the records that follow (units recalled); the partition, for the
            # timer that forgets it
            entry |= {"closed_at": time.time(), "partition": partition}
        summaries[alarm_id] = entry
        await notify(envelope, summary, audience)
        _keep_deadline(alarm_id, envelope, summary)
        if alarm_id in parked:
            await route_parked(alarm_id, summary, audience)

    async def route_unit_record(envelope: Envelope, alarm_id: str, partition: int) -> None:
        entry = summaries.get(alarm_id)
        if entry is None:  # it overtook its AlarmReported (or came after its closed alarm was forgotten): wait
            waiting = parked.get(alarm_id) or {"partition": partition, "records": []}
            records, dropped = park(waiting["records"], envelope, time.time(), limit=settings.parked_per_alarm)
            if dropped:
                log.warning("alarm %s: %d parked units record(s) dropped, over %d waiting for its AlarmReported",
                            alarm_id, dropped, settings.parked_per_alarm)
            parked[alarm_id] = {**waiting, "records": records}
            return
        summary, audience = AlarmSummary(**entry["summary"]), entry["notified"]
        if alarm_id in parked:  # a restart came between its AlarmReported and their routing
            await route_parked(alarm_id, summary, audience)
        await notify(envelope, summary, audience)

    async def route_parked(alarm_id: str, summary: AlarmSummary, audience: dict[str, str]) -> None:
        for record in parked[alarm_id]["records"]:
            envelope = unparked(record)
            try:
                await notify(envelope, summary, audience)
            except Exception as exc:  # it must not send the alarm event that released it to the DLQ
                log.error("parked units record %s goes to the DLQ: %s", envelope.id, exc, exc_info=True)
                message = envelope_to_kafka(envelope)
                await dead_letters[settings.units_topic].send(
                    key=alarm_id.encode(), value=message.value,
                    headers=[*message.headers.items(), ("dlq_error", f"{type(exc).__name__}: {exc}"[:2000].encode()),
                             ("dlq_topic", settings.units_topic.encode()),
                             ("dlq_failed_at", dt.datetime.now(dt.UTC).isoformat().encode())])
        parked.pop(alarm_id, None)

    async def notify(envelope: Envelope, summary: AlarmSummary, audience: dict[str, str]) -> None:
        """One notification about `envelope` (an alarm event or a units record) per centre of `audience`."""
        routed_at = dt.datetime.now(dt.UTC).isoformat()
        for centre_id, reason in audience.items():
            notification = AlarmNotification(
                notification_id=notification_id(envelope.id, centre_id), centre_id=centre_id, reason=reason,
                event_id=envelope.id, event_type=envelope.event_name, event_data=envelope.data,
                occurred_at=envelope.time.isoformat(), routed_at=routed_at, alarm=summary,
                open=summary.status not in CLOSED_STATUSES,
            )
            message = envelope_to_kafka(notification.envelope(traceparent=envelope.traceparent,
                                                               correlationid=envelope.correlationid))
            await notifications.send(key=centre_id.encode(), value=message.value, headers=list(message.headers.items()))

    def _keep_deadline(alarm_id: str, envelope: Envelope, summary: AlarmSummary) -> None:
        nonlocal next_due
        level = summary.escalation_level
        acknowledged_here = any(lvl in summary.acknowledged for lvl in levels_from(level))
        if summary.status in CLOSED_STATUSES or acknowledged_here or level == "city":
            # closed, answered, or at the top: the city has nobody above it to escalate to
            deadlines.pop(alarm_id, None)
            sent_escalations.pop(alarm_id, None)
        elif envelope.event_name in ("AlarmReported", "AlarmEscalated"):
            due = envelope.time.timestamp() + timeouts[level]
            deadlines[alarm_id] = {"level": level, "due": due}
            sent_escalations.pop(alarm_id, None)
            next_due = min(next_due, due)

    # The last offset this worker handled, per topic partition. Faust hands a worker records it
    # has already handled: once its tables are recovered (at start, after a rebalance) it resumes
    # the partitions and only then seeks them to their committed offsets, so what it fetched in
    # between comes again, and its read-offset check lets that offset through. Routed twice, an
    # alarm event or units record would reach every centre twice: the second time is skipped here.
    # (In memory: a new worker routes again what was not committed, at least once.)
    handled: dict[tuple[str, int], int] = {}

    one_at_a_time = asyncio.Lock()  # fair (FIFO): an alarm event waits for one units record at most

    async def route(message) -> None:
        partition = (message.topic, message.partition)
        if message.offset <= handled.get(partition, -1):
            log.info("record at %s[%s]@%s already handled here: skipped", message.topic, message.partition,
                     message.offset)
            return
        try:
            envelope = envelope_from_kafka(message.headers or [], message.key, message.value)
            if message.topic == settings.alarms_topic:
                await route_alarm_event(envelope, message.partition)
            elif is_for_consoles(envelope.type):
                await route_unit_record(envelope, alarm_id_of(envelope, message.key), message.partition)
        except Exception as exc:  # a poison record must not stop routing for every other alarm
            log.error("record at %s[%s]@%s goes to the DLQ: %s", message.topic, message.partition,
                      message.offset, exc, exc_info=not isinstance(exc, EnvelopeError))
            await dead_letters[message.topic].send(key=message.key, value=message.value,
                                                   headers=[*(message.headers or []), *dlq_headers(message, exc, 1, consumer=settings.app_id)])
        handled[partition] = message.offset

    @app.agent(alarm_events)
    async def route_alarm_events(stream):
        async for event in stream.events():
            async with one_at_a_time:
                await route(event.message)

    @app.agent(unit_records)
    async def route_unit_records(stream):
        async for event in stream.events():
            message = event.message
            event_type = event_type_of(message.headers)
            if event_type is not None and not is_for_consoles(event_type):  # a unit's own record, or an order: not parsed
                partition = (message.topic, message.partition)
                handled[partition] = max(handled.get(partition, -1), message.offset)  # (a re-delivery may come late)
                continue
            async with one_at_a_time:
                await route(message)

    @app.timer(interval=settings.timer_interval_s)
    async def escalate_overdue_alarms():
        nonlocal next_due
        now = time.time()
        if now < next_due:
            return
        next_due = now + settings.escalation_retry_s
        for alarm_id, deadline in list(deadlines.items()):
            retry_at = sent_escalations.get(alarm_id, 0) + settings.escalation_retry_s
            if deadline["due"] > now or now < retry_at:
                next_due = min(next_due, max(deadline["due"], retry_at))
                continue
            sent_escalations[alarm_id] = now
            command = Envelope(
                id=str(uuid.uuid5(_COMMAND_NS, f"{alarm_id}/{deadline['level']}")),
                source="/linkduty/linkage", type="linkduty.linkage.EscalateAlarm", subject=alarm_id,
                time=dt.datetime.now(dt.UTC),
                data={"alarm_id": alarm_id, "from_level": deadline["level"],
                      "reason": f"not acknowledged at {deadline['level']} level within "
                                f"{timeouts[deadline['level']]:.0f} s"},
            )
            message = envelope_to_kafka(command)
            await commands.send(key=alarm_id.encode(), value=message.value, headers=list(message.headers.items()))

    @app.timer(interval=settings.timer_interval_s)
    async def drop_stale_parked_records():
        now, dropped, alarms = time.time(), collections.Counter(), []
        for alarm_id, waiting in list(parked.items()):
            kept, stale = expire(waiting["records"], now, settings.parked_max_age_s)
            if not stale:
                continue
            dropped.update(r["envelope"]["type"].rsplit(".", 1)[-1] for r in stale)
            alarms.append(alarm_id)
            _write_from_timer(parked, waiting["partition"], alarm_id, {**waiting, "records": kept} if kept else None)
            if len(alarms) >= TIMER_BATCH:
                break  # the rest next tick: a timer that runs long stalls routing
        if dropped:
            log.warning("%d units record(s) (%s) dropped, parked over %.0f s: their alarm never reached linkage "
                        "or was forgotten before them; alarms %s%s", sum(dropped.values()),
                        ", ".join(f"{n} {name}" for name, n in sorted(dropped.items())), settings.parked_max_age_s,
                        ", ".join(alarms[:20]), f" and {len(alarms) - 20} more" if len(alarms) > 20 else "")

    # Closed alarms due to be forgotten, found by a scan every `forget_scan_interval_s` and deleted
    # TIMER_BATCH per tick: the bench cancelling 1,600 alarms at once had them all due together.
    forgetting: collections.deque[str] = collections.deque()

    def closed_before(alarm_id: str, cutoff: float) -> dict | None:
        entry = summaries.get(alarm_id)
        return entry if entry is not None and entry.get("closed_at", cutoff + 1) <= cutoff else None

    @app.timer(interval=settings.forget_scan_interval_s)
    async def find_closed_alarms_to_forget():
        if not forgetting:
            cutoff = time.time() - settings.closed_retention_s
            forgetting.extend(alarm_id for alarm_id in list(summaries.keys()) if closed_before(alarm_id, cutoff))

    @app.timer(interval=settings.timer_interval_s)
    async def forget_closed_alarms():
        cutoff = time.time() - settings.closed_retention_s
        for _ in range(min(TIMER_BATCH, len(forgetting))):
            alarm_id = forgetting.popleft()
            entry = closed_before(alarm_id, cutoff)  # not re-opened since the scan
            if entry is not None:
                _write_from_timer(summaries, entry["partition"], alarm_id, None)

    heartbeat = heartbeat_path(settings.data_dir)
    heartbeat.unlink(missing_ok=True)  # a restarted container's last beat must not vouch for this one

    @app.timer(interval=settings.timer_interval_s)
    async def beat_heartbeat():
        beat(heartbeat)  # read by the liveness probe (linkage.health)

    return app


def _write_from_timer(table: faust.Table, partition: int, key: str, value: dict | None) -> None:
    """Set `key` (delete it, with None) outside any stream event.

    Faust takes a write's changelog partition from the event being processed and refuses a write
    with none, as in a timer. Parked records remember the partition they came from, which is
    their alarm's partition on both topics, so the timer names it: the changelog record lands
    where a write from the agent would have put it, and a restart restores the same state.
    """
    if value is None:
        table.send_changelog(partition, key, None, value_serializer="raw")
        table.data.pop(key, None)
    else:
        table.send_changelog(partition, key, value)
        table.data[key] = value

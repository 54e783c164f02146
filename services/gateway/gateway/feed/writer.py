"""The feed's one writer: consumes linkage.notifications into centre_feed and centre_alarms.

Both shapes of the topic are read (contracts/notifications.py), even mixed: an AlarmNotification
is one feed row; an AlarmRouted is fanned out here into the rows of its centres, the same rows
(notification ids, payloads) the per-centre records would have made, so de-duplication and
replays do not depend on the shape linkage sent. A HazardNotification is one feed row too, in the
same centre feed (so the same seq, resume and resync), and its summary goes to the centre's
hazard board (centre_hazards) as an alarm's goes to centre_alarms.

One writer per database, because seq order must be commit order (tail.py and streams.py rely
on it). A replica becomes the writer by taking a session advisory lock on its own connection and
writes only on that connection: if the connection dies, the lock goes with it, so a replica that
lost the lock cannot commit anything more. The other replicas wait for the lock (hot standby)
and meanwhile serve streams from the rows the writer commits (tail.py), so consoles can be
spread over every replica.

A poll of records is one statement, and so one transaction: the feed rows (a redelivered
notification_id inserts nothing), the board upserts and one NOTIFY. A burst costs one round trip
and one WAL flush, not one per notification (under load, that flush and those round trips were
most of the console latency: bench/critical_path.py). After the commit the rows go to the hub,
without waiting for any client. Kafka offsets are committed by the ConsumerRunner only after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
import orjson
from aiokafka import ConsumerRecord

from linkduty_shared.contracts.notifications import (
    HAZARD_NOTIFICATION_TYPE,
    ORDER_NOTIFICATION_TYPE,
    NOTIFICATION_TYPE,
    ROUTED_TYPE,
    AlarmNotification,
    HazardNotification,
    ServiceOrderNotification,
    hazard_notification_from_data,
    notification_from_data,
    order_notification_from_data,
    routed_from_data,
)
from linkduty_shared.events.envelope import Envelope
from linkduty_shared.messaging.consumer import ConsumerRunner

from gateway.config import GatewaySettings
from gateway.fanout import Hub
from gateway.feed.tables import FEED_CHANNEL, FeedItem
from gateway.feed.tail import FeedTail

log = logging.getLogger(__name__)

# (class, key) of the writer's advisory lock; the key is the feed table's oid, so writers of
# different databases or schemas (tests) never wait for each other.
_LOCK_CLASS = 0x11D7
_TRY_LOCK = "SELECT pg_try_advisory_lock($1, 'centre_feed'::regclass::oid::int)"

# A poll's notifications in one statement: feed rows numbered in the poll's order (a redelivered
# notification_id inserts nothing), and each (centre, alarm) board row set from the newest
# summary among them (the highest version, then the latest row), never replacing a newer one,
# with the alarm's pre-incident picture when the poll brings it (AlarmContextAttached);
# the same for each (centre, hazard) row of a hazard notification (its payload has `hazard`, not
# `alarm`).
# One statement instead of one per notification: under load each round trip to PostgreSQL waited
# for a core, and the console latency's tail was made of them.
_APPEND = """
WITH incoming AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
        AS i(centre_id, notification_id, alarm_id, event_type, payload, position)
), fed AS (
    INSERT INTO centre_feed (centre_id, notification_id, alarm_id, event_type, payload)
    SELECT centre_id, notification_id, alarm_id, event_type, payload::jsonb FROM incoming ORDER BY position
    ON CONFLICT (notification_id) DO NOTHING
    RETURNING seq, centre_id, alarm_id, notification_id, event_type, payload
), contexts AS (  -- an alarm's pre-incident picture in this poll, kept on its board row
    SELECT DISTINCT ON (centre_id, alarm_id) centre_id, alarm_id, payload -> 'event_data' AS context
    FROM fed WHERE event_type = 'AlarmContextAttached' AND payload ? 'alarm'
    ORDER BY centre_id, alarm_id, seq DESC
), board AS (
    INSERT INTO centre_alarms (centre_id, alarm_id, summary, open, version, last_seq, context)
    SELECT DISTINCT ON (centre_id, alarm_id)
           centre_id, alarm_id, payload -> 'alarm', (payload ->> 'open')::boolean,
           (payload -> 'alarm' ->> 'version')::integer, seq, contexts.context
    FROM fed LEFT JOIN contexts USING (centre_id, alarm_id) WHERE payload ? 'alarm'
    ORDER BY centre_id, alarm_id, (payload -> 'alarm' ->> 'version')::integer DESC, seq DESC
    ON CONFLICT (centre_id, alarm_id) DO UPDATE
        SET summary = EXCLUDED.summary, open = EXCLUDED.open, version = EXCLUDED.version, last_seq = EXCLUDED.last_seq,
            context = coalesce(EXCLUDED.context, centre_alarms.context)
        WHERE centre_alarms.version <= EXCLUDED.version  -- a late, older summary never replaces a newer one
), hazard_board AS (
    INSERT INTO centre_hazards (centre_id, hazard_id, summary, open, version, last_seq)
    SELECT DISTINCT ON (centre_id, alarm_id)
           centre_id, alarm_id, payload -> 'hazard', (payload ->> 'open')::boolean,
           (payload -> 'hazard' ->> 'version')::integer, seq
    FROM fed WHERE payload ? 'hazard'
    ORDER BY centre_id, alarm_id, (payload -> 'hazard' ->> 'version')::integer DESC, seq DESC
    ON CONFLICT (centre_id, hazard_id) DO UPDATE
        SET summary = EXCLUDED.summary, open = EXCLUDED.open, version = EXCLUDED.version, last_seq = EXCLUDED.last_seq
        WHERE centre_hazards.version <= EXCLUDED.version
), notified AS (  -- one NOTIFY for the follower replicas' tails, sent at commit
    SELECT pg_notify($6, max(seq)::text) FROM fed HAVING count(*) > 0
)
SELECT seq, notification_id FROM fed LEFT JOIN notified ON true ORDER BY seq
"""


class UnsupportedNotification(ValueError):
    """A notification of a data version this gateway does not know (to the DLQ, replayable)."""


class FeedWriter:
    def __init__(self, settings: GatewaySettings, hub: Hub, tail: FeedTail) -> None:
        self._settings = settings
        self._hub = hub
        self._tail = tail
        self.is_leader = False
        self.runner: ConsumerRunner | None = None

    async def run(self) -> None:
        """Wait to become the writer, then consume until cancelled or the connection is lost."""
        conn = await asyncpg.connect(self._settings.pg_dsn)
        try:
            while not await conn.fetchval(_TRY_LOCK, _LOCK_CLASS):
                await asyncio.sleep(self._settings.feed_poll_interval_s)
            self.is_leader = True
            # The previous writer is gone, so nothing can commit behind this read: after it the
            # hub has every row, and this writer's own rows follow in order.
            await self._tail.catch_up()
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _: lost.set())
            self.runner = ConsumerRunner(
                bootstrap=self._settings.kafka, group_id=self._settings.service_name,
                topics=[self._settings.notifications_topic], handler=lambda e, r: self._append(conn, e, r),
                batch_handler=lambda batch: self._append_batch(conn, batch),
                # a poll is published to the hub at once: it must fit in a console's queue (a
                # per-event record gives each of its centres one row, as a per-centre one does)
                max_records=max(1, self._settings.subscriber_queue_size // 2),
                max_attempts=self._settings.consumer_max_attempts, retry_backoff_s=self._settings.consumer_retry_backoff_s,
            )
            consuming = asyncio.create_task(self.runner.run())
            connection_lost = asyncio.create_task(lost.wait())
            try:
                await asyncio.wait({consuming, connection_lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (consuming, connection_lost):
                    task.cancel()
                await asyncio.gather(consuming, connection_lost, return_exceptions=True)
            if consuming.done() and not consuming.cancelled() and consuming.exception():
                raise consuming.exception()
            raise ConnectionError("the feed writer lost its database connection (and with it the lock)")
        finally:
            self.is_leader = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)
            if not conn.is_closed():
                conn.terminate()  # close did not finish: end the session, and so the lock, anyway

    async def _append(self, conn: asyncpg.Connection, envelope: Envelope, record: ConsumerRecord) -> None:
        await self._append_batch(conn, [(envelope, record)])

    async def _append_batch(self, conn: asyncpg.Connection, batch: list[tuple[Envelope, ConsumerRecord]]) -> None:
        # What is stored and shown is the validated notification, re-serialized: never the
        # record's bytes as they came.
        notifications = [(n, n.to_data()) for e, _ in batch for n in self._notifications(e)]
        if not notifications:
            return
        columns = ([n.centre_id for n, _ in notifications], [n.notification_id for n, _ in notifications],
                   [_about(n) for n, _ in notifications], [n.event_type for n, _ in notifications],
                   [orjson.dumps(data).decode() for _, data in notifications])
        by_id = {n.notification_id: (n, data) for n, data in notifications}
        try:
            rows = await conn.fetch(_APPEND, *columns, FEED_CHANNEL)  # one statement: its own transaction
        except (asyncpg.InterfaceError, asyncpg.PostgresError) as exc:
            if conn.is_closed():  # an outage, not a poison message: the runner retries, never DLQs
                raise ConnectionError(f"feed writer connection lost: {exc}") from exc
            raise
        items = []
        for row in rows:  # a redelivered notification inserted no row: it is in the feed already
            n, data = by_id[row["notification_id"]]
            items.append(FeedItem(row["seq"], n.centre_id, n.event_type, data))
        self._hub.publish(items)

    @staticmethod
    def _notifications(envelope: Envelope) -> list[AlarmNotification | HazardNotification | ServiceOrderNotification]:
        """The feed rows' notifications of one record: one (per centre, a hazard's, or a service
        order's: a feed row only, no board row), its centres' (per event)."""
        if envelope.type not in (NOTIFICATION_TYPE, ROUTED_TYPE, HAZARD_NOTIFICATION_TYPE, ORDER_NOTIFICATION_TYPE):
            log.warning("gateway: ignoring %s %s on the notifications topic", envelope.type, envelope.id)
            return []
        if envelope.dataversion != 1:
            raise UnsupportedNotification(f"{envelope.type} dataversion {envelope.dataversion}")
        if envelope.type == ROUTED_TYPE:
            return routed_from_data(envelope.data).notifications()
        if envelope.type == HAZARD_NOTIFICATION_TYPE:
            return [hazard_notification_from_data(envelope.data)]
        if envelope.type == ORDER_NOTIFICATION_TYPE:
            return [order_notification_from_data(envelope.data)]
        return [notification_from_data(envelope.data)]


def _about(notification: AlarmNotification | HazardNotification | ServiceOrderNotification) -> str:
    """The feed row's alarm_id column: the alarm's id, the hazard's, or the service order's."""
    if isinstance(notification, ServiceOrderNotification):
        return notification.order_id
    return notification.hazard.hazard_id if isinstance(notification, HazardNotification) else notification.alarm.alarm_id

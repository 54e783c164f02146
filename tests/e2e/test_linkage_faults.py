"""The linkage app under faults: a poison event, an escalation Kafka refuses, and a kill -9 between an
alarm and its deadline."""

import asyncio
import signal
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from linkduty_shared.contracts.commands import escalate_alarm_from_data
from linkduty_shared.events import envelope_from_kafka
from linkduty_shared.jurisdictions import Level
from linkduty_shared.messaging.consumer import replay_dead_letters
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic
from tests.conftest import eventually, loud_lines
from tests.e2e.conftest import PARTITIONS, create_topics, start_linkage, stop
from tests.e2e.test_critical_path import NotificationReader, report
from tests.e2e.test_dispatch_routing import alarm_reported, produce
from tests.support.kafka import make_topics, read_topic


async def test_a_poison_event_goes_to_the_dlq_and_routing_goes_on(alarms, token, city, topics, kafka_bootstrap):
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topics["alarms"], b"\xff not an event", key=b"garbage",
                                            headers=[("origin", b"e2e")])
    finally:
        await producer.stop()
    community = city.divisions(level=Level.COMMUNITY)[100]
    async with NotificationReader(kafka_bootstrap, topics["notifications"]) as reader:
        alarm = (await alarms.post("/v1/alarms", json=report(community.lat, community.lon), headers=token())).json()
        await eventually(lambda: len(reader.about(alarm["alarm_id"], "AlarmReported")) == 4, timeout=60,
                         what="routing after the poison event")
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(topics["alarms"]), until_count=1)
    assert (dead.key, dead.value) == (b"garbage", b"\xff not an event")
    # the headers every consumer's dead letters carry (messaging.consumer.dlq_headers), after the record's own
    assert [name for name, _ in dead.headers] == ["origin", "dlq_consumer", "dlq_error", "dlq_topic", "dlq_partition",
                                                  "dlq_offset", "dlq_attempts", "dlq_failed_at"]
    headers = dict(dead.headers)
    assert headers["dlq_consumer"].startswith(b"linkage-e2e-") and headers["dlq_error"].startswith(b"EnvelopeError")
    assert (headers["dlq_topic"], headers["dlq_partition"], headers["dlq_offset"], headers["dlq_attempts"]) == (
        topics["alarms"].encode(), str(sent.partition).encode(), str(sent.offset).encode(), b"0")
    # the replay tool puts it back as it came, and linkage dead-letters it again
    assert await replay_dead_letters(kafka_bootstrap, topics["alarms"]) == 1
    first, again = await read_topic(kafka_bootstrap, dlq_topic(topics["alarms"]), until_count=2, timeout=60)
    assert (again.key, again.value, again.headers[0]) == (b"garbage", b"\xff not an event", ("origin", b"e2e"))
    assert int(dict(again.headers)["dlq_offset"]) > sent.offset


async def test_an_escalation_kafka_refuses_is_sent_again_not_lost(city, kafka_bootstrap, tmp_path):
    """The worker's commands topic does not exist yet (auto-creation is off), so Kafka refuses its
    EscalateAlarm: the worker keeps routing and sends it again once the topic is there."""
    topics = await create_topics(kafka_bootstrap)
    topics["commands"] = f"{topics['commands']}.later"
    log = tmp_path / "linkage.log"
    worker = start_linkage(kafka_bootstrap, topics, tmp_path, app_id=f"linkage-refused-{uuid.uuid4().hex[:6]}")
    try:
        reported, centres = alarm_reported(city, 140)
        alarm_id = reported.subject
        async with NotificationReader(kafka_bootstrap, topics["notifications"]) as reader:
            await produce(kafka_bootstrap, topics["alarms"], (alarm_id.encode(), reported))
            await eventually(lambda: len(reader.about(alarm_id, "AlarmReported")) == len(centres), timeout=60,
                             what="the alarm routed")

        def refused() -> bool:
            return any("not sent" in line and alarm_id in line for line in log.read_text().splitlines())

        await eventually(refused, timeout=30, what="the escalation refused")
        await asyncio.sleep(3)  # a tick or two more
        assert worker.poll() is None, "\n".join(loud_lines(log))
        await make_topics(kafka_bootstrap, [TopicSpec(topics["commands"], PARTITIONS, 1, 3_600_000)])
        commands = await read_topic(kafka_bootstrap, topics["commands"], until_count=1, timeout=60)
    finally:
        stop(worker)
    escalations = {escalate_alarm_from_data(envelope_from_kafka(r.headers, r.key, r.value).data) for r in commands}
    assert {(e.alarm_id, e.from_level) for e in escalations} == {(alarm_id, "community")}
    assert not await dead_letters_of(kafka_bootstrap, topics["alarms"])


async def dead_letters_of(kafka_bootstrap: str, topic: str) -> list:
    """The records of `topic`'s DLQ (none expected: an outage is not poison)."""
    consumer = AIOKafkaConsumer(dlq_topic(topic), bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        return [r for batch in (await consumer.getmany(timeout_ms=1000)).values() for r in batch]
    finally:
        await consumer.stop()


async def test_an_acknowledgement_deadline_survives_a_killed_linkage_worker(alarms, token, city, topics,
                                                                            kafka_bootstrap, tmp_path, linkage_worker):
    """The module's worker is stopped; a second app (own group, own tables) routes this alarm, is
    killed with SIGKILL, and its successor — same app id, state only in Kafka — escalates."""
    stop(linkage_worker)
    app_id = f"linkage-restart-{uuid.uuid4().hex[:6]}"
    first = start_linkage(kafka_bootstrap, topics, tmp_path, app_id=app_id, timeout_scale=8 / 60)  # community: 8 s
    try:
        community = city.divisions(level=Level.COMMUNITY)[120]
        async with NotificationReader(kafka_bootstrap, topics["notifications"]) as reader:
            alarm = (await alarms.post("/v1/alarms", json=report(community.lat, community.lon), headers=token())).json()
            await eventually(lambda: reader.about(alarm["alarm_id"], "AlarmReported"), timeout=60,
                             what="the first worker to route the alarm")
        await asyncio.sleep(1.5)  # its offsets and table changelog are committed
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    second = start_linkage(kafka_bootstrap, topics, tmp_path, app_id=app_id, timeout_scale=8 / 60)
    try:
        url = f"/v1/alarms/{alarm['alarm_id']}"

        async def escalated():
            return (await alarms.get(url, headers=token())).json()["escalation_level"] != "community"

        await eventually(escalated, timeout=90, what="the restarted worker to escalate from its recovered table")
    finally:
        stop(second)

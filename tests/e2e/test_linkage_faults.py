"""The linkage app under faults: a poison event, and a kill -9 between an alarm and its deadline."""

import asyncio
import signal
import uuid

from aiokafka import AIOKafkaProducer

from linkduty_shared.jurisdictions import Level
from linkduty_shared.messaging.topics import dlq_topic
from tests.conftest import eventually
from tests.e2e.conftest import start_linkage, stop
from tests.e2e.test_critical_path import NotificationReader, report
from tests.support.kafka import read_topic


async def test_a_poison_event_goes_to_the_dlq_and_routing_goes_on(alarms, token, city, topics, kafka_bootstrap):
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topics["alarms"], b"\xff not an event", key=b"garbage")
    finally:
        await producer.stop()
    community = city.divisions(level=Level.COMMUNITY)[100]
    async with NotificationReader(kafka_bootstrap, topics["notifications"]) as reader:
        alarm = (await alarms.post("/v1/alarms", json=report(community.lat, community.lon), headers=token())).json()
        await eventually(lambda: len(reader.about(alarm["alarm_id"], "AlarmReported")) == 4, timeout=60,
                         what="routing after the poison event")
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(topics["alarms"]), until_count=1)
    assert dead.value == b"\xff not an event" and dict(dead.headers)["dlq_error"].startswith(b"EnvelopeError")


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

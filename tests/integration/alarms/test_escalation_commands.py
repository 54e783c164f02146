"""linkage's EscalateAlarm commands (`linkage.commands`) applied by the alarms service, against the
real stack: a valid one escalates the alarm, one breaking the contract is dead-lettered at once."""

import dataclasses
import datetime as dt

from linkduty_shared.contracts.commands import EscalateAlarm
from linkduty_shared.events import envelope_from_kafka, envelope_to_kafka
from linkduty_shared.messaging.kafka import reliable_producer
from linkduty_shared.messaging.topics import dlq_topic
from tests.conftest import eventually
from tests.integration.alarms.test_arrivals import report
from tests.support.kafka import read_topic


async def send_commands(kafka_bootstrap: str, topic: str, *commands) -> None:
    producer = reliable_producer(kafka_bootstrap)
    await producer.start()
    try:
        for envelope in commands:
            m = envelope_to_kafka(envelope)
            await producer.send_and_wait(topic, m.value, key=m.key, headers=list(m.headers.items()))
    finally:
        await producer.stop()


async def test_a_valid_escalation_escalates_and_one_breaking_the_contract_is_dead_lettered_at_once(
        client, token, city, kafka_bootstrap, alarm_topics):
    alarm_id = await report(client, token, city, 13)
    now = dt.datetime.now(dt.UTC)
    good = EscalateAlarm(alarm_id, "community", "not acknowledged at community level within 60 s").envelope(time=now)
    bad = dataclasses.replace(EscalateAlarm(alarm_id, "street", "r").envelope(time=now),
                              data={"alarm_id": alarm_id, "from_level": "moon", "reason": "r"})
    await send_commands(kafka_bootstrap, alarm_topics["commands"], bad, good)

    async def escalated():
        body = (await client.get(f"/v1/alarms/{alarm_id}", headers=token())).json()
        return body if body["escalation_level"] != "community" else None

    assert (await eventually(escalated, what="the valid escalation applied"))["escalation_level"] == "street"
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(alarm_topics["commands"]), until_count=1)
    headers = dict(dead.headers)
    assert envelope_from_kafka(dead.headers, dead.key, dead.value).id == bad.id
    assert headers["dlq_error"].startswith(b"ContractViolation: breaks the linkduty.linkage.EscalateAlarm v1 contract: "
                                           b"from_level")
    assert headers["dlq_attempts"] == b"1"

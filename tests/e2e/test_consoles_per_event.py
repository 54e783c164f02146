"""The console path with linkage's notifications in the per-event shape: alarms service → Kafka →
linkage worker (`notifications_shape = "per_event"`) → one AlarmRouted per event (key = alarm id)
→ gateway, which fans it out → SSE. The consoles see what they see in the per-centre shape: the
same tests as test_consoles.py pass, on a worker of this module's own."""

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from linkduty_shared.contracts.notifications import ROUTED_TYPE, routed_from_data
from linkduty_shared.events import envelope_from_kafka
from linkduty_shared.jurisdictions import Level
from tests.e2e.conftest import PARTITIONS, start_linkage, stop
from tests.e2e.test_consoles import (  # noqa: F401  (fixtures and tests, run here against this module's worker)
    consoles,
    next_about,
    test_a_console_that_reconnects_gets_exactly_what_it_missed,
    test_an_alarm_reaches_the_screens_of_exactly_its_four_centres,
)


@pytest.fixture(scope="module")
def linkage_worker(kafka_bootstrap, topics, tmp_path_factory):
    worker = start_linkage(kafka_bootstrap, topics, tmp_path_factory.mktemp("linkage"),
                           app_id=f"linkage-e2e-per-event-{topics['alarms'].split('.')[1]}",
                           settings={"LINKDUTY_NOTIFICATIONS_SHAPE": "per_event"})
    yield worker
    stop(worker)


async def everything_on(bootstrap: str, topic: str) -> list:
    """Every record of `topic` up to its end now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = {tp: end for tp, end in (await consumer.end_offsets(tps)).items() if end}
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        records = []
        while ends:
            for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                records.extend(batch)
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    del ends[tp]
        return records
    finally:
        await consumer.stop()


async def test_linkage_sends_one_record_per_event_keyed_by_its_alarm_and_listing_its_centres(
        alarms, consoles, token, city, topics, kafka_bootstrap):  # noqa: F811 (the imported fixture)
    community = city.divisions(level=Level.COMMUNITY)[190]
    chain = city.resolve(community.lat, community.lon)
    body = {"source": "119", "kind": "fire", "location": {"lat": community.lat, "lon": community.lon}}
    async with consoles(chain.centre_ids()[0]) as console:
        alarm = (await alarms.post("/v1/alarms", json=body, headers=token())).json()
        _, shown = await next_about(console, alarm["alarm_id"])
    records = await everything_on(kafka_bootstrap, topics["notifications"])
    assert {dict(r.headers)["ce_type"].decode() for r in records} == {ROUTED_TYPE}  # no per-centre record at all
    [mine] = [r for r in records if r.key == alarm["alarm_id"].encode()]
    routed = envelope_from_kafka(mine.headers, mine.key, mine.value)
    assert routed.subject == alarm["alarm_id"] and routed.data["event_type"] == "AlarmReported"
    assert [c["centre_id"] for c in routed.data["centres"]] == list(chain.centre_ids())
    assert {c["reason"] for c in routed.data["centres"]} == {"jurisdiction"}
    assert shown == routed_from_data(routed.data).notifications()[0].to_data()  # fanned out by the gateway

"""119 alarm accepted → a notification for each centre that must see it; escalation when nobody
acknowledges; none when the community does."""

import asyncio
import time

from aiokafka import AIOKafkaConsumer

from linkduty_shared.contracts.notifications import AlarmNotification
from linkduty_shared.events import envelope_from_kafka
from linkduty_shared.jurisdictions import Level
from tests.conftest import eventually


class NotificationReader:
    """Everything on the notifications topic since the test started, by alarm."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
        self.seen: list[AlarmNotification] = []
        self.seen_at: list[float] = []  # monotonic, when each was read
        self.keys: list[str] = []

    async def __aenter__(self):
        await self.consumer.start()
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self):
        async for record in self.consumer:
            envelope = envelope_from_kafka(record.headers, record.key, record.value)
            self.seen.append(AlarmNotification.from_data(envelope.data))
            self.seen_at.append(time.monotonic())
            self.keys.append(record.key.decode())

    async def __aexit__(self, *exc):
        self.task.cancel()
        await self.consumer.stop()

    def about(self, alarm_id: str, event_type: str | None = None) -> list[AlarmNotification]:
        return [n for n in self.seen if n.alarm.alarm_id == alarm_id and (event_type is None or n.event_type == event_type)]


def report(lat, lon, **extra) -> dict:
    return {"source": "119", "kind": "fire", "location": {"lat": lat, "lon": lon}, "description": "楼道起火"} | extra


async def test_an_alarm_reaches_exactly_its_community_street_district_and_city(alarms, token, city, topics, kafka_bootstrap):
    community = city.divisions(level=Level.COMMUNITY)[40]
    chain = city.resolve(community.lat, community.lon)
    async with NotificationReader(kafka_bootstrap, topics["notifications"]) as reader:
        alarm = (await alarms.post("/v1/alarms", json=report(community.lat, community.lon), headers=token())).json()
        await eventually(lambda: len(reader.about(alarm["alarm_id"], "AlarmReported")) >= 4, timeout=60,
                         what="notifications for the four levels")
        await asyncio.sleep(1)  # anything extra would have arrived by now
        reported = reader.about(alarm["alarm_id"], "AlarmReported")
    assert sorted(n.centre_id for n in reported) == sorted(chain.centre_ids())
    assert all(n.reason == "jurisdiction" and n.alarm.call_count == 1 for n in reported)
    siblings = {city.centre_of(c.code).id for c in city.children(chain.street.code)} - set(chain.centre_ids())
    assert siblings and not siblings & {n.centre_id for n in reader.seen if n.alarm.alarm_id == alarm["alarm_id"]}
    assert all(key == n.centre_id for key, n in zip(reader.keys, reader.seen))  # keyed by centre


async def test_an_unacknowledged_alarm_escalates_and_every_centre_sees_it(alarms, token, city, topics, kafka_bootstrap):
    community = city.divisions(level=Level.COMMUNITY)[60]
    chain = city.resolve(community.lat, community.lon)
    async with NotificationReader(kafka_bootstrap, topics["notifications"]) as reader:
        alarm = (await alarms.post("/v1/alarms", json=report(community.lat, community.lon), headers=token())).json()
        url = f"/v1/alarms/{alarm['alarm_id']}"

        async def escalated_to_street():
            return (await alarms.get(url, headers=token())).json()["escalation_level"] == "street"

        await eventually(escalated_to_street, timeout=60, what="escalation to the street level")
        await eventually(lambda: len(reader.about(alarm["alarm_id"], "AlarmEscalated")) >= 4, timeout=30,
                         what="the escalation on every console")
        # the street centre acknowledges: escalation stops there
        street_centre = city.centre_of(chain.street.code).id
        ack = await alarms.post(f"{url}/acknowledgements", headers=token("alarms:acknowledge", centre=street_centre))
        assert ack.status_code == 201
        await asyncio.sleep(4)  # past the street deadline (2 s) and a retry
        body = (await alarms.get(url, headers=token())).json()
    assert body["escalation_level"] == "street" and body["acknowledged"] == {"street": street_centre}
    escalations = reader.about(alarm["alarm_id"], "AlarmEscalated")
    assert sorted({n.centre_id for n in escalations}) == sorted(chain.centre_ids())
    assert escalations[0].event_data["to_level"] == "street"


async def test_an_alarm_acknowledged_by_its_community_in_time_does_not_escalate(alarms, token, city):
    community = city.divisions(level=Level.COMMUNITY)[80]
    alarm = (await alarms.post("/v1/alarms", json=report(community.lat, community.lon), headers=token())).json()
    url = f"/v1/alarms/{alarm['alarm_id']}"
    centre = city.centre_of(community.code).id
    assert (await alarms.post(f"{url}/acknowledgements", headers=token("alarms:acknowledge", centre=centre))).status_code == 201
    await asyncio.sleep(5)
    assert (await alarms.get(url, headers=token())).json()["escalation_level"] == "community"

"""Hazards found on volunteers' home visits (volunteers.events ServiceOrderCompleted) filed as
hazards of source volunteer, against the real Kafka and PostgreSQL: once per finding, numbers
scrubbed, an unknown category under the default, a poison record to the DLQ."""

from __future__ import annotations

import datetime as dt
import uuid

from hazards.application.service import finding_hazard_id
from linkduty_shared.events.envelope import Envelope, envelope_to_kafka
from linkduty_shared.messaging.topics import dlq_topic
from tests.conftest import eventually
from tests.integration.hazards.conftest import a_point
from tests.support.kafka import read_topic


async def completed(producer, topic: str, data: dict, order_id: str | None = None) -> Envelope:
    envelope = Envelope(id=str(uuid.uuid4()), source="/linkduty/volunteers",
                        type="linkduty.service_order.ServiceOrderCompleted", subject=order_id or str(uuid.uuid4()),
                        time=dt.datetime.now(dt.UTC), data=data, streamversion=4)
    message = envelope_to_kafka(envelope)
    await producer.send_and_wait(topic, key=envelope.subject.encode(), value=message.value,
                                 headers=list(message.headers.items()))
    return envelope


async def test_hazards_found_on_a_home_visit_are_filed_once_each_as_the_volunteer_s(
        service, city, producer, hazards_topics, kafka_bootstrap):
    lat, lon, _ = a_point(city, 2)
    found = [{"finding_id": str(uuid.uuid4()), "category": "ebike_indoors", "lat": lat, "lon": lon,
              "description": "楼道里电动车充电，住户电话13812345678"},
             {"finding_id": str(uuid.uuid4()), "category": "no_such_category", "lat": lat, "lon": lon,
              "description": "厨房燃气软管老化"}]
    data = {"volunteer_id": "v1", "report": "入户检查完成", "photos": [], "hours_spent": 1.0, "hazards_found": found,
            "at": dt.datetime.now(dt.UTC).isoformat()}
    order = await completed(producer, hazards_topics["volunteers"], data)
    await completed(producer, hazards_topics["volunteers"], data, order_id=order.subject)  # redelivered
    await completed(producer, hazards_topics["volunteers"], {"volunteer_id": "v1", "hazards_found": [{"lat": 1}]})

    async def both():
        hazards = [await service.repo.load(finding_hazard_id("volunteer", f["finding_id"])) for f in found]
        return hazards if all(h.exists for h in hazards) else None

    first, second = await eventually(both, timeout=20)
    assert (first.source, first.category) == ("volunteer", "ebike_indoors")
    assert "13812345678" not in first.description and first.description.startswith("楼道里电动车充电")
    assert second.category == "other"
    assert first.version == 1  # the redelivery filed nothing more
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(hazards_topics["volunteers"]), until_count=1)
    assert dict(dead.headers)["dlq_error"].startswith(b"ContractViolation")

"""Topic creation on the real broker: created topics are usable the moment ensure_topics returns."""

import uuid

import pytest

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from linkduty_shared.messaging.topics import TopicSpec, ensure_topics


async def test_ensure_topics_waits_for_every_partition_asked_for_and_says_which_topic_lacks_them(kafka_bootstrap):
    name = f"it.topics.{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(name, 2, 1, 3_600_000)])
    # The topic exists with 2 partitions: a spec of 4 never has its 4 led partitions.
    with pytest.raises(TimeoutError, match=name):
        await ensure_topics(kafka_bootstrap, [TopicSpec(name, 4, 1, 3_600_000)], ready_timeout_s=1)


async def test_a_topic_is_created_with_the_configs_of_its_spec_and_found_again(kafka_bootstrap):
    name = f"it.topics.{uuid.uuid4().hex[:8]}.changelog"
    spec = TopicSpec(name, 3, 1, None, {"cleanup.policy": "compact"})
    assert await ensure_topics(kafka_bootstrap, [spec]) == [name]
    assert await ensure_topics(kafka_bootstrap, [spec]) == []  # already there: nothing created
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    finally:
        await admin.close()
    configs = {entry[0]: entry[1] for entry in response.resources[0][4]}
    assert configs["cleanup.policy"] == "compact"
    assert configs["retention.ms"] == "604800000"  # the broker's default: no retention was asked for

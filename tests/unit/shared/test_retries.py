"""The consumers' retry policy (messaging.consumer.handle_with_retries), pure: what is retried, how
often, and what is given up on for the DLQ."""

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotEnoughReplicasError,
    TopicAuthorizationFailedError,
)

from linkduty_shared.contracts import ContractViolation
from linkduty_shared.events.envelope import EnvelopeError
from linkduty_shared.messaging.consumer import Failure, handle_with_retries
from linkduty_shared.messaging.kafka import is_kafka_outage


def failing(*errors: BaseException):
    """A handler raising `errors` one call after another, then succeeding; `calls` counts its calls."""
    pending = list(errors)

    async def handle() -> None:
        handle.calls += 1
        if pending:
            raise pending.pop(0)

    handle.calls = 0
    return handle


async def retried(handle, **kwargs):
    return await handle_with_retries(handle, name="test", max_attempts=3, backoff_s=0.001, **kwargs)


async def test_an_outage_is_retried_without_limit_and_uses_up_no_attempt():
    handle = failing(*[ConnectionRefusedError()] * 6, ValueError("flaky"), ValueError("flaky"))
    assert await retried(handle) is None
    assert handle.calls == 9


@pytest.mark.parametrize("error", [ContractViolation("breaks it"), EnvelopeError("no event")])
async def test_a_record_breaking_its_contract_is_given_up_on_at_once(error):
    handle = failing(error, error)
    assert await retried(handle) == Failure(error, 1) and handle.calls == 1


async def test_any_other_error_is_given_up_on_after_the_last_attempt():
    error = KeyError("kind")
    handle = failing(error, error, error, error)
    assert await retried(handle) == Failure(error, 3) and handle.calls == 3


async def test_what_counts_as_an_outage_is_the_consumer_s_to_say():
    handle = failing(*[KafkaConnectionError()] * 5)
    assert await retried(handle, outage=is_kafka_outage) is None and handle.calls == 6
    handle = failing(*[KafkaConnectionError()] * 5)
    assert (await retried(handle)).attempts == 3  # the default: PostgreSQL and the network only


def test_kafka_outages_are_the_errors_that_say_the_cluster_is_not_there_or_not_ready():
    assert is_kafka_outage(KafkaConnectionError()) and is_kafka_outage(KafkaTimeoutError())
    assert is_kafka_outage(NotEnoughReplicasError())
    assert not is_kafka_outage(MessageSizeTooLargeError()) and not is_kafka_outage(TopicAuthorizationFailedError())
    assert not is_kafka_outage(ValueError()) and not is_kafka_outage(OSError())

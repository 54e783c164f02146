"""The transactional outbox and its relay to Kafka."""

from linkduty_shared.outbox.relay import OutboxRelay

__all__ = ["OutboxRelay"]

"""Producer settings in one place: idempotent, acks=all, so a retry never duplicates or reorders
within a partition. Exactly-once *effect* comes from this plus consumers that de-duplicate by
event id; Kafka transactions are not used."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer


def reliable_producer(bootstrap: str, *, client_id: str = "linkduty", linger_ms: int = 0) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=linger_ms,
        request_timeout_ms=10_000,
        retry_backoff_ms=100,
    )

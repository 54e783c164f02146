"""How every Kafka client of LinkDuty connects, and producer settings in one place.

Producers are idempotent, acks=all, so a retry never duplicates or reorders within a partition.
Exactly-once *effect* comes from this plus consumers that de-duplicate by event id; Kafka
transactions are not used.

A client connects as its service's own identity where the cluster asks for one (production:
SCRAM-SHA-512 over TLS, one Strimzi KafkaUser per service with ACLs), or plainly to the local
stack. Every client takes a `Kafka`: a bootstrap string (plain) or a KafkaConnection.
"""

from __future__ import annotations

import dataclasses
import ssl
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError
from aiokafka.helpers import create_ssl_context

SECURITY_PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL")


@dataclasses.dataclass(frozen=True)
class KafkaConnection:
    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None  # SCRAM-SHA-512 with Strimzi's scram-sha-512 authentication
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    ca_file: str | None = None  # the cluster CA (Strimzi: <cluster>-cluster-ca-cert, key ca.crt)

    def __post_init__(self) -> None:
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError(f"Kafka security protocol {self.security_protocol!r} is not one of {SECURITY_PROTOCOLS}")
        if self.security_protocol.startswith("SASL") and not (self.sasl_mechanism and self.username and self.password):
            raise ValueError(f"{self.security_protocol} needs a SASL mechanism, a username and a password")

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        return create_ssl_context(cafile=self.ca_file) if self.tls else None

    def client_kwargs(self) -> dict[str, Any]:
        """aiokafka's connection arguments (producers, consumers, admin and plain clients)."""
        kwargs: dict[str, Any] = {"bootstrap_servers": self.bootstrap, "security_protocol": self.security_protocol}
        if self.tls:
            kwargs["ssl_context"] = self.ssl_context()
        if self.security_protocol.startswith("SASL"):
            kwargs |= {"sasl_mechanism": self.sasl_mechanism, "sasl_plain_username": self.username,
                       "sasl_plain_password": self.password}
        return kwargs


Kafka = str | KafkaConnection


def connection(kafka: Kafka) -> KafkaConnection:
    return kafka if isinstance(kafka, KafkaConnection) else KafkaConnection(kafka)


def reliable_producer(kafka: Kafka, *, client_id: str = "linkduty", linger_ms: int = 0) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **connection(kafka).client_kwargs(),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=linger_ms,
        request_timeout_ms=10_000,
        retry_backoff_ms=100,
    )


def is_kafka_outage(error: BaseException) -> bool:
    """Whether a Kafka client's error means the cluster is unreachable or not ready (no connection,
    no leader, not enough replicas, a timeout), not that the request was bad: aiokafka marks those
    `retriable`, except its own KafkaTimeoutError (metadata or buffer space not there in time)."""
    return isinstance(error, KafkaTimeoutError) or (isinstance(error, KafkaError) and error.retriable)

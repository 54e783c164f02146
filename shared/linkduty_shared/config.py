"""Settings every service shares; each service extends `ServiceSettings` with its own fields.

Read once at the composition root and passed down: nothing connects at import time.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from linkduty_shared.messaging.kafka import KafkaConnection


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LINKDUTY_", extra="ignore")

    service_name: str = "linkduty"
    kafka_bootstrap: str = "127.0.0.1:19092"
    # The service's own Kafka identity where the cluster asks for one (k8s: SASL_SSL, SCRAM-SHA-512,
    # its KafkaUser's secret and the cluster CA); the local stack is PLAINTEXT.
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_ca_file: str | None = None
    pg_dsn: str = "postgresql://linkduty:linkduty@127.0.0.1:15432/linkduty_test"
    pg_pool_min: int = 2
    pg_pool_max: int = 20

    # Auth: the local stack's issuer writes its public keys here; production sets jwks_url.
    auth_issuer: str = "https://auth.linkduty.local"
    auth_audience: str = "linkduty"
    auth_jwks_file: str | None = None
    auth_jwks_url: str | None = None

    # Outbox relay: polling is the safety net behind the in-process wake-up.
    outbox_poll_interval_s: float = 0.5
    outbox_batch_size: int = 500
    # A replica's relay ends the session of a leader idle this long while events wait (outbox/relay.py).
    outbox_stalled_after_s: float = 15.0

    # Consumers: bounded retries before a message goes to <topic>.dlq.
    consumer_max_attempts: int = 3
    consumer_retry_backoff_s: float = 0.05

    # Retention (linkduty_shared.retention): every `retention_interval_s` the runtime purges expired
    # Idempotency-Key answers (after 24 h) and processed_events dedup rows (after
    # `processed_events_keep_days`), `retention_batch_size` rows per DELETE.
    retention_interval_s: float = 300.0
    retention_batch_size: int = 2000
    # Past the longest a record can come again: topics keep 7 days, a DLQ 30 (replayable), and a
    # record may outlive retention.ms by a segment (segment.ms, 7 days) — messaging/topics.toml.
    processed_events_keep_days: float = 37.0

    otel_exporter: str = "none"  # "none" | "console"
    directory_path: str | None = None  # a city's dataset (GeoJSON); the demo city when unset

    @property
    def kafka(self) -> KafkaConnection:
        """How this service's Kafka clients connect (every one the same)."""
        return KafkaConnection(
            self.kafka_bootstrap, self.kafka_security_protocol, self.kafka_sasl_mechanism, self.kafka_username,
            self.kafka_password.get_secret_value() if self.kafka_password else None, self.kafka_ca_file)

    # Request bodies, refused with 413 past these before anything parses them (api.limits):
    # JSON and everything else; XML (CAP alerts, at most 256 KiB).
    max_body_bytes: int = 16 * 1024
    max_xml_body_bytes: int = 256 * 1024

    # /readyz reports PostgreSQL and Kafka, and answers 503 unless these are up. A deployment may
    # require PostgreSQL only: with Kafka down, appends wait in the outbox, so 119 intake goes on
    # and a Kafka outage must not take every replica out of its Service.
    ready_requires: tuple[str, ...] = ("postgres", "kafka")


class HttpServiceSettings(ServiceSettings):
    """A service that serves HTTP (api.serving.serve)."""

    host: str = "127.0.0.1"
    port: int = 8100
    # On shutdown open requests (and streams, which never end by themselves) get this long, then
    # are cut: consoles reconnect, to another replica, with Last-Event-ID.
    shutdown_grace_s: float = 3.0
    # A connection whose sent data stays unacknowledged this long is aborted by the kernel: the
    # end of a client that stopped reading altogether (api.serving.listening_socket).
    unacked_timeout_s: float = 60.0

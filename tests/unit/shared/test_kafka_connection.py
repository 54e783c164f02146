"""How every Kafka client connects (messaging/kafka.py): plain locally, its own identity in k8s."""

import ssl

import pytest

from linkduty_shared.config import ServiceSettings
from linkduty_shared.messaging.kafka import KafkaConnection, connection


def test_a_bootstrap_string_is_a_plain_connection():
    assert connection("127.0.0.1:19092").client_kwargs() == {"bootstrap_servers": "127.0.0.1:19092",
                                                            "security_protocol": "PLAINTEXT"}


def test_settings_give_every_client_the_service_s_scram_identity_over_tls(monkeypatch):
    for name, value in {"KAFKA_BOOTSTRAP": "k:9093", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_USERNAME": "alarms",
                        "KAFKA_PASSWORD": "s3cret"}.items():
        monkeypatch.setenv(f"LINKDUTY_{name}", value)
    settings = ServiceSettings()
    kwargs = settings.kafka.client_kwargs()
    assert {k: v for k, v in kwargs.items() if k != "ssl_context"} == {
        "bootstrap_servers": "k:9093", "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "alarms", "sasl_plain_password": "s3cret"}
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)
    assert "s3cret" not in repr(settings) and "s3cret" not in repr(settings.kafka)  # never logged


def test_sasl_without_a_password_or_an_unknown_protocol_fails_at_start():
    with pytest.raises(ValueError, match="needs a SASL mechanism, a username and a password"):
        KafkaConnection("k:9093", "SASL_SSL", "SCRAM-SHA-512", "alarms")
    with pytest.raises(ValueError, match="is not one of"):
        KafkaConnection("k:9093", "TLS")

"""The units service in-process (its real lifespan: pool, relay, alarms.events consumer, order
sweep) on a test schema and test topics, with tokens from a local issuer."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from linkduty_shared.events.envelope import Envelope, envelope_to_kafka
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic
from tests.support.kafka import make_topics
from units.bootstrap import build_app
from units.config import UnitsSettings


@pytest.fixture
async def units_topics(kafka_bootstrap) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    names = {"events": f"test.{run}.units.events", "alarms": f"test.{run}.alarms.events"}
    await make_topics(kafka_bootstrap, [spec for name in names.values()
                                        for spec in (TopicSpec(name, 3, 1, 3_600_000),
                                                     TopicSpec(dlq_topic(name), 1, 1, 3_600_000))])
    return names


@pytest.fixture
def answer_within_s() -> float:
    """How long a unit has to answer an order; a test overrides this fixture to shorten it."""
    return 60.0


@pytest.fixture
def units_settings(schema_dsn, kafka_bootstrap, issuer, units_topics, answer_within_s) -> UnitsSettings:
    return UnitsSettings(
        service_name=f"units-test-{uuid.uuid4().hex[:6]}", pg_dsn=schema_dsn, kafka_bootstrap=kafka_bootstrap,
        auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer,
        events_topic=units_topics["events"], alarms_topic=units_topics["alarms"],
        answer_within_s=answer_within_s, order_sweep_interval_s=0.2,
    )


@pytest.fixture
async def units_app(units_settings):
    app = build_app(units_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def registry(units_app):
    return units_app.state.registry


@pytest.fixture
def dispatcher(units_app):
    return units_app.state.dispatcher


@pytest.fixture
async def client(units_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=units_app), base_url="http://units") as c:
        yield c


@pytest.fixture
def token(issuer, city):
    """token(scopes…, jurisdiction=[codes], client=id) → Authorization header."""

    def make(*scopes: str, jurisdiction: list[str] | None = None, client: str = "test-centre") -> dict[str, str]:
        scopes = scopes or ("units:read", "units:operate", "units:register")
        jwt = issuer.issue(client, list(scopes), jurisdiction=jurisdiction or [city.city.code])
        return {"Authorization": f"Bearer {jwt}"}

    return make


@pytest.fixture
def publish_alarm_event(producer, units_topics):
    """publish_alarm_event(alarm_id, name, data, version[, recorded_at]) → puts an alarms.events
    CloudEvent on the test topic (its `time`: when the alarms service recorded it, now by default)."""

    async def publish(alarm_id: str, name: str, data: dict, version: int,
                      recorded_at: dt.datetime | None = None) -> Envelope:
        envelope = Envelope(id=str(uuid.uuid4()), source="/linkduty/alarms", type=f"linkduty.alarm.{name}",
                            subject=alarm_id, time=recorded_at or dt.datetime.now(dt.UTC), data=data,
                            streamversion=version,
                            correlationid=f"corr-{alarm_id}")
        message = envelope_to_kafka(envelope)
        await producer.send_and_wait(units_topics["alarms"], key=alarm_id.encode(), value=message.value,
                                            headers=list(message.headers.items()))
        return envelope

    return publish


def alarm_reported(city, lat: float, lon: float, kind: str = "fire", severity: str = "moderate") -> dict:
    """AlarmReported data as the alarms service publishes it (alarms.events contract)."""
    chain = city.resolve(lat, lon)
    return {
        "call_id": str(uuid.uuid4()), "source": "119", "received_at": dt.datetime.now(dt.UTC).isoformat(),
        "kind": kind, "severity": severity, "description": "test", "location": {"lat": lat, "lon": lon, "address": None},
        "jurisdiction": {"grid": chain.grid.code, "community": chain.community.code, "street": chain.street.code,
                         "district": chain.district.code, "city": chain.city.code},
        "caller_masked": None, "caller_ref": None, "cap": None, "split_from": None,
    }

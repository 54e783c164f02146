"""The alarms service in-process (its real lifespan: pool, relay, consumers) on a test schema and
test topics, with tokens from a local issuer."""

from __future__ import annotations

import uuid

import httpx
import pytest

from alarms.bootstrap import build_app
from alarms.config import AlarmsSettings
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic
from tests.support.kafka import make_topics


@pytest.fixture
async def alarm_topics(kafka_bootstrap) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    names = {"events": f"test.{run}.alarms.events", "commands": f"test.{run}.linkage.commands",
             "units": f"test.{run}.units.events", "devices": f"test.{run}.devices.events"}
    await make_topics(kafka_bootstrap, [spec for name in names.values()
                                        for spec in (TopicSpec(name, 3, 1, 3_600_000),
                                                     TopicSpec(dlq_topic(name), 1, 1, 3_600_000))])
    return names


@pytest.fixture
def alarms_settings(schema_dsn, kafka_bootstrap, issuer, alarm_topics) -> AlarmsSettings:
    return AlarmsSettings(
        service_name=f"alarms-test-{uuid.uuid4().hex[:6]}", pg_dsn=schema_dsn, kafka_bootstrap=kafka_bootstrap,
        auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer,
        events_topic=alarm_topics["events"], commands_topic=alarm_topics["commands"], units_topic=alarm_topics["units"],
        devices_events_topic=alarm_topics["devices"], device_alarms_group=f"alarms-device-alarms-{uuid.uuid4().hex[:6]}",
    )


@pytest.fixture
async def alarms_app(alarms_settings):
    app = build_app(alarms_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(alarms_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=alarms_app), base_url="http://alarms") as c:
        yield c


@pytest.fixture
def token(issuer, city):
    """token(scopes…, jurisdiction=[codes], centre=id) → Authorization header."""

    def make(*scopes: str, jurisdiction: list[str] | None = None, centre: str | None = None) -> dict[str, str]:
        scopes = scopes or ("alarms:report", "alarms:read", "alarms:operate", "alarms:acknowledge")
        jwt = issuer.issue("test-client", list(scopes), jurisdiction=jurisdiction or [city.city.code], centre=centre)
        return {"Authorization": f"Bearer {jwt}"}

    return make

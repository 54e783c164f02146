"""The volunteers service in-process (its real lifespan: pool, relay) on a test schema and a test
topic, with tokens from a local issuer."""

from __future__ import annotations

import uuid

import httpx
import pytest

from linkduty_shared.jurisdictions import Level
from linkduty_shared.messaging.topics import TopicSpec
from tests.support.kafka import make_topics
from volunteers.bootstrap import build_app
from volunteers.config import VolunteersSettings

STAFF = ("volunteers:apply", "volunteers:read", "volunteers:review", "volunteers:train", "volunteers:erase")


@pytest.fixture
async def volunteers_topic(kafka_bootstrap) -> str:
    name = f"test.{uuid.uuid4().hex[:8]}.volunteers.events"
    await make_topics(kafka_bootstrap, [TopicSpec(name, 3, 1, 3_600_000)])
    return name


@pytest.fixture
def volunteers_settings(schema_dsn, kafka_bootstrap, issuer, volunteers_topic) -> VolunteersSettings:
    return VolunteersSettings(service_name=f"volunteers-test-{uuid.uuid4().hex[:6]}", pg_dsn=schema_dsn,
                              kafka_bootstrap=kafka_bootstrap, auth_jwks_file=str(issuer.jwks_file),
                              auth_issuer=issuer.issuer, events_topic=volunteers_topic)


@pytest.fixture
async def volunteers_app(volunteers_settings):
    app = build_app(volunteers_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(volunteers_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=volunteers_app), base_url="http://volunteers") as c:
        yield c


@pytest.fixture
def token(issuer, city):
    """token(scopes…, jurisdiction=[codes], client=subject): every volunteers scope, city-wide, by default."""

    def make(*scopes: str, jurisdiction: list[str] | None = None, client: str = "community-staff-1") -> dict:
        jwt = issuer.issue(client, list(scopes or STAFF), jurisdiction=jurisdiction or [city.city.code])
        return {"Authorization": f"Bearer {jwt}"}

    return make


def community(city, index: int = 0):
    return city.divisions(level=Level.COMMUNITY)[index]


def application(home: str, **overrides) -> dict:
    return {"name": "张三丰", "id_number": "330102199001011234", "phone": "13812345678",
            "domains": ["first_aid", "hazard_inspection"], "home_community": home,
            "availability": ["weekends"]} | overrides

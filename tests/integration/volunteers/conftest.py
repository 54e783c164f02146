"""The volunteers service in-process (its real lifespan: pool, relay, the alarms.events consumer)
on a test schema and test topics, with tokens from a local issuer; helpers that take a volunteer
through review, insurance and courses over its API."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from linkduty_shared.jurisdictions import Level
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic
from tests.support.kafka import make_topics
from volunteers.bootstrap import build_app
from volunteers.config import VolunteersSettings

STAFF = ("volunteers:apply", "volunteers:read", "volunteers:review", "volunteers:train", "volunteers:erase",
         "volunteers:assign")
# The settings a test passes to the service run as its own process (tests.support.served).
SERVED_FIELDS = ("service_name", "pg_dsn", "kafka_bootstrap", "auth_jwks_file", "auth_issuer", "events_topic",
                 "alarms_events_topic", "alarm_alerts_group")
GUIDE_COURSES = ("cpr_aed", "scene_guidance_basic")  # the scene_guidance domain's gate (a fire alarm's alerts)


@pytest.fixture
async def volunteers_topic(kafka_bootstrap) -> str:
    name = f"test.{uuid.uuid4().hex[:8]}.volunteers.events"
    await make_topics(kafka_bootstrap, [TopicSpec(name, 3, 1, 3_600_000)])
    return name


@pytest.fixture
async def alarms_topic(kafka_bootstrap) -> str:
    name = f"test.{uuid.uuid4().hex[:8]}.alarms.events"
    await make_topics(kafka_bootstrap, [TopicSpec(name, 3, 1, 3_600_000), TopicSpec(dlq_topic(name), 1, 1, 3_600_000)])
    return name


@pytest.fixture
def volunteers_settings(schema_dsn, kafka_bootstrap, issuer, volunteers_topic, alarms_topic) -> VolunteersSettings:
    name = f"volunteers-test-{uuid.uuid4().hex[:6]}"
    return VolunteersSettings(service_name=name, pg_dsn=schema_dsn, kafka_bootstrap=kafka_bootstrap,
                              auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer,
                              events_topic=volunteers_topic, alarms_events_topic=alarms_topic,
                              alarm_alerts_group=f"{name}-alarm-alerts", consumer_retry_backoff_s=0.01)


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


@pytest.fixture
def me(issuer):
    """me(volunteer id) → the headers of that volunteer's own app."""

    def make(volunteer_id: str) -> dict:
        return {"Authorization": f"Bearer {issuer.issue(f'volunteer:{volunteer_id}', ['volunteers:respond'], jurisdiction=[''])}"}

    return make


async def fit_volunteer(client, token, home: str, courses: tuple[str, ...] = GUIDE_COURSES, *,
                        insured: bool = True) -> str:
    """An approved volunteer of `home`, insured today (unless not), with `courses` passed today."""
    r = await client.post("/v1/volunteers", json=application(home), headers=token())
    assert r.status_code == 201, r.text
    volunteer_id = r.json()["volunteer_id"]
    today = dt.date.today()
    steps = [("review", {}), ("approval", {})]
    if insured:
        steps.append(("insurance", {"policy_number": f"PA-{volunteer_id[-6:]}", "insurer": "人保财险",
                                    "valid_from": (today - dt.timedelta(days=1)).isoformat(),
                                    "valid_to": (today + dt.timedelta(days=365)).isoformat()}))
    steps += [("course-results", {"course_id": c, "passed": True, "exam_on": today.isoformat(), "score": 90})
              for c in courses]
    for path, body in steps:
        r = await client.post(f"/v1/volunteers/{volunteer_id}/{path}", json=body, headers=token())
        assert r.status_code == 200, r.text
    return volunteer_id


def community(city, index: int = 0):
    return city.divisions(level=Level.COMMUNITY)[index]


def application(home: str, **overrides) -> dict:
    return {"name": "张三丰", "id_number": "330102199001011234", "phone": "13812345678",
            "domains": ["first_aid", "hazard_inspection"], "home_community": home,
            "availability": ["weekends"]} | overrides

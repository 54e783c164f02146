"""The hazards service in-process (its real lifespan: pool, relay) on a test schema and a test
topic, with tokens from a local issuer and a clock a test can move forward."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import httpx
import pytest
from PIL import Image

from hazards.bootstrap import build_app
from hazards.config import HazardsSettings
from linkduty_shared.jurisdictions import Level
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic
from tests.support.kafka import make_topics
from tests.support.problems import assert_problem  # noqa: F401 (the hazards tests import it from here)

# The settings a test passes to the service run as its own process (tests.support.served).
SERVED_FIELDS = ("service_name", "pg_dsn", "kafka_bootstrap", "auth_jwks_file", "auth_issuer", "events_topic",
                 "units_events_topic", "patrol_findings_group", "alarms_events_topic", "alarm_context_group",
                 "volunteers_events_topic", "volunteer_findings_group", "devices_events_topic",
                 "device_troubles_group", "object_store_path")
STAFF = ("hazards:report", "hazards:read", "hazards:triage", "hazards:rectify", "hazards:verify", "hazards:venues",
         "hazards:inspect")


@pytest.fixture
async def hazards_topics(kafka_bootstrap) -> dict[str, str]:
    """Its own hazards.events, and its own units.events, alarms.events, volunteers.events and
    devices.events (with their DLQs) for the patrol findings, the alarms' pictures, the home
    visits' findings and the detectors' troubles."""
    run = uuid.uuid4().hex[:8]
    names = {"events": f"test.{run}.hazards.events", "units": f"test.{run}.units.events",
             "alarms": f"test.{run}.alarms.events", "volunteers": f"test.{run}.volunteers.events",
             "devices": f"test.{run}.devices.events"}
    await make_topics(kafka_bootstrap, [spec for name in names.values()
                                        for spec in (TopicSpec(name, 3, 1, 3_600_000),
                                                     TopicSpec(dlq_topic(name), 1, 1, 3_600_000))])
    return names


@pytest.fixture
def hazards_settings(schema_dsn, kafka_bootstrap, issuer, hazards_topics, tmp_path) -> HazardsSettings:
    name = f"hazards-test-{uuid.uuid4().hex[:6]}"
    return HazardsSettings(
        service_name=name, pg_dsn=schema_dsn, kafka_bootstrap=kafka_bootstrap,
        auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer, events_topic=hazards_topics["events"],
        # Never the running service's topics or groups: the consumers read their own.
        units_events_topic=hazards_topics["units"], patrol_findings_group=name,
        alarms_events_topic=hazards_topics["alarms"], alarm_context_group=f"{name}-alarm-context",
        volunteers_events_topic=hazards_topics["volunteers"], volunteer_findings_group=f"{name}-volunteer-findings",
        devices_events_topic=hazards_topics["devices"], device_troubles_group=f"{name}-device-troubles",
        object_store_path=str(tmp_path / "objects"),
        # The loop's tests report without photos; test_photos.py pins the shipped rule (a
        # resident's snapshot needs one) with `photos_required`.
        min_photos_per_report={},
        # The deadline sweep's own loop passes once at start (nothing is overdue yet), then waits:
        # the deadline tests sweep when they mean to (tests/integration/hazards/test_deadlines.py).
        deadline_sweep_interval_s=3600.0,
    )


@pytest.fixture
async def hazards_app(hazards_settings):
    app = build_app(hazards_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def service(hazards_app):
    return hazards_app.state.hazards


class Clock:
    """The service's clock, moved forward by tests (a re-inspection is due weeks later)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def clock(service) -> Clock:
    service.clock = Clock()
    return service.clock


@pytest.fixture
async def client(hazards_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hazards_app), base_url="http://hazards") as c:
        yield c


@pytest.fixture
def token(issuer, city):
    """token(scopes…, jurisdiction=[codes], client=subject) → Authorization header. Without scopes:
    every hazards scope (a centre's grid worker); the whole city unless a jurisdiction is given."""

    def make(*scopes: str, jurisdiction: list[str] | None = None, client: str = "grid-worker-1") -> dict[str, str]:
        jwt = issuer.issue(client, list(scopes or STAFF),
                           jurisdiction=[city.city.code] if jurisdiction is None else jurisdiction)
        return {"Authorization": f"Bearer {jwt}"}

    return make


@pytest.fixture
def resident(token):
    """A resident's app token: report only, the whole city, its own subject."""

    def make(subject: str = "resident-1") -> dict[str, str]:
        return token("hazards:report", client=subject)

    return make


def a_point(city, index: int = 0):
    """A point inside the city: the representative point of the index-th community."""
    community = city.divisions(level=Level.COMMUNITY)[index]
    return community.lat, community.lon, community


def report(lat: float, lon: float, **overrides) -> dict:
    return {"category": "ebike_indoors", "description": "3单元楼道里有电动车在充电",
            "location": {"lat": lat, "lon": lon, "address": "幸福小区3幢"},
            "reporter": {"phone": "13812345678", "name": "张三"}} | overrides


def image_bytes(size: tuple[int, int] = (64, 48), fmt: str = "JPEG", colour=(200, 40, 40), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA" if fmt in ("PNG", "WEBP") else "RGB", size,
              colour + (255,) if fmt in ("PNG", "WEBP") else colour).save(out, fmt, **save)
    return out.getvalue()


async def upload(client, headers: dict[str, str], data: bytes | None = None, *, name: str = "photo.jpg",
                 content_type: str = "image/jpeg") -> dict:
    """Upload a photo as a mini-program does (multipart `file`); the photo's answer."""
    response = await client.post("/v1/photos", headers=headers,
                                 files={"file": (name, data if data is not None else image_bytes(), content_type)})
    assert response.status_code == 201, response.text
    return response.json()


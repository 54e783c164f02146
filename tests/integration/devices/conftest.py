"""The devices service in-process (its real lifespan: pool, relay, the offline sweep, and the
MQTT intake when a test asks for the broker) on a test schema and test topics, with tokens from
a local issuer and a platforms file of its own; helpers that register residents and devices and
sign signals the way a platform does."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import httpx
import pytest
from standardwebhooks import Webhook

from devices.bootstrap import build_app
from devices.config import DevicesSettings
from linkduty_shared.jurisdictions import Level
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic
from tests.support.kafka import make_topics

STAFF = ("devices:register", "devices:read", "devices:admin", "residents:register", "residents:review",
         "residents:read", "residents:read-personal", "residents:audit", "residents:erase")
SECRET = base64.b64encode(b"a test platform's webhook secret!").decode()


@pytest.fixture
async def devices_topic(kafka_bootstrap) -> str:
    name = f"test.{uuid.uuid4().hex[:8]}.devices.events"
    await make_topics(kafka_bootstrap, [TopicSpec(name, 3, 1, 3_600_000), TopicSpec(dlq_topic(name), 1, 1, 3_600_000)])
    return name


@pytest.fixture
def platforms_file(tmp_path) -> str:
    path = tmp_path / "platforms.toml"
    path.write_text(f'[[platform]]\nid = "test-iot"\nname = "Test IoT"\nwebhook_secret = "{SECRET}"\n'
                    f'mqtt_username = "platform-test-iot"\n', encoding="utf-8")
    return str(path)


@pytest.fixture
def devices_settings(schema_dsn, kafka_bootstrap, issuer, devices_topic, platforms_file) -> DevicesSettings:
    return DevicesSettings(service_name=f"devices-test-{uuid.uuid4().hex[:6]}", pg_dsn=schema_dsn,
                           kafka_bootstrap=kafka_bootstrap, auth_jwks_file=str(issuer.jwks_file),
                           auth_issuer=issuer.issuer, events_topic=devices_topic, device_platforms_file=platforms_file,
                           mqtt_enabled=False, offline_sweep_interval_s=0.2)


@pytest.fixture
async def devices_app(devices_settings):
    app = build_app(devices_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(devices_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=devices_app), base_url="http://devices") as c:
        yield c


@pytest.fixture
def token(issuer, city):
    def make(*scopes: str, jurisdiction: list[str] | None = None, client: str = "community-staff-1") -> dict:
        jwt = issuer.issue(client, list(scopes or STAFF), jurisdiction=jurisdiction or [city.city.code])
        return {"Authorization": f"Bearer {jwt}"}

    return make


def community(city, index: int = 0):
    return city.divisions(level=Level.COMMUNITY)[index]


def resident(home: str, **overrides) -> dict:
    return {"community": home, "consent_by": "guardian", "name": "王秀英", "id_number": "330102194401011234",
            "phone": "13812345678", "address": "幸福小区3幢502室",
            "emergency_contacts": [{"name": "王强", "phone": "13900001111", "relation": "son"}],
            "age_band": "80_89", "mobility": "needs_help_on_stairs", "floor": 5, "lives_alone": True,
            "oxygen_at_home": True, "needs": "hard of hearing, call her son 13900001111"} | overrides


def device(device_id: str, lat: float, lon: float, **overrides) -> dict:
    return {"device_id": device_id, "platform": "test-iot", "model": "JTY-GD-H361",
            "location": {"lat": lat, "lon": lon, "building": "3号楼", "floor": 5, "flat": "502"},
            "place": "home", "heartbeat_period_s": 60} | overrides


def signal(device_id: str, type_: str, *, at: dt.datetime | None = None, signal_id: str | None = None,
           **extra) -> tuple[str, bytes]:
    sid = signal_id or f"sig-{uuid.uuid4().hex}"
    body = {"device_id": device_id, "type": type_, "at": (at or dt.datetime.now(dt.UTC)).isoformat()} | extra
    return sid, json.dumps(body).encode()


def signed(sid: str, body: bytes, *, secret: str = SECRET, platform: str = "test-iot",
           timestamp: dt.datetime | None = None) -> dict:
    ts = timestamp or dt.datetime.now(dt.UTC)
    return {"LinkDuty-Platform": platform, "webhook-id": sid, "webhook-timestamp": str(int(ts.timestamp())),
            "webhook-signature": Webhook(secret).sign(sid, ts, body.decode()), "content-type": "application/json"}


async def send(client, device_id: str, type_: str, **kwargs) -> httpx.Response:
    sid, body = signal(device_id, type_, **kwargs)
    return await client.post("/v1/device-signals", content=body, headers=signed(sid, body))


async def registered(client, token, city, device_id: str | None = None, *, with_resident: bool = True,
                     index: int = 0, **overrides) -> tuple[str, str | None]:
    """A device (and the resident it watches over) in the index-th community: (device id, resident id)."""
    home = community(city, index)
    resident_id = None
    if with_resident:
        r = await client.post("/v1/residents", json=resident(home.code), headers=token())
        assert r.status_code == 201, r.text
        resident_id = r.json()["resident_id"]
    device_id = device_id or f"det-{uuid.uuid4().hex[:10]}"
    body = device(device_id, home.lat, home.lon, resident_id=resident_id, **overrides)
    r = await client.post("/v1/devices", json=body, headers=token())
    assert r.status_code == 201, r.text
    return device_id, resident_id

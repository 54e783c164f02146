"""The critical path end to end: the alarms service (in-process, real lifespan) and the linkage
Faust worker (its own process, as deployed), on topics of their own, on the real stack."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import uuid

import asyncpg
import httpx
import pytest

from alarms.bootstrap import build_app
from alarms.config import AlarmsSettings
from devices.bootstrap import build_app as build_devices_app
from devices.config import DevicesSettings
from hazards.bootstrap import build_app as build_hazards_app
from hazards.config import HazardsSettings
from gateway.config import GatewaySettings
from linkduty_shared.auth.issuer import LocalIssuer
from linkduty_shared.jurisdictions import load_demo_city
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic
from tests.support.kafka import make_topics
from tests.conftest import ROOT, STATE, eventually, stack_test_dsn
from tests.integration.gateway.support import SseReader, serving
from volunteers.bootstrap import build_app as build_volunteers_app
from volunteers.config import VolunteersSettings

PARTITIONS = 6


@pytest.fixture(scope="module")
def city():
    return load_demo_city()


async def create_topics(kafka_bootstrap: str) -> dict[str, str]:
    """A run's own topics (and their DLQs): role → name."""
    run = uuid.uuid4().hex[:8]
    # hazards too: a linkage worker reads its hazards topic beside the others, and the real one
    # would bring the running system's hazards into a run's notifications
    names = {k: f"e2e.{run}.{k}" for k in ("alarms", "units", "hazards", "volunteers", "devices", "commands",
                                           "notifications")}
    await make_topics(kafka_bootstrap, [s for n in names.values() for s in
                                        (TopicSpec(n, PARTITIONS, 1, 3_600_000), TopicSpec(dlq_topic(n), 1, 1, 3_600_000))])
    return names


@pytest.fixture(scope="module")
async def topics(kafka_bootstrap) -> dict[str, str]:
    return await create_topics(kafka_bootstrap)


def start_linkage(kafka_bootstrap: str, topics: dict[str, str], workdir, *, app_id: str,
                  timeout_scale: float = 1 / 30, settings: dict[str, str] | None = None) -> subprocess.Popen:
    """The linkage app as its own process, acknowledgement timeouts scaled (1/30: community 2 s);
    `settings`: more LINKDUTY_* environment variables."""
    env = {
        **os.environ,
        "LINKDUTY_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LINKDUTY_APP_ID": app_id,  # its consumer group, and the owner of its rows in the tests' database
        "LINKDUTY_PG_DSN": stack_test_dsn(),
        "LINKDUTY_ALARMS_TOPIC": topics["alarms"],
        "LINKDUTY_UNITS_TOPIC": topics["units"],
        "LINKDUTY_HAZARDS_TOPIC": topics["hazards"],
        "LINKDUTY_VOLUNTEERS_TOPIC": topics["volunteers"],
        "LINKDUTY_NOTIFICATIONS_TOPIC": topics["notifications"],
        "LINKDUTY_COMMANDS_TOPIC": topics["commands"],
        "LINKDUTY_ACK_TIMEOUT_SCALE": str(timeout_scale),
        "LINKDUTY_TIMER_INTERVAL_S": "0.25",
        "LINKDUTY_ESCALATION_RETRY_S": "3",
        "LINKDUTY_DATA_DIR": str(workdir),
        **(settings or {}),
    }
    log = open(workdir / "linkage.log", "a")
    return subprocess.Popen([sys.executable, "-m", "linkage.main"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()


@pytest.fixture(scope="module")
def linkage_worker(kafka_bootstrap, topics, tmp_path_factory):
    worker = start_linkage(kafka_bootstrap, topics, tmp_path_factory.mktemp("linkage"),
                           app_id=f"linkage-e2e-{uuid.uuid4().hex[:6]}")
    yield worker
    stop(worker)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> LocalIssuer:
    return LocalIssuer(tmp_path_factory.mktemp("auth"))


@contextlib.asynccontextmanager
async def own_schema(test_dsn: str, prefix: str):
    """A DSN on a fresh schema of the test database, dropped afterwards (one per service)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(test_dsn)
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{test_dsn}?options=-csearch_path%3D{schema}"
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


@pytest.fixture(scope="module")
async def alarms(test_dsn, kafka_bootstrap, topics, issuer, linkage_worker):
    async with own_schema(test_dsn, "e2e_alarms") as dsn:
        settings = AlarmsSettings(
            service_name=f"alarms-e2e-{uuid.uuid4().hex[:6]}", pg_dsn=dsn,
            kafka_bootstrap=kafka_bootstrap, auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer,
            events_topic=topics["alarms"], commands_topic=topics["commands"], units_topic=topics["units"],
            devices_events_topic=topics["devices"], device_alarms_group=f"alarms-e2e-devices-{uuid.uuid4().hex[:6]}",
        )
        app = build_app(settings)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://alarms") as client:
                yield client


@pytest.fixture(scope="module")
def token(issuer, city):
    def make(*scopes: str, centre: str | None = None, jurisdiction: list[str] | None = None) -> dict[str, str]:
        scopes = scopes or ("alarms:report", "alarms:read", "alarms:operate", "alarms:acknowledge")
        jwt = issuer.issue("e2e", list(scopes), jurisdiction=jurisdiction or [city.city.code], centre=centre)
        return {"Authorization": f"Bearer {jwt}"}

    return make


@pytest.fixture(scope="module")
async def gateway(test_dsn, kafka_bootstrap, topics, issuer, linkage_worker):
    """The gateway behind uvicorn on the run's notifications topic, its own schema."""
    async with own_schema(test_dsn, "e2e_gateway") as dsn:
        settings = GatewaySettings(
            service_name=f"gateway-e2e-{uuid.uuid4().hex[:6]}", pg_dsn=dsn, kafka_bootstrap=kafka_bootstrap,
            auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer,
            notifications_topic=topics["notifications"], feed_poll_interval_s=0.2, pg_pool_max=10,
        )
        async with serving(settings) as served:
            yield served


# ---- the hazards service in-process (tests/e2e/test_hazards.py, test_venues.py) ----

class Clock:
    """The hazards service's clock, moved forward by a test (deadlines are hours and days)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


@pytest.fixture(scope="module")
async def hazards_app(test_dsn, kafka_bootstrap, topics, issuer, linkage_worker, tmp_path_factory):
    async with own_schema(test_dsn, "e2e_hazards") as dsn:
        settings = HazardsSettings(
            service_name=f"hazards-e2e-{uuid.uuid4().hex[:6]}", pg_dsn=dsn, kafka_bootstrap=kafka_bootstrap,
            auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer, events_topic=topics["hazards"],
            units_events_topic=topics["units"], patrol_findings_group=f"hazards-e2e-{uuid.uuid4().hex[:6]}",
            alarms_events_topic=topics["alarms"], alarm_context_group=f"hazards-e2e-context-{uuid.uuid4().hex[:6]}",
            volunteers_events_topic=topics["volunteers"],
            volunteer_findings_group=f"hazards-e2e-findings-{uuid.uuid4().hex[:6]}",
            devices_events_topic=topics["devices"], device_troubles_group=f"hazards-e2e-devices-{uuid.uuid4().hex[:6]}",
            object_store_path=str(tmp_path_factory.mktemp("objects")),
            deadline_sweep_interval_s=3600.0)  # the escalation test sweeps when it means to
        app = build_hazards_app(settings)
        async with app.router.lifespan_context(app):
            app.state.hazards.clock = Clock()
            yield app


@pytest.fixture(scope="module")
async def hazards(hazards_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hazards_app), base_url="http://hazards") as c:
        yield c


# ---- the volunteers service in-process (tests/e2e/test_volunteers.py) ----

@pytest.fixture(scope="module")
async def volunteers_app(test_dsn, kafka_bootstrap, topics, issuer, linkage_worker):
    async with own_schema(test_dsn, "e2e_volunteers") as dsn:
        settings = VolunteersSettings(
            service_name=f"volunteers-e2e-{uuid.uuid4().hex[:6]}", pg_dsn=dsn, kafka_bootstrap=kafka_bootstrap,
            auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer, events_topic=topics["volunteers"],
            alarms_events_topic=topics["alarms"], alarm_alerts_group=f"volunteers-e2e-alerts-{uuid.uuid4().hex[:6]}")
        app = build_volunteers_app(settings)
        async with app.router.lifespan_context(app):
            yield app


@pytest.fixture(scope="module")
async def volunteers(volunteers_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=volunteers_app), base_url="http://volunteers") as c:
        yield c


@pytest.fixture
async def console(gateway, issuer, city):
    """console(centre_id) → an SseReader on that centre's stream, as the centre's own console."""
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=httpx.Timeout(30.0)) as http, \
            contextlib.AsyncExitStack() as streams:
        async def open_(centre_id: str) -> SseReader:
            jwt = issuer.issue(f"console-{centre_id}", ["stream:read"], centre=centre_id,
                               jurisdiction=[city.centre(centre_id).division_code])
            r = await streams.enter_async_context(http.stream(
                "GET", f"/v1/centres/{centre_id}/stream", headers={"Authorization": f"Bearer {jwt}",
                                                                   "Accept": "text/event-stream"}))
            assert r.status_code == 200, (await r.aread()).decode()
            return SseReader(r)

        yield open_


# ---- the devices service in-process (tests/e2e/test_devices.py), on the stack's Mosquitto ----

@pytest.fixture(scope="module")
async def devices_app(test_dsn, kafka_bootstrap, topics, issuer, stack, linkage_worker):
    async with own_schema(test_dsn, "e2e_devices") as dsn:
        settings = DevicesSettings(
            service_name=f"devices-e2e-{uuid.uuid4().hex[:6]}", pg_dsn=dsn, kafka_bootstrap=kafka_bootstrap,
            auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer, events_topic=topics["devices"],
            device_platforms_file=str(STATE / "devices" / "platforms.toml"),
            mqtt_host=stack["LINKDUTY_MQTT_HOST"], mqtt_port=int(stack["LINKDUTY_MQTT_PORT"]),
            mqtt_username=stack["LINKDUTY_MQTT_USERNAME"], mqtt_password=stack["LINKDUTY_MQTT_PASSWORD"],
            # the run's own topic under each platform's: the running system's devices service never sees it
            mqtt_topic_suffix=f"{topics['devices']}/signals", mqtt_persistent_session=False,
            offline_sweep_interval_s=0.5)
        app = build_devices_app(settings)
        async with app.router.lifespan_context(app):
            await eventually(lambda: app.state.mqtt.connected.is_set(), what="the devices MQTT intake subscribed")
            yield app


@pytest.fixture(scope="module")
async def devices(devices_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=devices_app), base_url="http://devices") as c:
        yield c

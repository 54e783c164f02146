"""The MQTT intake against the real Mosquitto of the local stack (per-platform users and ACLs
written by deploy/local/mosquitto.sh): a platform's signal becomes the same decision as over
HTTP, what the intake refuses is a dead letter with its reason, and the broker itself keeps a
platform from writing under another platform's topic."""

from __future__ import annotations

import json
import tomllib
import uuid

import aiomqtt
import httpx
import pytest

from devices.bootstrap import build_app
from tests.conftest import STATE, eventually
from tests.integration.devices.conftest import registered, signal

PLATFORM = "demo-iot"


def stack_platforms() -> dict[str, dict]:
    path = STATE / "devices" / "platforms.toml"
    return {p["id"]: p for p in tomllib.loads(path.read_text(encoding="utf-8"))["platform"]}


@pytest.fixture
def platforms_file() -> str:
    # The stack's own file: its platform ids and MQTT users are the broker's.
    return str(STATE / "devices" / "platforms.toml")


@pytest.fixture
def suffix() -> str:
    # A topic of the test's own under each platform's: the running system's devices service
    # never sees these messages, nor another test's intake.
    return f"test-{uuid.uuid4().hex[:8]}/signals"


@pytest.fixture
async def mqtt_app(devices_settings, stack, suffix):
    settings = devices_settings.model_copy(update={
        "mqtt_topic_suffix": suffix, "mqtt_persistent_session": False,
        "mqtt_enabled": True, "mqtt_host": stack["LINKDUTY_MQTT_HOST"], "mqtt_port": int(stack["LINKDUTY_MQTT_PORT"]),
        "mqtt_username": stack["LINKDUTY_MQTT_USERNAME"], "mqtt_password": stack["LINKDUTY_MQTT_PASSWORD"]})
    app = build_app(settings)
    app.state.test_settings = settings  # for a second replica
    async with app.router.lifespan_context(app):
        await eventually(lambda: _connected(app), what="the MQTT intake subscribed")
        yield app


async def _connected(app) -> bool:
    return app.state.mqtt.connected.is_set()


@pytest.fixture
async def client(mqtt_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mqtt_app), base_url="http://devices") as c:
        yield c


def over_mqtt(device_id: str, type_: str) -> bytes:
    """A signal as a platform publishes it: over MQTT its id is in the payload."""
    sid, body = signal(device_id, type_, signal_id=f"mq-{uuid.uuid4().hex}")
    return json.dumps(json.loads(body) | {"signal_id": sid}).encode()


def platform_client(platform: str, stack) -> aiomqtt.Client:
    p = stack_platforms()[platform]
    return aiomqtt.Client(stack["LINKDUTY_MQTT_HOST"], int(stack["LINKDUTY_MQTT_PORT"]), username=p["mqtt_username"],
                          password=p["mqtt_password"], identifier=f"test-{platform}-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def publish(stack, suffix):
    async def publish_(payload: bytes, *, as_platform: str = PLATFORM, topic_platform: str | None = None) -> None:
        async with platform_client(as_platform, stack) as c:
            await c.publish(f"linkduty/devices/{topic_platform or as_platform}/{suffix}", payload, qos=1)

    return publish_


async def dead_letters(client, token) -> list[dict]:
    r = await client.get("/v1/device-signals/dead-letters", headers=token())
    assert r.status_code == 200, r.text
    return r.json()["dead_letters"]


async def test_a_smoke_alarm_over_mqtt_opens_the_episode_as_over_http(client, token, city, publish):
    device_id, _ = await registered(client, token, city, platform=PLATFORM)
    message = over_mqtt(device_id, "smoke_alarm")
    await publish(message)

    async def opened() -> bool:
        return (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["open_alarm"] is not None

    await eventually(opened, what="the episode opened from the MQTT signal")
    # The same message again (a QoS 1 redelivery, a platform's retry): one episode, one signal counted.
    await publish(message)
    await eventually(lambda: _reason_in(client, token, "signal-replayed"), what="the replay dead-lettered")
    state = (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["state"]
    assert state["alarm_repeats"] == 1


async def _reason_in(client, token, reason: str) -> bool:
    return any(d["reason"] == reason for d in await dead_letters(client, token))


async def test_what_the_mqtt_intake_refuses_is_a_dead_letter_with_its_reason(client, token, city, publish):
    device_id, _ = await registered(client, token, city, platform=PLATFORM)
    await publish(b"{not json")
    no_id = json.loads(over_mqtt(device_id, "heartbeat"))
    del no_id["signal_id"]
    await publish(json.dumps(no_id).encode())
    await publish(over_mqtt("det-nobody", "smoke_alarm"))
    await publish(b"x" * 5000)
    for reason in ("malformed-signal", "unknown-device", "payload-too-large"):
        await eventually(lambda r=reason: _reason_in(client, token, r), what=f"a {reason} dead letter")
    letters = await dead_letters(client, token)
    assert sum(d["reason"] == "malformed-signal" for d in letters) >= 2
    assert (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["open_alarm"] is None


async def test_the_broker_keeps_a_platform_from_writing_under_another_platform_s_topic(client, token, city, publish):
    device_id, _ = await registered(client, token, city, platform="city-iot")
    # demo-iot publishes a signal for city-iot's device under city-iot's topic: the ACL drops it…
    await publish(over_mqtt(device_id, "smoke_alarm"), topic_platform="city-iot")
    # …while city-iot's own message after it arrives, so the first one had its chance to.
    await publish(over_mqtt(device_id, "test"), as_platform="city-iot")

    async def tested() -> bool:
        return (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["last_test_at"] is not None

    await eventually(tested, what="city-iot's own signal taken")
    assert (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["open_alarm"] is None


async def test_one_replica_reads_the_broker_and_a_standby_takes_over_when_it_stops(
        mqtt_app, client, token, city, publish):
    # A second replica of the same service (same database, same topic): it stands by.
    replica = build_app(mqtt_app.state.test_settings)
    async with replica.router.lifespan_context(replica):
        device_id, _ = await registered(client, token, city, platform=PLATFORM)
        await publish(over_mqtt(device_id, "test"))
        await eventually(lambda: _tested(client, token, device_id), what="the leader took the signal in")
        assert mqtt_app.state.mqtt.connected.is_set() and not replica.state.mqtt.connected.is_set()
        assert (mqtt_app.state.mqtt.taken, replica.state.mqtt.taken) == (1, 0)  # once, not once per replica
        # The leader stops (its task cancelled, as at shutdown): the standby takes the next signal.
        next(t for t in mqtt_app.state.runtime.tasks if t.get_name() == "MQTT intake").cancel()
        await eventually(lambda: replica.state.mqtt.connected.is_set(), timeout=30, what="the standby leading")
        await publish(over_mqtt(device_id, "smoke_alarm"))

        async def opened() -> bool:
            return (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["open_alarm"] is not None

        await eventually(opened, what="the standby took the next signal in")
        assert replica.state.mqtt.taken == 1


async def _tested(client, token, device_id: str) -> bool:
    return (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["last_test_at"] is not None

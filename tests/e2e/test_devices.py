"""Networked smoke detectors end to end, on the real stack: the devices, alarms and hazards
services in-process (real lifespans: relays, consumers, the MQTT intake on the stack's
Mosquitto), the linkage worker in its own process, the gateway behind uvicorn, and the consoles'
SSE streams.

A detector in the flat of an 82-year-old living alone goes off, over MQTT and over HTTP: each
becomes an alarm on the community, street, district and city consoles, saying who is likely
inside and never her name; a flooding detector is one alarm; a block of flats is one alarm with
several calls; a quick clear shows as a possible false alarm; a silent detector opens a
maintenance hazard that its next heartbeat closes; an erased resident is gone while every event
stays; a forged signature and a replay put nothing on a screen. Its alarm is dispatched like a
119 call's (the units service in-process too)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tomllib
import uuid

import aiomqtt
import pytest

from hazards.application.service import device_hazard_id
from linkduty_shared.contracts.devices import episode_key
from linkduty_shared.jurisdictions import Level
from tests.conftest import STATE, eventually
from tests.e2e.test_hazards import STAFF as HAZARDS_STAFF
from tests.e2e.test_joint_dispatch import units  # noqa: F401  (the units service, a fixture)
from tests.integration.devices.conftest import STAFF, device, resident, signal, signed
from tests.integration.volunteers.conftest import GUIDE_COURSES, fit_volunteer
from tests.integration.volunteers.conftest import STAFF as VOLUNTEERS_STAFF
from tests.integration.gateway.support import SseReader

PLATFORM = "demo-iot"
M = 1 / 111_000  # a metre of latitude, in degrees
# What the resident's registration holds that no console, alarm or record outside the devices
# service may ever carry (tests.integration.devices.conftest.resident).
PERSONAL = ("王秀英", "330102194401011234", "13812345678", "幸福小区", "王强", "13900001111")


def platform_of(platform_id: str) -> dict:
    platforms = tomllib.loads((STATE / "devices" / "platforms.toml").read_text(encoding="utf-8"))["platform"]
    return next(p for p in platforms if p["id"] == platform_id)


@pytest.fixture(scope="module")
def staff(issuer, city):
    def make(*scopes: str) -> dict:
        jwt = issuer.issue("community-staff-e2e", list(scopes or STAFF + HAZARDS_STAFF + ("alarms:read",)),
                           jurisdiction=[city.city.code])
        return {"Authorization": f"Bearer {jwt}"}

    return make


@pytest.fixture(scope="module")
def send_http(devices):
    secret = platform_of(PLATFORM)["webhook_secret"]

    async def send(device_id: str, type_: str, *, signal_id: str | None = None, **extra):
        sid, body = signal(device_id, type_, signal_id=signal_id, **extra)
        return await devices.post("/v1/device-signals", content=body,
                                  headers=signed(sid, body, secret=secret, platform=PLATFORM))

    return send


@pytest.fixture(scope="module")
def send_mqtt(stack, topics):
    p = platform_of(PLATFORM)

    async def send(device_id: str, type_: str, *, signal_id: str | None = None, times: int = 1, **extra) -> None:
        async with aiomqtt.Client(stack["LINKDUTY_MQTT_HOST"], int(stack["LINKDUTY_MQTT_PORT"]),
                                  username=p["mqtt_username"], password=p["mqtt_password"],
                                  identifier=f"e2e-{uuid.uuid4().hex[:8]}") as client:
            for _ in range(times):
                sid, body = signal(device_id, type_, **extra)
                payload = json.loads(body) | {"signal_id": signal_id if times == 1 and signal_id else sid}
                await client.publish(f"linkduty/devices/{PLATFORM}/{topics['devices']}/signals",
                                     json.dumps(payload).encode(), qos=1)

    return send


async def registered(devices, staff, home, *, with_resident: bool = True, offset_m: float = 0.0,
                     floor: int = 5, **overrides) -> tuple[str, str | None]:
    resident_id = None
    if with_resident:
        r = await devices.post("/v1/residents", json=resident(home.code), headers=staff())
        assert r.status_code == 201, r.text
        resident_id = r.json()["resident_id"]
    device_id = f"det-{uuid.uuid4().hex[:10]}"
    body = device(device_id, home.lat + offset_m * M, home.lon, resident_id=resident_id, platform=PLATFORM,
                  **overrides)
    body["location"] |= {"floor": floor, "flat": f"{floor}02"}
    r = await devices.post("/v1/devices", json=body, headers=staff())
    assert r.status_code == 201, r.text
    return device_id, resident_id


async def about(reader: SseReader, call_id: str, timeout: float = 30.0):
    """The next event of this stream about the detector's episode `call_id` (others are other tests')."""
    while True:
        event = await reader.next(timeout=timeout)
        data = json.loads(event.data)
        if data.get("event_data", {}).get("call_id", "").endswith(f"/{call_id}"):  # episode_key(device, episode)
            return event, data


async def calls_shown(reader: SseReader, community_code: str, wait: float) -> list[dict]:
    """The alarms and further calls of the community that the stream shows within `wait` seconds
    (the screen shows the alarm's follow-ups too: its dispatch plan, its pre-incident picture)."""
    shown, deadline = [], asyncio.get_running_loop().time() + wait
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            data = json.loads((await reader.next(timeout=left)).data)
        except TimeoutError:
            break
        if data["event_type"] in ("AlarmReported", "CallLinked") and \
                data["alarm"]["jurisdiction"]["community"] == community_code:
            shown.append(data)
    return shown


async def consoles_of(console, city, home) -> list[SseReader]:
    return [await console(centre_id) for centre_id in city.resolve(home.lat, home.lon).centre_ids()]


def community(city, index: int):
    return city.divisions(level=Level.COMMUNITY)[index]


@pytest.mark.parametrize("way, index", [("mqtt", 61), ("http", 62)])
async def test_a_detector_s_alarm_reaches_all_four_consoles_with_who_is_inside_and_no_name(
        way, index, devices, alarms, console, staff, send_http, send_mqtt, city):
    home = community(city, index)
    device_id, _ = await registered(devices, staff, home)
    screens = await consoles_of(console, city, home)
    episode = f"sig-{uuid.uuid4().hex}"
    if way == "mqtt":
        await send_mqtt(device_id, "smoke_alarm", signal_id=episode)
    else:
        assert (await send_http(device_id, "smoke_alarm", signal_id=episode)).status_code == 202
    for reader, centre_id in zip(screens, city.resolve(home.lat, home.lon).centre_ids()):
        event, data = await about(reader, episode)
        assert event.event == "AlarmReported" and data["centre_id"] == centre_id
        assert data["event_data"]["source"] == "device" and data["alarm"]["kind"] == "fire"
        who = data["alarm"]["vulnerability"]
        assert (who["age_band"], who["mobility"], who["lives_alone"], who["oxygen_at_home"]) == (
            "80_89", "needs_help_on_stairs", True, True)
        assert data["alarm"]["severity"] == "major"
        assert "5" in data["alarm"]["location"]["address"] and "502" in data["alarm"]["location"]["address"]
        assert not [p for p in PERSONAL if p in event.data], event.data
    alarm_id = data["alarm"]["alarm_id"]
    stored = (await alarms.get(f"/v1/alarms/{alarm_id}", headers=staff())).json()
    assert not [p for p in PERSONAL if p in json.dumps(stored, ensure_ascii=False)]


async def test_a_detector_s_alarm_is_dispatched_under_one_main_force_two_auxiliaries_like_a_119_call(
        devices, alarms, units, console, staff, send_mqtt, issuer, city):  # noqa: F811
    home = community(city, 69)
    device_id, _ = await registered(devices, staff, home)
    [screen] = (await consoles_of(console, city, home))[:1]
    episode = f"sig-{uuid.uuid4().hex}"
    await send_mqtt(device_id, "smoke_alarm", signal_id=episode)
    _, data = await about(screen, episode)
    alarm_id = data["alarm"]["alarm_id"]
    chain = city.resolve(home.lat, home.lon)
    centre = {"Authorization": "Bearer " + issuer.issue("district-centre", ["units:read"],
                                                          jurisdiction=[chain.district.code])}

    async def planned():
        r = await units.get(f"/v1/dispatches/{alarm_id}", headers=centre)
        # the fire station and the community squad (the nearest, first on scene) at the least
        return r.status_code == 200 and {"main", "auxiliary_2"} <= {o["role"] for o in r.json()["orders"]}

    await eventually(planned, timeout=60, what="the device alarm dispatched to a station and the community squad")


async def test_a_detector_in_a_nursery_alerts_the_qualified_volunteers_nearby(
        devices, alarms, volunteers, console, staff, send_mqtt, issuer, city):
    home = community(city, 70)
    r = await devices.post("/v1/premises", headers=staff(), json={
        "name": "阳光幼儿园", "premises_kind": "nursery", "occupants": 120, "needs": "children under 6",
        "lat": home.lat, "lon": home.lon})
    assert r.status_code == 201, r.text
    device_id, _ = await registered(devices, staff, home, with_resident=False, place="public",
                                    premises_id=r.json()["premises_id"])
    volunteer_staff = {"Authorization": "Bearer " + issuer.issue("community-staff-e2e", list(VOLUNTEERS_STAFF),
                                                                 jurisdiction=[city.city.code])}
    nearby = await fit_volunteer(volunteers, lambda *s, **k: volunteer_staff, home.code, GUIDE_COURSES)
    r = await volunteers.put("/v1/me/position", json={"lat": home.lat + 50 * M, "lon": home.lon}, headers={
        "Authorization": "Bearer " + issuer.issue(f"volunteer:{nearby}", ["volunteers:respond"], jurisdiction=[""])})
    assert r.status_code == 200, r.text
    [screen] = (await consoles_of(console, city, home))[:1]
    episode = f"sig-{uuid.uuid4().hex}"
    await send_mqtt(device_id, "smoke_alarm", signal_id=episode)
    _, data = await about(screen, episode)
    assert data["alarm"]["severity"] == "major" and data["alarm"]["vulnerability"]["premises_kind"] == "nursery"
    alarm_id = data["alarm"]["alarm_id"]
    while True:  # the alarm's next events on the same screen: its volunteers' alert among them
        event = json.loads((await screen.next(timeout=30)).data)
        if event["alarm"]["alarm_id"] == alarm_id and event["event_type"] == "VolunteersAlerted":
            break
    assert [a["volunteer_id"] for a in event["event_data"]["alerted"]] == [nearby]


async def test_a_flooding_detector_is_one_alarm_with_one_call(devices, alarms, console, staff, send_mqtt, city):
    home = community(city, 63)
    device_id, _ = await registered(devices, staff, home, with_resident=False)
    [screen] = (await consoles_of(console, city, home))[:1]
    episode = f"sig-{uuid.uuid4().hex}"
    await send_mqtt(device_id, "smoke_alarm", signal_id=episode)
    _, data = await about(screen, episode)
    await send_mqtt(device_id, "smoke_alarm", times=60)  # a detector repeating its alarm for a minute

    async def counted() -> bool:
        state = (await devices.get(f"/v1/devices/{device_id}", headers=staff())).json()["state"]
        return state["alarm_repeats"] == 61

    await eventually(counted, what="the 61 alarm signals counted on the device")
    alarm = (await alarms.get(f"/v1/alarms/{data['alarm']['alarm_id']}", headers=staff())).json()
    assert alarm["call_count"] == 1
    assert not await calls_shown(screen, home.code, wait=2.0)  # no second alarm, no second call on the screen


async def test_detectors_of_one_block_going_off_within_a_minute_are_one_alarm_with_a_call_each(
        devices, alarms, console, staff, send_http, city):
    home = community(city, 64)
    detectors = [(await registered(devices, staff, home, with_resident=False, offset_m=5.0 * n,
                                   floor=n + 1))[0] for n in range(3)]
    [screen] = (await consoles_of(console, city, home))[:1]
    episodes = [f"sig-{uuid.uuid4().hex}" for _ in detectors]
    for device_id, episode in zip(detectors, episodes):
        assert (await send_http(device_id, "smoke_alarm", signal_id=episode)).status_code == 202
        await asyncio.sleep(0.5)
    first, data = await about(screen, episodes[0])
    assert first.event == "AlarmReported"
    for episode in episodes[1:]:
        linked, more = await about(screen, episode)
        assert linked.event == "CallLinked" and more["alarm"]["alarm_id"] == data["alarm"]["alarm_id"]
    assert more["alarm"]["call_count"] == 3


async def test_an_alarm_cleared_at_once_shows_as_a_possible_false_alarm_and_stays_open(
        devices, console, staff, send_http, city):
    home = community(city, 65)
    device_id, _ = await registered(devices, staff, home, with_resident=False)
    [screen] = (await consoles_of(console, city, home))[:1]
    episode = f"sig-{uuid.uuid4().hex}"
    assert (await send_http(device_id, "smoke_alarm", signal_id=episode)).status_code == 202
    await about(screen, episode)
    assert (await send_http(device_id, "alarm_cleared")).json()["decided"] == ["DeviceAlarmCleared"]
    event, data = await about(screen, episode)
    assert event.event == "DeviceClearReported"
    assert data["alarm"]["possible_false_alarm"] is True and data["open"] is True


async def test_a_silent_detector_opens_a_maintenance_hazard_that_its_next_heartbeat_closes(
        devices, devices_app, hazards, staff, send_http, city):
    home = community(city, 66)
    device_id, _ = await registered(devices, staff, home, with_resident=False, heartbeat_period_s=3600)
    # Its last signal long past: the sweep finds it silent at its next round.
    async with devices_app.state.runtime.pool.acquire() as conn:
        await conn.execute("UPDATE device_state SET silent_after = now() - interval '1 second' WHERE device_id = $1",
                           device_id)

    async def offline_episode() -> str | None:
        return (await devices.get(f"/v1/devices/{device_id}", headers=staff())).json()["troubles"].get("offline")

    episode = await eventually(offline_episode, what="the device offline")
    hazard_url = f"/v1/hazards/{device_hazard_id(episode_key(device_id, episode))}"

    async def hazard() -> dict | None:
        r = await hazards.get(hazard_url, headers=staff())
        return r.json() if r.status_code == 200 else None

    opened = await eventually(hazard, what="the maintenance hazard filed")
    assert opened["category"] == "detector_maintenance" and opened["jurisdiction"]["community"] == home.code
    assert opened["status"] != "closed"
    assert (await send_http(device_id, "heartbeat", battery_pct=90)).json()["decided"] == ["DeviceTroubleEnded"]

    async def closed() -> bool:
        return (await hazard())["status"] == "closed"

    await eventually(closed, what="the hazard closed by the heartbeat")


async def test_an_erased_resident_is_gone_while_every_event_stays(devices, devices_app, staff, console,
                                                                  send_http, city):
    home = community(city, 67)
    device_id, resident_id = await registered(devices, staff, home)
    pool = devices_app.state.runtime.pool
    count = "SELECT count(*) FROM events WHERE stream_id = $1"
    async with pool.acquire() as conn:
        before = await conn.fetchval(count, resident_id)
    read = await devices.get(f"/v1/residents/{resident_id}/person", params={"purpose": "e2e check"},
                             headers=staff())
    assert read.status_code == 200 and read.json()["name"] == "王秀英"
    erased = await devices.delete(f"/v1/residents/{resident_id}/personal-data", headers=staff())
    assert erased.status_code == 200, erased.text
    async with pool.acquire() as conn:
        assert await conn.fetchval(count, resident_id) == before + 1  # ResidentErased beside the rest
        stored = await conn.fetch("SELECT data::text FROM events WHERE stream_id = $1", resident_id)
    assert not [p for p in PERSONAL if any(p in row["data"] for row in stored)]
    gone = await devices.get(f"/v1/residents/{resident_id}/person", params={"purpose": "e2e check"},
                             headers=staff())
    assert gone.status_code in (404, 410), gone.text
    # Her detector still raises alarms: no one's details on them any more.
    [screen] = (await consoles_of(console, city, home))[:1]
    episode = f"sig-{uuid.uuid4().hex}"
    assert (await send_http(device_id, "smoke_alarm", signal_id=episode)).status_code == 202
    _, data = await about(screen, episode)
    assert data["alarm"].get("vulnerability") in (None, {}) or data["alarm"]["vulnerability"].get("age_band") is None


async def test_a_forged_signature_and_a_replay_put_nothing_on_a_screen(devices, console, staff, send_http, city):
    home = community(city, 68)
    device_id, _ = await registered(devices, staff, home, with_resident=False)
    [screen] = (await consoles_of(console, city, home))[:1]
    forged_episode = f"sig-{uuid.uuid4().hex}"
    sid, body = signal(device_id, "smoke_alarm", signal_id=forged_episode)
    forged = signed(sid, body, secret="Zm9yZ2VkIGJ5IHNvbWVib2R5IGVsc2UgZW50aXJlbHk=", platform=PLATFORM)
    r = await devices.post("/v1/device-signals", content=body, headers=forged)
    assert r.status_code == 401 and r.json()["type"].endswith("bad-signature")
    episode = f"sig-{uuid.uuid4().hex}"
    assert (await send_http(device_id, "smoke_alarm", signal_id=episode)).status_code == 202
    _, data = await about(screen, episode)
    again = await send_http(device_id, "smoke_alarm", signal_id=episode)
    assert again.status_code == 409 and again.json()["type"].endswith("signal-replayed")
    with contextlib.suppress(TimeoutError):
        event, _ = await about(screen, forged_episode, timeout=2.0)
        raise AssertionError(f"a forged signal reached the screen: {event}")
    alarm_calls = data["alarm"]["call_count"]
    assert alarm_calls == 1

"""Hazards end to end, as residents, grid workers, a hotline and the consoles see them: the
hazards service (in-process, real lifespan: its relay and its units.events consumer) → Kafka →
the linkage worker (its own process) → Kafka → the gateway → SSE, on the real stack.

The loop with photos (report → triage → assign → rectify → failed → rectify → passed →
re-inspection reopens) on the community's console; an overdue hazard reaching the street's; a
major one there at once; a merge; a recurrence; the reporter's view; jurisdiction; an Open311
round trip; and a joint patrol's finding on units.events becoming a hazard on the console."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from PIL import Image

from hazards.application.service import PATROL_FINDINGS
from linkduty_shared.events import Envelope, envelope_to_kafka
from linkduty_shared.jurisdictions import Level
from tests.integration.gateway.support import SseReader

STAFF = ("hazards:report", "hazards:read", "hazards:triage", "hazards:rectify", "hazards:verify")
M = 1 / 111_000  # a metre of latitude, in degrees


@pytest.fixture(scope="module")
def auth(issuer, city):
    def make(*scopes: str, subject: str = "grid-worker-e2e", jurisdiction: list[str] | None = None) -> dict:
        jwt = issuer.issue(subject, list(scopes or STAFF), jurisdiction=jurisdiction or [city.city.code])
        return {"Authorization": f"Bearer {jwt}"}

    return make


def photo_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x0110] = "PhoneModel-X"
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 16.0, 12.5), 3: "E", 4: (120.0, 9.0, 3.2)})
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (180, 60, 30)).save(out, "JPEG", exif=exif)
    return out.getvalue()


async def upload(hazards, headers) -> str:
    r = await hazards.post("/v1/photos", headers=headers, files={"file": ("IMG.jpg", photo_with_gps(), "image/jpeg")})
    assert r.status_code == 201, r.text
    return r.json()["photo_id"]


async def act(hazards, hazard_id: str, action: str, body: dict, headers: dict) -> dict:
    r = await hazards.post(f"/v1/hazards/{hazard_id}/{action}", json=body, headers=headers)
    assert r.status_code == 200, (action, r.text)
    return r.json()


async def events_about(reader: SseReader, hazard_id: str, count: int, timeout: float = 30.0) -> list[tuple[str, dict]]:
    """The next `count` events of this stream about `hazard_id` (others are other tests')."""
    seen = []
    while len(seen) < count:
        event = await reader.next(timeout=timeout)
        data = json.loads(event.data)
        if data.get("hazard", {}).get("hazard_id") == hazard_id:
            seen.append((event.event, data))
    return seen


async def nothing_about(reader: SseReader, hazard_id: str, wait: float = 3.0) -> bool:
    """No event about `hazard_id` within `wait` seconds. The reader is done with afterwards (the
    timeout closes its line iterator)."""
    with contextlib.suppress(TimeoutError):
        await events_about(reader, hazard_id, 1, timeout=wait)
        return False
    return True


def place(city, index: int):
    community = city.divisions(level=Level.COMMUNITY)[index]
    return community.lat, community.lon, city.resolve(community.lat, community.lon)


async def test_the_loop_with_photos_reaches_the_community_console_step_by_step_and_the_reporter_sees_it(
        hazards, console, auth, city):
    lat, lon, chain = place(city, 40)
    community, street = chain.centre_ids()[0], chain.centre_ids()[1]
    on_screen, street_screen = await console(community), await console(street)
    resident = auth("hazards:report", subject="resident-e2e-1")
    report = {"category": "ebike_indoors", "description": "3单元楼道里电动车充电，电话13812345678",
              "location": {"lat": lat, "lon": lon, "address": "幸福小区3幢"},
              "reporter": {"phone": "13812345678", "name": "张三"}, "photo_ids": [await upload(hazards, resident)]}
    made = await hazards.post("/v1/hazards", json=report, headers=resident)
    assert made.status_code == 201, made.text
    hazard_id = made.json()["hazard_id"]
    [(name, reported)] = await events_about(on_screen, hazard_id, 1)
    assert name == "HazardReported" and reported["centre_id"] == community
    assert "13812345678" not in json.dumps(reported) and "张三" not in json.dumps(reported)
    assert reported["hazard"]["jurisdiction"]["grid"] == chain.grid.code
    assert await nothing_about(street_screen, hazard_id), "a minor hazard reached the street before escalating"

    staff = auth()
    stored = await hazards.get(made.json()["photos"][0]["url"], headers=staff)
    assert stored.status_code == 200 and "exif" not in Image.open(io.BytesIO(stored.content)).info
    await act(hazards, hazard_id, "acceptance", {}, staff)
    await act(hazards, hazard_id, "assignment", {"assignee_kind": "property_manager", "assignee_id": "pm-7"}, staff)
    await act(hazards, hazard_id, "rectification", {"note": "已移走", "photo_ids": [await upload(hazards, staff)]}, staff)
    await act(hazards, hazard_id, "verification", {"outcome": "failed", "note": "晚上又回来了"}, staff)
    await act(hazards, hazard_id, "rectification", {"note": "装了充电桩"}, staff)
    await act(hazards, hazard_id, "verification", {"outcome": "passed"}, staff)
    await act(hazards, hazard_id, "reinspection", {"outcome": "reopened", "note": "回头看：又有车"}, staff)
    steps = await events_about(on_screen, hazard_id, 8)
    assert [name for name, _ in steps] == [
        "HazardAccepted", "HazardAssigned", "RectificationSubmitted", "RectificationFailed",
        "RectificationSubmitted", "RectificationVerified", "ReinspectionScheduled", "HazardReopened"]
    assert steps[-1][1]["hazard"]["status"] == "rectifying"

    mine = (await hazards.get("/v1/me/hazards", headers=resident)).json()["hazards"]
    assert [h["hazard_id"] for h in mine] == [hazard_id] and mine[0]["status"] == "rectifying"
    seen = (await hazards.get(f"/v1/hazards/{hazard_id}", headers=resident)).json()
    assert seen["failures"] == 1 and seen["reopenings"] == 1
    assert "13812345678" not in json.dumps(seen) and "张三" not in json.dumps(seen)


async def test_an_overdue_hazard_escalates_onto_the_street_console_and_a_major_one_is_there_at_once(
        hazards, hazards_app, console, auth, city):
    lat, lon, chain = place(city, 41)
    community, street = chain.centre_ids()[:2]
    community_screen, street_screen = await console(community), await console(street)
    staff = auth()
    minor = (await hazards.post("/v1/hazards", headers=staff, json={
        "category": "corridor_cluttered", "source": "grid_worker", "description": "楼道堆放纸箱",
        "location": {"lat": lat, "lon": lon}})).json()["hazard_id"]
    major = (await hazards.post("/v1/hazards", headers=staff, json={
        "category": "evacuation_route_blocked", "source": "inspector", "description": "安全出口上锁",
        "location": {"lat": lat + 200 * M, "lon": lon}})).json()["hazard_id"]
    [(name, data)] = await events_about(street_screen, major, 1)
    assert name == "HazardReported" and data["hazard"]["severity"] == "major"
    await events_about(community_screen, minor, 1)

    service, clock = hazards_app.state.hazards, hazards_app.state.hazards.clock
    clock.offset += dt.timedelta(hours=73)  # corridor_cluttered is minor: 72 h to triage
    try:
        await service.escalate_overdue(100)
    finally:
        clock.offset -= dt.timedelta(hours=73)
    # The street's first word of the minor hazard is its escalation: it never saw the report.
    [(name, escalated)] = await events_about(street_screen, minor, 1)
    assert name == "HazardEscalated" and escalated["reason"] == "escalation"
    assert escalated["event_data"]["from_level"] == "community" and escalated["event_data"]["to_level"] == "street"
    [(name, _)] = await events_about(community_screen, minor, 1)  # the community still sees it
    assert name == "HazardEscalated"


async def test_a_merge_a_recurrence_and_jurisdiction_as_the_consoles_and_lists_see_them(hazards, console, auth, city):
    lat, lon, chain = place(city, 42)
    sibling = next(c for c in city.children(chain.street.code) if c.code != chain.community.code)
    screen, elsewhere = await console(chain.centre_ids()[0]), await console(city.centre_of(sibling.code).id)
    staff, r1, r2 = auth(), auth("hazards:report", subject="resident-e2e-2"), auth("hazards:report", subject="resident-e2e-3")
    body = {"category": "ebike_indoors", "description": "电动车停在楼道", "location": {"lat": lat, "lon": lon}}
    first = (await hazards.post("/v1/hazards", headers=r1,
                                json=body | {"photo_ids": [await upload(hazards, r1)]})).json()["hazard_id"]
    second = (await hazards.post("/v1/hazards", headers=r2, json=body | {
        "location": {"lat": lat + 20 * M, "lon": lon}, "photo_ids": [await upload(hazards, r2)]})).json()["hazard_id"]
    merged = await act(hazards, second, "merge", {"into": first}, staff)
    assert merged["reporters"] == 2
    await events_about(screen, second, 2)  # reported, merged
    followed = (await hazards.get("/v1/me/hazards", headers=r2)).json()["hazards"]
    assert {h["hazard_id"] for h in followed} == {first, second}
    assert next(h for h in followed if h["hazard_id"] == first)["reporters"] == 2
    assert await nothing_about(elsewhere, first, wait=1.0), "a sibling community's console saw the hazard"

    for action, step in (("acceptance", {}), ("assignment", {"assignee_kind": "community", "assignee_id": "c-1"}),
                         ("rectification", {"note": "已清理"}), ("verification", {"outcome": "passed"})):
        await act(hazards, first, action, step, staff)
    again = (await hazards.post("/v1/hazards", headers=staff, json=body | {
        "source": "grid_worker", "location": {"lat": lat + 10 * M, "lon": lon}})).json()
    assert again["recurrence_of"]["hazard_id"] == first
    names = [name for name, _ in await events_about(screen, again["hazard_id"], 2)]
    assert names == ["HazardReported", "RecurrenceFlagged"]

    street_list = (await hazards.get("/v1/hazards", headers=auth("hazards:read", jurisdiction=[chain.street.code]),
                                     params={"limit": 200})).json()["hazards"]
    assert {first, second, again["hazard_id"]} <= {h["hazard_id"] for h in street_list}
    assert all(h["street"] == chain.street.code for h in street_list)
    sibling_list = (await hazards.get("/v1/hazards", headers=auth("hazards:read", jurisdiction=[sibling.code]),
                                      params={"limit": 200})).json()["hazards"]
    assert first not in {h["hazard_id"] for h in sibling_list}


async def test_an_open311_request_round_trips_and_reaches_the_console(hazards, console, auth, city):
    lat, lon, chain = place(city, 43)
    screen = await console(chain.centre_ids()[0])
    hotline = auth("hazards:report", "hazards:read", subject="hotline-12345")
    created = await hazards.post("/open311/v2/requests.json", headers=hotline, data={
        "service_code": "flying_wire_charging", "lat": str(lat), "long": str(lon),
        "description": "12345热线：有人从窗口拉线给电动车充电", "phone": "13900001111", "first_name": "李"})
    assert created.status_code == 201, created.text
    [answer] = created.json()
    request_id = answer["service_request_id"]
    [(name, data)] = await events_about(screen, request_id, 1)
    assert name == "HazardReported" and data["event_data"]["source"] == "hotline"
    assert "13900001111" not in json.dumps(data)
    [read] = (await hazards.get(f"/open311/v2/requests/{request_id}.json", headers=hotline)).json()
    assert read["status"] == "open" and read["service_code"] == "flying_wire_charging"
    assert read["agency_responsible"] and "13900001111" not in json.dumps(read)
    listed = (await hazards.get("/open311/v2/requests.json", headers=hotline,
                                params={"service_code": "flying_wire_charging", "status": "open"})).json()
    assert request_id in {r["service_request_id"] for r in listed}
    await act(hazards, request_id, "rejection", {"reason": "not_a_hazard", "message": "已核实，无飞线"}, auth())
    [closed] = (await hazards.get(f"/open311/v2/requests/{request_id}.json", headers=hotline)).json()
    assert closed["status"] == "closed" and "已核实，无飞线" in closed["status_notes"]


async def test_a_joint_patrol_s_finding_on_units_events_becomes_a_hazard_on_the_console(
        hazards, console, auth, city, topics, kafka_bootstrap):
    lat, lon, chain = place(city, 44)
    screen = await console(chain.centre_ids()[0])
    finding = Envelope(id=str(uuid.uuid4()), source="/linkduty/units", type="linkduty.joint_patrol.PatrolFindingLogged",
                       subject=str(uuid.uuid4()), time=dt.datetime.now(dt.UTC), data={
                           "text": "消防车通道被私家车占用", "hazard_kind": "blocked_fire_lane",
                           "at": dt.datetime.now(dt.UTC).isoformat(), "lat": lat, "lon": lon})
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        message = envelope_to_kafka(finding)
        for _ in range(2):  # redelivered: still one hazard
            await producer.send_and_wait(topics["units"], message.value, key=message.key,
                                         headers=list(message.headers.items()))
    finally:
        await producer.stop()
    hazard_id = str(uuid.uuid5(PATROL_FINDINGS, finding.id))
    [(name, data)] = await events_about(screen, hazard_id, 1)
    assert name == "HazardReported" and data["event_data"]["source"] == "joint_patrol"
    assert data["hazard"]["category"] == "fire_lane_blocked"
    assert await nothing_about(screen, hazard_id, wait=2.0), "the redelivered finding was filed twice"

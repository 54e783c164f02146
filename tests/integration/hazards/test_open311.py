"""Open311 GeoReport v2 against the real stack: the services are the taxonomy, a form POST is a
hotline hazard, the normal API's triage and closing show through, the filters, hostile input,
and nobody's contact in any answer or event."""

import asyncio
import datetime as dt
import json
from urllib.parse import quote

import pytest

from hazards import pii
from hazards.config import HazardsSettings
from linkduty_shared.api.problems import PROBLEM_JSON
from linkduty_shared.events import envelope_from_kafka
from tests.integration.hazards.conftest import a_point, assert_problem, upload
from tests.support.kafka import read_topic

V2 = "/open311/v2"
PHONE, NAME, EMAIL, ACCOUNT, DEVICE = "13812345678", "李 四", "lisi@example.cn", "acct-778899", "device-5566"


@pytest.fixture
def hazards_settings(hazards_settings):
    """The shipped photo rule (a resident's snapshot needs one): a hotline report needs none."""
    return hazards_settings.model_copy(update={"min_photos_per_report": HazardsSettings().min_photos_per_report})


def form(lat: float, lon: float, **overrides) -> dict:
    """A 12345 call as FixMyStreet's Open311 client would send it (form fields, strings)."""
    return {"service_code": "ebike_indoors", "lat": str(lat), "long": str(lon),
            "description": "3单元楼道电动车充电，物业电话 13987654321", "address_string": "幸福小区3幢",
            "email": EMAIL, "phone": PHONE, "first_name": "李", "last_name": "四", "device_id": DEVICE,
            "account_id": ACCOUNT, "api_key": "ignored-key", "attribute[floor]": "3"} | overrides


async def post(client, headers, data, **params):
    return await client.post(f"{V2}/requests.json", data=data, headers=headers, params=params)


async def one(client, headers, request_id, **params) -> dict:
    r = await client.get(f"{V2}/requests/{request_id}.json", headers=headers, params=params)
    assert r.status_code == 200, r.text
    [request] = r.json()
    return request


async def listed(client, headers, **params) -> list[str]:
    r = await client.get(f"{V2}/requests.json", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [request["service_request_id"] for request in r.json()]


async def nothing_written(service) -> bool:
    async with service.store.pool.acquire() as conn:
        counts = [await conn.fetchval(f"SELECT count(*) FROM {table}")
                  for table in ("events", "pii_keys", "hazard_list", "hazard_reporters")]
    return counts == [0, 0, 0, 0]


def no_contact(text: str) -> bool:
    return not any(secret in text for secret in (PHONE, "13987654321", "李 四", EMAIL, ACCOUNT, DEVICE))


async def test_the_services_are_the_taxonomy_in_chinese_by_default_and_in_english_when_asked(client, token, service):
    zh = (await client.get(f"{V2}/services.json", headers=token())).json()
    taxonomy = service.taxonomy.categories
    assert [s["service_code"] for s in zh] == list(taxonomy)
    ebike = next(s for s in zh if s["service_code"] == "ebike_indoors")
    assert ebike == {"service_code": "ebike_indoors", "service_name": taxonomy["ebike_indoors"].name_zh,
                     "description": taxonomy["ebike_indoors"].name_en, "metadata": False, "type": "realtime",
                     "keywords": "ebike,indoors", "group": "消防安全隐患"}
    en = (await client.get(f"{V2}/services.json", headers=token() | {"Accept-Language": "en-GB,en;q=0.8"})).json()
    assert {s["service_name"] for s in en} == {c.name_en for c in taxonomy.values()}
    by_param = (await client.get(f"{V2}/services.json", params={"locale": "en"}, headers=token())).json()
    assert by_param == en
    assert (await client.get(f"{V2}/services.json", params={"jurisdiction_id": service.directory.city.code},
                             headers=token())).status_code == 200
    assert_problem(await client.get(f"{V2}/services.json", params={"jurisdiction_id": "sfgov.org"}, headers=token()),
                   404, "unknown-jurisdiction")
    assert (await client.get(f"{V2}/services.json")).status_code == 401


async def test_open311_round_trip_a_form_post_is_read_back_open_then_closed_through_the_normal_api(
        client, token, city, service, hazards_topics, kafka_bootstrap):
    lat, lon, community = a_point(city)
    staff = token()
    r = await post(client, staff, form(lat, lon))
    assert r.status_code == 201, r.text
    [created] = r.json()
    request_id = created["service_request_id"]
    centre = city.centre_of(community.code).name
    assert created["account_id"] is None and centre in created["service_notice"]
    assert "attribute" in created["service_notice"]  # what was not used is said, not silently dropped
    assert r.headers["location"] == f"{V2}/requests/{request_id}.json"
    answers = [r.text]

    opened = await one(client, staff, request_id)
    answers.append(json.dumps(opened, ensure_ascii=False))
    assert opened["status"] == "open" and opened["status_notes"] == "待受理"
    assert opened["service_code"] == "ebike_indoors" and opened["service_name"].startswith("电动自行车")
    assert opened["agency_responsible"] == centre and opened["address"] == "幸福小区3幢"
    assert (opened["lat"], opened["long"]) == (lat, lon) and opened["media_url"] is None
    assert opened["description"].endswith("*******4321")  # masked as the service masks free text
    hazard = (await client.get(f"/v1/hazards/{request_id}", headers=staff)).json()
    assert hazard["source"] == "hotline" and hazard["reporter_masked"] == "*******5678"
    assert opened["expected_datetime"] == dt.datetime.fromisoformat(hazard["triage_due_at"]).isoformat()
    assert opened["requested_datetime"] == opened["updated_datetime"]

    # triage and the closed loop through the normal API, seen through Open311
    await client.post(f"/v1/hazards/{request_id}/acceptance", json={"note": "属实"}, headers=staff)
    assert (await one(client, staff, request_id))["status_notes"] == "已受理，待派单: 属实"
    await client.post(f"/v1/hazards/{request_id}/assignment",
                      json={"assignee_kind": "property_manager", "assignee_id": "pm-1"}, headers=staff)
    rectifying = await one(client, staff, request_id, locale="en")
    assert rectifying["status"] == "open" and rectifying["status_notes"] == "being rectified"
    due = (await client.get(f"/v1/hazards/{request_id}", headers=staff)).json()["rectification_due_at"]
    assert rectifying["expected_datetime"] == dt.datetime.fromisoformat(due).isoformat()
    await client.post(f"/v1/hazards/{request_id}/rectification", json={"note": "车已移走"}, headers=staff)
    r = await client.post(f"/v1/hazards/{request_id}/verification", json={"outcome": "passed", "note": "复查无电动车"},
                          headers=staff)
    assert r.status_code == 200, r.text
    closed = await one(client, staff, request_id)
    answers.append(json.dumps(closed, ensure_ascii=False))
    assert closed["status"] == "closed" and closed["status_notes"] == "复查通过，待回头看: 复查无电动车"
    assert closed["expected_datetime"] is None and closed["updated_datetime"] > closed["requested_datetime"]
    assert request_id in await listed(client, staff, status="closed")
    assert request_id not in await listed(client, staff, status="open")

    # the contact is in the vault, and in no answer and no event
    [reported, *_] = await service.store.load(request_id)
    async with service.store.pool.acquire() as conn:
        assert json.loads(await pii.reveal(conn, reported.data["reporter_ref"])) == {
            "phone": PHONE, "name": NAME, "email": EMAIL, "account_id": ACCOUNT, "device_id": DEVICE}
    records = await read_topic(kafka_bootstrap, hazards_topics["events"], until_count=6)
    assert [envelope_from_kafka(x.headers, x.key, x.value).type.rsplit(".", 1)[1] for x in records][:2] == [
        "HazardReported", "HazardAccepted"]
    assert all(no_contact(x.value.decode()) for x in records)
    async with service.store.pool.acquire() as conn:
        stored = [json.dumps(e.data, ensure_ascii=False) for e in await service.store.load(request_id)]
    assert all(no_contact(text) for text in answers + stored)


async def test_a_rejection_and_a_merge_close_a_request_with_why(client, token, city):
    lat, lon, _ = a_point(city, 2)
    staff = token()
    [first] = (await post(client, staff, form(lat, lon))).json()
    [second] = (await post(client, staff, form(lat, lon, service_code="corridor_cluttered"))).json()
    [third] = (await post(client, staff, form(lat, lon, service_code="gas_hazard"))).json()
    await client.post(f"/v1/hazards/{second['service_request_id']}/merge", json={"into": first["service_request_id"]},
                      headers=staff)
    await client.post(f"/v1/hazards/{third['service_request_id']}/rejection",
                      json={"reason": "outside_remit", "message": "燃气问题请找燃气公司", "refer_to": "燃气公司"},
                      headers=staff)
    merged = await one(client, staff, second["service_request_id"])
    assert merged["status"] == "closed" and merged["status_notes"] == f"已合并至 {first['service_request_id']}"
    rejected = await one(client, staff, third["service_request_id"], locale="en")
    assert rejected["status"] == "closed" and rejected["status_notes"] == "rejected: 燃气问题请找燃气公司"
    assert await listed(client, staff, status="open") == [first["service_request_id"]]


async def test_agency_responsible_follows_an_escalation_to_the_street(client, token, city, service, clock):
    lat, lon, community = a_point(city, 3)
    [created] = (await post(client, token(), form(lat, lon, service_code="evacuation_route_blocked"))).json()
    clock.advance(days=4)
    assert await service.escalate_overdue() == 1
    escalated = await one(client, token(), created["service_request_id"])
    assert escalated["agency_responsible"] == city.centre_of(community.parent).name
    assert escalated["status"] == "open"


async def test_the_filters_service_code_status_dates_and_ids_and_a_foreign_hazard_is_never_listed(
        client, token, city, clock):
    lat, lon, community = a_point(city, 20)
    far_lat, far_lon, _ = next(a_point(city, i) for i in range(21, 200) if a_point(city, i)[2].parent != community.parent)
    staff, here = token(), token(jurisdiction=[community.code], client="community-platform")
    [old] = (await post(client, staff, form(lat, lon))).json()
    clock.advance(days=100)
    [ebike] = (await post(client, staff, form(lat, lon))).json()
    [gas] = (await post(client, staff, form(lat, lon, service_code="gas_hazard"))).json()
    [foreign] = (await post(client, staff, form(far_lat, far_lon))).json()
    old, ebike, gas, foreign = (x["service_request_id"] for x in (old, ebike, gas, foreign))
    await client.post(f"/v1/hazards/{gas}/rejection", json={"reason": "not_a_hazard", "message": "无"}, headers=staff)

    assert await listed(client, here) == [gas, ebike]  # the last 90 days, newest first, inside the jurisdiction
    assert await listed(client, here, service_code="gas_hazard") == [gas]
    assert await listed(client, here, service_code="gas_hazard,ebike_indoors") == [gas, ebike]
    assert await listed(client, here, status="open") == [ebike]
    assert await listed(client, here, status="closed") == [gas]
    assert await listed(client, here, status="open,closed") == [gas, ebike]
    now = dt.datetime.now(dt.UTC) + clock.offset
    long_ago = (now - dt.timedelta(days=200)).isoformat()
    assert await listed(client, here, start_date=long_ago) == [gas, ebike, old]
    assert await listed(client, here, start_date=long_ago, end_date=(now - dt.timedelta(days=50)).isoformat()) == [old]
    assert await listed(client, here, start_date=(now - dt.timedelta(minutes=5)).isoformat(),
                        service_code="ebike_indoors", status="open") == [ebike]
    # ids override every other filter, but never show what lies outside the jurisdiction
    assert await listed(client, here, service_request_id=f"{old},{foreign},{ebike}", status="closed") == [ebike, old]
    assert foreign not in await listed(client, here, start_date=long_ago)
    assert foreign in await listed(client, staff)
    assert_problem(await client.get(f"{V2}/requests/{foreign}.json", headers=here), 404, "not-found")
    assert await listed(client, token(jurisdiction=[])) == []
    assert (await client.get(f"{V2}/requests.json", headers=token("hazards:report"))).status_code == 403


async def test_a_post_retried_with_the_same_idempotency_key_is_one_request(client, token, city, service):
    lat, lon, _ = a_point(city, 7)
    headers = token() | {"Idempotency-Key": "hotline-call-0001"}
    first, again = [await post(client, headers, form(lat, lon)) for _ in range(2)]
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    async with service.store.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM hazard_list") == 1


async def test_a_reporter_only_app_reads_its_own_request_and_no_other(client, resident, token, city):
    lat, lon, _ = a_point(city, 4)
    [mine] = (await post(client, resident("app-user-1"), form(lat, lon))).json()
    [theirs] = (await post(client, resident("app-user-2"), form(lat, lon))).json()
    seen = await one(client, resident("app-user-1"), mine["service_request_id"])
    assert seen["status"] == "open"
    assert_problem(await client.get(f"{V2}/requests/{theirs['service_request_id']}.json",
                                    headers=resident("app-user-1")), 404, "not-found")


async def test_a_json_body_is_accepted_and_an_own_photo_url_is_attached(client, token, city):
    lat, lon, _ = a_point(city, 5)
    staff = token()
    photo = await upload(client, staff)
    body = {"service_code": "ebike_indoors", "lat": lat, "long": lon, "description": "楼道充电",
            "media_url": f"http://hazards{photo['url']}", "attribute": {"floor": "3"}}
    r = await client.post(f"{V2}/requests.json", json=body, headers=staff)
    assert r.status_code == 201, r.text
    [created] = r.json()
    request = await one(client, staff, created["service_request_id"])
    assert request["media_url"] == (f"http://hazards/v1/hazards/{created['service_request_id']}/photos/"
                                    f"{photo['photo_id']}")
    image = await client.get(request["media_url"].removeprefix("http://hazards"), headers=staff)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"


async def test_a_foreign_media_url_is_never_fetched_and_said_to_be_unused(client, token, city):
    connections = []
    server = await asyncio.start_server(lambda r, w: (connections.append(1), w.close()), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        lat, lon, _ = a_point(city, 6)
        for url in (f"http://127.0.0.1:{port}/v1/photos/{'a' * 32}", f"http://127.0.0.1:{port}/latest/meta-data"):
            r = await post(client, token(), form(lat, lon, media_url=url))
            assert r.status_code == 201, r.text
            assert "media_url" in r.json()[0]["service_notice"]
            assert (await one(client, token(), r.json()[0]["service_request_id"]))["media_url"] is None
        await asyncio.sleep(0.1)
        assert connections == []
    finally:
        server.close()


@pytest.mark.parametrize("name, change, status, slug", [
    ("an unknown service_code", {"service_code": "dragons"}, 422, "unknown-category"),
    ("a point outside the city", {"lat": "0", "long": "0"}, 422, "outside-jurisdiction"),
    ("no lat and long", {"lat": "", "long": None}, 400, "location-required"),
    ("an address without a point", {"lat": None, "long": None, "address_id": "addr-1"}, 400, "location-required"),
    ("lat without long", {"long": None}, 400, "location-required"),
    ("a latitude that is no number", {"lat": "north"}, 422, "validation-failed"),
    ("a latitude of nan", {"lat": "nan"}, 422, "validation-failed"),
    ("a latitude out of range", {"lat": "91"}, 422, "validation-failed"),
    ("a description over 4,000 characters", {"description": "楼" * 4001}, 422, "validation-failed"),
    ("a phone that is no phone", {"phone": "call me maybe"}, 422, "validation-failed"),
    ("a name over 50 characters", {"first_name": "x" * 51}, 422, "validation-failed"),
    ("no service_code", {"service_code": None}, 422, "validation-failed"),
    ("an unknown jurisdiction", {"jurisdiction_id": "sfgov.org"}, 404, "unknown-jurisdiction"),
])
async def test_a_hostile_request_is_a_bounded_problem_and_writes_nothing(client, token, city, service, name, change,
                                                                         status, slug):
    lat, lon, _ = a_point(city)
    data = {k: v for k, v in (form(lat, lon) | change).items() if v is not None}
    r = await post(client, token(), data)
    assert r.status_code == status, (name, r.text[:300])
    assert r.headers["content-type"] == PROBLEM_JSON and len(r.content) < 8 * 1024, name
    assert r.json()["type"].endswith("/" + slug), (name, r.json())
    assert no_contact(r.text), name
    assert await nothing_written(service), name


async def test_malformed_bodies_are_4xx_and_write_nothing(client, token, city, service):
    lat, lon, _ = a_point(city)
    staff = token()
    urlencoded = {"content-type": "application/x-www-form-urlencoded"}
    repeated = f"service_code=ebike_indoors&lat={lat}&long={lon}&lat={lat}"
    assert_problem(await client.post(f"{V2}/requests.json", content=repeated, headers=staff | urlencoded), 400,
                   "repeated-parameter")
    many = "&".join(f"attribute[a{i}]=x" for i in range(100))
    assert_problem(await client.post(f"{V2}/requests.json", content=many, headers=staff | urlencoded), 400, "bad-request")
    huge = f"service_code=ebike_indoors&lat={lat}&long={lon}&description=" + quote("楼" * 6000)
    assert_problem(await client.post(f"{V2}/requests.json", content=huge, headers=staff | urlencoded), 413,
                   "payload-too-large")
    nul = f"service_code=ebike_indoors&lat={lat}&long={lon}&description=a%00b"
    r = await client.post(f"{V2}/requests.json", content=nul, headers=staff | urlencoded)
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM_JSON
    assert_problem(await client.post(f"{V2}/requests.json", content=b"<xml/>", headers=staff | {
        "content-type": "text/xml"}), 415, "unsupported-media-type")
    json_type = {"content-type": "application/json"}
    assert_problem(await client.post(f"{V2}/requests.json", content=b'{"lat": ', headers=staff | json_type), 400,
                   "malformed-json")
    assert_problem(await client.post(f"{V2}/requests.json", content=b"[1, 2]", headers=staff | json_type), 400,
                   "bad-request")
    assert (await post(client, token("hazards:read"), form(lat, lon))).status_code == 403
    assert (await post(client, {}, form(lat, lon))).status_code == 401
    elsewhere = next(c for c in city.divisions() if c.level == "community" and c.code != a_point(city)[2].code)
    assert_problem(await post(client, token(jurisdiction=[elsewhere.code]), form(lat, lon)), 403,
                   "outside-your-jurisdiction")
    assert await nothing_written(service)


@pytest.mark.parametrize("params, slug", [
    ({"start_date": "yesterday"}, "validation-failed"),
    ({"start_date": "2026-01-01T00:00:00"}, "validation-failed"),  # no offset: which instant?
    ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "bad-date-range"),
    ({"end_date": "0001-01-01T00:00:00+23:59"}, "time-out-of-range"),
    ({"end_date": "9999-12-31T23:59:59-23:59"}, "time-out-of-range"),
    ({"status": "pending"}, "validation-failed"),
    ({"service_code": "dragons"}, "unknown-category"),
    ({"service_code": ",".join(["ebike_indoors"] * 101)}, "validation-failed"),
    ({"service_request_id": "a b"}, "validation-failed"),
    ({"service_request_id": ","}, "validation-failed"),
])
async def test_bad_filters_are_a_422(client, token, params, slug):
    assert_problem(await client.get(f"{V2}/requests.json", params=params, headers=token()), 422, slug)

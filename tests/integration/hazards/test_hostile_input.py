"""Bad input to the intake and the commands: each a clear 4xx problem, and nothing half-written."""

import json
import uuid

import httpx
import pytest

from linkduty_shared.api.limits import DEFAULT_MAX_BODY_BYTES
from linkduty_shared.api.problems import PROBLEM_JSON
from tests.integration.hazards.conftest import SERVED_FIELDS, a_point, assert_problem, report
from tests.support.served import healthz_delays_while, served

JSON = {"content-type": "application/json"}


async def nothing_written(client, token, service) -> bool:
    listed = (await client.get("/v1/hazards", headers=token())).json()["hazards"]
    async with service.store.pool.acquire() as conn:
        return listed == [] and await conn.fetchval("SELECT count(*) FROM events") == 0 and (
            await conn.fetchval("SELECT count(*) FROM pii_keys")) == 0


async def test_an_unknown_category_is_a_422_naming_the_categories(client, token, city, service):
    lat, lon, _ = a_point(city)
    body = assert_problem(await client.post("/v1/hazards", json=report(lat, lon, category="dragons"),
                                            headers=token()), 422, "unknown-category")
    assert "ebike_indoors" in body["categories"]
    assert await nothing_written(client, token, service)


async def test_a_point_outside_the_city_is_a_422_and_outside_the_caller_s_jurisdiction_a_403(
        client, token, city, service):
    assert_problem(await client.post("/v1/hazards", json=report(0.0, 0.0), headers=token()), 422,
                   "outside-jurisdiction")
    lat, lon, community = a_point(city, 5)
    elsewhere = next(c for c in city.divisions() if c.level == "community" and c.parent != community.parent)
    assert_problem(await client.post("/v1/hazards", json=report(lat, lon), headers=token(jurisdiction=[elsewhere.code])),
                   403, "outside-your-jurisdiction")
    assert await nothing_written(client, token, service)


@pytest.mark.parametrize("name, body, status, slug", [
    ("not JSON", b'{"category": "ebike_indoors", ', 400, "malformed-json"),
    ("a JSON array", b"[1, 2]", 422, "validation-failed"),
    ("an unknown field", None, 422, "validation-failed"),
    ("latitude out of range", None, 422, "validation-failed"),
    ("a description too long", None, 422, "validation-failed"),
    ("a phone that is no phone", None, 422, "validation-failed"),
    ("a NUL in the description", None, 400, None),
    ("over the body limit", b'{"description": "' + b"x" * DEFAULT_MAX_BODY_BYTES + b'"}', 413, "payload-too-large"),
])
async def test_a_malformed_report_is_a_bounded_problem_and_writes_nothing(client, token, city, service, name, body,
                                                                          status, slug):
    lat, lon, _ = a_point(city)
    bodies = {
        "an unknown field": report(lat, lon) | {"priority": "now"},
        "latitude out of range": report(91.0, lon),
        "a description too long": report(lat, lon, description="楼" * 2001),
        "a phone that is no phone": report(lat, lon, reporter={"phone": "call me maybe"}),
        "a NUL in the description": report(lat, lon, description="楼道\x00杂物"),
    }
    content = body if body is not None else json.dumps(bodies[name]).encode()
    r = await client.post("/v1/hazards", content=content, headers={**token(), **JSON})
    assert r.status_code == status, (name, r.text[:300])
    assert r.headers["content-type"] == PROBLEM_JSON, name
    assert len(r.content) < 8 * 1024, name  # never the input echoed back at length
    if slug:
        assert r.json()["type"].endswith("/" + slug), (name, r.json())
    assert await nothing_written(client, token, service)


async def test_bad_commands_are_4xx_and_leave_the_hazard_as_it_was(client, token, city):
    lat, lon, _ = a_point(city, 6)
    staff = token()
    hazard_id = (await client.post("/v1/hazards", json=report(lat, lon), headers=staff)).json()["hazard_id"]
    cases = [
        ("assignment", {"assignee_kind": "community", "assignee_id": "c"}, 409),  # not accepted yet
        ("acceptance", {"severity": "apocalyptic"}, 422),
        ("rejection", {"reason": "not_a_hazard", "message": "m", "refer_to": "x"}, 422),
        ("rectification", {"note": "done", "photo_ids": [str(uuid.uuid4()) for _ in range(10)]}, 422),
        ("verification", {"outcome": "passed"}, 409),
        ("reinspection", {"outcome": "maybe"}, 422),
        ("merge", {"into": hazard_id}, 409),
    ]
    for action, body, status in cases:
        r = await client.post(f"/v1/hazards/{hazard_id}/{action}", json=body, headers=staff)
        assert r.status_code == status and r.headers["content-type"] == PROBLEM_JSON, (action, r.text)
    unknown = await client.post("/v1/hazards/no-such-hazard/acceptance", json={}, headers=staff)
    assert_problem(unknown, 404, "not-found")
    after = await client.get(f"/v1/hazards/{hazard_id}", headers=staff)
    assert after.json()["version"] == 1 and after.json()["status"] == "reported"
    far_future = await client.get(f"/v1/hazards/{hazard_id}", params={"as_of": "9999-12-31T23:59:59-23:59"},
                                  headers=staff)
    assert far_future.status_code == 422
    naive = await client.get(f"/v1/hazards/{hazard_id}", params={"as_of": "2026-01-01T00:00:00"}, headers=staff)
    assert naive.status_code == 422


async def test_healthz_answers_within_100_ms_while_the_biggest_ledgers_are_imported(hazards_settings, token, city,
                                                                                   tmp_path):
    """The worst ledgers a street can send: 5,000 good rows with long fields (each registered), a
    4 MiB file of one unreadable field, and GeoJSON nested deep; the service as deployed."""
    lat, lon, _ = a_point(city, 20)
    header = "id,kind,name,address,lat,lon,floor_area_m2,risk_class,responsible_name,responsible_phone\n"
    rows = "".join(f"W{i},small_shop,{'店' * 60}{i},{'路' * 150},{lat + i * 1e-6},{lon},50,low,王五,13912345678\n"
                   for i in range(5000))
    big = (header + rows).encode()
    assert 3 * 1024 * 1024 < len(big) <= 4 * 1024 * 1024
    junk = header.encode() + b"x" * (4 * 1024 * 1024 - len(header) - 1)
    deep = b'{"type": "FeatureCollection", "features": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    auth = token("hazards:venues") | {"content-type": "text/csv"}
    async with served("hazards.main", hazards_settings, SERVED_FIELDS, tmp_path) as service:
        service.timeout = httpx.Timeout(120)
        await service.get("/healthz")

        async def attack() -> None:
            r = await service.post("/v1/venue-imports", content=big, headers=auth)
            assert r.status_code == 200 and r.json()["registered"] == 5000, r.text[:500]
            assert_problem(await service.post("/v1/venue-imports", content=junk, headers=auth), 400, "ledger-unreadable")
            r = await service.post("/v1/venue-imports", content=deep, headers=auth | {"content-type": "application/geo+json"})
            assert 400 <= r.status_code < 500, r.text[:500]

        delays = await healthz_delays_while(service, attack)
    assert len(delays) > 20 and max(delays) < 0.1, (len(delays), sorted(delays)[-5:])

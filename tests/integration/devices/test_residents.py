"""The vulnerable-resident registry against the real PostgreSQL and Kafka: the person masked
everywhere but the one audited read, nothing personal on devices.events, erasure that leaves the
events and takes the person, jurisdiction, and the worst bodies refused while /healthz answers."""

from __future__ import annotations

import json

import httpx

from linkduty_shared.events.envelope import envelope_from_kafka
from tests.integration.devices.conftest import community, device, resident, send
from tests.support import openapi_fuzz
from tests.support.kafka import read_topic
from tests.support.problems import assert_problem
from tests.support.served import healthz_delays_while, served

from devices.bootstrap import build_app

PERSONAL = ("王秀英", "330102194401011234", "13812345678", "幸福小区", "王强", "13900001111")
SERVED_FIELDS = ("service_name", "pg_dsn", "kafka_bootstrap", "auth_jwks_file", "auth_issuer", "events_topic",
                 "device_platforms_file", "mqtt_enabled")


async def registered(client, token, city, index: int = 0) -> dict:
    r = await client.post("/v1/residents", json=resident(community(city, index).code), headers=token())
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_resident_is_masked_everywhere_and_devices_events_carry_nothing_personal(
        client, token, city, kafka_bootstrap, devices_topic):
    body = await registered(client, token, city)
    home = community(city, 0)  # her detector: its records are the service's only ones about her
    r = await client.post("/v1/devices", json=device("det-res-1", home.lat, home.lon, resident_id=body["resident_id"]),
                          headers=token())
    assert r.status_code == 201, r.text
    shown = json.dumps(body, ensure_ascii=False)
    assert not [p for p in PERSONAL if p in shown], shown
    assert body["person"]["name"].startswith("王") and body["vulnerability"]["age_band"] == "80_89"
    assert body["vulnerability"]["lives_alone"] is True and "name" not in body["vulnerability"]
    read = (await client.get(f"/v1/residents/{body['resident_id']}", headers=token())).json()
    assert not [p for p in PERSONAL if p in json.dumps(read, ensure_ascii=False)]
    records = await read_topic(kafka_bootstrap, devices_topic, until_count=2)  # registered, linked to her
    published = [envelope_from_kafka(r.headers, r.key, r.value) for r in records]
    assert {e.subject for e in published} == {"det-res-1"} and all(not [p for p in PERSONAL if p in json.dumps(e.data, ensure_ascii=False)] for e in published)


async def test_every_read_of_the_whole_record_is_audited_with_its_purpose_and_needs_its_scope(client, token, city):
    rid = (await registered(client, token, city, 1))["resident_id"]
    assert (await client.get(f"/v1/residents/{rid}/person", params={"purpose": "fire at her flat"},
                             headers=token("residents:read"))).status_code == 403
    assert_problem(await client.get(f"/v1/residents/{rid}/person", headers=token()), 422, "validation-failed")
    for purpose in ("fire at her flat", "calling her son"):
        r = await client.get(f"/v1/residents/{rid}/person", params={"purpose": purpose}, headers=token())
        assert r.status_code == 200 and r.json()["name"] == "王秀英" and r.json()["id_number"] == "330102194401011234"
    reads = (await client.get(f"/v1/residents/{rid}/personal-data-reads", headers=token())).json()["reads"]
    assert [(x["purpose"], x["read_by"]) for x in reads][-2:] == [("fire at her flat", "community-staff-1"),
                                                                   ("calling her son", "community-staff-1")]
    assert (await client.get(f"/v1/residents/{rid}/personal-data-reads",
                             headers=token("residents:read"))).status_code == 403
    # The audit has no way to be changed through the API.
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        r = await client.request(method, f"/v1/residents/{rid}/personal-data-reads", headers=token())
        assert r.status_code == 405, (method, r.status_code)


async def test_erasing_the_person_keeps_the_events_and_removes_the_person(client, token, city, devices_app):
    body = await registered(client, token, city, 2)
    rid = body["resident_id"]
    store = devices_app.state.registry.store
    async with store.pool.acquire() as conn:
        events_before = await conn.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", rid)
    erased = await client.delete(f"/v1/residents/{rid}/personal-data", headers=token())
    assert erased.status_code == 200 and erased.json()["personal_data_erased"] is True
    assert erased.json()["person"] is None
    r = await client.get(f"/v1/residents/{rid}/person", params={"purpose": "after the erasure"}, headers=token())
    assert r.status_code in (404, 410), r.text
    async with store.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", rid) == events_before + 1
        rows = await conn.fetch("SELECT data::text AS data FROM events WHERE stream_id = $1", rid)
    assert not [p for row in rows for p in PERSONAL if p in row["data"]]  # never in an event, before or after


async def test_a_resident_outside_the_callers_jurisdiction_is_not_found(client, token, city, issuer):
    rid = (await registered(client, token, city, 3))["resident_id"]
    other = community(city, 40).code
    elsewhere = {"Authorization": "Bearer " + issuer.issue(
        "staff-elsewhere", ["residents:read", "residents:read-personal"], jurisdiction=[other])}
    assert (await client.get(f"/v1/residents/{rid}", headers=elsewhere)).status_code == 404
    r = await client.get(f"/v1/residents/{rid}/person", params={"purpose": "curious"}, headers=elsewhere)
    assert r.status_code == 404


async def test_healthz_answers_within_100_ms_while_the_worst_bodies_are_refused(
        devices_settings, token, city, tmp_path, devices_app):
    home = community(city, 4).code
    staff = token() | {"content-type": "application/json"}
    huge = json.dumps(resident(home, needs="讲" * 2_000_000), ensure_ascii=False).encode()  # 6 MB in one field
    deep = b'{"community":' + b"[" * 7_000 + b"]" * 7_000 + b"}"
    contacts = json.dumps(resident(home, emergency_contacts=[{"name": "x", "phone": "13900001111",
                                                              "relation": "son"}] * 50)).encode()
    async with served("devices.main", devices_settings, SERVED_FIELDS, tmp_path) as service:
        service.timeout = httpx.Timeout(60)
        await service.get("/healthz")

        async def attack() -> None:
            for _ in range(30):
                r = await service.post("/v1/residents", content=huge, headers=staff)
                assert r.status_code == 413, r.text[:300]
                r = await service.post("/v1/residents", content=deep, headers=staff)
                assert 400 <= r.status_code < 500, r.text[:300]
                r = await service.post("/v1/residents", content=contacts, headers=staff)
                assert r.status_code == 422, r.text[:300]
                r = await service.post("/v1/device-signals", content=deep, headers={"content-type": "application/json"})
                assert 400 <= r.status_code < 500, r.text[:300]

        delays = await healthz_delays_while(service, attack)
    assert len(delays) > 20 and max(delays) < 0.1, (len(delays), sorted(delays)[-5:])
    async with devices_app.state.registry.store.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM events") == 0  # nothing half-written


def test_every_operation_answers_no_5xx_and_only_documented_statuses(devices_settings, token):
    openapi_fuzz.assert_every_answer_is_documented_and_no_5xx(build_app(devices_settings), token())


async def test_a_vulnerable_premises_is_registered_and_its_detector_s_alarm_says_so(
        client, token, city, kafka_bootstrap, devices_topic):
    home = community(city, 5)
    r = await client.post("/v1/premises", headers=token(), json={
        "name": "阳光幼儿园 园长13812345678", "premises_kind": "nursery", "occupants": 120,
        "needs": "children under 6", "lat": home.lat, "lon": home.lon})
    assert r.status_code == 201, r.text
    premises = r.json()
    assert "13812345678" not in premises["name"] and premises["jurisdiction"]["community"] == home.code
    assert (await client.get(f"/v1/premises/{premises['premises_id']}", headers=token())).json() == premises
    r = await client.post("/v1/devices", headers=token(), json=device(
        "det-nursery", home.lat, home.lon, place="public", premises_id=premises["premises_id"]))
    assert r.status_code == 201, r.text
    assert (await send(client, "det-nursery", "smoke_alarm")).json()["decided"] == ["DeviceAlarmRaised"]
    records = await read_topic(kafka_bootstrap, devices_topic,
                               until=lambda rs: any(b"DeviceAlarmRaised" in dict(x.headers)["ce_type"] for x in rs))
    [raised] = [e for e in (envelope_from_kafka(x.headers, x.key, x.value) for x in records)
                if e.type.endswith("DeviceAlarmRaised")]
    who = raised.data["vulnerability"]
    assert (who["kind"], who["premises_kind"], who["occupants"]) == ("premises", "nursery", 120)

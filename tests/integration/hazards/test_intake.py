"""The hazard intake against the real stack: the answer, the event on Kafka, the vault, duplicates."""

import json

from hazards import pii
from linkduty_shared.events import envelope_from_kafka
from tests.integration.hazards.conftest import a_point, report
from tests.support.kafka import read_topic

M = 1 / 111_000  # a metre of latitude, in degrees


async def test_a_report_answers_201_with_its_grid_and_who_handles_it_and_reaches_kafka_without_the_contact(
        client, token, city, hazards_topics, kafka_bootstrap):
    lat, lon, community = a_point(city)
    r = await client.post("/v1/hazards", json=report(lat, lon), headers=token())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "reported" and body["version"] == 1 and r.headers["etag"] == '"1"'
    assert r.headers["location"] == f"/v1/hazards/{body['hazard_id']}"
    chain = city.resolve(lat, lon)
    assert body["grid"] == chain.grid.code and body["jurisdiction"]["community"] == community.code
    assert body["handled_by"] == {"level": "community", "centre_id": f"centre-{community.code}",
                                  "centre_name": city.centre_of(community.code).name}
    assert body["severity"] == "moderate" and body["category_name"]["zh"].startswith("电动自行车")
    assert body["reporter_masked"] == "*******5678" and body["reporters"] == 1
    [record] = await read_topic(kafka_bootstrap, hazards_topics["events"], until_count=1)
    envelope = envelope_from_kafka(record.headers, record.key, record.value)
    assert envelope.type == "linkduty.hazard.HazardReported" and envelope.subject == body["hazard_id"]
    assert record.key.decode() == body["hazard_id"]
    published = record.value.decode()
    assert "13812345678" not in published and "张三" not in published
    assert "reporter_ref" not in envelope.data and envelope.data["reporter_masked"] == "*******5678"


async def test_numbers_typed_into_the_description_are_masked_and_kept_whole_only_in_the_vault(
        client, token, city, service):
    lat, lon, _ = a_point(city, 1)
    typed = "楼道堆满纸箱, 物业电话 13987654321"
    r = await client.post("/v1/hazards", json=report(lat, lon, category="corridor_cluttered", description=typed),
                          headers=token())
    body = r.json()
    assert "13987654321" not in body["description"] and body["description"].endswith("*******4321")
    hazard = await service.repo.load(body["hazard_id"])
    [stored] = await service.store.load(hazard.id)
    async with service.store.pool.acquire() as conn:
        assert json.loads(await pii.reveal(conn, stored.data["free_text_ref"]))["description"] == typed
        assert json.loads(await pii.reveal(conn, stored.data["reporter_ref"])) == {"phone": "13812345678", "name": "张三"}


async def test_a_report_within_50_m_of_an_open_compatible_hazard_offers_it_and_another_category_does_not(
        client, token, city, resident):
    lat, lon, _ = a_point(city, 2)
    first = (await client.post("/v1/hazards", json=report(lat, lon), headers=token())).json()
    near = await client.post("/v1/hazards", json=report(lat + 20 * M, lon, category="flying_wire_charging"),
                             headers=token())
    [candidate] = near.json()["duplicate_candidates"]
    assert candidate["hazard_id"] == first["hazard_id"] and 19 < candidate["distance_m"] < 21
    gas = await client.post("/v1/hazards", json=report(lat, lon, category="gas_hazard"), headers=token())
    assert gas.json()["duplicate_candidates"] == []
    far = await client.post("/v1/hazards", json=report(lat + 80 * M, lon), headers=token())
    assert [c["hazard_id"] for c in far.json()["duplicate_candidates"]] == []
    # a resident's app may not read other hazards: it is offered none, though triage sees them
    mine = await client.post("/v1/hazards", json=report(lat + 5 * M, lon), headers=resident())
    assert mine.status_code == 201 and mine.json()["duplicate_candidates"] == []
    seen = await client.get(f"/v1/hazards/{mine.json()['hazard_id']}", headers=token())
    assert {c["hazard_id"] for c in seen.json()["duplicate_candidates"]} >= {first["hazard_id"], near.json()["hazard_id"]}


async def test_the_reporter_reads_their_own_report_without_anyone_s_contact_and_others_get_404(
        client, city, resident, token):
    lat, lon, _ = a_point(city, 3)
    created = await client.post("/v1/hazards", json=report(lat, lon), headers=resident("resident-a"))
    hazard_id = created.json()["hazard_id"]
    assert created.json()["reporter_masked"] is None  # not even their own number echoed to the app
    own = await client.get(f"/v1/hazards/{hazard_id}", headers=resident("resident-a"))
    assert own.status_code == 200 and own.json()["status"] == "reported"
    assert own.json()["reporter_masked"] is None and all(s["by"] is None for s in own.json()["history"])
    assert (await client.get(f"/v1/hazards/{hazard_id}", headers=resident("resident-b"))).status_code == 404
    assert (await client.get(f"/v1/hazards/{hazard_id}", headers=token("units:read"))).status_code == 403
    staff = await client.get(f"/v1/hazards/{hazard_id}", headers=token())
    assert staff.json()["reporter_masked"] == "*******5678"


async def test_my_hazards_lists_the_subject_s_own_reports_newest_first_a_page_at_a_time(client, city, resident):
    lat, lon, _ = a_point(city, 4)
    ids = [(await client.post("/v1/hazards", json=report(lat + i * 100 * M, lon), headers=resident("r-x"))).json()[
        "hazard_id"] for i in range(3)]
    await client.post("/v1/hazards", json=report(lat, lon), headers=resident("r-y"))
    page = (await client.get("/v1/me/hazards", params={"limit": 2}, headers=resident("r-x"))).json()
    assert [h["hazard_id"] for h in page["hazards"]] == [ids[2], ids[1]] and page["next_cursor"]
    rest = (await client.get("/v1/me/hazards", params={"limit": 2, "cursor": page["next_cursor"]},
                             headers=resident("r-x"))).json()
    assert [h["hazard_id"] for h in rest["hazards"]] == [ids[0]] and rest["next_cursor"] is None


async def test_a_report_retried_with_its_idempotency_key_is_taken_once(client, city, resident, service):
    """A mini-program on a weak network sends the same report again: it gets the first answer."""
    lat, lon, _ = a_point(city, 5)
    headers = {**resident("r-retry"), "Idempotency-Key": "report-r-retry-1"}
    first = await client.post("/v1/hazards", json=report(lat, lon), headers=headers)
    again = await client.post("/v1/hazards", json=report(lat, lon), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["hazard_id"] == first.json()["hazard_id"]
    async with service.store.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM events WHERE event_type = 'HazardReported'") == 1

"""Alarm intake against the real stack: JSON, duplicates, splitting, scoping, bad input."""

import datetime as dt
import json
import uuid

from linkduty_shared.jurisdictions import distance_m
from linkduty_shared.events import envelope_from_kafka
from linkduty_shared.jurisdictions import Level
from tests.support.kafka import read_topic


def a_point(city, index: int = 0):
    """A point inside the city: the representative point of the index-th community."""
    community = city.divisions(level=Level.COMMUNITY)[index]
    return community.lat, community.lon, community


def call(lat, lon, **overrides) -> dict:
    return {"source": "119", "location": {"lat": lat, "lon": lon, "address": "某小区3幢"}, "kind": "fire",
            "severity": "moderate", "description": "厨房起火", "caller": {"phone": "13812345678"}} | overrides


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/" + slug), body
    return body


async def test_a_reported_alarm_answers_with_its_chain_and_reaches_kafka_without_the_phone(
        client, token, city, alarm_topics, kafka_bootstrap):
    lat, lon, community = a_point(city)
    r = await client.post("/v1/alarms", json=call(lat, lon), headers=token())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "reported" and body["version"] == 1 and r.headers["etag"] == '"1"'
    assert body["jurisdiction"]["community"] == community.code
    assert body["jurisdiction_names"]["community"] == community.name
    assert body["calls"][0]["caller"] == "*******5678"
    [record] = await read_topic(kafka_bootstrap, alarm_topics["events"], until_count=1)
    envelope = envelope_from_kafka(record.headers, record.key, record.value)
    assert envelope.type == "linkduty.alarm.AlarmReported" and envelope.subject == body["alarm_id"]
    assert "13812345678" not in record.value.decode() and envelope.data["caller_masked"] == "*******5678"
    assert "caller_ref" not in envelope.data  # the vault reference never leaves the service


async def test_a_second_call_nearby_links_to_the_open_alarm_and_a_medical_call_does_not(client, token, city):
    lat, lon, _ = a_point(city, 3)
    first = (await client.post("/v1/alarms", json=call(lat, lon), headers=token())).json()
    second = await client.post("/v1/alarms", json=call(lat + 0.0005, lon, caller={"phone": "13900001111"}), headers=token())
    assert second.status_code == 200 and second.json()["linked"] is True
    assert second.json()["alarm_id"] == first["alarm_id"] and second.json()["call_count"] == 2
    medical = await client.post("/v1/alarms", json=call(lat, lon, kind="medical"), headers=token())
    assert medical.status_code == 201 and medical.json()["alarm_id"] != first["alarm_id"]
    far = await client.post("/v1/alarms", json=call(lat + 0.02, lon), headers=token())  # ~2 km away
    assert far.status_code == 201


async def test_a_late_call_outside_the_window_opens_a_new_alarm(client, token, city):
    lat, lon, _ = a_point(city, 5)
    early = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    first = (await client.post("/v1/alarms", json=call(lat, lon, received_at=early.isoformat()), headers=token())).json()
    later = await client.post("/v1/alarms", json=call(lat, lon), headers=token())
    assert later.status_code == 201 and later.json()["alarm_id"] != first["alarm_id"]


async def test_an_operator_splits_a_wrongly_merged_call_into_its_own_alarm(client, token, city):
    lat, lon, _ = a_point(city, 7)
    first = (await client.post("/v1/alarms", json=call(lat, lon), headers=token())).json()
    second = (await client.post("/v1/alarms", json=call(lat, lon + 0.001), headers=token())).json()
    split = await client.post(f"/v1/alarms/{first['alarm_id']}/calls/{second['call_id']}/split", headers=token())
    assert split.status_code == 201, split.text
    new = split.json()
    assert new["alarm_id"] != first["alarm_id"] and new["split_from"] == first["alarm_id"]
    assert new["call_count"] == 1 and new["calls"][0]["call_id"] == second["call_id"]
    original = (await client.get(f"/v1/alarms/{first['alarm_id']}", headers=token())).json()
    assert original["call_count"] == 1
    again = await client.post(f"/v1/alarms/{first['alarm_id']}/calls/{second['call_id']}/split", headers=token())
    assert_problem(again, 409, "illegal-transition")


async def test_the_same_call_id_resent_does_not_count_twice(client, token, city, alarms_app):
    lat, lon, _ = a_point(city, 9)
    body = call(lat, lon, call_id=f"119-{uuid.uuid4()}", description="回电13812345678")
    first = (await client.post("/v1/alarms", json=body, headers=token())).json()
    vault = "SELECT count(*) FROM pii_keys"
    async with alarms_app.state.alarms.store.pool.acquire() as conn:
        kept = await conn.fetchval(vault)
        again = await client.post("/v1/alarms", json=body, headers=token())
        # and nothing of it stored again: vault rows no event refers to could never be erased
        assert await conn.fetchval(vault) == kept
    assert again.json()["alarm_id"] == first["alarm_id"] and again.json()["call_count"] == 1


async def test_lifecycle_and_illegal_transitions(client, token, city):
    lat, lon, _ = a_point(city, 11)
    alarm = (await client.post("/v1/alarms", json=call(lat, lon), headers=token())).json()
    url = f"/v1/alarms/{alarm['alarm_id']}"
    assert (await client.post(f"{url}/verification", headers=token())).json()["status"] == "verified"
    assert_problem(await client.post(f"{url}/verification", headers=token()), 409, "illegal-transition")
    assert_problem(await client.post(f"{url}/closure", json={"outcome": "x"}, headers=token()), 409, "illegal-transition")
    stale = await client.post(f"{url}/control", headers={**token(), "If-Match": '"1"'})
    assert_problem(stale, 412, "stale-version")
    assert (await client.post(f"{url}/control", headers={**token(), "If-Match": '"2"'})).json()["status"] == "controlled"
    closed = await client.post(f"{url}/closure", json={"outcome": "extinguished"}, headers=token())
    assert closed.json()["status"] == "closed"
    as_reported = await client.get(f"{url}?version=1", headers=token())
    assert as_reported.json()["status"] == "reported" and as_reported.headers["etag"] == '"1"'


async def test_bad_input_gets_a_clear_4xx(client, token, city):
    lat, lon, _ = a_point(city)
    headers = {**token(), "content-type": "application/json"}
    assert_problem(await client.post("/v1/alarms", content=b'{"source": "119", ', headers=headers), 400, "malformed-json")
    wrong = assert_problem(await client.post("/v1/alarms", json=call("north", lon, kind="volcano"), headers=token()),
                           422, "validation-failed")
    assert {tuple(e["location"]) for e in wrong["errors"]} >= {("body", "location", "lat"), ("body", "kind")}
    outside = await client.post("/v1/alarms", json=call(39.9042, 116.4074), headers=token())  # Beijing
    assert_problem(outside, 422, "outside-jurisdiction")
    plain = await client.post("/v1/alarms", content=b"fire!", headers={**token(), "content-type": "text/plain"})
    assert_problem(plain, 415, "unsupported-media-type")
    assert_problem(await client.get(f"/v1/alarms/{uuid.uuid4()}", headers=token()), 404, "not-found")


async def test_tokens_are_scoped_by_jurisdiction_and_scope(client, token, city):
    lat, lon, community = a_point(city)
    other_district = next(d for d in city.divisions(level=Level.DISTRICT) if not city.contains(d.code, community.code))
    foreign = token(jurisdiction=[other_district.code])
    assert_problem(await client.post("/v1/alarms", json=call(lat, lon), headers=foreign), 403, "outside-your-jurisdiction")
    alarm = (await client.post("/v1/alarms", json=call(lat, lon), headers=token())).json()
    assert_problem(await client.get(f"/v1/alarms/{alarm['alarm_id']}", headers=foreign), 404, "not-found")
    listed = (await client.get("/v1/alarms", headers=foreign)).json()["alarms"]
    assert alarm["alarm_id"] not in {a["alarm_id"] for a in listed}
    own = (await client.get("/v1/alarms", headers=token(jurisdiction=[community.code]))).json()["alarms"]
    assert alarm["alarm_id"] in {a["alarm_id"] for a in own}
    read_only = token("alarms:read")
    assert_problem(await client.post("/v1/alarms", json=call(lat, lon), headers=read_only), 403, "forbidden")
    assert_problem(await client.post("/v1/alarms", json=call(lat, lon)), 401, "unauthorized")


async def test_centres_acknowledge_only_alarms_in_their_chain(client, token, city):
    lat, lon, community = a_point(city, 2)
    alarm = (await client.post("/v1/alarms", json=call(lat, lon), headers=token())).json()
    url = f"/v1/alarms/{alarm['alarm_id']}/acknowledgements"
    centre = city.centre_of(community.code)
    ack = await client.post(url, headers=token("alarms:acknowledge", centre=centre.id))
    assert ack.status_code == 201 and ack.json()["level"] == "community"
    assert ack.json()["acknowledged"] == {"community": centre.id}
    sibling = next(c for c in city.children(community.parent) if c.code != community.code)
    refused = await client.post(url, headers=token("alarms:acknowledge", centre=city.centre_of(sibling.code).id))
    assert_problem(refused, 403, "not-responsible")
    assert_problem(await client.post(url, headers=token("alarms:acknowledge")), 403, "not-a-centre")


async def test_directory_resolves_points_and_lists_centres(client, token, city):
    lat, lon, community = a_point(city)
    r = (await client.get(f"/v1/jurisdictions/resolve?lat={lat}&lon={lon}", headers=token())).json()
    assert [d["level"] for d in r["chain"]] == ["grid", "community", "street", "district", "city"]
    assert r["chain"][1]["code"] == community.code
    assert_problem(await client.get("/v1/jurisdictions/resolve?lat=39.9&lon=116.4", headers=token()),
                   404, "outside-jurisdiction")
    centres = (await client.get("/v1/centres?level=district", headers=token())).json()["centres"]
    assert len(centres) == len(city.divisions(level=Level.DISTRICT))


async def test_the_callers_phone_is_in_the_vault_only_and_can_be_erased(client, token, city, alarms_app):
    from linkduty_shared import vault as pii

    lat, lon, _ = a_point(city, 13)
    alarm = (await client.post("/v1/alarms", json=call(lat, lon, caller={"phone": "13700002222"}), headers=token())).json()
    pool = alarms_app.state.runtime.pool
    async with pool.acquire() as conn:
        ref = await conn.fetchval("SELECT data->>'caller_ref' FROM events WHERE stream_id = $1", alarm["alarm_id"])
        stored = await conn.fetchval("SELECT data::text FROM events WHERE stream_id = $1", alarm["alarm_id"])
        assert "13700002222" not in stored
        assert await pii.reveal(conn, ref) == "13700002222"
        assert await pii.erase(conn, ref) is True
        assert await pii.reveal(conn, ref) is None  # shredded; the event is untouched
        assert await conn.fetchval("SELECT data::text FROM events WHERE stream_id = $1", alarm["alarm_id"]) == stored


async def test_a_call_received_in_the_future_is_refused(client, token, city):
    lat, lon, _ = a_point(city, 15)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert_problem(await client.post("/v1/alarms", json=call(lat, lon, received_at=future), headers=token()),
                   422, "received-in-the-future")


async def test_phone_and_id_numbers_typed_into_free_text_are_masked_everywhere_and_kept_whole_in_the_vault(
        client, token, city, alarms_app, alarm_topics, kafka_bootstrap):
    from linkduty_shared import vault as pii

    lat, lon, _ = a_point(city, 14)
    typed = {"description": "楼道起火，邻居电话 13912345678", "address": "某小区3幢，身份证33010519800101123X"}
    body = call(lat, lon, description=typed["description"]) | {"location": {"lat": lat, "lon": lon, "address": typed["address"]}}
    alarm = (await client.post("/v1/alarms", json=body, headers=token())).json()
    read_back = (await client.get(f"/v1/alarms/{alarm['alarm_id']}", headers=token())).text
    [record] = await read_topic(kafka_bootstrap, alarm_topics["events"], until_count=1)
    async with alarms_app.state.runtime.pool.acquire() as conn:
        stored = await conn.fetchval("SELECT data::text FROM events WHERE stream_id = $1", alarm["alarm_id"])
        ref = await conn.fetchval("SELECT data->>'free_text_ref' FROM events WHERE stream_id = $1", alarm["alarm_id"])
        assert json.loads(await pii.reveal(conn, ref)) == typed
    for seen in (alarm["description"] + alarm["location"]["address"], read_back, record.value.decode(), stored):
        assert "13912345678" not in seen and "330105198001" not in seen
    assert alarm["description"] == "楼道起火，邻居电话 *******5678"
    assert alarm["location"]["address"] == "某小区3幢，身份证**************123X"
    assert "_ref" not in record.value.decode()  # no vault reference on Kafka


def points_across_a_district_border(city) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two points about 40 m apart on either side of a district border (bisecting the line
    between two communities of neighbouring districts)."""
    districts = city.divisions(level=Level.DISTRICT)
    a = city.children(city.children(districts[0].code)[0].code)[0]
    b = next(c for d in districts[1:] for s in city.children(d.code) for c in city.children(s.code))
    inside, outside = (a.lat, a.lon), (b.lat, b.lon)
    side = city.resolve(*inside).district.code
    while distance_m(*inside, *outside) > 40:
        mid = ((inside[0] + outside[0]) / 2, (inside[1] + outside[1]) / 2)
        if city.resolve(*mid).district.code == side:
            inside = mid
        else:
            outside = mid
    return inside, outside


async def test_a_call_links_only_to_an_alarm_its_reporter_may_see(client, token, city):
    """One fire near a district border, three reporters: a citywide intake's second call joins the
    first across the border; a partner limited to the other side's community opens its own alarm,
    which it can read and correct, instead of joining one it could neither read nor correct."""
    here, there = points_across_a_district_border(city)
    first = (await client.post("/v1/alarms", json=call(*here), headers=token())).json()
    community = city.resolve(*there).community.code
    partner = token("alarms:report", "alarms:read", "alarms:operate", jurisdiction=[community])
    own = await client.post("/v1/alarms", json=call(*there), headers=partner)
    assert own.status_code == 201 and own.json()["linked"] is False and own.json()["alarm_id"] != first["alarm_id"]
    assert (await client.get(f"/v1/alarms/{own.json()['alarm_id']}", headers=partner)).status_code == 200
    assert (await client.get(f"/v1/alarms/{first['alarm_id']}", headers=partner)).status_code == 404
    citywide = await client.post("/v1/alarms", json=call(*there), headers=token())
    assert citywide.status_code == 200 and citywide.json()["linked"] is True
    assert citywide.json()["alarm_id"] in (first["alarm_id"], own.json()["alarm_id"])  # the nearest open one


async def test_a_grid_worker_s_second_call_joins_its_first(client, token, city):
    """A grid worker's token names its grid: duplicates are matched (and alarms listed) by grid too."""
    lat, lon, _ = a_point(city, 44)
    grid = city.resolve(lat, lon).grid.code
    worker = token("alarms:report", "alarms:read", jurisdiction=[grid])
    first = (await client.post("/v1/alarms", json=call(lat, lon), headers=worker)).json()
    second = await client.post("/v1/alarms", json=call(lat, lon), headers=worker)
    assert second.status_code == 200 and second.json()["linked"] is True
    assert second.json()["alarm_id"] == first["alarm_id"]
    listed = (await client.get("/v1/alarms", headers=worker)).json()["alarms"]
    assert [a["alarm_id"] for a in listed] == [first["alarm_id"]]

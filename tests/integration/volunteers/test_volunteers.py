"""Volunteers against the real PostgreSQL and Kafka: an application's file with the person in the
vault and masked everywhere else, the review as a workflow with reviewers and reasons, insurance
deciding the duty roll, erasure without rewriting events, lists and teams, and bad input refused."""

from __future__ import annotations

import datetime as dt
import json

from linkduty_shared import vault
from linkduty_shared.events import envelope_from_kafka
from tests.integration.volunteers.conftest import application, community, fit_volunteer
from tests.support.kafka import read_topic
from tests.support.problems import assert_problem

PERSON = ("张三丰", "330102199001011234", "13812345678")


async def applied(client, token, city, index: int = 0, **overrides) -> dict:
    r = await client.post("/v1/volunteers", json=application(community(city, index).code, **overrides),
                          headers=token("volunteers:apply", client="resident-app-1"))
    assert r.status_code == 201, r.text
    return r.json()


async def step(client, token, volunteer_id: str, path: str, body: dict | None = None, status: int = 200) -> dict:
    r = await client.post(f"/v1/volunteers/{volunteer_id}/{path}", json=body or {}, headers=token())
    assert r.status_code == status, r.text
    return r.json()


async def test_an_application_opens_a_file_whose_person_is_only_in_the_vault(
        client, token, city, volunteers_app, volunteers_topic, kafka_bootstrap):
    home = community(city, 3)
    file = await applied(client, token, city, 3)
    assert file["status"] == "submitted" and file["jurisdiction"]["community"] == home.code
    assert (file["name"], file["phone"]) == ("张**", "*******5678") and file["id_number"].endswith("1234")
    assert not any(p in json.dumps(file, ensure_ascii=False) for p in PERSON)
    assert file["review"][0]["step"] == "submitted" and file["review"][0]["by"] == "resident-app-1"
    [record] = await read_topic(kafka_bootstrap, volunteers_topic, until_count=1)
    published = envelope_from_kafka(record.headers, record.key, record.value)
    assert published.type == "linkduty.volunteer.VolunteerApplied" and "person_ref" not in published.data
    assert not any(p in json.dumps(published.data, ensure_ascii=False) for p in PERSON)
    person = (await client.get(f"/v1/volunteers/{file['volunteer_id']}/person", headers=token())).json()
    assert (person["name"], person["id_number"], person["phone"]) == PERSON
    assert_problem(await client.get(f"/v1/volunteers/{file['volunteer_id']}/person", headers=token("volunteers:read")),
                   403, "forbidden")


async def test_the_review_records_each_step_and_a_rejection_tells_the_reason(client, token, city):
    v = (await applied(client, token, city))["volunteer_id"]
    assert_problem(await client.post(f"/v1/volunteers/{v}/approval", json={}, headers=token()), 409,
                   "illegal-transition")
    await step(client, token, v, "review")
    rejected = await step(client, token, v, "rejection", {"reason": "背景审查未通过"})
    assert rejected["status"] == "rejected" and rejected["review"][-1]["reason"] == "背景审查未通过"
    assert [s["step"] for s in rejected["review"]] == ["submitted", "under_review", "rejected"]
    assert_problem(await client.post(f"/v1/volunteers/{v}/rejection", json={}, headers=token()), 422,
                   "validation-failed")


async def test_insurance_in_force_puts_an_approved_volunteer_on_the_duty_roll_and_expiry_takes_them_off(
        client, token, city, volunteers_app):
    v = (await applied(client, token, city))["volunteer_id"]
    await step(client, token, v, "review")
    file = await step(client, token, v, "approval", {"note": "材料齐全"})
    assert not file["on_duty_roll"] and file["missing_for_duty"] == ["insurance in force (none recorded)"]
    today = dt.date.today()
    file = await step(client, token, v, "insurance", {"policy_number": "PA-2026-001", "insurer": "人保财险",
                                                      "valid_from": (today - dt.timedelta(days=300)).isoformat(),
                                                      "valid_to": (today + dt.timedelta(days=65)).isoformat()})
    assert file["on_duty_roll"] and file["missing_for_duty"] == []
    service = volunteers_app.state.volunteers
    real = service.clock
    service.clock = lambda: real() + dt.timedelta(days=66)  # the policy has run out
    try:
        later = (await client.get(f"/v1/volunteers/{v}", headers=token())).json()
    finally:
        service.clock = real
    assert not later["on_duty_roll"] and "insurance in force" in later["missing_for_duty"][0]
    assert_problem(await client.post(f"/v1/volunteers/{v}/insurance", headers=token(), json={
        "policy_number": "X", "insurer": "Y", "valid_from": "2026-12-31", "valid_to": "2026-01-01"}),
        422, "invariant-violated")


async def test_erasing_a_volunteer_shreds_the_person_and_keeps_the_file_and_its_events(
        client, token, city, volunteers_app):
    file = await applied(client, token, city)
    v = file["volunteer_id"]
    r = await client.delete(f"/v1/volunteers/{v}/personal-data", headers=token("volunteers:erase"))
    assert r.status_code == 200 and r.json()["personal_data_erased"] and r.json()["name"] == "张**"
    assert_problem(await client.get(f"/v1/volunteers/{v}/person", headers=token()), 404, "personal-data-erased")
    store = volunteers_app.state.volunteers.store
    events = await store.load(v)
    assert [e.event_type for e in events] == ["VolunteerApplied", "VolunteerPersonalDataErased"]
    async with store.pool.acquire() as conn:
        assert await vault.reveal(conn, events[0].data["person_ref"]) is None


async def test_lists_and_files_are_bounded_by_the_caller_s_jurisdiction(client, token, city):
    here, there = community(city, 5), community(city, 200)
    mine = (await applied(client, token, city, 5))["volunteer_id"]
    theirs = (await applied(client, token, city, 200, domains=["water_rescue"]))["volunteer_id"]
    local = token("volunteers:read", jurisdiction=[here.code])
    listed = (await client.get("/v1/volunteers", headers=local)).json()["volunteers"]
    assert [x["volunteer_id"] for x in listed] == [mine]
    assert (await client.get(f"/v1/volunteers/{theirs}", headers=local)).status_code == 404
    wide = (await client.get("/v1/volunteers", params={"domain": "water_rescue"}, headers=token())).json()
    assert [x["volunteer_id"] for x in wide["volunteers"]] == [theirs]
    first = (await client.get("/v1/volunteers", params={"limit": 1}, headers=token())).json()
    second = (await client.get("/v1/volunteers", params={"limit": 1, "cursor": first["next_cursor"]},
                               headers=token())).json()
    assert {first["volunteers"][0]["volunteer_id"], second["volunteers"][0]["volunteer_id"]} == {mine, theirs}
    assert_problem(await client.post("/v1/volunteers", json=application(there.code),
                                     headers=token(jurisdiction=[here.code])), 403, "outside-your-jurisdiction")


async def test_bad_applications_are_4xx_problems_and_write_nothing(client, token, city, volunteers_app):
    home = community(city).code
    assert_problem(await client.post("/v1/volunteers", json=application(home, domains=["dragon_taming"]),
                                     headers=token()), 422, "unknown-service-domain")
    assert_problem(await client.post("/v1/volunteers", json=application(city.city.code), headers=token()), 422,
                   "not-a-community")
    for bad in ({"id_number": "12345"}, {"domains": []}, {"name": "x" * 51}, {"surplus": 1}):
        assert_problem(await client.post("/v1/volunteers", json=application(home, **bad), headers=token()), 422,
                       "validation-failed")
    assert_problem(await client.get("/v1/volunteers", params={"cursor": "garbage"}, headers=token()), 400,
                   "bad-cursor")
    async with volunteers_app.state.volunteers.store.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM events") == 0
        assert await conn.fetchval("SELECT count(*) FROM pii_keys") == 0


async def test_a_team_of_approved_volunteers_under_a_community(client, token, city):
    home = community(city)
    leader = (await applied(client, token, city))["volunteer_id"]
    member = (await applied(client, token, city))["volunteer_id"]
    newcomer = (await applied(client, token, city))["volunteer_id"]
    for v in (leader, member):
        await step(client, token, v, "review")
        await step(client, token, v, "approval")
    r = await client.post("/v1/teams", json={"name": "幸福社区志愿服务队", "division": home.code, "leader_id": leader},
                          headers=token())
    assert r.status_code == 201, r.text
    team = r.json()["team_id"]
    r = await client.post(f"/v1/teams/{team}/members", json={"volunteer_id": member}, headers=token())
    assert r.json()["members"] == [leader, member]
    assert_problem(await client.post(f"/v1/teams/{team}/members", json={"volunteer_id": newcomer}, headers=token()),
                   409, "illegal-transition")  # not approved
    assert_problem(await client.delete(f"/v1/teams/{team}/members/{leader}", headers=token()), 409,
                   "illegal-transition")
    r = await client.put(f"/v1/teams/{team}/leader", json={"volunteer_id": member}, headers=token())
    assert r.json()["leader_id"] == member
    r = await client.delete(f"/v1/teams/{team}/members/{leader}", headers=token())
    assert r.json()["members"] == [member]


async def test_an_untrained_volunteer_is_refused_with_what_is_missing_and_a_trained_insured_one_passes(
        client, token, city, volunteers_app):
    v = (await applied(client, token, city))["volunteer_id"]
    check = {"domain": "first_aid"}
    body = assert_problem(await client.post(f"/v1/volunteers/{v}/fitness-checks", json=check, headers=token()),
                          409, "not-fit-for-duty")
    assert body["missing"][0].startswith("approval") and any("first_aid_basic" in m for m in body["missing"])
    await step(client, token, v, "review")
    await step(client, token, v, "approval")
    today = dt.date.today()
    await step(client, token, v, "insurance", {"policy_number": "PA-1", "insurer": "人保财险",
                                               "valid_from": today.isoformat(),
                                               "valid_to": (today + dt.timedelta(days=365)).isoformat()})
    for course in ("first_aid_basic", "cpr_aed"):
        file = await step(client, token, v, "course-results",
                          {"course_id": course, "passed": True, "exam_on": today.isoformat(), "score": 92})
    assert {c["course_id"] for c in file["courses"]} == {"first_aid_basic", "cpr_aed"}
    r = await client.post(f"/v1/volunteers/{v}/fitness-checks", json=check, headers=token("volunteers:read"))
    assert r.status_code == 200 and r.json()["fit"] is True
    body = assert_problem(await client.post(f"/v1/volunteers/{v}/fitness-checks", json={"domain": "water_rescue"},
                                            headers=token()), 409, "not-fit-for-duty")
    assert body["missing"] == ["course water_rescue_basic (水上救援基础) not taken"]
    assert_problem(await client.post(f"/v1/volunteers/{v}/course-results", headers=token(), json={
        "course_id": "alchemy", "passed": True, "exam_on": today.isoformat()}), 422, "unknown-course")
    assert_problem(await client.post(f"/v1/volunteers/{v}/course-results", headers=token("volunteers:review"), json={
        "course_id": "cpr_aed", "passed": True, "exam_on": today.isoformat()}), 403, "forbidden")
    service = volunteers_app.state.volunteers
    real = service.clock
    service.clock = lambda: real() + dt.timedelta(days=366)  # the policy has run out
    try:
        body = assert_problem(await client.post(f"/v1/volunteers/{v}/fitness-checks", json=check, headers=token()),
                              409, "not-fit-for-duty")
    finally:
        service.clock = real
    assert body["missing"][0].startswith("insurance in force")


async def test_a_training_session_examines_those_present_and_their_passes_count_for_the_gate(
        client, token, city, volunteers_app):
    home = community(city, 2).code
    present, absent = [await fit_volunteer(client, token, home, ()) for _ in range(2)]
    starts = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)  # begun an hour ago
    r = await client.post("/v1/training-sessions", headers=token(), json={
        "course_id": "cpr_aed", "starts_at": starts.isoformat(), "ends_at": (starts + dt.timedelta(hours=3)).isoformat(),
        "place": "社区活动室", "capacity": 30, "trainer": "李教员", "division": home})
    assert r.status_code == 201, r.text
    sid = r.json()["session_id"]
    for v in (present, absent):
        assert (await client.post(f"/v1/training-sessions/{sid}/enrolments", json={"volunteer_id": v},
                                  headers=token())).status_code == 200
    r = await client.post(f"/v1/training-sessions/{sid}/attendance", json={"present": [present]}, headers=token())
    assert r.status_code == 200 and r.json()["present"] == [present], r.text
    refused = await client.post(f"/v1/training-sessions/{sid}/results", headers=token(), json={
        "results": [{"volunteer_id": present, "passed": True, "score": 92}, {"volunteer_id": absent, "passed": True}]})
    assert_problem(refused, 409, "illegal-transition")
    file = (await client.get(f"/v1/volunteers/{present}", headers=token())).json()
    assert file["courses"] == []  # refused whole: nothing recorded
    r = await client.post(f"/v1/training-sessions/{sid}/results", headers=token(),
                          json={"results": [{"volunteer_id": present, "passed": True, "score": 92}]})
    assert r.status_code == 200, r.text
    [course] = (await client.get(f"/v1/volunteers/{present}", headers=token())).json()["courses"]
    assert (course["course_id"], course["passed"], course["exam_on"]) == ("cpr_aed", True, starts.date().isoformat())
    assert_problem(await client.post(f"/v1/training-sessions/{sid}/results", headers=token("volunteers:read"),
                                     json={"results": [{"volunteer_id": present, "passed": True}]}), 403, "forbidden")

"""Triage and the closed loop (闭环) against the real stack: accept, assign, rectify, verify (fail,
then pass), re-inspect (reopen, confirm), merge, reject, recurrence, If-Match, jurisdiction."""

import datetime as dt

from hazards import pii
from linkduty_shared.events import envelope_from_kafka
from tests.integration.hazards.conftest import a_point, assert_problem, image_bytes, report, upload
from tests.support.kafka import read_topic

M = 1 / 111_000  # a metre of latitude, in degrees


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


async def post(client, hazard_id: str, action: str, body: dict, headers: dict, status: int = 200) -> dict:
    r = await client.post(f"/v1/hazards/{hazard_id}/{action}", json=body, headers=headers)
    assert r.status_code == status, (action, r.text)
    return r.json()


async def test_the_loop_from_report_through_a_failed_verification_to_a_reopening_re_inspection(
        client, token, city, clock, service, hazards_topics, kafka_bootstrap):
    lat, lon, _ = a_point(city, 10)
    staff = token()
    hazard_id = (await client.post("/v1/hazards", json=report(lat, lon, category="evacuation_route_blocked"),
                                   headers=staff)).json()["hazard_id"]
    accepted = await post(client, hazard_id, "acceptance", {"note": "安全出口被锁"}, staff)
    assert accepted["status"] == "accepted" and accepted["severity"] == "major"
    assigned = await post(client, hazard_id, "assignment",
                          {"assignee_kind": "venue_contact", "assignee_id": "venue-42", "assignee_name": "某超市"},
                          staff)
    category = service.taxonomy["evacuation_route_blocked"]
    assigned_at = at(assigned["history"][-1]["at"])
    assert at(assigned["rectification_due_at"]) == assigned_at + category.rectify_within["major"]
    assert assigned["status"] == "rectifying" and assigned["assignee"]["id"] == "venue-42"
    after = await upload(client, staff, image_bytes(colour=(20, 160, 20)))
    fixed = await post(client, hazard_id, "rectification", {"note": "已开锁", "photo_ids": [after["photo_id"]]}, staff)
    assert fixed["rectifications"][-1]["photos"][0]["photo_id"] == after["photo_id"]
    failed = await post(client, hazard_id, "verification", {"outcome": "failed", "note": "夜间仍上锁"}, staff)
    assert failed["status"] == "rectifying" and failed["failures"] == 1
    assert at(failed["rectification_due_at"]) > assigned_at
    await post(client, hazard_id, "rectification", {"note": "锁已拆除"}, staff)
    closed = await post(client, hazard_id, "verification", {"outcome": "passed"}, staff)
    assert closed["status"] == "closed" and closed["failures"] == 1
    assert at(closed["reinspection_due_at"]) == at(closed["closed_at"]) + category.reinspect_after
    reopened = await post(client, hazard_id, "reinspection", {"outcome": "reopened", "note": "又锁上了"}, staff)
    assert reopened["status"] == "rectifying" and reopened["reopenings"] == 1 and reopened["closed_at"] is None
    assert reopened["assignee"]["id"] == "venue-42"
    names = [s["what"] for s in reopened["history"]]
    assert names == ["HazardReported", "HazardAccepted", "HazardAssigned", "RectificationSubmitted",
                     "RectificationFailed", "RectificationSubmitted", "RectificationVerified",
                     "ReinspectionScheduled", "HazardReopened"]
    records = await read_topic(kafka_bootstrap, hazards_topics["events"], until_count=len(names))
    published = [envelope_from_kafka(r.headers, r.key, r.value) for r in records]
    assert [e.event_name for e in published] == names  # one key, one partition: in order
    assert {e.streamversion for e in published} == set(range(1, len(names) + 1))


async def test_the_re_inspection_is_confirmed_only_once_due(client, token, city, clock):
    lat, lon, _ = a_point(city, 11)
    staff = token()
    hazard_id = (await client.post("/v1/hazards", json=report(lat, lon), headers=staff)).json()["hazard_id"]
    await post(client, hazard_id, "acceptance", {}, staff)
    await post(client, hazard_id, "assignment", {"assignee_kind": "property_manager", "assignee_id": "pm-1"}, staff)
    await post(client, hazard_id, "rectification", {"note": "电动车已移走"}, staff)
    await post(client, hazard_id, "verification", {"outcome": "passed"}, staff)
    early = await client.post(f"/v1/hazards/{hazard_id}/reinspection", json={"outcome": "confirmed"}, headers=staff)
    assert_problem(early, 409, "illegal-transition")
    clock.advance(days=8)  # ebike_indoors: re-inspected 7 days after closure
    confirmed = await post(client, hazard_id, "reinspection", {"outcome": "confirmed"}, staff)
    assert confirmed["status"] == "confirmed"


async def test_a_merged_report_s_reporter_follows_the_open_hazard_which_counts_them(client, token, city, resident):
    lat, lon, _ = a_point(city, 12)
    staff = token()
    first = (await client.post("/v1/hazards", json=report(lat, lon), headers=resident("r-1"))).json()
    second = (await client.post("/v1/hazards", json=report(lat + 15 * M, lon), headers=resident("r-2"))).json()
    triaged = (await client.get(f"/v1/hazards/{second['hazard_id']}", headers=staff)).json()
    assert triaged["duplicate_candidates"][0]["hazard_id"] == first["hazard_id"]
    target = await post(client, second["hazard_id"], "merge", {"into": first["hazard_id"]}, staff)
    assert target["hazard_id"] == first["hazard_id"] and target["reporters"] == 2
    assert target["merged_duplicates"] == [second["hazard_id"]]
    merged = (await client.get(f"/v1/hazards/{second['hazard_id']}", headers=resident("r-2"))).json()
    assert merged["status"] == "merged" and merged["merged_into"] == first["hazard_id"]
    followed = (await client.get(f"/v1/hazards/{first['hazard_id']}", headers=resident("r-2"))).json()
    assert followed["reporters"] == 2 and followed["reporter_masked"] is None  # not r-1's number
    mine = (await client.get("/v1/me/hazards", headers=resident("r-2"))).json()["hazards"]
    assert {h["hazard_id"] for h in mine} == {first["hazard_id"], second["hazard_id"]}
    again = await client.post(f"/v1/hazards/{second['hazard_id']}/merge", json={"into": first["hazard_id"]},
                              headers=staff)
    assert_problem(again, 409, "illegal-transition")
    gas = (await client.post("/v1/hazards", json=report(lat, lon, category="gas_hazard"), headers=staff)).json()
    assert_problem(await client.post(f"/v1/hazards/{gas['hazard_id']}/merge", json={"into": first["hazard_id"]},
                                     headers=staff), 422, "invariant-violated")


async def test_a_rejection_tells_the_reporter_why_and_outside_our_remit_says_whose(client, token, city, resident):
    lat, lon, _ = a_point(city, 13)
    hazard_id = (await client.post("/v1/hazards", json=report(lat, lon, category="gas_hazard"),
                                   headers=resident("r-9"))).json()["hazard_id"]
    unsaid = await client.post(f"/v1/hazards/{hazard_id}/rejection",
                               json={"reason": "outside_remit", "message": "不归社区管"}, headers=token())
    assert_problem(unsaid, 422, "invariant-violated")
    await post(client, hazard_id, "rejection", {"reason": "outside_remit", "message": "燃气管道属燃气公司",
                                                "refer_to": "城市燃气公司 96777"}, token())
    seen = (await client.get(f"/v1/hazards/{hazard_id}", headers=resident("r-9"))).json()
    assert seen["status"] == "rejected"
    assert seen["rejection"] == {"reason": "outside_remit", "message": "燃气管道属燃气公司",
                                 "refer_to": "城市燃气公司 96777"}


async def test_a_report_where_the_same_hazard_was_fixed_lately_is_flagged_a_recurrence(client, token, city):
    lat, lon, _ = a_point(city, 14)
    staff = token()
    old = (await client.post("/v1/hazards", json=report(lat, lon, venue_id="shop-7"), headers=staff)).json()
    for action, body in (("acceptance", {}), ("assignment", {"assignee_kind": "venue_contact", "assignee_id": "v"}),
                         ("rectification", {"note": "ok"}), ("verification", {"outcome": "passed"})):
        await post(client, old["hazard_id"], action, body, staff)
    nearby = (await client.post("/v1/hazards", json=report(lat + 20 * M, lon), headers=staff)).json()
    assert nearby["recurrence_of"]["hazard_id"] == old["hazard_id"] and nearby["recurrence_of"]["rule"] == "nearby"
    same_venue = (await client.post("/v1/hazards", json=report(lat + 300 * M, lon, venue_id="shop-7"),
                                    headers=staff)).json()
    assert same_venue["recurrence_of"]["rule"] == "same_venue"
    other = (await client.post("/v1/hazards", json=report(lat, lon, category="corridor_cluttered"),
                               headers=staff)).json()
    assert other["recurrence_of"] is None


async def test_a_stale_if_match_is_412_and_a_triager_elsewhere_gets_404(client, token, city):
    lat, lon, community = a_point(city, 15)
    hazard_id = (await client.post("/v1/hazards", json=report(lat, lon), headers=token())).json()["hazard_id"]
    stale = await client.post(f"/v1/hazards/{hazard_id}/acceptance", json={},
                              headers={**token(), "If-Match": '"7"'})
    assert_problem(stale, 412, "stale-version")
    elsewhere = next(c for c in city.divisions() if c.level == "community" and c.code != community.code)
    foreign = await client.post(f"/v1/hazards/{hazard_id}/acceptance", json={},
                                headers=token(jurisdiction=[elsewhere.code]))
    assert_problem(foreign, 404, "not-found")
    reader_only = await client.post(f"/v1/hazards/{hazard_id}/acceptance", json={}, headers=token("hazards:read"))
    assert reader_only.status_code == 403
    ok = await client.post(f"/v1/hazards/{hazard_id}/acceptance", json={}, headers={**token(), "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'


async def test_a_hazard_reads_as_it_was_at_a_past_moment(client, token, city):
    lat, lon, _ = a_point(city, 16)
    hazard_id = (await client.post("/v1/hazards", json=report(lat, lon), headers=token())).json()["hazard_id"]
    before = dt.datetime.now(dt.UTC)
    await post(client, hazard_id, "acceptance", {"severity": "major"}, token())
    then = await client.get(f"/v1/hazards/{hazard_id}", params={"as_of": before.isoformat()}, headers=token())
    assert then.status_code == 200 and then.json()["status"] == "reported" and then.json()["severity"] == "moderate"
    now = (await client.get(f"/v1/hazards/{hazard_id}", headers=token())).json()
    assert now["status"] == "accepted" and now["severity"] == "major"
    never = await client.get(f"/v1/hazards/{hazard_id}", params={"as_of": "2001-01-01T00:00:00+00:00"},
                             headers=token())
    assert_problem(never, 404, "not-found")


async def test_erasing_a_reporter_shreds_their_contact_and_forgets_what_they_follow(client, city, resident, service):
    lat, lon, _ = a_point(city, 17)
    hazard_id = (await client.post("/v1/hazards", json=report(lat, lon), headers=resident("r-gone"))).json()[
        "hazard_id"]
    [stored] = await service.store.load(hazard_id)
    async with service.store.pool.acquire() as conn:
        assert await pii.reveal(conn, stored.data["reporter_ref"]) is not None
        assert await pii.erase_reporter(conn, "r-gone") == 1
        assert await pii.reveal(conn, stored.data["reporter_ref"]) is None
    assert (await client.get("/v1/me/hazards", headers=resident("r-gone"))).json()["hazards"] == []
    assert (await client.get(f"/v1/hazards/{hazard_id}", headers=resident("r-gone"))).status_code == 404

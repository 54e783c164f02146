"""The centres' list: inside the caller's jurisdiction only, filtered, newest first, a page at a time."""

from linkduty_shared.jurisdictions import Level
from tests.integration.hazards.conftest import a_point, assert_problem, report


async def test_a_community_s_token_lists_only_its_community_s_hazards_and_the_street_s_sees_them_too(
        client, token, city):
    lat, lon, community = a_point(city, 20)
    other_lat, other_lon, other = next(a_point(city, i) for i in range(21, 200)
                                       if a_point(city, i)[2].parent != community.parent)
    mine = (await client.post("/v1/hazards", json=report(lat, lon), headers=token())).json()
    theirs = (await client.post("/v1/hazards", json=report(other_lat, other_lon), headers=token())).json()
    listed = (await client.get("/v1/hazards", headers=token(jurisdiction=[community.code]))).json()["hazards"]
    assert [h["hazard_id"] for h in listed] == [mine["hazard_id"]]
    street = (await client.get("/v1/hazards", headers=token(jurisdiction=[community.parent]))).json()["hazards"]
    assert mine["hazard_id"] in {h["hazard_id"] for h in street} and theirs["hazard_id"] not in {
        h["hazard_id"] for h in street}
    city_wide = (await client.get("/v1/hazards", headers=token())).json()["hazards"]
    assert [h["hazard_id"] for h in city_wide] == [theirs["hazard_id"], mine["hazard_id"]]
    assert (await client.get("/v1/hazards", headers=token(jurisdiction=[]))).json()["hazards"] == []


async def test_status_and_category_filter_the_list(client, token, city):
    lat, lon, community = a_point(city, 30)
    staff, only_here = token(), token(jurisdiction=[community.code])
    ebike = (await client.post("/v1/hazards", json=report(lat, lon), headers=staff)).json()
    gas = (await client.post("/v1/hazards", json=report(lat, lon, category="gas_hazard"), headers=staff)).json()
    await client.post(f"/v1/hazards/{gas['hazard_id']}/acceptance", json={}, headers=staff)
    by_category = (await client.get("/v1/hazards", params={"category": "gas_hazard"}, headers=only_here)).json()
    assert [h["hazard_id"] for h in by_category["hazards"]] == [gas["hazard_id"]]
    assert by_category["hazards"][0]["status"] == "accepted" and by_category["hazards"][0]["version"] == 2
    by_status = (await client.get("/v1/hazards", params={"status": "reported"}, headers=only_here)).json()
    assert [h["hazard_id"] for h in by_status["hazards"]] == [ebike["hazard_id"]]
    assert_problem(await client.get("/v1/hazards", params={"status": "lost"}, headers=only_here), 422,
                   "validation-failed")


async def test_pages_follow_the_cursor_to_the_end_and_a_forged_cursor_is_a_400(client, token, city):
    lat, lon, community = a_point(city, 40)
    grid = city.resolve(lat, lon).grid
    assert grid.level is Level.GRID
    staff = token()
    ids = [(await client.post("/v1/hazards", json=report(lat, lon), headers=staff)).json()["hazard_id"]
           for _ in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/hazards", params=params, headers=token(jurisdiction=[grid.code]))).json()
        seen += [h["hazard_id"] for h in page["hazards"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    for forged in ("not-a-cursor", "WyJ4IiwgMV0", "W10"):
        assert_problem(await client.get("/v1/hazards", params={"cursor": forged}, headers=staff), 400, "bad-cursor")
    assert (await client.get("/v1/hazards", params={"limit": 201}, headers=staff)).status_code == 422

"""The venue registry against the real PostgreSQL: registering (people to the vault, masked
elsewhere), a ledger row registered again, the lists, a venue's page, its risk class over time,
new contacts and erasure, and a street's ledger imported from CSV and GeoJSON with bad rows."""

import json

from hazards.projections.venue_list import venue_row
from linkduty_shared import vault
from tests.integration.hazards.conftest import a_point, assert_problem


def venue(lat: float, lon: float, **overrides) -> dict:
    return {"kind": "small_restaurant", "name": "老王面馆", "location": {"lat": lat, "lon": lon, "address": "幸福路12号"},
            "floor_area_m2": 80.0, "risk_class": "medium",
            "responsible": {"name": "王五", "phone": "13912345678"},
            "contact": {"name": "李四", "phone": "13698765432"}} | overrides


async def register(client, headers, body, status=201) -> dict:
    r = await client.post("/v1/venues", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


async def test_a_venue_is_registered_in_its_micro_grid_with_its_people_masked_and_in_the_vault(
        client, token, city, service):
    lat, lon, community = a_point(city, 3)
    r = await client.post("/v1/venues", json=venue(lat, lon), headers=token())
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/v1/venues/{body['venue_id']}"
    assert body["jurisdiction"]["community"] == community.code and body["status"] == "active"
    assert body["kind_name"]["zh"] == "小餐饮场所" and body["risk_class"] == "medium"
    assert body["responsible"]["masked"] != "13912345678" and "5678" in body["responsible"]["masked"]
    assert "13912345678" not in r.text and "王五" not in r.text and "李四" not in r.text
    stored = await service.store.load(body["venue_id"])
    assert "13912345678" not in json.dumps([e.data for e in stored], ensure_ascii=False)
    async with service.store.pool.acquire() as conn:
        revealed = await vault.reveal(conn, stored[0].data["responsible_ref"])
    assert json.loads(revealed) == {"name": "王五", "phone": "13912345678"}
    # its first inspection falls due by its kind's interval (a small restaurant: 60 days)
    import datetime as dt
    assert (dt.datetime.fromisoformat(body["inspection_due_at"]) - dt.datetime.fromisoformat(body["registered_at"])
            == dt.timedelta(days=60))


async def test_a_ledger_row_registered_again_is_the_same_venue_brought_up_to_date(client, token, city):
    lat, lon, _ = a_point(city, 4)
    first = await register(client, token(), venue(lat, lon, ledger_ref="JD-0001"))
    again = await register(client, token(), venue(lat, lon, ledger_ref="JD-0001", name="老王面馆（新店名）"), status=200)
    assert again["venue_id"] == first["venue_id"] and again["name"] == "老王面馆（新店名）"
    assert again["version"] == first["version"] + 1
    same = await register(client, token(), venue(lat, lon, ledger_ref="JD-0001", name="老王面馆（新店名）"), status=200)
    assert same["version"] == again["version"]  # nothing changed: nothing recorded


async def test_unknown_kinds_points_outside_the_city_and_foreign_jurisdictions_are_refused(client, token, city):
    lat, lon, community = a_point(city, 5)
    body = assert_problem(await client.post("/v1/venues", json=venue(lat, lon, kind="castle"), headers=token()),
                          422, "unknown-venue-kind")
    assert "small_shop" in body["kinds"]
    assert_problem(await client.post("/v1/venues", json=venue(0.0, 0.0), headers=token()), 422,
                   "outside-jurisdiction")
    other = a_point(city, 40)[2]
    assert_problem(await client.post("/v1/venues", json=venue(lat, lon),
                                     headers=token(jurisdiction=[other.code])), 403, "outside-your-jurisdiction")
    assert (await client.post("/v1/venues", json=venue(lat, lon), headers=token("hazards:read"))).status_code == 403
    created = await register(client, token(), venue(lat, lon))
    foreign = await client.get(f"/v1/venues/{created['venue_id']}", headers=token(jurisdiction=[other.code]))
    assert foreign.status_code == 404


async def test_the_page_shows_the_risk_class_over_time_and_the_venues_hazards(client, token, city):
    lat, lon, _ = a_point(city, 6)
    staff = token()
    v = await register(client, staff, venue(lat, lon))
    r = await client.post(f"/v1/venues/{v['venue_id']}/risk-class", json={"risk_class": "high", "reason": "后厨燃气"},
                          headers=staff)
    assert r.status_code == 200, r.text
    same = await client.post(f"/v1/venues/{v['venue_id']}/risk-class", json={"risk_class": "high", "reason": "again"},
                             headers=staff)
    assert same.json()["version"] == r.json()["version"]
    hazard = await client.post("/v1/hazards", headers=staff, json={
        "category": "gas_hazard", "description": "燃气软管老化", "location": {"lat": lat, "lon": lon},
        "venue_id": v["venue_id"], "source": "grid_worker"})
    assert hazard.status_code == 201, hazard.text
    page = (await client.get(f"/v1/venues/{v['venue_id']}", headers=staff)).json()
    assert [s["risk_class"] for s in page["risk_history"]] == ["medium", "high"]
    assert page["risk_history"][1]["reason"] == "后厨燃气"
    assert [h["hazard_id"] for h in page["open_hazards"]] == [hazard.json()["hazard_id"]]
    assert page["past_hazards"] == [] and page["inspections"] == [] and page["recurrences"] == 0


async def test_lists_by_division_and_kind_and_overdue_inspections(client, token, city, clock):
    lat, lon, community = a_point(city, 7)
    staff = token()
    shop = await register(client, staff, venue(lat, lon, kind="small_shop", name="甲便利店"))
    compound = await register(client, staff, venue(lat, lon, kind="residential_compound", name="乙小区"))
    listed = (await client.get("/v1/venues", params={"division": community.code}, headers=staff)).json()
    assert {v["venue_id"] for v in listed["venues"]} >= {shop["venue_id"], compound["venue_id"]}
    by_kind = (await client.get("/v1/venues", params={"division": community.code, "kind": "small_shop"},
                                headers=staff)).json()
    assert {v["venue_id"] for v in by_kind["venues"]} == {shop["venue_id"]}
    clock.advance(days=31)  # a compound is inspected every 30 days, a shop every 90
    overdue = (await client.get("/v1/venues", params={"division": community.code, "overdue": "true"},
                                headers=staff)).json()
    assert {v["venue_id"] for v in overdue["venues"]} == {compound["venue_id"]}
    page = (await client.get("/v1/venues", params={"division": community.code, "limit": 1}, headers=staff)).json()
    second = (await client.get("/v1/venues", params={"division": community.code, "limit": 1,
                                                      "cursor": page["next_cursor"]}, headers=staff)).json()
    assert page["venues"][0]["venue_id"] != second["venues"][0]["venue_id"]
    assert (await client.get("/v1/venues", params={"division": "nowhere"}, headers=staff)).status_code == 404
    assert_problem(await client.get("/v1/venues", params={"cursor": "!!"}, headers=staff), 400, "bad-cursor")


async def test_new_contacts_shred_the_old_ones_and_erasure_shreds_them_all(client, token, city, service):
    lat, lon, _ = a_point(city, 8)
    staff = token()
    v = await register(client, staff, venue(lat, lon))
    old = (await service.store.load(v["venue_id"]))[0].data
    r = await client.put(f"/v1/venues/{v['venue_id']}/contacts", headers=staff,
                         json={"responsible": {"name": "赵六", "phone": "13511112222"}})
    assert r.status_code == 200 and r.json()["contact"]["masked"] is None, r.text
    async with service.store.pool.acquire() as conn:
        assert await vault.reveal(conn, old["responsible_ref"]) is None
        assert await vault.reveal(conn, old["contact_ref"]) is None
    assert (await client.delete(f"/v1/venues/{v['venue_id']}/personal-data", headers=staff)).status_code == 403
    erased = await client.delete(f"/v1/venues/{v['venue_id']}/personal-data", headers=token("hazards:erase"))
    assert erased.status_code == 200 and erased.json()["erased"] == 3
    new = (await service.store.load(v["venue_id"]))[-1].data
    async with service.store.pool.acquire() as conn:
        assert await vault.reveal(conn, new["responsible_ref"]) is None
    assert (await client.get(f"/v1/venues/{v['venue_id']}", headers=staff)).status_code == 200  # the venue stays


async def test_deregistered_venues_leave_the_lists_and_take_no_inspection(client, token, city):
    lat, lon, community = a_point(city, 9)
    staff = token()
    v = await register(client, staff, venue(lat, lon, name="丙旅馆", kind="small_hotel"))
    r = await client.post(f"/v1/venues/{v['venue_id']}/deregistration", json={"reason": "已关停"}, headers=staff)
    assert r.status_code == 200 and r.json()["status"] == "deregistered"
    listed = (await client.get("/v1/venues", params={"division": community.code}, headers=staff)).json()
    assert v["venue_id"] not in {x["venue_id"] for x in listed["venues"]}
    assert_problem(await client.post(f"/v1/venues/{v['venue_id']}/risk-class", headers=staff,
                                     json={"risk_class": "low", "reason": "x"}), 409, "illegal-transition")


CSV_HEADER = "id,kind,name,address,lat,lon,floor_area_m2,risk_class,responsible_name,responsible_phone\n"


async def test_a_csv_ledger_keeps_its_good_rows_and_reports_the_bad_ones_by_line(client, token, city, service):
    lat, lon, community = a_point(city, 11)
    rows = [
        f"A1,small_shop,甲商店,幸福路1号,{lat},{lon},45,low,王五,13912345678",        # line 2: good
        f"A2,castle,乙城堡,,{lat},{lon},,,,",                                        # line 3: unknown kind
        f"A3,small_hotel,丙旅馆,,north,{lon},,,,",                                    # line 4: lat not a number
        f"A4,internet_cafe,丁网吧,,{lat},{lon},-5,,,",                                # line 5: negative area
        "A5,small_clinic,戊诊所,,0.0,0.0,,,,",                                         # line 6: outside the city
        f"A6,market,己市场,,{lat},{lon},1200,high,,",                                  # line 7: good
        f"A7,market,,,{lat},{lon},,,,",                                               # line 8: no name
    ]
    csv = ("\ufeff" + CSV_HEADER + "\n".join(rows) + "\n").encode()
    r = await client.post("/v1/venue-imports", content=csv, headers=token() | {"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["registered"], report["updated"]) == (2, 0)
    assert [x["line"] for x in report["rejected"]] == [3, 4, 5, 6, 8]
    assert "castle" in report["rejected"][0]["errors"][0] and "lat" in report["rejected"][1]["errors"][0]
    assert "13912345678" not in r.text
    listed = (await client.get("/v1/venues", params={"division": community.code}, headers=token())).json()
    assert {"甲商店", "己市场"} <= {v["name"] for v in listed["venues"]}
    again = await client.post("/v1/venue-imports", content=csv, headers=token() | {"content-type": "text/csv"})
    assert (again.json()["registered"], again.json()["updated"]) == (0, 2)  # the same rows: the same venues


async def test_a_geojson_ledger_takes_points_from_the_geometry(client, token, city):
    lat, lon, community = a_point(city, 12)
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"id": "G1", "kind": "high_rise", "name": "星河大厦"}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[lon, lat], [lon, lat]]},
         "properties": {"id": "G2", "kind": "market", "name": "菜场"}},
        {"type": "Feature", "geometry": None, "properties": {"id": "G3", "kind": "small_shop", "name": "小卖部",
                                                              "lat": lat, "lon": lon}},
    ]
    r = await client.post("/v1/venue-imports", headers=token() | {"content-type": "application/geo+json"},
                          content=json.dumps({"type": "FeatureCollection", "features": features}))
    assert r.status_code == 200, r.text
    assert r.json()["registered"] == 2 and [x["line"] for x in r.json()["rejected"]] == [2]


async def test_a_ledger_that_cannot_be_read_is_refused_whole(client, token):
    staff = token()
    assert_problem(await client.post("/v1/venue-imports", content=b"a,b\n1,2\n",
                                     headers=staff | {"content-type": "text/csv"}), 400, "ledger-unreadable")
    assert_problem(await client.post("/v1/venue-imports", content=b"\xff\xfe\x00",
                                     headers=staff | {"content-type": "text/csv"}), 400, "not-utf-8")
    assert_problem(await client.post("/v1/venue-imports", content=b"{}",
                                     headers=staff | {"content-type": "application/geo+json"}), 400,
                   "ledger-unreadable")
    assert_problem(await client.post("/v1/venue-imports", content=b"x",
                                     headers=staff | {"content-type": "application/pdf"}), 415,
                   "unsupported-media-type")
    many = CSV_HEADER + "".join(f"R{i},small_shop,店{i},,1,1,,,,\n" for i in range(5001))
    assert_problem(await client.post("/v1/venue-imports", content=many.encode(),
                                     headers=staff | {"content-type": "text/csv"}), 400, "ledger-unreadable")


async def test_the_read_model_row_follows_the_venue(client, token, city, service):
    lat, lon, _ = a_point(city, 13)
    v = await register(client, token(), venue(lat, lon))
    async with service.store.pool.acquire() as conn:
        row = await venue_row(conn, v["venue_id"])
    assert row["kind"] == "small_restaurant" and row["responsible_masked"] == v["responsible"]["masked"]
    assert row["handling_level"] == "community" and row["version"] == v["version"]

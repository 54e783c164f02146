"""Venues, inspections, statistics and the pre-incident picture end to end, on the real stack: the
alarms and hazards services in-process (real lifespans: their relays and consumers), the linkage
worker in its own process, the gateway behind uvicorn, and the consoles' SSE streams.

A joint inspection (防消联勤) with two failed items and one fixed on the spot; the street's
statistics equal to the hand calculation; a street's ledger imported with bad rows; and a 119
alarm at a venue with an overdue hazard, whose picture reaches its four centres' streams."""

from __future__ import annotations

import datetime as dt
import json

from linkduty_shared.jurisdictions import Level
from tests.integration.gateway.support import SseReader

CST = dt.timezone(dt.timedelta(hours=8))  # the demo city's local days
M = 1 / 111_000  # a metre of latitude, in degrees
STAFF = ("hazards:report", "hazards:read", "hazards:triage", "hazards:rectify", "hazards:verify", "hazards:venues",
         "hazards:inspect")
STATION = "fs-330102-01"  # a fire-rescue station of the demo city's units directory


def community(city, index: int):
    c = city.divisions(level=Level.COMMUNITY)[index]
    return c.lat, c.lon, c


def staff(issuer, city) -> dict:
    jwt = issuer.issue("street-office-e2e", list(STAFF), jurisdiction=[city.city.code])
    return {"Authorization": f"Bearer {jwt}"}


async def a_venue(hazards, headers, lat: float, lon: float, **overrides) -> dict:
    body = {"kind": "small_restaurant", "name": "老街饭馆", "location": {"lat": lat, "lon": lon, "address": "老街8号"},
            "risk_class": "high", "responsible": {"name": "王五", "phone": "13912345678"}} | overrides
    r = await hazards.post("/v1/venues", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def about(reader: SseReader, alarm_id: str, event_type: str, timeout: float = 30.0) -> dict:
    """The next notification of this stream about `alarm_id` of `event_type` (others are skipped)."""
    while True:
        event = await reader.next(timeout=timeout)
        data = json.loads(event.data)
        if data.get("alarm", {}).get("alarm_id") == alarm_id and event.event == event_type:
            return data


async def test_a_joint_inspection_opens_two_hazards_and_closes_one_and_the_statistics_count_them(
        hazards, issuer, city):
    lat, lon, home = community(city, 40)
    headers = staff(issuer, city)
    venue = await a_venue(hazards, headers, lat, lon)
    kinds = (await hazards.get("/v1/venue-kinds", headers=headers)).json()["kinds"]
    items = [i["id"] for i in next(k for k in kinds if k["id"] == "small_restaurant")["checklist"]]
    results = {"evacuation_route_clear": ("failed", "后门被货物堵死"), "gas_safe": ("failed", "燃气软管老化"),
               "extinguishers_in_date": ("fixed_on_spot", "过期灭火器当场更换")}
    body = {"kind": "joint", "participants": [
        {"role": "street_office", "id": "street-office-1"}, {"role": "venue_contact", "id": "venue-contact"},
        {"role": "fire_station", "id": STATION}],
        "items": [{"item_id": i, "result": results.get(i, ("passed", None))[0]}
                  | ({"note": results[i][1]} if i in results else {}) for i in items]}
    r = await hazards.post(f"/v1/venues/{venue['venue_id']}/inspections", json=body, headers=headers)
    assert r.status_code == 201, r.text
    opened = {h["item_id"]: h for h in r.json()["opened_hazards"]}
    for item in ("evacuation_route_clear", "gas_safe"):
        assert opened[item]["status"] == "rectifying" and opened[item]["rectification_due_at"]
    assert opened["extinguishers_in_date"]["status"] == "closed"

    # By hand: three hazards reported (all three found by the inspection), two accepted and
    # assigned, one fixed on the spot and so closed: closure 1 / (2 + 1); one inspection done, three
    # found: 300 per 100 inspections; its next inspection falls due in 60 days, outside today.
    today = dt.datetime.now(CST).date().isoformat()
    street = city.resolve(lat, lon).street
    r = await hazards.get("/v1/reports/hazards", params={"division": street.code, "from": today, "to": today},
                          headers=headers)
    assert r.status_code == 200, r.text
    figures = r.json()["total"]["figures"]
    assert {k: figures[k] for k in ("reported", "accepted", "closed", "fixed_on_spot", "closure_rate",
                                    "inspections_done", "hazards_found", "hazards_per_100_inspections",
                                    "inspections_due")} == {
        "reported": 3, "accepted": 2, "closed": 1, "fixed_on_spot": 1, "closure_rate": 0.3333,
        "inspections_done": 1, "hazards_found": 3, "hazards_per_100_inspections": 300.0, "inspections_due": 0}
    [restaurants] = [s for s in r.json()["by_venue_kind"] if s["key"] == "small_restaurant"]
    assert restaurants["figures"]["inspections_done"] == 1 and restaurants["figures"]["hazards_found"] == 3
    [child] = [s for s in r.json()["by_child_division"] if s["key"] == home.code]
    assert child["figures"]["reported"] == 3


async def test_a_street_s_ledger_is_imported_with_its_bad_rows_reported_by_line(hazards, issuer, city):
    lat, lon, home = community(city, 41)
    csv = ("id,kind,name,lat,lon,risk_class\n"
           f"L1,small_shop,小卖部,{lat},{lon},low\n"
           f"L2,castle,城堡,{lat},{lon},\n"
           f"L3,internet_cafe,网吧,{lat + 30 * M},{lon},medium\n"
           f"L4,small_hotel,旅馆,north,{lon},\n")
    headers = staff(issuer, city)
    r = await hazards.post("/v1/venue-imports", content=csv.encode(), headers=headers | {"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json()["registered"] == 2 and [x["line"] for x in r.json()["rejected"]] == [3, 5]
    listed = (await hazards.get("/v1/venues", params={"division": home.code}, headers=headers)).json()
    assert {"小卖部", "网吧"} <= {v["name"] for v in listed["venues"]}


async def test_an_alarm_at_a_venue_with_an_overdue_hazard_shows_the_picture_on_its_four_centres_streams(
        alarms, hazards, hazards_app, console, token, issuer, city):
    lat, lon, _ = community(city, 42)
    headers = staff(issuer, city)
    venue = await a_venue(hazards, headers, lat, lon, name="幸福超市", kind="small_shop")
    # reported three hours ago, untriaged: a major hazard's triage (2 h) is overdue now
    clock = hazards_app.state.hazards.clock
    clock.offset = -dt.timedelta(hours=3)
    try:
        r = await hazards.post("/v1/hazards", headers=headers, json={
            "category": "evacuation_route_blocked", "severity": "major", "description": "北侧安全出口上锁",
            "source": "grid_worker", "location": {"lat": lat + 15 * M, "lon": lon}, "venue_id": venue["venue_id"]})
    finally:
        clock.offset = dt.timedelta(0)
    assert r.status_code == 201, r.text
    hazard_id = r.json()["hazard_id"]

    centres = city.resolve(lat, lon).centre_ids()
    readers = [await console(centre_id) for centre_id in centres]
    alarm = (await alarms.post("/v1/alarms", headers=token(), json={
        "source": "119", "kind": "fire", "location": {"lat": lat + 5 * M, "lon": lon}})).json()
    for reader, centre_id in zip(readers, centres):
        data = await about(reader, alarm["alarm_id"], "AlarmContextAttached")
        picture = data["event_data"]
        assert data["centre_id"] == centre_id and data["alarm"]["alarm_id"] == alarm["alarm_id"]
        assert picture["venue"]["venue_id"] == venue["venue_id"] and picture["venue"]["kind"] == "small_shop"
        [listed] = picture["hazards"]
        assert listed["hazard_id"] == hazard_id and listed["overdue"] and listed["at_the_venue"]
        assert picture["headline"].startswith("At 幸福超市") and "北侧安全出口上锁" in picture["headline"]
        assert "王五" not in json.dumps(picture, ensure_ascii=False)
        assert "13912345678" not in json.dumps(picture)

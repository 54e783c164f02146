"""Inspections against the real PostgreSQL and Kafka: a joint inspection (防消联勤) whose failed
items open hazards in the closed loop with their deadlines and whose item fixed on the spot is
found and closed at once, the checklist and participants checked, a re-inspection (回头看) done
during a visit, and overdue inspections escalated by the sweep."""

import datetime as dt

from linkduty_shared.events import envelope_from_kafka
from tests.integration.hazards.conftest import a_point, assert_problem
from tests.integration.hazards.test_venues import register, venue
from tests.support.kafka import read_topic

STATION = "fs-330102-01"  # a fire-rescue station of the demo city's units directory
JOINT = [{"role": "street_office", "id": "street-office-1", "name": "街道应急办"},
         {"role": "venue_contact", "id": "venue-contact"},
         {"role": "fire_station", "id": STATION, "name": "消防救援站"}]


def answers(kind_checklist: list[str], **results: tuple[str, str | None]) -> list[dict]:
    """Every item passed, except those named: item_id=(result, note)."""
    out = []
    for item_id in kind_checklist:
        result, note = results.get(item_id, ("passed", None))
        out.append({"item_id": item_id, "result": result} | ({"note": note} if note else {}))
    return out


async def checklist(client, headers, kind: str) -> list[str]:
    kinds = (await client.get("/v1/venue-kinds", headers=headers)).json()["kinds"]
    return [i["id"] for i in next(k for k in kinds if k["id"] == kind)["checklist"]]


async def test_a_joint_inspection_opens_a_hazard_per_failed_item_and_closes_one_fixed_on_the_spot(
        client, token, city, service, hazards_topics, kafka_bootstrap):
    lat, lon, _ = a_point(city, 14)
    staff = token()
    v = await register(client, staff, venue(lat, lon, kind="small_restaurant"))
    items = await checklist(client, staff, "small_restaurant")
    body = {"kind": "joint", "participants": JOINT, "items": answers(
        items, evacuation_route_clear=("failed", "后门被货物堵死"), gas_safe=("failed", "燃气软管老化开裂"),
        extinguishers_in_date=("fixed_on_spot", "过期灭火器当场更换"))}
    r = await client.post(f"/v1/venues/{v['venue_id']}/inspections", json=body, headers=staff)
    assert r.status_code == 201, r.text
    inspection = r.json()
    assert inspection["found"] == 3 and inspection["fixed_on_spot"] == 1
    opened = {h["item_id"]: h for h in inspection["opened_hazards"]}
    assert set(opened) == {"evacuation_route_clear", "gas_safe", "extinguishers_in_date"}
    for item_id, category in (("evacuation_route_clear", "evacuation_route_blocked"), ("gas_safe", "gas_hazard")):
        hazard = (await client.get(f"/v1/hazards/{opened[item_id]['hazard_id']}", headers=staff)).json()
        assert hazard["status"] == "rectifying" and hazard["category"] == category
        assert hazard["source"] == "inspection" and hazard["venue_id"] == v["venue_id"]
        assert hazard["assignee"]["kind"] == "venue_contact" and hazard["assignee"]["id"] == v["venue_id"]
        rules = service.taxonomy[category]
        assigned_at = dt.datetime.fromisoformat(hazard["history"][-1]["at"])
        assert dt.datetime.fromisoformat(hazard["rectification_due_at"]) == \
            assigned_at + rules.rectify_within[hazard["severity"]]
    fixed = (await client.get(f"/v1/hazards/{opened['extinguishers_in_date']['hazard_id']}", headers=staff)).json()
    assert fixed["status"] == "closed" and fixed["closed_at"] and fixed["reinspection_due_at"]
    assert [s["what"] for s in fixed["history"]] == ["HazardReported", "HazardFixedOnSpot", "ReinspectionScheduled"]
    page = (await client.get(f"/v1/venues/{v['venue_id']}", headers=staff)).json()
    assert page["last_inspected_at"] == inspection["inspected_at"]
    assert page["inspections"][0]["inspection_id"] == inspection["inspection_id"]
    assert len(page["open_hazards"]) == 2 and len(page["past_hazards"]) == 1
    assert dt.datetime.fromisoformat(page["inspection_due_at"]) == \
        dt.datetime.fromisoformat(inspection["inspected_at"]) + dt.timedelta(days=60)
    again = (await client.get(f"/v1/inspections/{inspection['inspection_id']}", headers=staff)).json()
    assert again["items"] == inspection["items"] and again["participants"][2]["id"] == STATION
    # venue 1 + its inspection 1 + two failed items × (reported, accepted, assigned) + the fixed one's 3 + inspected 1
    records = await read_topic(kafka_bootstrap, hazards_topics["events"], until_count=12)
    published = [envelope_from_kafka(r.headers, r.key, r.value) for r in records]
    recorded = [e for e in published if e.event_name == "InspectionRecorded"]
    assert len(recorded) == 1 and recorded[0].data["inspection_id"] == inspection["inspection_id"]
    assert len(recorded[0].data["items"]) == len(items)
    assert all("_ref" not in key for e in published for key in e.data)  # vault references stay home


async def test_a_checklist_must_be_the_kinds_whole_and_a_joint_inspection_names_its_partners(client, token, city):
    lat, lon, _ = a_point(city, 15)
    staff = token()
    v = await register(client, staff, venue(lat, lon, kind="small_shop"))
    items = await checklist(client, staff, "small_shop")
    url = f"/v1/venues/{v['venue_id']}/inspections"
    missing = {"kind": "patrol", "items": answers(items)[:-1]}
    assert "unanswered" in assert_problem(await client.post(url, json=missing, headers=staff), 422,
                                          "invariant-violated")["detail"]
    foreign = {"kind": "patrol", "items": answers(items) + [{"item_id": "gas_safe", "result": "passed"}]}
    assert_problem(await client.post(url, json=foreign, headers=staff), 422, "invariant-violated")
    silent = {"kind": "patrol", "items": answers(items, wiring_safe=("failed", None))}
    assert_problem(await client.post(url, json=silent, headers=staff), 422, "invariant-violated")
    alone = {"kind": "joint", "items": answers(items), "participants": JOINT[:2]}
    assert "fire_station" in assert_problem(await client.post(url, json=alone, headers=staff), 422,
                                            "invariant-violated")["detail"]
    ghost = {"kind": "joint", "items": answers(items), "participants": JOINT[:2] + [
        {"role": "fire_station", "id": "fs-nowhere"}]}
    assert_problem(await client.post(url, json=ghost, headers=staff), 422, "unknown-fire-station")
    future = {"kind": "patrol", "items": answers(items),
              "inspected_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()}
    assert_problem(await client.post(url, json=future, headers=staff), 422, "invariant-violated")
    assert (await client.post(url, json={"kind": "patrol", "items": answers(items)},
                              headers=token("hazards:read"))).status_code == 403
    page = (await client.get(f"/v1/venues/{v['venue_id']}", headers=staff)).json()
    assert page["inspections"] == [] and page["open_hazards"] == []  # nothing half-written


async def test_a_visit_re_inspects_the_venues_closed_hazards(client, token, city, clock):
    lat, lon, _ = a_point(city, 16)
    staff = token()
    v = await register(client, staff, venue(lat, lon, kind="small_shop"))
    items = await checklist(client, staff, "small_shop")
    url = f"/v1/venues/{v['venue_id']}/inspections"
    first = (await client.post(url, headers=staff, json={"kind": "patrol", "items": answers(
        items, no_ebike_indoors=("fixed_on_spot", "电动车已推出店外"))})).json()
    hazard_id = first["opened_hazards"][0]["hazard_id"]
    clock.advance(days=8)  # an e-bike's re-inspection is due after 7 days
    second = await client.post(url, headers=staff, json={
        "kind": "self_check", "items": answers(items), "reinspected": [{"hazard_id": hazard_id, "outcome": "confirmed"}]})
    assert second.status_code == 201, second.text
    hazard = (await client.get(f"/v1/hazards/{hazard_id}", headers=staff)).json()
    assert hazard["status"] == "confirmed"
    other = await register(client, staff, venue(lat, lon, kind="small_shop", name="别家"))
    wrong = await client.post(f"/v1/venues/{other['venue_id']}/inspections", headers=staff, json={
        "kind": "patrol", "items": answers(items), "reinspected": [{"hazard_id": hazard_id, "outcome": "reopened"}]})
    assert_problem(wrong, 422, "reinspection-mismatch")


async def test_the_sweep_escalates_an_overdue_inspection_once_and_an_inspection_brings_it_back(
        client, token, city, clock, hazards_app):
    lat, lon, _ = a_point(city, 17)
    staff = token()
    registry = hazards_app.state.venues
    v = await register(client, staff, venue(lat, lon, kind="residential_compound", name="老旧小区甲"))
    clock.advance(days=31)
    escalated = 0
    for _ in range(3):  # other tests' venues may be overdue too: sweep until this one moves
        escalated += await registry.escalate_overdue(1000)
    page = (await client.get(f"/v1/venues/{v['venue_id']}", headers=staff)).json()
    assert page["handled_by_level"] == "street" and escalated >= 1
    assert page["inspection_overdue"] is False  # the street has the interval again
    await registry.escalate_overdue(1000)
    assert (await client.get(f"/v1/venues/{v['venue_id']}", headers=staff)).json()["version"] == page["version"]
    items = await checklist(client, staff, "residential_compound")
    await client.post(f"/v1/venues/{v['venue_id']}/inspections", headers=staff,
                      json={"kind": "patrol", "items": answers(items)})
    assert (await client.get(f"/v1/venues/{v['venue_id']}", headers=staff)).json()["handled_by_level"] == "community"

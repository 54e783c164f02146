"""Volunteers end to end, on the real stack: the alarms, hazards and volunteers services
in-process (real lifespans: relays and consumers), the linkage worker in its own process, the
gateway behind uvicorn, and the consoles' SSE streams.

An applicant reviewed, trained and insured takes a home visit, completes it with a hazard found
(filed by the hazards service), is rated and credited, while an untrained one is refused with
the reason; a 119 alarm alerts the three qualified volunteers within range and nobody outside
it, off duty or with an expired policy; an acceptance reaches the alarm's four consoles."""

from __future__ import annotations

import datetime as dt
import json

from hazards.application.service import finding_hazard_id
from linkduty_shared.jurisdictions import Level
from tests.conftest import eventually
from tests.e2e.test_venues import about
from tests.integration.volunteers.conftest import GUIDE_COURSES, STAFF, fit_volunteer
from volunteers import positions

M = 1 / 111_000  # a metre of latitude, in degrees


def place(city, index: int):
    c = city.divisions(level=Level.COMMUNITY)[index]
    return c.lat, c.lon, c.code


def headers_of(issuer, subject: str, scopes, jurisdiction) -> dict:
    return {"Authorization": f"Bearer {issuer.issue(subject, list(scopes), jurisdiction=jurisdiction)}"}


def staff(issuer, city):
    staff_headers = headers_of(issuer, "community-staff-e2e", STAFF, [city.city.code])
    return lambda *scopes, **kw: staff_headers


def app_of(issuer, volunteer_id: str) -> dict:
    return headers_of(issuer, f"volunteer:{volunteer_id}", ["volunteers:respond"], [""])


async def transitions(reader, order_id: str, last: str, timeout: float = 30.0) -> list[dict]:
    """The ServiceOrderNotifications of `order_id` on a console stream, up to the `last` event type."""
    seen = []
    while True:
        event = await reader.next(timeout=timeout)
        data = json.loads(event.data)
        if data.get("order_id") == order_id:
            seen.append(data)
            if data["event_type"] == last:
                return seen


async def test_a_trained_insured_volunteer_takes_a_home_visit_finds_a_hazard_is_rated_and_credited(
        volunteers, volunteers_app, hazards_app, console, issuer, city):
    lat, lon, home = place(city, 44)
    community_centre, street_centre = city.resolve(lat, lon).centre_ids()[:2]
    consoles = [await console(community_centre), await console(street_centre)]
    token = staff(issuer, city)
    trained = await fit_volunteer(volunteers, token, home, ("hazard_inspection_basic", "first_aid_basic"))
    untrained = await fit_volunteer(volunteers, token, home, ())
    # level_2 (homes): 50 h served and rated, first aid passed; the hours come from earlier visits
    resident = headers_of(issuer, "resident-e2e", ["volunteers:order"], [city.city.code])
    for n in range(5):
        await _visit(volunteers, token, resident, issuer, trained, home, lat, lon, kind="detector_installation",
                     hours=10, courses_needed=False)
    file = (await volunteers.get(f"/v1/volunteers/{trained}", headers=token())).json()
    assert file["grade"] == "level_2" and file["hours"] == 50

    r = await volunteers.post("/v1/orders", headers=resident, json={
        "kind": "home_fire_check", "community": home, "lat": lat, "lon": lon, "address": "老街8号2单元301",
        "contact_phone": "13912345678", "description": "独居老人，想查查家里用电"})
    order_id = r.json()["order_id"]
    refused = await volunteers.post(f"/v1/orders/{order_id}/assignment", json={"volunteer_id": untrained},
                                    headers=token())
    assert refused.status_code == 409 and refused.json()["type"].endswith("/not-fit-for-duty")
    assert "course hazard_inspection_basic (火灾隐患排查) not taken" in refused.json()["missing"]
    assert (await volunteers.post(f"/v1/orders/{order_id}/assignment", json={"volunteer_id": trained},
                                  headers=token())).status_code == 200
    assert (await volunteers.post(f"/v1/me/orders/{order_id}/acceptance", headers=app_of(issuer, trained))
            ).status_code == 200
    r = await volunteers.post(f"/v1/me/orders/{order_id}/completion", headers=app_of(issuer, trained), json={
        "report": "检查完毕，厨房插线板过载", "hours_spent": 2, "photos": ["orders/kitchen.jpg"],
        "hazards_found": [{"category": "electrical_wiring", "description": "厨房插线板串接过载", "lat": lat,
                           "lon": lon}]})
    assert r.status_code == 200, r.text
    finding = r.json()["completion"]["hazards_found"][0]["finding_id"]
    r = await volunteers.post(f"/v1/orders/{order_id}/confirmation", headers=resident,
                              json={"rating": 5, "comment": "细心"})
    assert r.status_code == 200, r.text
    ledger = (await volunteers.get(f"/v1/volunteers/{trained}/hours", headers=token())).json()
    assert ledger["total"] == 52 and ledger["entries"][-1]["source_id"] == order_id
    for reader, centre_id in zip(consoles, (community_centre, street_centre)):  # each transition, on both
        seen = await transitions(reader, order_id, "ServiceOrderConfirmed")
        assert [n["event_type"] for n in seen] == ["ServiceOrderPlaced", "ServiceOrderAssigned", "ServiceOrderAccepted",
                                                   "ServiceOrderCompleted", "ServiceOrderConfirmed"]
        assert all(n["centre_id"] == centre_id for n in seen)
        assert "13912345678" not in json.dumps(seen) and "老街8号2单元301" not in json.dumps(seen, ensure_ascii=False)

    async def filed():
        hazard = await hazards_app.state.hazards.repo.load(finding_hazard_id("volunteer", finding))
        return hazard if hazard.exists else None

    hazard = await eventually(filed, timeout=30)
    assert hazard.source == "volunteer" and hazard.description == "厨房插线板串接过载"


async def _visit(volunteers, token, resident, issuer, volunteer_id, home, lat, lon, *, kind, hours,
                 courses_needed) -> None:
    """One published order claimed, completed and confirmed (rated 5)."""
    r = await volunteers.post("/v1/orders", headers=resident, json={
        "kind": kind, "community": home, "lat": lat, "lon": lon, "address": "老街8号", "contact_phone": "13912345678"})
    order_id = r.json()["order_id"]
    await volunteers.post(f"/v1/orders/{order_id}/publication", headers=token())
    me = app_of(issuer, volunteer_id)
    r = await volunteers.post(f"/v1/me/orders/{order_id}/acceptance", headers=me)
    if r.status_code == 409 and not courses_needed:  # detector installation's course: passed once, for good
        today = dt.date.today().isoformat()
        await volunteers.post(f"/v1/volunteers/{volunteer_id}/course-results", headers=token(), json={
            "course_id": "detector_installation", "passed": True, "exam_on": today})
        r = await volunteers.post(f"/v1/me/orders/{order_id}/acceptance", headers=me)
    assert r.status_code == 200, r.text
    await volunteers.post(f"/v1/me/orders/{order_id}/completion", headers=me,
                          json={"report": "装好了", "hours_spent": hours})
    r = await volunteers.post(f"/v1/orders/{order_id}/confirmation", headers=resident, json={"rating": 5})
    assert r.status_code == 200, r.text


async def test_an_alarm_alerts_the_three_qualified_in_range_and_their_acceptance_reaches_the_four_consoles(
        alarms, volunteers, volunteers_app, console, token, issuer, city):
    lat, lon, home = place(city, 46)
    staff_token = staff(issuer, city)
    ids = {}
    for name, metres in (("near", 40), ("mid", 160), ("edge", 360), ("outside", 700), ("off_duty", 0),
                         ("expired", 20)):
        ids[name] = await fit_volunteer(volunteers, staff_token, home, GUIDE_COURSES, insured=name != "expired")
        if name in ("off_duty", "expired"):
            continue
        r = await volunteers.put("/v1/me/position", headers=app_of(issuer, ids[name]),
                                 json={"lat": lat + metres * M, "lon": lon})
        assert r.status_code == 200, r.text
    # the expired one cannot go on duty, and a position left from before its policy ran out is not alerted
    r = await volunteers.put("/v1/me/position", headers=app_of(issuer, ids["expired"]), json={"lat": lat, "lon": lon})
    assert r.status_code == 409 and r.json()["missing"][0].startswith("insurance in force")
    async with volunteers_app.state.responses.pool.acquire() as conn:
        await positions.report(conn, ids["expired"], lat + 20 * M, lon, None, dt.datetime.now(dt.UTC))

    centres = city.resolve(lat, lon).centre_ids()
    readers = [await console(centre_id) for centre_id in centres]
    alarm = (await alarms.post("/v1/alarms", headers=token(), json={
        "source": "119", "kind": "fire", "location": {"lat": lat, "lon": lon, "place": "public"}})).json()
    alarm_id = alarm["alarm_id"]
    for reader in readers:
        alerted = (await about(reader, alarm_id, "VolunteersAlerted"))["event_data"]
        assert [a["volunteer_id"] for a in alerted["alerted"]] == [ids["near"], ids["mid"], ids["edge"]]

    r = await volunteers.post(f"/v1/me/alerts/{alarm_id}/acceptance", headers=app_of(issuer, ids["mid"]),
                              json={"eta_minutes": 5})
    assert r.status_code == 200, r.text
    for reader, centre_id in zip(readers, centres):
        data = await about(reader, alarm_id, "VolunteerResponseAccepted")
        coming = data["event_data"]
        assert data["centre_id"] == centre_id
        assert (coming["volunteer_id"], coming["eta_minutes"], coming["name_masked"]) == (ids["mid"], 5, "张**")
        assert "张三丰" not in json.dumps(data, ensure_ascii=False) and "13812345678" not in json.dumps(data)
    station = (await volunteers.get(f"/v1/alarm-responses/{alarm_id}", headers=staff_token())).json()
    assert [c["volunteer_id"] for c in station["coming"]] == [ids["mid"]]

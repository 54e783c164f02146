"""Service orders (三单) against the real PostgreSQL and Kafka: ordered by a resident, assigned,
accepted by the volunteer's own app, completed, confirmed and rated, the hours credited to the
append-only ledger; the gate and the grade refuse with what is missing; an unanswered order goes
back to its assigner; the contact stays in the vault."""

from __future__ import annotations

import datetime as dt
import json

from linkduty_shared.events import envelope_from_kafka
from tests.integration.volunteers.conftest import community, fit_volunteer
from tests.support.kafka import read_topic
from tests.support.problems import assert_problem

ADDRESS, PHONE = "幸福路12号3单元502", "13987654321"


def order(city, kind: str = "talk_or_drill", **overrides) -> dict:
    home = community(city, 0)
    return {"kind": kind, "community": home.code, "lat": 30.27, "lon": 120.15, "address": ADDRESS,
            "contact_phone": PHONE, "description": f"社区想办一次消防讲座，联系{PHONE}"} | overrides


async def placed(client, token, city, **overrides) -> dict:
    r = await client.post("/v1/orders", json=order(city, **overrides),
                          headers=token("volunteers:order", client="resident-1"))
    assert r.status_code == 201, r.text
    return r.json()


async def test_an_order_is_assigned_accepted_completed_confirmed_and_its_hours_credited(
        client, token, me, city, volunteers_app, volunteers_topic, kafka_bootstrap):
    home = community(city, 0).code
    v = await fit_volunteer(client, token, home, ("fire_safety_talks",))
    o = await placed(client, token, city)
    assert o["status"] == "placed" and o["address"] == "幸福路***" and o["contact"] == "*******4321"
    assert PHONE not in json.dumps(o, ensure_ascii=False) and ADDRESS not in json.dumps(o, ensure_ascii=False)
    oid = o["order_id"]
    r = await client.post(f"/v1/orders/{oid}/assignment", json={"volunteer_id": v}, headers=token())
    assert r.status_code == 200 and r.json()["status"] == "assigned" and r.json()["answer_by"], r.text
    r = await client.post(f"/v1/me/orders/{oid}/acceptance", headers=me(v))
    assert r.status_code == 200 and r.json()["volunteer_id"] == v, r.text
    r = await client.post(f"/v1/me/orders/{oid}/completion", headers=me(v), json={
        "report": "讲座完成，40人参加", "photos": ["orders/o1/1.jpg"], "hours_spent": 2.5})
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    assert_problem(await client.post(f"/v1/orders/{oid}/confirmation", json={"rating": 5},
                                     headers=token("volunteers:order", client="resident-2")), 403, "forbidden")
    r = await client.post(f"/v1/orders/{oid}/confirmation", json={"rating": 5, "comment": "讲得很好"},
                          headers=token("volunteers:order", client="resident-1"))
    assert r.status_code == 200 and r.json()["confirmation"]["hours"] == 2.5, r.text
    ledger = (await client.get(f"/v1/volunteers/{v}/hours", headers=token())).json()
    assert ledger["total"] == 2.5 and [(e["source"], e["source_id"], e["rating"]) for e in ledger["entries"]] == [
        ("service_order", oid, 5)]
    steps = [h["event"] for h in (await client.get(f"/v1/orders/{oid}", headers=token())).json()["history"]]
    assert steps == ["ServiceOrderPlaced", "ServiceOrderAssigned", "ServiceOrderAccepted", "ServiceOrderCompleted",
                     "ServiceOrderConfirmed"]
    contact = (await client.get(f"/v1/orders/{oid}/contact", headers=token())).json()
    assert contact == {"address": ADDRESS, "phone": PHONE}
    records = await read_topic(kafka_bootstrap, volunteers_topic, until_count=11)  # the file's 6, the order's 5
    published = [envelope_from_kafka(r.headers, r.key, r.value) for r in records]
    mine = [e for e in published if e.subject == oid]
    assert [e.event_name for e in mine] == steps
    assert not any(PHONE in json.dumps(e.data, ensure_ascii=False) or "contact_ref" in e.data for e in mine)


async def test_an_untrained_volunteer_is_refused_an_order_with_what_is_missing(client, token, me, city):
    home = community(city, 0).code
    untrained = await fit_volunteer(client, token, home, ())
    o = await placed(client, token, city, kind="home_fire_check")
    body = assert_problem(await client.post(f"/v1/orders/{o['order_id']}/assignment",
                                            json={"volunteer_id": untrained}, headers=token()), 409, "not-fit-for-duty")
    assert body["missing"] == ["course hazard_inspection_basic (火灾隐患排查) not taken",
                               "grade level_2 or above (holds level_1)"]
    r = await client.post(f"/v1/orders/{o['order_id']}/publication", headers=token())
    assert r.status_code == 200 and r.json()["status"] == "published"
    body = assert_problem(await client.post(f"/v1/me/orders/{o['order_id']}/acceptance", headers=me(untrained)),
                          409, "not-fit-for-duty")
    assert "grade level_2 or above (holds level_1)" in body["missing"]
    claimable = (await client.get("/v1/me/orders", headers=me(untrained))).json()["orders"]
    assert [c["order_id"] for c in claimable] == [o["order_id"]]
    assert_problem(await client.get("/v1/me/orders", headers=token("volunteers:respond", client="resident-1")),
                   403, "not-a-volunteer")


async def test_an_order_unanswered_past_its_deadline_goes_back_to_its_assigner(client, token, city, volunteers_app):
    o = await placed(client, token, city)
    await client.post(f"/v1/orders/{o['order_id']}/publication", headers=token())
    service = volunteers_app.state.orders
    assert await service.return_unanswered(10) == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=73)
    service.clock = lambda: later
    assert await service.return_unanswered(10) == 1
    back = (await client.get(f"/v1/orders/{o['order_id']}", headers=token())).json()
    assert back["status"] == "placed" and back["history"][-1]["event"] == "ServiceOrderReturned"
    assert await service.return_unanswered(10) == 0


async def test_bad_orders_are_4xx_problems(client, token, city):
    orderer = token("volunteers:order", client="resident-1")
    assert_problem(await client.post("/v1/orders", json=order(city, kind="teleport"), headers=orderer),
                   422, "unknown-order-kind")
    assert_problem(await client.post("/v1/orders", json=order(city, contact_phone="call me"), headers=orderer),
                   422, "validation-failed")
    assert_problem(await client.post("/v1/orders", json=order(city, description="x" * 5000), headers=orderer),
                   422, "validation-failed")
    other = community(city, 1).code
    assert_problem(await client.post("/v1/orders", json=order(city), headers=token(
        "volunteers:order", client="resident-1", jurisdiction=[other])), 403, "outside-your-jurisdiction")
    assert_problem(await client.post("/v1/orders", json=order(city), headers=token("volunteers:read")), 403, "forbidden")

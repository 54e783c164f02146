"""Joint dispatch (联调) on the real stack: an alarm on alarms.events puts the right forces on
the road, and the plan follows what the units answer and report."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from linkduty_shared.events.envelope import envelope_from_kafka
from linkduty_shared.jurisdictions import Level
from tests.conftest import eventually
from tests.integration.units.conftest import alarm_reported


def distance(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def stations_by_distance(city, lat, lon) -> list[str]:
    """The test's own oracle: every station shares one turnout, so travel-time order is distance order."""
    return [f.id for f in sorted(city.forces("fire_rescue_station"), key=lambda f: (distance(lat, lon, f.lat, f.lon), f.id))]


def covering(city, kind: str, code: str) -> str:
    (force,) = [f for f in city.forces(kind) if f.division_code == code]
    return force.id


@pytest.fixture
def place(city):
    """A community's representative point, and the chain it resolves to."""
    community = city.divisions(Level.COMMUNITY)[37]
    chain = city.resolve(community.lat, community.lon)
    return community.lat, community.lon, chain


async def report(publish_alarm_event, city, place, **kw) -> str:
    alarm_id = str(uuid.uuid4())
    lat, lon, _ = place
    await publish_alarm_event(alarm_id, "AlarmReported", {"alarm_id": alarm_id, **alarm_reported(city, lat, lon, **kw)}, 1)
    return alarm_id


async def orders(client, token, alarm_id: str, count: int) -> dict[str, dict]:
    """The dispatch's orders by unit once it has `count` of them."""
    async def ready():
        r = await client.get(f"/v1/dispatches/{alarm_id}", headers=token())
        return r.status_code == 200 and len(r.json()["orders"]) >= count and r.json()
    body = await eventually(ready, what=f"{count} orders for {alarm_id}")
    return {o["unit_id"]: o for o in body["orders"]}


def by_role(found: dict[str, dict], role: str) -> list[str]:
    return [unit for unit, o in found.items() if o["role"] == role]


async def status(client, token, unit_id: str, new: str, **extra):
    return await client.post(f"/v1/units/{unit_id}/status", json={"status": new, **extra}, headers=token())


async def test_an_alarm_sends_the_nearest_station_and_its_street_and_community_teams(
        client, token, city, place, publish_alarm_event, units_topics, kafka_bootstrap):
    lat, lon, chain = place
    alarm_id = await report(publish_alarm_event, city, place)
    found = await orders(client, token, alarm_id, 3)
    assert by_role(found, "main") == [stations_by_distance(city, lat, lon)[0]]
    assert by_role(found, "auxiliary_1") == [covering(city, "street_team", chain.street.code)]
    assert by_role(found, "auxiliary_2") == [covering(city, "community_squad", chain.community.code)]
    assert all(o["status"] == "issued" for o in found.values())
    for unit_id in found:
        unit = (await client.get(f"/v1/units/{unit_id}", headers=token())).json()
        assert unit["status"] == "dispatched" and unit["alarm_id"] == alarm_id
        assert unit["orders"][0]["alarm_id"] == alarm_id

    # The dispatch record reaches units.events keyed by the alarm id (so linkage sees it on the alarm's partition).
    consumer = AIOKafkaConsumer(units_topics["events"], bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                                group_id=None)
    await consumer.start()
    try:
        seen = {}
        async def planned():
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    e = envelope_from_kafka(r.headers, r.key, r.value)
                    seen.setdefault(e.event_name, []).append((r.key.decode(), e))
            return len(seen.get("DispatchOrderIssued", [])) == 3
        await eventually(planned, what="the plan on units.events")
        key, plan = seen["DispatchPlanned"][0]
        assert key == alarm_id and plan.data["run_card"] == "fire.moderate" and plan.data["trigger"] == "AlarmReported"
        assert plan.correlationid == f"corr-{alarm_id}"
        assert {k for k, _ in seen["DispatchOrderIssued"]} == {alarm_id}
        assert {k for k, _ in seen["UnitDispatched"]} == set(found)  # a unit's own stream: keyed by the unit
    finally:
        await consumer.stop()


async def test_a_redelivered_alarm_reported_plans_nothing_more(client, token, city, place, publish_alarm_event, dispatcher):
    alarm_id = await report(publish_alarm_event, city, place)
    await orders(client, token, alarm_id, 3)
    _, _, chain = place
    data = {"alarm_id": alarm_id, **alarm_reported(city, place[0], place[1])}
    await publish_alarm_event(alarm_id, "AlarmReported", data, 1)
    await publish_alarm_event(alarm_id, "CallLinked", {"call_id": "c2"}, 2)  # a later event: the first is behind us
    await asyncio.sleep(1.0)
    dispatch = await dispatcher.dispatches.get(alarm_id)
    assert dispatch.plans == 1 and len(dispatch.orders) == 3


async def test_an_out_of_service_station_is_passed_over_and_the_plan_says_why(
        client, token, city, place, publish_alarm_event, dispatcher):
    lat, lon, _ = place
    nearest, second = stations_by_distance(city, lat, lon)[:2]
    assert (await status(client, token, nearest, "out_of_service", reason="pump failure")).status_code == 200
    alarm_id = await report(publish_alarm_event, city, place)
    found = await orders(client, token, alarm_id, 3)
    assert by_role(found, "main") == [second]
    events = await dispatcher.store.load(alarm_id)
    plan = next(e for e in events if e.event_type == "DispatchPlanned").data
    assert {"force_id": nearest, "role": "main", "why": "out of service"} in plan["skipped"]


async def test_a_decline_orders_the_next_station_and_frees_the_one_that_declined(
        client, token, city, place, publish_alarm_event):
    lat, lon, _ = place
    nearest, second = stations_by_distance(city, lat, lon)[:2]
    alarm_id = await report(publish_alarm_event, city, place)
    await orders(client, token, alarm_id, 3)
    r = await client.post(f"/v1/dispatches/{alarm_id}/orders/{nearest}/decline",
                          json={"reason": "crew on a training drill"}, headers=token("units:report", client=nearest))
    assert r.status_code == 200, r.text
    found = {o["unit_id"]: o for o in r.json()["orders"]}
    assert found[nearest]["status"] == "declined" and "training drill" in found[nearest]["why_ended"]
    assert found[second]["status"] == "issued" and found[second]["role"] == "main"
    assert (await client.get(f"/v1/units/{nearest}", headers=token())).json()["status"] == "available"
    # declining twice is refused: the order has ended
    again = await client.post(f"/v1/dispatches/{alarm_id}/orders/{nearest}/decline", json={"reason": "x"},
                              headers=token("units:report", client=nearest))
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("answer_within_s", [1.5])
async def test_an_order_not_answered_in_time_goes_to_the_next_candidate(
        client, token, city, place, publish_alarm_event, dispatcher, answer_within_s):
    lat, lon, _ = place
    nearest, second = stations_by_distance(city, lat, lon)[:2]
    alarm_id = await report(publish_alarm_event, city, place)
    found = await orders(client, token, alarm_id, 3)
    for unit_id in by_role(found, "auxiliary_1") + by_role(found, "auxiliary_2"):
        r = await client.post(f"/v1/dispatches/{alarm_id}/orders/{unit_id}/acknowledge", json={"eta_s": 180},
                              headers=token("units:report", client=unit_id))
        assert r.status_code == 200, r.text
    found = await orders(client, token, alarm_id, 4)
    assert found[nearest]["status"] == "unanswered" and found[second]["status"] == "issued"
    r = await client.post(f"/v1/dispatches/{alarm_id}/orders/{second}/acknowledge", json={"eta_s": 300},
                          headers=token("units:report", client=second))
    assert r.status_code == 200
    events = [e for e in await dispatcher.store.load(alarm_id)]
    replacement = [e for e in events if e.event_type == "DispatchOrderIssued" and e.data["unit_id"] == second][0]
    assert replacement.data["replaces"] == nearest
    assert any(e.event_type == "DispatchOrderUnanswered" and e.data["unit_id"] == nearest for e in events)
    assert (await client.get(f"/v1/units/{nearest}", headers=token())).json()["status"] == "available"


async def test_the_squad_takes_command_and_hands_it_to_the_station_on_arrival(
        client, token, city, place, publish_alarm_event, dispatcher):
    alarm_id = await report(publish_alarm_event, city, place)
    found = await orders(client, token, alarm_id, 3)
    (station,), (squad,) = by_role(found, "main"), by_role(found, "auxiliary_2")
    assert (await status(client, token, squad, "on_scene")).status_code == 200  # arriving without en route first
    assert (await status(client, token, station, "en_route", eta_s=240)).status_code == 200
    assert (await status(client, token, station, "on_scene")).status_code == 200
    operation = (await client.get(f"/v1/dispatches/{alarm_id}/operation", headers=token())).json()
    assert operation["commander"] == {"unit_id": station, "role": "main"}
    assert operation["on_scene"] == {squad: "auxiliary_2", station: "main"}
    names = [e.event_type for e in await dispatcher.store.load(f"{alarm_id}/operation")]
    assert names == ["JointOperationOpened", "UnitJoinedOperation", "CommandTaken", "UnitJoinedOperation",
                     "CommandHandedOver"]
    dispatch = (await client.get(f"/v1/dispatches/{alarm_id}", headers=token())).json()
    states = {o["unit_id"]: o["status"] for o in dispatch["orders"]}
    assert states[station] == "on_scene" and states[squad] == "on_scene"
    log = await client.post(f"/v1/dispatches/{alarm_id}/operation/log", json={"entry": "fire knocked down"},
                            headers=token())
    assert log.status_code == 201 and log.json()["log"][-1]["entry"] == "fire knocked down"
    # back to base: the order shows it left the scene; the unit is available again
    assert (await status(client, token, station, "returning")).status_code == 200
    assert (await status(client, token, station, "available")).status_code == 200
    dispatch = (await client.get(f"/v1/dispatches/{alarm_id}", headers=token())).json()
    assert {o["unit_id"]: o["status"] for o in dispatch["orders"]}[station] == "left_scene"
    assert (await client.get(f"/v1/units/{station}", headers=token())).json()["status"] == "available"


async def test_an_illegal_status_change_is_refused_with_409_and_changes_nothing(client, token, city):
    unit_id = city.forces("fire_rescue_station")[0].id
    r = await status(client, token, unit_id, "on_scene")
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert "cannot report arrival while available" in r.json()["detail"]
    unit = (await client.get(f"/v1/units/{unit_id}", headers=token())).json()
    assert unit["status"] == "available" and unit["version"] == 1
    bad = await status(client, token, unit_id, "dispatched")
    assert bad.status_code == 422  # dispatched is given by dispatch, not reported


async def test_only_the_unit_itself_or_a_centre_over_it_may_report_its_status(client, token, city):
    unit_id, other = [f.id for f in city.forces("street_team")[:2]]
    r = await client.post(f"/v1/units/{unit_id}/status", json={"status": "out_of_service", "reason": "x"},
                          headers=token("units:report", client=other))
    assert r.status_code == 403
    outside = [d.code for d in city.divisions(Level.DISTRICT)
               if d.code != city.division(city.division(
                   next(f for f in city.forces("street_team") if f.id == unit_id).division_code).parent).code]
    r = await client.post(f"/v1/units/{unit_id}/status", json={"status": "out_of_service", "reason": "x"},
                          headers=token("units:operate", "units:read", jurisdiction=outside[:1]))
    assert r.status_code == 404


async def test_a_cancelled_alarm_recalls_every_unit_not_yet_on_scene(
        client, token, city, place, publish_alarm_event, dispatcher):
    alarm_id = await report(publish_alarm_event, city, place)
    found = await orders(client, token, alarm_id, 3)
    (squad,) = by_role(found, "auxiliary_2")
    assert (await status(client, token, squad, "on_scene")).status_code == 200
    await publish_alarm_event(alarm_id, "AlarmCancelled", {"by": "caller", "reason": "false call"}, 2)

    async def ended():
        body = (await client.get(f"/v1/dispatches/{alarm_id}", headers=token())).json()
        return body["ended"] and body
    body = await eventually(ended, what="the dispatch ended")
    states = {o["unit_id"]: o["status"] for o in body["orders"]}
    assert states[squad] == "on_scene"  # on scene: stays until it reports returning
    for unit_id in set(found) - {squad}:
        assert states[unit_id] == "stood_down"
        assert (await client.get(f"/v1/units/{unit_id}", headers=token())).json()["status"] == "available"


async def test_the_last_available_station_of_a_district_leaving_suggests_a_move_up(
        client, token, city, place, publish_alarm_event, dispatcher):
    lat, lon, chain = place
    nearest = stations_by_distance(city, lat, lon)[0]
    district = next(f for f in city.forces("fire_rescue_station") if f.id == nearest).division_code
    for other in [f.id for f in city.forces("fire_rescue_station") if f.division_code == district and f.id != nearest]:
        assert (await status(client, token, other, "out_of_service", reason="drill")).status_code == 200
    alarm_id = await report(publish_alarm_event, city, place)
    await orders(client, token, alarm_id, 3)
    events = await dispatcher.store.load(alarm_id)
    (move,) = [e.data for e in events if e.event_type == "MoveUpSuggested"]
    assert move["station_id"] == nearest and move["area_code"] == district
    cover = next(f for f in city.forces("fire_rescue_station") if f.id == move["cover_from"])
    assert cover.division_code != district


async def test_a_squad_off_duty_by_its_roster_is_passed_over_for_the_nearest_micro_fire_station(
        client, token, city, place, publish_alarm_event, dispatcher):
    lat, lon, chain = place
    squad = covering(city, "community_squad", chain.community.code)
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    r = await client.post(f"/v1/units/{squad}/roster/shifts", headers=token(), json={
        "start": tomorrow.isoformat(), "end": (tomorrow + dt.timedelta(hours=12)).isoformat(), "members": 6})
    assert r.status_code == 201, r.text
    alarm_id = await report(publish_alarm_event, city, place)
    found = await orders(client, token, alarm_id, 3)
    micro = sorted(city.forces("micro_fire_station"), key=lambda f: (distance(lat, lon, f.lat, f.lon), f.id))[0]
    assert by_role(found, "auxiliary_2") == [micro.id]
    plan = next(e for e in await dispatcher.store.load(alarm_id) if e.event_type == "DispatchPlanned").data
    assert {"force_id": squad, "role": "auxiliary_2", "why": "off duty"} in plan["skipped"]


async def test_a_severity_raised_to_major_adds_the_second_station_and_keeps_the_first(
        client, token, city, place, publish_alarm_event):
    lat, lon, _ = place
    nearest, second = stations_by_distance(city, lat, lon)[:2]
    alarm_id = await report(publish_alarm_event, city, place)
    await orders(client, token, alarm_id, 3)
    await publish_alarm_event(alarm_id, "AlarmUpdated", {"changes": {"severity": "major"}, "by": "centre", "cap": None}, 2)
    found = await orders(client, token, alarm_id, 4)
    assert sorted(by_role(found, "main")) == sorted([nearest, second])
    assert all(o["status"] == "issued" for o in found.values())


async def test_an_alarm_recorded_long_ago_is_not_dispatched_but_a_call_from_a_backlog_is(
        client, token, city, place, publish_alarm_event, dispatcher, units_app):
    """The rule reads LinkDuty's clock (when the alarm was recorded), not the caller's: an old
    record read again plans nothing; a call the intake took two hours ago and sends only now, after
    its outage, is planned like any other."""
    lat, lon, _ = place
    now = dt.datetime.now(dt.UTC)
    old, backlog = str(uuid.uuid4()), str(uuid.uuid4())
    await publish_alarm_event(old, "AlarmReported", {"alarm_id": old, **alarm_reported(city, lat, lon)}, 1,
                              recorded_at=now - dt.timedelta(days=2))
    taken_late = alarm_reported(city, lat, lon) | {"received_at": (now - dt.timedelta(hours=2)).isoformat()}
    await publish_alarm_event(backlog, "AlarmReported", {"alarm_id": backlog, **taken_late}, 1)
    await orders(client, token, backlog, 3)
    await eventually(lambda: units_app.state.alarm_consumer.processed >= 2, what="both alarms consumed")
    assert not (await dispatcher.dispatches.load(old)).exists


async def test_an_escalation_that_finds_nothing_new_records_no_new_plan(client, token, city, place,
                                                                       publish_alarm_event, dispatcher, units_app):
    alarm_id = await report(publish_alarm_event, city, place)
    await orders(client, token, alarm_id, 3)
    await publish_alarm_event(alarm_id, "AlarmEscalated", {"from_level": "community", "to_level": "street",
                                                          "reason": "not acknowledged"}, 2)
    await eventually(lambda: units_app.state.alarm_consumer.processed >= 2, what="the escalation consumed")
    assert (await dispatcher.dispatches.get(alarm_id)).plans == 1  # the card was full: nothing to add, nothing to say


async def test_another_aggregates_id_read_as_a_dispatch_is_a_404(client, token):
    """A unit's stream read as a dispatch had answered 500 (KeyError: 'jurisdiction')."""
    unit_id = (await client.get("/v1/units?limit=1", headers=token())).json()["units"][0]["unit_id"]
    assert (await client.get(f"/v1/units/{unit_id}", headers=token())).status_code == 200
    r = await client.get(f"/v1/dispatches/{unit_id}", headers=token())
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", r.text


async def test_a_unit_answering_a_dispatch_it_has_no_order_in_gets_the_404_of_no_dispatch(
        client, token, city, place, publish_alarm_event):
    lat, lon, _ = place
    alarm_id = await report(publish_alarm_event, city, place)
    ordered = await orders(client, token, alarm_id, 3)
    bystander = next(s for s in stations_by_distance(city, lat, lon) if s not in ordered)
    answers = []
    for target in (alarm_id, str(uuid.uuid4())):
        r = await client.post(f"/v1/dispatches/{target}/orders/{bystander}/acknowledge", json={"eta_s": 60},
                              headers=token("units:report", client=bystander))
        assert r.status_code == 404, r.text
        answers.append({k: v.replace(target, "<alarm>") for k, v in r.json().items() if isinstance(v, str)})
    assert answers[0] == answers[1]


async def test_a_centre_recalls_a_unit_before_it_arrives_and_no_replacement_is_sent(
        client, token, city, place, publish_alarm_event):
    lat, lon, chain = place
    alarm_id = await report(publish_alarm_event, city, place)
    found = await orders(client, token, alarm_id, 3)
    (team,), (squad,) = by_role(found, "auxiliary_1"), by_role(found, "auxiliary_2")
    outside = next(d.code for d in city.divisions(Level.DISTRICT) if d.code != chain.district.code)
    r = await client.post(f"/v1/dispatches/{alarm_id}/orders/{team}/stand-down", json={"reason": "squad suffices"},
                          headers=token(jurisdiction=[outside]))
    assert r.status_code == 404  # a dispatch outside the caller's jurisdiction is not there for it
    r = await client.post(f"/v1/dispatches/{alarm_id}/orders/{team}/stand-down", json={"reason": "squad suffices"},
                          headers=token(jurisdiction=[chain.street.code]))
    assert r.status_code == 200, r.text
    states = {o["unit_id"]: (o["status"], o["why_ended"]) for o in r.json()["orders"]}
    assert states[team] == ("stood_down", "squad suffices") and len(states) == 3
    assert (await client.get(f"/v1/units/{team}", headers=token())).json()["status"] == "available"
    assert (await status(client, token, squad, "on_scene")).status_code == 200
    late = await client.post(f"/v1/dispatches/{alarm_id}/orders/{squad}/stand-down", json={"reason": "x"},
                             headers=token())
    assert late.status_code == 409  # on scene: it reports returning instead

"""Joint dispatch across the services, as deployed: a 119 call to the alarms service puts forces
on the road through the units service, every centre that sees the alarm sees the dispatch and
the units' progress (linkage), and the units' arrival is reflected on the alarm."""

from __future__ import annotations

import uuid

import httpx
import pytest

from linkduty_shared.jurisdictions import Level
from tests.conftest import eventually
from tests.e2e.conftest import own_schema
from tests.e2e.test_critical_path import NotificationReader, report
from units.bootstrap import build_app
from units.config import UnitsSettings


@pytest.fixture(scope="module")
async def units(test_dsn, kafka_bootstrap, topics, issuer, linkage_worker):
    async with own_schema(test_dsn, "e2e_units") as dsn:
        settings = UnitsSettings(
            service_name=f"units-e2e-{uuid.uuid4().hex[:6]}", pg_dsn=dsn, kafka_bootstrap=kafka_bootstrap,
            auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer,
            events_topic=topics["units"], alarms_topic=topics["alarms"],
        )
        app = build_app(settings)
        async with app.router.lifespan_context(app):
            await eventually(lambda: app.state.alarm_consumer.assigned.is_set(), what="units consumer assigned")
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://units") as client:
                yield client


async def test_a_119_call_dispatches_forces_that_every_centre_watches_arrive(
        alarms, units, token, issuer, city, topics, kafka_bootstrap):
    community = city.divisions(level=Level.COMMUNITY)[123]
    chain = city.resolve(community.lat, community.lon)
    centres = set(chain.centre_ids())
    centre_token = {"Authorization": "Bearer " + issuer.issue(
        "district-centre", ["units:read", "units:operate"], jurisdiction=[chain.district.code])}
    async with NotificationReader(kafka_bootstrap, topics["notifications"]) as reader:
        alarm = (await alarms.post("/v1/alarms", json=report(community.lat, community.lon), headers=token())).json()
        alarm_id = alarm["alarm_id"]

        # the units service planned it: three orders under 一主两辅
        async def planned():
            r = await units.get(f"/v1/dispatches/{alarm_id}", headers=centre_token)
            return r.status_code == 200 and len(r.json()["orders"]) == 3 and r.json()
        dispatch = await eventually(planned, timeout=60, what="the dispatch")
        roles = {o["role"]: o["unit_id"] for o in dispatch["orders"]}
        assert set(roles) == {"main", "auxiliary_1", "auxiliary_2"}

        # every centre of the alarm sees the plan and the orders on its stream
        def told(event_type: str, count: int = 1):
            return lambda: {n.centre_id for n in reader.about(alarm_id, event_type)} == centres and \
                len(reader.about(alarm_id, event_type)) >= count * len(centres)
        await eventually(told("DispatchPlanned"), timeout=60, what="the plan on every centre's stream")
        plan = reader.about(alarm_id, "DispatchPlanned")[0].event_data  # whom it sends, and why
        assert {a["role"]: a["force_id"] for a in plan["assignments"]} == roles

        # the squad's app: on scene first; the station: acknowledges, sets off, arrives
        squad, station = roles["auxiliary_2"], roles["main"]
        own = lambda unit: {"Authorization": "Bearer " + issuer.issue(unit, ["units:report"], jurisdiction=[""])}  # noqa: E731
        assert (await units.post(f"/v1/units/{squad}/status", json={"status": "on_scene"}, headers=own(squad))).status_code == 200
        r = await units.post(f"/v1/dispatches/{alarm_id}/orders/{station}/acknowledge", json={"eta_s": 300},
                             headers=own(station))
        assert r.status_code == 200, r.text
        for status in ("en_route", "on_scene"):
            r = await units.post(f"/v1/units/{station}/status", json={"status": status}, headers=own(station))
            assert r.status_code == 200, r.text

        # the alarm shows both units on scene (alarms consumed units.events) …
        async def on_scene():
            a = (await alarms.get(f"/v1/alarms/{alarm_id}", headers=token())).json()
            return len(a.get("forces_on_scene", [])) == 2 and a
        a = await eventually(on_scene, timeout=60, what="arrivals on the alarm")
        assert {f["unit_id"]: f["role"] for f in a["forces_on_scene"]} == {squad: "auxiliary_2", station: "main"}
        # … and every centre saw the arrivals and the command handed to the main force
        await eventually(told("DispatchedUnitArrived", 2), timeout=60, what="arrivals on every centre's stream")
        await eventually(told("CommandHandedOver"), timeout=60, what="the handover on every centre's stream")
        handover = reader.about(alarm_id, "CommandHandedOver")[0]
        assert handover.event_data["to_unit"] == station and handover.event_data["from_unit"] == squad
        await eventually(told("ForceArrivedOnScene", 2), timeout=60, what="the alarm's own arrival events")

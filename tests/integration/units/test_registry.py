"""The registry through the API: registering a force, reading a unit, and who sees which unit (a
centre over it, and the unit's own app; anyone else gets the 404 of a unit that does not exist)."""

from __future__ import annotations

from linkduty_shared.jurisdictions import Level

from units.domain.unit import default_complement

COMMUNITY, OTHER_DISTRICT = "330102001001", "330105000000"
PROBLEM = "application/problem+json"


def civil_team(city, **overrides) -> dict:
    here = city.division(COMMUNITY)
    return {"unit_id": "civil-blue-sky-01", "force_kind": "civil_rescue_team", "name": "蓝天救援队西湖分队",
            "division_code": COMMUNITY, "lat": here.lat, "lon": here.lon, "members": 12, **overrides}


async def test_a_registered_force_brings_what_its_kind_brings_and_reaches_the_planner(client, token, city, registry):
    r = await client.post("/v1/units", json=civil_team(city), headers=token())
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == "/v1/units/civil-blue-sky-01" and r.headers["ETag"] == '"1"'
    unit, brings = r.json(), default_complement("civil_rescue_team")
    assert unit["members"] == 12  # given: kept
    assert unit["appliances"] == brings["appliances"] and unit["capabilities"] == brings["capabilities"]
    assert (unit["status"], unit["alarm_id"], unit["version"]) == ("available", None, 1)
    assert registry.forces.force("civil-blue-sky-01").division_code == COMMUNITY

    read = await client.get("/v1/units/civil-blue-sky-01", headers=token())
    assert read.status_code == 200 and read.json() == {**unit, "orders": []}
    listed = (await client.get("/v1/units", headers=token(), params={"kind": "civil_rescue_team"})).json()["units"]
    assert [u["unit_id"] for u in listed] == ["civil-blue-sky-01"]

    again = await client.post("/v1/units", json=civil_team(city, name="another name"), headers=token())
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert again.json()["type"].endswith("/already-registered")


async def test_a_force_in_an_unknown_or_a_foreign_division_is_not_registered(client, token, city):
    r = await client.post("/v1/units", json=civil_team(city, division_code="999"), headers=token())
    assert r.status_code == 422 and r.json()["type"].endswith("/unknown-division")
    r = await client.post("/v1/units", json=civil_team(city), headers=token(jurisdiction=[OTHER_DISTRICT]))
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    assert (await client.get("/v1/units/civil-blue-sky-01", headers=token())).status_code == 404


async def test_a_unit_is_seen_by_the_centres_over_it_and_by_its_own_app(client, token, city):
    team = next(f for f in city.forces("street_team")
                if OTHER_DISTRICT not in city.lineage(f.division_code))
    district = next(code for code in city.lineage(team.division_code) if city.division(code).level == Level.DISTRICT)
    url = f"/v1/units/{team.id}"
    assert (await client.get(url, headers=token("units:read", jurisdiction=[district]))).status_code == 200
    # its own app sees itself, with no units:read and no jurisdiction over it
    own = await client.get(url, headers=token("units:report", client=team.id, jurisdiction=[OTHER_DISTRICT]))
    assert own.status_code == 200 and own.json()["unit_id"] == team.id
    assert (await client.get(url, headers=token("units:report", client="another-unit"))).status_code == 403

    foreign = await client.get(url, headers=token("units:read", jurisdiction=[OTHER_DISTRICT]))
    unknown = await client.get("/v1/units/no-such-unit", headers=token("units:read", jurisdiction=[OTHER_DISTRICT]))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["detail"].replace(team.id, "<unit>") == unknown.json()["detail"].replace("no-such-unit", "<unit>")

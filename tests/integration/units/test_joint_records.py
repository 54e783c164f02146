"""The joint records (联勤 rosters, 联防 patrols, 联训 trainings) on the real PostgreSQL: the roster
the dispatch planner reads, and each record's lifecycle through the API and its read model."""

from __future__ import annotations

import datetime as dt

import pytest

from linkduty_shared.application import CommandContext
from linkduty_shared.auth import Principal
from linkduty_shared.db import migrate
from linkduty_shared.domain import InvariantViolated
from linkduty_shared.eventstore import EventStore
from linkduty_shared.jurisdictions import load_demo_city
from linkduty_shared.projections import StoreProjectionRunner

from units.domain.availability import Availability, DutyWindow, PlanningStatus
from units.projections.duty_shifts import DutyShifts, on_duty_now, roster_at
from units.projections.joint_records import JointPatrols, JointTrainings
from units.application import RECORDS_DDL, JointRecords

CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 3, 2, 12, tzinfo=CST)
CTX = CommandContext(actor="test-centre")
PROBLEM = "application/problem+json"


def hours(h: float) -> dt.datetime:
    return NOW + dt.timedelta(hours=h)


@pytest.fixture
async def records(pool) -> JointRecords:
    await migrate(pool, *RECORDS_DDL)
    # The registry's board, as far as the joint records read it: which forces exist, and where.
    await pool.execute("CREATE TABLE unit_board (unit_id text, division_code text, within text[])")
    await pool.execute("INSERT INTO unit_board SELECT unit_id, '330102001001', '{330102001001,330102001000,330102000000}'"
                       " FROM unnest($1::text[]) AS unit_id", ["squad-a", "squad-b", "squad-c", "team-b"])
    return JointRecords(EventStore(pool), load_demo_city(), topic=None)


async def schedule(records: JointRecords, force_id: str, shift_id: str, start: dt.datetime, end: dt.datetime,
                   members: int):
    return await records.schedule_shift(force_id, shift_id, CTX, start=start, end=end, members=members)


# ---- the roster the planner reads ---------------------------------------------------------

async def test_roster_at_gives_the_planner_on_and_off_duty_forces(records, pool):
    await schedule(records, "squad-a", "day", hours(-4), hours(6), 5)
    await schedule(records, "squad-a", "next-day", hours(20), hours(30), 5)
    await schedule(records, "squad-b", "yesterday", hours(-30), hours(-20), 3)
    await schedule(records, "squad-c", "cancelled", hours(-1), hours(1), 3)
    await records.cancel_shift("squad-c", "cancelled", CTX, reason="crew at a drill")

    async with pool.acquire() as conn:
        roster = await roster_at(conn, NOW)
        assert roster.windows == {
            "squad-a": (DutyWindow(hours(-4), hours(6)), DutyWindow(hours(20), hours(30))),
            "squad-b": (),  # a roster with only past shifts: listed, off duty
            "squad-c": (),  # its one shift cancelled
        }
        assert await on_duty_now(conn, "squad-a", NOW) and not await on_duty_now(conn, "squad-a", hours(10))
        assert await on_duty_now(conn, "station-without-roster", NOW)
        assert not await on_duty_now(conn, "squad-c", NOW)
        later = await roster_at(conn, hours(8))
    assert later.windows["squad-a"] == (DutyWindow(hours(20), hours(30)),)  # the ended shift is gone

    availability = Availability({}, roster)
    assert availability.status("squad-a", NOW) == PlanningStatus.AVAILABLE  # inside its shift
    assert availability.status("squad-a", hours(10)) == PlanningStatus.OFF_DUTY  # between shifts
    assert availability.status("squad-a", hours(21)) == PlanningStatus.AVAILABLE
    assert availability.status("squad-b", NOW) == PlanningStatus.OFF_DUTY
    assert availability.status("squad-c", NOW) == PlanningStatus.OFF_DUTY
    assert availability.status("fs-without-roster", NOW) == PlanningStatus.AVAILABLE  # no roster: always on duty


async def test_an_overlapping_shift_is_refused_and_nothing_is_written(records, pool):
    await schedule(records, "squad-a", "s1", hours(0), hours(12), 4)
    with pytest.raises(InvariantViolated, match="overlaps shift s1"):
        await schedule(records, "squad-a", "s2", hours(11), hours(14), 4)
    assert await pool.fetchval("SELECT count(*) FROM duty_shifts") == 1
    assert await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = 'squad-a/roster'") == 1


async def test_the_read_models_rebuilt_from_the_store_match_the_inline_ones(records, pool):
    await schedule(records, "squad-a", "s1", hours(0), hours(12), 4)
    await schedule(records, "squad-a", "s2", hours(12), hours(24), 4)
    await records.cancel_shift("squad-a", "s1", CTX)
    district = Principal("district-console", frozenset(), ("330102000000",))
    patrol = await records.plan_patrol(CTX, district, division_code="330102001001", forces=["squad-a", "team-b"],
                                       start=hours(1), end=hours(3))
    await records.start_patrol(patrol.id, CTX, district)
    training = await records.schedule_training(CTX, district, topic="hose lay", division_code="330102001000",
                                               at=hours(48), forces=["squad-a", "team-b"])
    await records.record_attendance(training.id, CTX, district, force_id="squad-a", present=5)
    await records.record_attendance(training.id, CTX, district, force_id="squad-a", present=4)

    queries = ("SELECT * FROM duty_shifts ORDER BY shift_id", "SELECT * FROM duty_rosters",
               "SELECT * FROM joint_patrols", "SELECT * FROM joint_trainings")
    inline = [[dict(r) for r in await pool.fetch(q)] for q in queries]
    assert inline[3][0]["present"] == 4 and inline[3][0]["attendance"] == {"squad-a": 4}
    for projection in (DutyShifts(records.directory), JointPatrols(records.directory), JointTrainings(records.directory)):
        await StoreProjectionRunner(records.store, pool, projection).rebuild()
    assert [[dict(r) for r in await pool.fetch(q)] for q in queries] == inline


# ---- through the API ----------------------------------------------------------------------

SQUAD, TEAM, STATION = "squad-330102001001", "team-330102001000", "fs-330102-01"
COMMUNITY, STREET, DISTRICT = "330102001001", "330102001000", "330102000000"
OTHER_DISTRICT = "330105000000"


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


async def test_a_roster_through_the_api(client, token):
    headers = token()
    url = f"/v1/units/{SQUAD}/roster"
    r = await client.get(url, headers=headers)
    assert r.status_code == 200 and r.json()["rostered"] is False and r.json()["on_duty_now"] is True

    now = dt.datetime.now(dt.UTC)
    r = await client.post(f"{url}/shifts", headers=headers,
                          json={"shift_id": "now", "start": iso(now - dt.timedelta(hours=1)),
                                "end": iso(now + dt.timedelta(hours=7)), "members": 6})
    assert r.status_code == 201 and r.headers["ETag"] == '"1"' and r.headers["Location"] == f"{url}/shifts/now"
    tomorrow = {"start": iso(now + dt.timedelta(hours=23)), "end": iso(now + dt.timedelta(hours=31)), "members": 4}
    r = await client.put(f"{url}/shifts/tomorrow", headers=headers, json=tomorrow)
    assert r.status_code == 201 and r.headers["ETag"] == '"2"'
    r = await client.put(f"{url}/shifts/tomorrow", headers=headers, json=tomorrow)  # a retried PUT
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'

    r = await client.put(f"{url}/shifts/clash", headers=headers,
                         json={**tomorrow, "start": iso(now + dt.timedelta(hours=6))})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM and "overlaps shift now" in r.json()["detail"]
    r = await client.put(f"{url}/shifts/naive", headers=headers,
                         json={"start": "2026-03-02T08:00:00", "end": "2026-03-02T09:00:00", "members": 2})
    assert r.status_code == 422 and r.json()["errors"][0]["location"][-1] == "start"
    r = await client.put(f"{url}/shifts/backwards", headers=headers,
                         json={**tomorrow, "end": tomorrow["start"], "start": tomorrow["end"]})
    assert r.status_code == 422 and "end after it starts" in r.json()["errors"][0]["message"]

    body = (await client.get(url, headers=headers)).json()
    assert body["rostered"] and body["on_duty_now"] and [s["shift_id"] for s in body["shifts"]] == ["now", "tomorrow"]
    r = await client.delete(f"{url}/shifts/now", headers={**headers, "If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["on_duty_now"] is False and r.headers["ETag"] == '"3"'
    assert (await client.delete(f"{url}/shifts/unknown", headers=headers)).status_code == 404
    later = await client.get(url, headers=headers, params={"since": iso(now + dt.timedelta(hours=32))})
    assert later.status_code == 200 and later.json()["shifts"] == []
    assert (await client.get(url, headers=headers, params={"since": "2026-03-02T08:00:00"})).status_code == 422

    outsider = token(jurisdiction=[OTHER_DISTRICT])
    assert (await client.get(url, headers=outsider)).status_code == 404
    assert (await client.put(f"{url}/shifts/x", headers=outsider, json=tomorrow)).status_code == 404
    assert (await client.get("/v1/units/no-such-unit/roster", headers=headers)).status_code == 404
    assert (await client.get(url, headers=token("units:operate"))).status_code == 403


async def test_a_roster_reaches_the_planners_availability(client, token, dispatcher):
    now = dt.datetime.now(dt.UTC)
    await client.put(f"/v1/units/{SQUAD}/roster/shifts/later", headers=token(),
                     json={"start": iso(now + dt.timedelta(hours=2)), "end": iso(now + dt.timedelta(hours=4)), "members": 3})
    async with dispatcher.store.pool.acquire() as conn:
        availability = await dispatcher._availability(conn, now)
    assert availability.status(SQUAD, now) == PlanningStatus.OFF_DUTY
    assert availability.status(SQUAD, now + dt.timedelta(hours=3)) == PlanningStatus.AVAILABLE
    assert availability.status(STATION, now) == PlanningStatus.AVAILABLE


async def test_a_joint_patrol_lifecycle(client, token, city):
    headers = token()
    start = dt.datetime.now(CST)
    r = await client.post("/v1/patrols", headers=headers, json={
        "division_code": COMMUNITY, "forces": [SQUAD, TEAM, STATION],
        "planned_start": iso(start), "planned_end": iso(start + dt.timedelta(hours=2))})
    assert r.status_code == 201 and r.json()["status"] == "planned"
    url = r.headers["Location"]
    assert (await client.post(f"{url}/complete", headers=headers, json={"summary": "early"})).status_code == 409
    assert (await client.post(f"{url}/findings", headers=headers,
                              json={"text": "x", "hazard_kind": "other"})).status_code == 409
    r = await client.post(f"{url}/start", headers={**headers, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["status"] == "started" and r.headers["ETag"] == '"2"'
    assert (await client.post(f"{url}/start", headers=headers)).status_code == 409

    here = city.division(COMMUNITY)
    r = await client.post(f"{url}/findings", headers=headers, json={
        "text": "e-bikes charging in the stairwell", "hazard_kind": "e_bike_charging", "lat": here.lat, "lon": here.lon})
    assert r.status_code == 201 and r.json()["findings"][0]["location"] == {"lat": here.lat, "lon": here.lon}
    refused = [
        {"text": "owner 13812345678 stores petrol", "hazard_kind": "flammables_storage"},
        {"text": "blocked exit", "hazard_kind": "arson"},
        {"text": "blocked exit", "hazard_kind": "blocked_passage", "lat": here.lat},
        {"text": "blocked exit", "hazard_kind": "blocked_passage", "lat": city.division(OTHER_DISTRICT).lat,
         "lon": city.division(OTHER_DISTRICT).lon},
    ]
    for body in refused:
        r = await client.post(f"{url}/findings", headers=headers, json=body)
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM, (body, r.json())
    r = await client.post(f"{url}/complete", headers=headers, json={"summary": "1 hazard handed to the street"})
    assert r.status_code == 200 and r.json()["status"] == "completed"

    listed = (await client.get("/v1/patrols", headers=headers, params={"division": STREET})).json()["patrols"]
    assert [(p["patrol_id"], p["status"], p["findings"], p["version"]) for p in listed] == \
        [(url.rsplit("/", 1)[1], "completed", 1, 4)]
    assert (await client.get("/v1/patrols", headers=headers, params={"division": OTHER_DISTRICT})).json()["patrols"] == []
    outsider = token(jurisdiction=[OTHER_DISTRICT])
    assert (await client.get("/v1/patrols", headers=outsider)).json()["patrols"] == []
    assert (await client.get(url, headers=outsider)).status_code == 404
    assert (await client.get(url, headers=token(jurisdiction=[COMMUNITY]))).status_code == 200


async def test_a_patrol_with_unknown_forces_or_division_is_refused(client, token):
    start = dt.datetime.now(CST)
    plan = {"division_code": COMMUNITY, "forces": [SQUAD, "squad-nowhere"], "planned_start": iso(start),
            "planned_end": iso(start + dt.timedelta(hours=1))}
    r = await client.post("/v1/patrols", headers=token(), json=plan)
    assert r.status_code == 422 and r.json()["unknown"] == ["squad-nowhere"]
    r = await client.post("/v1/patrols", headers=token(), json={**plan, "forces": [SQUAD], "division_code": "999"})
    assert r.status_code == 422 and r.json()["type"].endswith("unknown-division")
    r = await client.post("/v1/patrols", headers=token(jurisdiction=[OTHER_DISTRICT]), json={**plan, "forces": [SQUAD]})
    assert r.status_code == 404


async def test_a_joint_training_lifecycle(client, token):
    headers = token()
    r = await client.post("/v1/trainings", headers=headers, json={
        "topic": "high-rise hose lay", "division_code": STREET, "at": iso(dt.datetime.now(CST)),
        "forces": [STATION, TEAM, SQUAD]})
    assert r.status_code == 201 and r.json()["status"] == "scheduled"
    url = r.headers["Location"]
    for force_id, present in ((SQUAD, 5), (TEAM, 8), (SQUAD, 6)):  # the squad's count corrected
        r = await client.post(f"{url}/attendance", headers=headers, json={"force_id": force_id, "present": present})
        assert r.status_code == 200
    assert r.json()["attendance"] == {SQUAD: 6, TEAM: 8} and r.json()["present"] == 14
    r = await client.post(f"{url}/attendance", headers=headers, json={"force_id": "fs-330105-01", "present": 3})
    assert r.status_code == 422 and "not invited" in r.json()["detail"]
    r = await client.post(f"{url}/attendance", headers=headers, json={"force_id": SQUAD, "present": -1})
    assert r.status_code == 422

    r = await client.post(f"{url}/complete", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "completed"
    r = await client.post(f"{url}/attendance", headers=headers, json={"force_id": STATION, "present": 4})
    assert r.status_code == 409
    assert (await client.post(f"{url}/cancel", headers=headers, json={"reason": "late"})).status_code == 409

    listed = (await client.get("/v1/trainings", headers=headers, params={"status": "completed"})).json()["trainings"]
    assert [(t["training_id"], t["present"], t["attendance"]) for t in listed] == \
        [(url.rsplit("/", 1)[1], 14, {SQUAD: 6, TEAM: 8})]
    assert (await client.get(url, headers=token(jurisdiction=[OTHER_DISTRICT]))).status_code == 404


async def test_a_cancelled_training(client, token):
    headers = token()
    r = await client.post("/v1/trainings", headers=headers, json={
        "topic": "smoke hood drill", "division_code": COMMUNITY, "at": iso(dt.datetime.now(CST)), "forces": [SQUAD]})
    url = r.headers["Location"]
    assert (await client.post(f"{url}/complete", headers=headers)).status_code == 422  # no attendance yet
    r = await client.post(f"{url}/cancel", headers=headers, json={"reason": "typhoon warning"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["reason"] == "typhoon warning"
    assert (await client.post(f"{url}/attendance", headers=headers, json={"force_id": SQUAD, "present": 2})).status_code == 409
    listed = (await client.get("/v1/trainings", headers=headers, params={"division": COMMUNITY})).json()["trainings"]
    assert [t["status"] for t in listed] == ["cancelled"]
    r = await client.post("/v1/trainings", headers=headers, json={
        "topic": "x", "division_code": COMMUNITY, "at": iso(dt.datetime.now(CST)), "forces": ["nobody"]})
    assert r.status_code == 422 and r.json()["unknown"] == ["nobody"]


@pytest.mark.parametrize("path, extra", [("/v1/patrols", {}), ("/v1/trainings", {"topic": "hose lay"})])
async def test_a_foreign_force_is_refused_exactly_like_an_unknown_one(client, token, path, extra):
    """A district's operator plans with its own division but names a force of another district:
    refused (it had got 201), with the answer a force that does not exist gets (no existence oracle)."""
    start = dt.datetime.now(CST)
    when = ({"at": iso(start)} if path == "/v1/trainings"
            else {"planned_start": iso(start), "planned_end": iso(start + dt.timedelta(hours=1))})
    operator = token(jurisdiction=[OTHER_DISTRICT])
    answers = {}
    for force_id in (SQUAD, "squad-nowhere"):
        r = await client.post(path, headers=operator, json={"division_code": OTHER_DISTRICT, "forces": [force_id],
                                                            **when, **extra})
        assert r.status_code == 422 and r.json()["unknown"] == [force_id], r.text
        answers[force_id] = r.json()["detail"].replace(force_id, "<force>")
    assert answers[SQUAD] == answers["squad-nowhere"]

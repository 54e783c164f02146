"""The response-interval read model on real PostgreSQL, fed the dispatch aggregate's own events,
and the report over it checked against a hand calculation."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from linkduty_shared.events.envelope import Envelope
from linkduty_shared.jurisdictions import Level, load_demo_city

from units.analytics.response_times import report
from units.domain.dispatch import Dispatch
from units.domain.planner import Assignment, DispatchPlan
from units.projections.response_intervals import ResponseIntervals, alarm_timelines, timelines

T0 = dt.datetime(2026, 11, 2, 0, 0, tzinfo=dt.UTC)
ANSWER = dt.timedelta(seconds=60)


@pytest.fixture(scope="module")
def districts():
    """A grid's jurisdiction in each of two districts of the demo city."""
    city = load_demo_city()
    grids = {}
    for grid in city.divisions(Level.GRID):
        chain = [grid, *city.ancestors(grid.code)]
        grids.setdefault(chain[3].code, {level: d.code for level, d in zip(
            ("grid", "community", "street", "district", "city"), chain, strict=True)})
        if len(grids) == 2:
            return list(grids.values())
    raise AssertionError("the demo city has fewer than two districts")


class Scenario:
    """Drives one Dispatch per alarm; `apply` feeds every event to the projection as an Envelope."""

    def __init__(self) -> None:
        self.dispatches: list[Dispatch] = []
        self.facts: dict[str, dict] = {}  # alarm id → DispatchPlanned.alarm

    def alarm(self, alarm_id: str, received: dt.datetime, jurisdiction: dict, kind: str = "fire") -> Dispatch:
        self.facts[alarm_id] = {
            "kind": kind, "severity": "moderate", "lat": 30.0, "lon": 120.0,
            "community_code": jurisdiction["community"], "street_code": jurisdiction["street"],
            "received_at": received.isoformat(), "jurisdiction": jurisdiction}
        self.dispatches.append(Dispatch(alarm_id))
        return self.dispatches[-1]

    def at(self, d: Dispatch, seconds: float) -> dt.datetime:
        """`seconds` after the call of `d`'s alarm."""
        return dt.datetime.fromisoformat(self.facts[d.id]["received_at"]) + dt.timedelta(seconds=seconds)

    def plan(self, d: Dispatch, after_s: float, *units: tuple[str, str]) -> None:
        assignments = tuple(Assignment(unit, "community_squad" if role == "auxiliary_2" else "fire_rescue_station",
                                       role, 300, "test") for unit, role in units)
        d.record_plan(self.facts[d.id], DispatchPlan(d.id, assignments, (), ()), trigger="AlarmReported",
                      now=self.at(d, after_s), answer_within=ANSWER)

    async def apply(self, conn, projection: ResponseIntervals) -> None:
        async with conn.transaction():
            for d in self.dispatches:
                for version, e in enumerate(d.pending, 1):
                    await projection.apply(conn, Envelope(
                        id=str(uuid.uuid4()), source="/linkduty/units", type=f"linkduty.dispatch.{e.event_type}",
                        subject=d.id, time=T0, data=e.to_data(), streamversion=version))


def build(districts) -> Scenario:
    """Ten fire alarms in district A, one an hour. Alarm i: ordered 30+5i s after the call (engine and
    squad together); the engine sets off 50+5i s after its order and travels 200+10i s; the squad is
    on scene 150+40i s after the call. Besides:
    - alarm 3 also sends engine-3x, which declines;
    - alarm 5 also sends engine-5x, which sets off at once (10 s) and is stood down on the way;
    - alarm 9's engine declines and is ordered again 20 s later: its turnout and travel count from
      the second order, the alarm's processing from the first;
    and three alarms that must not count: one in district B, one received at the period's end, one
    a rescue (counted only without the kind filter)."""
    s = Scenario()
    a, b = districts
    for i in range(10):
        d = s.alarm(f"a{i}", T0 + dt.timedelta(hours=i), a)
        ordered, turnout, travel = 30 + 5 * i, 50 + 5 * i, 200 + 10 * i
        units = [(f"engine-{i}", "main"), (f"squad-{i}", "auxiliary_2")]
        units += {3: [("engine-3x", "main")], 5: [("engine-5x", "main")]}.get(i, [])
        s.plan(d, ordered, *units)
        if i == 3:
            d.decline("engine-3x", reason="appliance in repair", by="engine-3x", at=s.at(d, ordered + 5))
        if i == 5:
            d.unit_en_route("engine-5x", at=s.at(d, ordered + 10))
            d.stand_down("engine-5x", reason="enough units", at=s.at(d, ordered + 60))
        if i == 9:
            d.decline("engine-9", reason="crew at another incident", by="engine-9", at=s.at(d, ordered + 5))
            ordered += 20
            s.plan(d, ordered, ("engine-9", "main"))
        d.unit_en_route(f"squad-{i}", at=s.at(d, ordered + 2))
        d.unit_arrived(f"squad-{i}", at=s.at(d, 150 + 40 * i))
        d.unit_en_route(f"engine-{i}", at=s.at(d, ordered + turnout))
        d.unit_arrived(f"engine-{i}", at=s.at(d, ordered + turnout + travel))
    for alarm_id, received, where, kind in (("b0", T0 + dt.timedelta(hours=1), b, "fire"),
                                            ("late", T0 + dt.timedelta(days=1), a, "fire"),
                                            ("rescue", T0 + dt.timedelta(hours=12), a, "rescue")):
        d = s.alarm(alarm_id, received, where, kind)
        s.plan(d, 500, (f"engine-{alarm_id}", "main"))
        d.unit_en_route(f"engine-{alarm_id}", at=s.at(d, 900))
        d.unit_arrived(f"engine-{alarm_id}", at=s.at(d, 2000))
    return s


@pytest.fixture
async def conn(pool):
    async with pool.acquire() as conn:
        await conn.execute(ResponseIntervals.ddl)
        yield conn


async def test_the_report_over_the_read_model_gives_what_a_hand_calculation_gives(conn, districts):
    await build(districts).apply(conn, ResponseIntervals())
    district = districts[0]["district"]
    day = dict(within=[district], start=T0, end=T0 + dt.timedelta(days=1))
    sample = await timelines(conn, **day, alarm_kind="fire")
    r = report(sample)
    assert r.alarms == 10 and len(sample) == 22
    assert {(t.unit_id, t.ended) for t in sample if t.ended} == {("engine-3x", "declined"), ("engine-5x", "stood_down")}
    # processing 30, 35, … 75 s (alarm 9's first order) → 9th of 10 = 70; within 60 s: 7 of 10
    assert (r.processing.p90_s, r.processing.within_target, r.processing.meets_target) == (70, 0.7, False)
    # turnout 50, 55, … 95 (engine-5x's 10 s does not count) → 90; within 80 s: 7 of 10
    assert (r.turnout.count, r.turnout.p90_s, r.turnout.within_target) == (10, 90, 0.7)
    # travel of the first engine 200, 210, … 290 → 280; within 240 s: 5 of 10
    assert (r.travel_first_engine.p90_s, r.travel_first_engine.within_target) == (280, 0.5)
    # engine on scene 280+20i s (300+20·9 for alarm 9), squad 150+40i: squad first for i ≤ 6; leads
    # 130, 110, 90, 70, 50, 30, 10 → median 70
    assert (r.squad_first_on_scene, r.squad_lead_median_s) == (0.7, 70)

    assert report(await timelines(conn, **day)).alarms == 11  # with the rescue
    assert [t.alarm_id for t in await timelines(conn, **{**day, "within": [districts[1]["district"]]})] == ["b0"]
    city_wide = await timelines(conn, **{**day, "within": [districts[0]["city"]]}, alarm_kind="fire")
    assert {t.alarm_id for t in city_wide} == {f"a{i}" for i in range(10)} | {"b0"}


async def test_a_unit_ordered_again_keeps_its_first_order_for_processing(conn, districts):
    await build(districts).apply(conn, ResponseIntervals())
    within, units = await alarm_timelines(conn, "a9")
    engine = next(u for u in units if u.unit_id == "engine-9")
    assert within == list(districts[0].values())
    assert (engine.ended, engine.processing_s, engine.turnout_s, engine.travel_s) == (None, 75, 95, 290)
    assert await alarm_timelines(conn, "nope") == ([], [])


async def test_a_rebuild_gives_the_same_rows(conn, districts):
    projection, scenario = ResponseIntervals(), build(districts)
    await scenario.apply(conn, projection)
    before = await conn.fetch("SELECT * FROM response_intervals ORDER BY alarm_id, unit_id")
    await projection.reset(conn)
    assert await conn.fetchval("SELECT count(*) FROM response_alarms") == 0
    await scenario.apply(conn, projection)
    assert await conn.fetch("SELECT * FROM response_intervals ORDER BY alarm_id, unit_id") == before


# ---- the report endpoint, on the service in-process (tests/integration/units/conftest.py) ----------

DAY = {"from": T0.isoformat(), "to": (T0 + dt.timedelta(days=1)).isoformat()}


@pytest.fixture
async def scenario_applied(units_app, districts):
    async with units_app.state.runtime.pool.acquire() as conn:
        await build(districts).apply(conn, ResponseIntervals())


async def test_the_report_endpoint_answers_for_a_division_inside_the_claim(client, token, districts,
                                                                            scenario_applied):
    a = districts[0]
    auth = token("units:read", jurisdiction=[a["district"]])
    r = await client.get("/v1/reports/response-times", params={**DAY, "division": a["street"], "kind": "fire"},
                         headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["division"], body["kind"]) == (a["street"], "fire")
    assert body["period"] == {"from": dt.datetime.fromisoformat(DAY["from"]).isoformat(),
                              "to": dt.datetime.fromisoformat(DAY["to"]).isoformat()}
    assert (body["alarms"], body["orders"], body["responses"]) == (10, 22, 20)
    assert body["processing"] == {"count": 10, "p90_s": 70, "target_s": 60, "within_target": 0.7,
                                  "meets_target": False}
    assert (body["turnout"]["p90_s"], body["travel_first_engine"]["p90_s"]) == (90, 280)
    assert body["auxiliaries"] == {"squad_first_on_scene": 0.7, "squad_lead_median_s": 70}

    r = await client.get("/v1/reports/response-times", headers=auth,
                         params={**DAY, "division": a["district"], "kind": "fire", "target_processing_p90_s": 75})
    assert r.json()["processing"]["meets_target"] is True and r.json()["processing"]["target_s"] == 75

    detail = (await client.get("/v1/reports/response-times/alarms/a9", headers=auth)).json()
    engine = next(u for u in detail["units"] if u["unit_id"] == "engine-9")
    assert (engine["processing_s"], engine["turnout_s"], engine["travel_s"]) == (75, 95, 290)


async def test_the_report_endpoint_refuses(client, token, districts, scenario_applied):
    a, b = districts
    auth = token("units:read", jurisdiction=[b["district"]])

    async def status(path: str = "/v1/reports/response-times", headers=auth, **params) -> int:
        r = await client.get(path, params={**DAY, "division": a["district"], **params}, headers=headers)
        assert r.headers["content-type"].startswith("application/problem+json")
        return r.status_code

    assert await status() == 403  # another district
    assert await status(division="no-such-division") == 404
    assert await status(headers=token("units:operate", jurisdiction=[a["district"]])) == 403
    assert await status(division=b["district"], to=DAY["from"]) == 422
    assert await status(division=b["district"], to=(T0 + dt.timedelta(days=367)).isoformat()) == 422
    assert await status(division=b["district"], to="2026-11-03T00:00:00") == 422  # no UTC offset
    assert await status("/v1/reports/response-times/alarms/a0") == 404  # an alarm of another district

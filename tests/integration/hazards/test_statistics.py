"""Hazard statistics against the real PostgreSQL: a hand-calculated scenario driven through the
real HazardsService (HTTP, a clock set to known moments) and, for the inspections, real
envelopes applied by the venue and inspection projections; every figure of the report checked
against the numbers worked out in the comments. Then the CSV, and the limits as problem+json."""

import csv
import datetime as dt
import io
import uuid

import pytest

from hazards.api.reports import CSV_COLUMNS
from hazards.domain.statistics import ALL, FIGURES, HAZARD_COUNTS, INSPECTION_COUNTS
from hazards.projections.statistics import _HAZARD_COUNTS, InspectionStatistics, VenueStatistics
from linkduty_shared.events.envelope import Envelope
from linkduty_shared.jurisdictions import Level
from tests.integration.hazards.conftest import assert_problem, report

M = 1 / 111_000  # a metre of latitude, in degrees
PERIOD = {"from": "2026-02-20", "to": "2026-04-05"}  # days Feb 20–28, the month of March, days Apr 1–5


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text + "+00:00")


class SetClock:
    """The service's clock, at the moment a test names."""

    def __init__(self) -> None:
        self.now = utc("2025-01-01T00:00:00")

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def at(service) -> SetClock:
    service.clock = SetClock()
    return service.clock


def figures(**given) -> dict:
    """A scope's figures: counts 0, rates and percentiles undefined, unless given."""
    base = dict.fromkeys(FIGURES)
    base |= dict.fromkeys((*HAZARD_COUNTS, *INSPECTION_COUNTS), 0)
    return base | given


NO_HAZARD_FIGURES = dict.fromkeys((*HAZARD_COUNTS, "closure_rate", "recurrence_rate", "rectification_hours_median",
                                   "rectification_hours_p90"))
NO_INSPECTION_FIGURES = dict.fromkeys((*INSPECTION_COUNTS, "hazards_per_100_inspections"))


def changes(**given) -> dict:
    return dict.fromkeys(FIGURES) | given


class Scenario:
    def __init__(self, client, headers, clock: SetClock, service) -> None:
        self.client, self.headers, self.clock, self.service = client, headers, clock, service

    async def report(self, when: str, point: tuple[float, float], category: str) -> str:
        self.clock.now = utc(when)
        r = await self.client.post("/v1/hazards", json=report(*point, category=category), headers=self.headers)
        assert r.status_code == 201, r.text
        return r.json()["hazard_id"]

    async def do(self, when: str, hazard_id: str, action: str, body: dict | None = None) -> dict:
        self.clock.now = utc(when)
        r = await self.client.post(f"/v1/hazards/{hazard_id}/{action}", json=body or {}, headers=self.headers)
        assert r.status_code == 200, (action, r.text)
        return r.json()

    async def fix(self, when: str, hazard_id: str, verified: str) -> None:
        """Accept, assign and rectify at `when`; verified (closed) at `verified`."""
        await self.do(when, hazard_id, "acceptance")
        await self.do(when, hazard_id, "assignment", {"assignee_kind": "property_manager", "assignee_id": "pm-1"})
        await self.do(when, hazard_id, "rectification", {"note": "已整改"})
        await self.do(verified, hazard_id, "verification", {"outcome": "passed"})

    async def sweep(self, when: str) -> int:
        self.clock.now = utc(when)
        return await self.service.escalate_overdue()


def envelope(name: str, subject: str, data: dict) -> Envelope:
    return Envelope(id=str(uuid.uuid4()), source="/linkduty/hazards", type=f"linkduty.hazards.{name}",
                    subject=subject, time=dt.datetime.now(dt.UTC), data=data)


async def inspections_of_the_scenario(pool, a: dict, b: dict) -> None:
    """Venues and inspections in communities A and B, applied as their repositories will apply
    them (inline, in a transaction)."""
    venues, inspections = VenueStatistics(), InspectionStatistics()
    v1, v2, v3 = (str(uuid.uuid4()) for _ in range(3))

    def inspected(at_: str, venue: str, kind: str, jurisdiction: dict, results: list[str]) -> Envelope:
        return envelope("InspectionRecorded", str(uuid.uuid4()), {
            "inspection_id": str(uuid.uuid4()), "venue_id": venue, "venue_kind": kind, "kind": "patrol", "at": at_,
            "jurisdiction": jurisdiction, "checklist_version": "1", "by": "inspector-1", "participants": [],
            "items": [{"item_id": f"i{n}", "result": r, "category": "other", "hazard_id": None}
                      for n, r in enumerate(results)]})

    events = [
        # V1, a small shop in A: due 1 March (local) — in the period.
        (venues, envelope("VenueRegistered", v1, {"venue_id": v1, "kind": "small_shop", "jurisdiction": a,
                                                   "inspection_due_at": "2026-03-01T10:00:00+08:00",
                                                   "at": "2025-01-10T00:00:00+00:00"})),
        # The year before: one inspection of V1, one item failed.
        (inspections, inspected("2025-03-01T03:00:00+00:00", v1, "small_shop", a, ["failed", "passed"])),
        # 25 Feb: inspected, two hazards found (failed, fixed on the spot); next due 25 May — outside.
        (inspections, inspected("2026-02-25T02:00:00+00:00", v1, "small_shop", a,
                                ["passed", "failed", "fixed_on_spot", "not_applicable"])),
        (venues, envelope("VenueInspected", v1, {"inspection_id": "x", "inspection_kind": "patrol",
                                                  "inspected_at": "2026-02-25T02:00:00+00:00",
                                                  "inspection_due_at": "2026-05-25T02:00:00+00:00",
                                                  "at": "2026-02-25T02:00:00+00:00"})),
        # V2 in B: due 5 Apr 17:00 UTC = 6 April local (outside); corrected to a rental and due 2 April (inside).
        (venues, envelope("VenueRegistered", v2, {"venue_id": v2, "kind": "high_rise", "jurisdiction": b,
                                                   "inspection_due_at": "2026-04-05T17:00:00+00:00",
                                                   "at": "2026-02-01T00:00:00+00:00"})),
        (venues, envelope("VenueDetailsChanged", v2, {"changes": {"kind": "rental_housing",
                                                                   "inspection_due_at": "2026-04-02T02:00:00+00:00"},
                                                       "by": "street-1", "at": "2026-02-10T00:00:00+00:00"})),
        (inspections, inspected("2026-03-10T02:00:00+00:00", v2, "rental_housing", b, ["passed", "passed"])),
        # V3 in B: due 15 March, but deregistered on 1 March: the due date is withdrawn.
        (venues, envelope("VenueRegistered", v3, {"venue_id": v3, "kind": "high_rise", "jurisdiction": b,
                                                   "inspection_due_at": "2026-03-15T02:00:00+00:00",
                                                   "at": "2026-02-01T00:00:00+00:00"})),
        (venues, envelope("VenueDeregistered", v3, {"reason": "closed down", "by": "street-1",
                                                     "at": "2026-03-01T00:00:00+00:00"})),
        # 5 Apr 17:00 UTC is 6 April local: outside the period.
        (inspections, inspected("2026-04-05T17:00:00+00:00", v1, "small_shop", a, ["failed"])),
    ]
    async with pool.acquire() as conn:
        for projection, event in events:
            async with conn.transaction():
                await projection.apply(conn, event)


async def test_every_figure_of_a_street_s_report_is_the_hand_calculated_one(client, token, city, service, at):
    street = city.divisions(Level.STREET)[0]
    community_a, community_b = city.children(street.code)[:2]
    a, b = (community_a.lat, community_a.lon), (community_b.lat, community_b.lon)
    away = lambda p, metres: (p[0] + metres * M, p[1])  # noqa: E731
    s = Scenario(client, token(), at, service)

    # The year before (2025-02-20 … 2025-04-05):
    y1 = await s.report("2025-03-15T01:00:00", a, "ebike_indoors")  # Y1: A, closed after 10 h
    await s.fix("2025-03-15T01:00:00", y1, verified="2025-03-15T11:00:00")
    y2 = await s.report("2025-03-20T02:00:00", b, "corridor_cluttered")  # Y2: B, rejected
    await s.do("2025-03-20T02:00:00", y2, "rejection", {"reason": "not_a_hazard", "message": "无隐患"})

    # This year. H5: 15:30 UTC is 19 Feb 23:30 local, the day before the period: outside (untriaged;
    # the sweeps below escalate it, and that is counted on 19 Feb).
    await s.report("2026-02-19T15:30:00", away(b, 200), "ebike_indoors")
    # H1: 16:30 UTC is 20 Feb 00:30 local: inside. A, ebike; closed after 5 h 30 min → the 6 h bucket.
    h1 = await s.report("2026-02-19T16:30:00", a, "ebike_indoors")
    await s.fix("2026-02-19T16:30:00", h1, verified="2026-02-19T22:00:00")
    # H2: A (100 m away), corridor; a failed verification, closed after 30 h; reopened by the
    # re-inspection (14 days on) and closed again: closed and its 30 h count once.
    h2 = await s.report("2026-03-05T02:00:00", away(a, 100), "corridor_cluttered")
    await s.do("2026-03-05T02:00:00", h2, "acceptance")
    await s.do("2026-03-05T02:00:00", h2, "assignment", {"assignee_kind": "venue_contact", "assignee_id": "v-2"})
    await s.do("2026-03-05T03:00:00", h2, "rectification", {"note": "清理了一半"})
    await s.do("2026-03-05T04:00:00", h2, "verification", {"outcome": "failed", "note": "仍有杂物"})
    await s.do("2026-03-06T06:00:00", h2, "rectification", {"note": "已清空"})
    await s.do("2026-03-06T08:00:00", h2, "verification", {"outcome": "passed"})
    # H3: A, ebike, where H1 was fixed 3 weeks before: a recurrence. Assigned, never fixed:
    # overdue at the community (escalated to the street), again at the street (to the district).
    h3 = await s.report("2026-03-12T00:00:00", a, "ebike_indoors")
    await s.do("2026-03-12T00:00:00", h3, "acceptance")
    await s.do("2026-03-12T00:00:00", h3, "assignment", {"assignee_kind": "property_manager", "assignee_id": "p"})
    assert await s.sweep("2026-03-13T01:00:00") == 2  # H3 (rectification, 24 h) and H5 (triage)
    assert await s.sweep("2026-03-14T02:00:00") == 2  # both again, street → district
    # H7: B, ebike, accepted, left unassigned. H6: B, 15 m from it, merged into it.
    h7 = await s.report("2026-03-20T03:00:00", b, "ebike_indoors")
    await s.do("2026-03-20T03:00:00", h7, "acceptance")
    h6 = await s.report("2026-03-21T03:00:00", away(b, 15), "ebike_indoors")
    await s.do("2026-03-21T03:00:00", h6, "merge", {"into": h7})
    reopened = await s.do("2026-03-22T00:00:00", h2, "reinspection", {"outcome": "reopened", "note": "又堆上了"})
    assert reopened["status"] == "rectifying"
    await s.do("2026-03-22T00:30:00", h2, "rectification", {"note": "再次清空"})
    await s.do("2026-03-22T01:00:00", h2, "verification", {"outcome": "passed"})
    # H4: B, corridor, 3 April, rejected.
    h4 = await s.report("2026-04-03T04:00:00", away(b, 100), "corridor_cluttered")
    await s.do("2026-04-03T04:00:00", h4, "rejection", {"reason": "not_a_hazard", "message": "非隐患"})
    # H8: 5 Apr 16:30 UTC is 6 April local: outside.
    await s.report("2026-04-05T16:30:00", away(b, 300), "corridor_cluttered")
    await inspections_of_the_scenario(service.store.pool, city.resolve(*a).codes(), city.resolve(*b).codes())

    r = await client.get("/v1/reports/hazards", params={"division": street.code, **PERIOD}, headers=token())
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["division"] == {"code": street.code, "name": street.name, "level": "street"}
    assert got["period"] == {"from": "2026-02-20", "to": "2026-04-05"}
    assert got["year_earlier"] == {"from": "2025-02-20", "to": "2025-04-05"}
    assert got["time_zone"] == "UTC+08:00"

    # In the period: H1, H2, H3 (A), H7, H6, H4 (B) = 6 reported; accepted H1 H2 H3 H7 = 4;
    # rejected H4; merged H6; closed H1 H2 = 2 (2/4 = 0.5); recurrence H3 (1/6 = 0.1667);
    # reopened H2; overdue H3 (escalated twice, one hazard). Hours {6: 1, 30: 1}: the median is
    # the 1st of 2 (6), the 90th percentile the 2nd (ceil(1.8)) (30). Inspections: due V1 (1 Mar)
    # and V2 (moved to 2 Apr) = 2, done 25 Feb and 10 Mar = 2, found 2 → 100 per 100.
    this_year = figures(reported=6, accepted=4, rejected=1, merged=1, closed=2, recurrences=1, reopened=1, overdue=1,
                        closure_rate=0.5, recurrence_rate=0.1667, rectification_hours_median=6,
                        rectification_hours_p90=30, inspections_due=2, inspections_done=2, hazards_found=2,
                        hazards_per_100_inspections=100.0)
    # The year before: Y1 (accepted, closed in 10 h), Y2 (rejected); one inspection, one found.
    year_before = figures(reported=2, accepted=1, rejected=1, closed=1, closure_rate=1.0, recurrence_rate=0.0,
                          rectification_hours_median=10, rectification_hours_p90=10, inspections_done=1,
                          hazards_found=1, hazards_per_100_inspections=100.0)
    total = got["total"]
    assert (total["scope"], total["key"], total["name"]) == ("total", street.code, street.name)
    assert total["figures"] == this_year
    assert total["year_earlier"] == year_before
    # (now − then) / then: 6 vs 2 +200 %, 4 vs 1 +300 %, 1 vs 1 0 %, 2 vs 1 +100 %, 0.5 vs 1.0 −50 %,
    # median 6 vs 10 −40 %, p90 30 vs 10 +200 %, done 2 vs 1 +100 %, found +100 %, per 100 0 %;
    # everything whose earlier value is 0 (merged, recurrences, the recurrence rate, …): null.
    assert total["change_pct"] == changes(reported=200.0, accepted=300.0, rejected=0.0, closed=100.0,
                                          closure_rate=-50.0, rectification_hours_median=-40.0,
                                          rectification_hours_p90=200.0, inspections_done=100.0,
                                          hazards_found=100.0, hazards_per_100_inspections=0.0)

    by_category = {c["key"]: c for c in got["by_category"]}
    assert list(by_category) == list(service.taxonomy.ids())  # every category, in the taxonomy's order
    ebike, corridor = by_category["ebike_indoors"], by_category["corridor_cluttered"]
    assert ebike["name"] == service.taxonomy["ebike_indoors"].name_zh
    # ebike: H1 H3 H7 H6 reported 4, accepted H1 H3 H7 = 3, merged H6, closed H1 (1/3), recurrence
    # H3 (1/4), overdue H3; hours {6: 1}. The year before: Y1.
    assert ebike["figures"] == figures(reported=4, accepted=3, merged=1, closed=1, recurrences=1, overdue=1,
                                       closure_rate=0.3333, recurrence_rate=0.25, rectification_hours_median=6,
                                       rectification_hours_p90=6) | NO_INSPECTION_FIGURES
    assert ebike["year_earlier"] == figures(reported=1, accepted=1, closed=1, closure_rate=1.0, recurrence_rate=0.0,
                                            rectification_hours_median=10,
                                            rectification_hours_p90=10) | NO_INSPECTION_FIGURES
    assert ebike["change_pct"] == changes(reported=300.0, accepted=200.0, closed=0.0, closure_rate=-66.7,
                                          rectification_hours_median=-40.0, rectification_hours_p90=-40.0)
    # corridor: H2 H4, accepted H2, rejected H4, closed H2 (1/1), reopened H2; hours {30: 1}. Before: Y2 rejected.
    assert corridor["figures"] == figures(reported=2, accepted=1, rejected=1, closed=1, reopened=1, closure_rate=1.0,
                                          recurrence_rate=0.0, rectification_hours_median=30,
                                          rectification_hours_p90=30) | NO_INSPECTION_FIGURES
    assert corridor["year_earlier"] == figures(reported=1, rejected=1, recurrence_rate=0.0) | NO_INSPECTION_FIGURES
    assert corridor["change_pct"] == changes(reported=100.0, rejected=0.0)
    for other in set(by_category) - {"ebike_indoors", "corridor_cluttered"}:
        assert by_category[other]["figures"] == figures() | NO_INSPECTION_FIGURES

    children = {c["key"]: c for c in got["by_child_division"]}
    assert list(children) == [c.code for c in city.children(street.code)]
    # A: H1 H2 H3, all accepted; closed H1 H2 (2/3); recurrence H3 (1/3); reopened H2; overdue H3;
    # hours {6, 30}. Inspections: due V1, done 25 Feb, found 2 → 200 per 100.
    assert children[community_a.code]["name"] == community_a.name
    assert children[community_a.code]["figures"] == figures(
        reported=3, accepted=3, closed=2, recurrences=1, reopened=1, overdue=1, closure_rate=0.6667,
        recurrence_rate=0.3333, rectification_hours_median=6, rectification_hours_p90=30, inspections_due=1,
        inspections_done=1, hazards_found=2, hazards_per_100_inspections=200.0)
    assert children[community_a.code]["year_earlier"] == figures(
        reported=1, accepted=1, closed=1, closure_rate=1.0, recurrence_rate=0.0, rectification_hours_median=10,
        rectification_hours_p90=10, inspections_done=1, hazards_found=1, hazards_per_100_inspections=100.0)
    # B: H7 H6 H4; accepted H7 (closed 0 of 1: 0.0), rejected H4, merged H6. Inspections: due V2,
    # done 10 Mar, found 0 → 0 per 100.
    assert children[community_b.code]["figures"] == figures(
        reported=3, accepted=1, rejected=1, merged=1, closure_rate=0.0, recurrence_rate=0.0, inspections_due=1,
        inspections_done=1, hazards_per_100_inspections=0.0)
    assert children[community_b.code]["year_earlier"] == figures(reported=1, rejected=1, recurrence_rate=0.0)
    for other in set(children) - {community_a.code, community_b.code}:
        assert children[other]["figures"] == figures()

    # By venue kind: small_shop (V1: due 1 Mar, done 25 Feb, 2 found); rental_housing (V2 as
    # corrected: due 2 Apr, done 10 Mar, none found); high_rise (V2's first due, moved away, and
    # V3's, withdrawn: 0). The year before: the small shop's one inspection, one found.
    kinds = {k["key"]: k for k in got["by_venue_kind"]}
    assert list(kinds) == ["high_rise", "rental_housing", "small_shop"]
    assert kinds["small_shop"]["figures"] == NO_HAZARD_FIGURES | {
        "inspections_due": 1, "inspections_done": 1, "hazards_found": 2, "hazards_per_100_inspections": 200.0}
    assert kinds["small_shop"]["year_earlier"] == NO_HAZARD_FIGURES | {
        "inspections_due": 0, "inspections_done": 1, "hazards_found": 1, "hazards_per_100_inspections": 100.0}
    assert kinds["rental_housing"]["figures"] == NO_HAZARD_FIGURES | {
        "inspections_due": 1, "inspections_done": 1, "hazards_found": 0, "hazards_per_100_inspections": 0.0}
    assert kinds["high_rise"]["figures"] == NO_HAZARD_FIGURES | {
        "inspections_due": 0, "inspections_done": 0, "hazards_found": 0, "hazards_per_100_inspections": None}

    # The same hazards roll up: the district's child (this street) and the city's total are the
    # street's figures (nothing else in this schema; H5 and H8 stay outside at every level).
    district = city.division(street.parent)
    up = (await client.get("/v1/reports/hazards", params={"division": district.code, **PERIOD},
                           headers=token())).json()
    assert {c["key"]: c for c in up["by_child_division"]}[street.code]["figures"] == this_year
    city_wide = (await client.get("/v1/reports/hazards", params={"division": city.city.code, **PERIOD},
                                  headers=token())).json()
    assert city_wide["total"]["figures"] == this_year and city_wide["total"]["year_earlier"] == year_before
    # A community's children are its micro-grids: A's three hazards, in the grid(s) of its points.
    grids = (await client.get("/v1/reports/hazards", params={"division": community_a.code, **PERIOD},
                              headers=token())).json()["by_child_division"]
    assert sum(g["figures"]["reported"] for g in grids) == 3
    assert {g["key"] for g in grids if g["figures"]["reported"]} == {city.resolve(*a).grid.code,
                                                                     city.resolve(*away(a, 100)).grid.code}

    # A period ending the day before H1's local day: H1 (20 Feb local, 19 Feb in UTC) is not in it.
    before = (await client.get("/v1/reports/hazards", params={"division": street.code, "from": "2026-02-01",
                                                              "to": "2026-02-19"}, headers=token())).json()
    assert before["total"]["figures"]["reported"] == 1  # H5 only (19 Feb 23:30 local), overdue once
    assert before["total"]["figures"]["overdue"] == 1

    # The CSV: the same rows and figures, one per scope, a header first.
    r = await client.get("/v1/reports/hazards", params={"division": street.code, **PERIOD},
                         headers={**token(), "Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="hazards-{street.code}-2026-02-20-2026-04-05.csv"'
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(row["scope"], row["key"]) for row in body] == (
        [("total", street.code)] + [("category", c) for c in service.taxonomy.ids()]
        + [("child", c.code) for c in city.children(street.code)] + [("venue_kind", k) for k in kinds])
    assert body[0]["division"] == street.code and (body[0]["from"], body[0]["to"]) == ("2026-02-20", "2026-04-05")
    assert body[0]["name"] == street.name
    assert {f: body[0][f] for f in ("reported", "closure_rate", "rectification_hours_p90", "change_pct_reported",
                                    "year_earlier_closed", "change_pct_merged")} == {
        "reported": "6", "closure_rate": "0.5", "rectification_hours_p90": "30", "change_pct_reported": "200.0",
        "year_earlier_closed": "1", "change_pct_merged": ""}
    as_query = await client.get("/v1/reports/hazards", params={"division": street.code, **PERIOD, "format": "csv"},
                                headers=token())
    assert as_query.content == r.content


async def test_an_empty_period_has_zero_counts_and_undefined_rates(client, token, city):
    street = city.divisions(Level.STREET)[1]
    r = await client.get("/v1/reports/hazards", params={"division": street.code, "from": "2026-01-01",
                                                        "to": "2026-12-31"}, headers=token())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"]["figures"] == figures() and body["total"]["change_pct"] == changes()
    assert body["by_venue_kind"] == []
    assert len(body["by_child_division"]) == len(city.children(street.code))


async def test_the_limits_are_problems_never_errors(client, token, city, resident):
    street = city.divisions(Level.STREET)[0]
    community = city.children(street.code)[0]
    url = "/v1/reports/hazards"

    async def ask(headers=None, **params):
        return await client.get(url, params={"division": street.code, **PERIOD} | params,
                                headers=token() if headers is None else headers)

    assert_problem(await ask(**{"from": "2026-04-06"}), 422, "bad-period")  # to before from
    assert_problem(await ask(**{"from": "2025-01-01", "to": "2026-01-02"}), 422, "bad-period")  # 367 days
    assert (await ask(**{"from": "2025-01-01", "to": "2026-01-01"})).status_code == 200  # 366 days: the limit
    assert_problem(await ask(**{"from": "1999-12-31"}), 422, "bad-period")
    assert_problem(await ask(to="2100-01-01"), 422, "bad-period")
    for bad in ("2026-02-30", "yesterday", "20260220", "9999999-01-01", ""):
        assert_problem(await ask(**{"from": bad}), 422, "validation-failed")
    assert_problem(await client.get(url, params={"division": street.code}, headers=token()), 422,
                   "validation-failed")  # no dates
    assert_problem(await ask(format="xml"), 422, "validation-failed")
    assert_problem(await ask(division="no-such-division"), 404, "unknown-division")
    assert_problem(await ask(division="x" * 65), 422, "validation-failed")
    assert_problem(await ask(division="33\x00"), 400, "nul-character")
    grid = city.children(community.code)[0]
    assert_problem(await ask(division=grid.code), 422, "not-a-reporting-division")
    # A community's token sees its community's statistics, not its street's nor another community's.
    own = token(jurisdiction=[community.code])
    assert (await ask(own, division=community.code)).status_code == 200
    assert_problem(await ask(own), 403, "outside-your-jurisdiction")
    assert_problem(await ask(own, division=city.children(street.code)[1].code), 403, "outside-your-jurisdiction")
    assert_problem(await ask(token(jurisdiction=[street.code]), division=city.city.code), 403,
                   "outside-your-jurisdiction")
    # A resident's token (report only) reads no statistics; no token is a 401.
    assert (await ask(resident())).status_code == 403
    assert (await client.get(url, params={"division": street.code, **PERIOD})).status_code == 401


async def test_a_report_reads_its_cells_by_the_primary_key_however_much_history_the_counters_hold(
        client, token, city, service):
    """A year of counters for 20 streets (a cell for every day, month and category: what a city's
    year grows the table into, whatever its number of hazards), written straight into the table:
    a street's report for ~2 months reads its own cells through the primary key (the generic plan
    too, as the pools run), and sums day and month cells to the same totals."""
    streets = [s.code for s in city.divisions(Level.STREET)[:20]]
    categories = list(service.taxonomy.ids())
    async with service.store.pool.acquire() as conn:
        # Day cells: 1 of each category a day, 12 under ALL; month cells: the same summed over the month.
        await conn.execute("""
            INSERT INTO hazard_stats (level, code, grain, period, category, reported)
            SELECT 'street', s, 'day', d::date, c, CASE WHEN c = '*' THEN 12 ELSE 1 END
            FROM unnest($1::text[]) s, unnest($2::text[]) c,
                 generate_series('2025-06-01'::date, '2026-05-31'::date, interval '1 day') d""",
                           streets, [*categories, ALL])
        await conn.execute("""
            INSERT INTO hazard_stats (level, code, grain, period, category, reported)
            SELECT level, code, 'month', date_trunc('month', period)::date, category, sum(reported)
            FROM hazard_stats WHERE grain = 'day' GROUP BY 1, 2, 4, 5""")
        await conn.execute("ANALYZE hazard_stats")
        args = ["street", [streets[3]], [0, 0, 0], ["day", "month", "day"],
                [dt.date(2026, 1, 20), dt.date(2026, 2, 1), dt.date(2026, 3, 1)],
                [dt.date(2026, 1, 31), dt.date(2026, 2, 1), dt.date(2026, 3, 10)], False]
        custom = "\n".join(r[0] for r in await conn.fetch("EXPLAIN (COSTS OFF) " + _HAZARD_COUNTS, *args))
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        statement = await conn.prepare("EXPLAIN (COSTS OFF) " + _HAZARD_COUNTS)
        generic = "\n".join(r[0] for r in await statement.fetch(*args))
        await conn.execute("RESET plan_cache_mode")
    for plan in (custom, generic):
        assert "hazard_stats_pkey" in plan and "Seq Scan" not in plan, plan

    street = city.division(streets[3])
    r = await client.get("/v1/reports/hazards", params={"division": street.code, "from": "2026-01-20",
                                                        "to": "2026-03-10"}, headers=token())
    assert r.status_code == 200, r.text
    days = 12 + 28 + 10  # 20–31 January, February, 1–10 March
    assert r.json()["total"]["figures"]["reported"] == 12 * days
    assert {c["figures"]["reported"] for c in r.json()["by_category"]} == {days}
    # A year earlier: the counters begin on 1 June 2025, so nothing then.
    assert r.json()["total"]["year_earlier"]["reported"] == 0
    whole_year = (await client.get("/v1/reports/hazards", params={"division": street.code, "from": "2025-06-01",
                                                                   "to": "2026-05-31"}, headers=token())).json()
    assert whole_year["total"]["figures"]["reported"] == 12 * 365

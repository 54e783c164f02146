"""Service orders (三单) and the response to a 119 alarm, pure: the gate and the grade named in a
409, an order back to its assigner when declined or unanswered, only the requester confirms;
alerts go to the fit and trusted nearest first, stop once enough accepted and when the alarm closes."""

from __future__ import annotations

import datetime as dt

import pytest

from linkduty_shared.domain import IllegalTransition, InvariantViolated, NotPermitted
from volunteers.domain.events import ServiceOrderPlaced, VolunteerHoursCredited, VolunteersAlerted
from volunteers.domain.order import OrderStatus, ServiceOrder
from volunteers.domain.response import AlarmResponse, Nearby, choose
from volunteers.domain.volunteer import NotFitForDuty

from tests.unit.volunteers.test_grades_and_ledger import COURSES, GRADES
from tests.unit.volunteers.test_volunteer import J, T0, approved, policy

HOUR = dt.timedelta(hours=1)


def fit(volunteer_id: str, *courses: str, insured: bool = True, promoted: bool = False):
    v = approved(volunteer_id)
    if insured:
        v.insure(policy("2026-01-01", "2026-12-31"), by="r", at=T0)
    for c in courses:
        v.record_result(COURSES[c], passed=True, exam_on=T0.date(), by="t", at=T0)
    if promoted:  # to level_2: 60 h rated 5, first aid passed
        v.record_result(COURSES["first_aid_basic"], passed=True, exam_on=T0.date(), by="t", at=T0)
        for n in range(5):
            v.credit_hours(VolunteerHoursCredited(f"e{n}", 12, "service_order", f"o{n}", 5, confirmed_by="x",
                                                  at=T0.isoformat()))
        v.regrade(GRADES, COURSES, T0.date(), by="r", at=T0)
    return v


def placed(kind: str = "home_fire_check", domain: str = "home_fire_check", min_grade: str = "level_2"):
    o = ServiceOrder("o1")
    o.place(ServiceOrderPlaced(order_id="o1", kind=kind, domain=domain, min_grade=min_grade, community="c1",
                               jurisdiction=J, lat=30.0, lon=120.0, description="老人独居，想查一下家里电线",
                               address_masked="**路**号", contact_masked="*******5678", contact_ref="ref",
                               wanted_from=None, wanted_until=None, requested_by="resident-1", at=T0.isoformat()))
    return o


def test_an_order_is_refused_to_an_untrained_volunteer_and_to_one_below_its_grade_naming_both():
    o = placed()
    with pytest.raises(NotFitForDuty) as refused:
        o.assign(volunteer=fit("v1"), team_id=None, answer_within=HOUR, courses=COURSES, grades=GRADES, by="c",
                 at=T0)
    assert refused.value.extra["missing"] == ["course hazard_inspection_basic (火灾隐患排查) not taken",
                                              "grade level_2 or above (holds level_1)"]
    good = fit("v2", "hazard_inspection_basic", promoted=True)
    o.assign(volunteer=good, team_id=None, answer_within=HOUR, courses=COURSES, grades=GRADES, by="c", at=T0)
    assert o.status is OrderStatus.ASSIGNED and o.assigned_to == {"volunteer_id": "v2"}


def test_a_declined_or_unanswered_order_goes_back_to_its_assigner():
    o, v = placed("talk_or_drill", "fire_safety_publicity", "level_1"), fit("v1", "fire_safety_talks")
    o.assign(volunteer=v, team_id=None, answer_within=HOUR, courses=COURSES, grades=GRADES, by="c", at=T0)
    with pytest.raises(NotPermitted):
        o.accept(fit("v9", "fire_safety_talks"), courses=COURSES, grades=GRADES, at=T0)  # not theirs
    o.decline(v, reason="那天值班", at=T0)
    assert o.status is OrderStatus.PLACED and o.history[-1]["reason"] == "那天值班"
    o.publish(answer_within=HOUR, by="c", at=T0)
    assert o.return_unanswered(T0 + HOUR / 2) == []
    [returned] = o.return_unanswered(T0 + HOUR)
    assert returned.event_type == "ServiceOrderReturned" and o.status is OrderStatus.PLACED


def test_a_published_order_is_claimed_completed_and_confirmed_by_its_requester_only():
    o, v = placed("talk_or_drill", "fire_safety_publicity", "level_1"), fit("v1", "fire_safety_talks")
    o.publish(answer_within=HOUR, by="c", at=T0)
    o.accept(v, courses=COURSES, grades=GRADES, at=T0)
    assert o.accept(v, courses=COURSES, grades=GRADES, at=T0) == []  # a retry
    with pytest.raises(NotPermitted):
        o.complete("v9", report="done", photos=(), hours_spent=2, hazards_found=(), at=T0)
    o.complete("v1", report="讲了一小时", photos=("p1.jpg",), hours_spent=2, hazards_found=(), at=T0)
    with pytest.raises(NotPermitted):
        o.confirm(rating=5, comment="", hours=None, by="someone-else", at=T0)
    with pytest.raises(InvariantViolated):
        o.confirm(rating=5, comment="", hours=3, by="resident-1", at=T0)  # more than reported
    [confirmed] = o.confirm(rating=4, comment="很好", hours=None, by="resident-1", at=T0)
    assert (confirmed.volunteer_id, confirmed.rating, confirmed.hours) == ("v1", 4, 2)


def test_a_team_order_is_accepted_by_a_member_of_that_team_only():
    o, v = placed("talk_or_drill", "fire_safety_publicity", "level_1"), fit("v1", "fire_safety_talks")
    o.assign(volunteer=None, team_id="t1", answer_within=HOUR, courses=COURSES, grades=GRADES, by="c", at=T0)
    with pytest.raises(NotPermitted):
        o.accept(v, team_members=("v2",), courses=COURSES, grades=GRADES, at=T0)
    o.accept(v, team_members=("v1", "v2"), courses=COURSES, grades=GRADES, at=T0)
    assert o.volunteer_id == "v1"


GUIDE = ("cpr_aed", "scene_guidance_basic")


def alerted(response: AlarmResponse, chosen: list[dict], wanted: int = 2) -> None:
    response.alert(VolunteersAlerted("a1", "fire", "scene_guidance", "public", 30.0, 120.0, 400, wanted, tuple(chosen),
                                     J, at=T0.isoformat()))


def test_alerts_go_to_the_fit_nearest_first_and_homes_only_to_trusted_grades():
    near = [Nearby(fit("far", *GUIDE), 380), Nearby(fit("near", *GUIDE), 40), Nearby(fit("untrained"), 10),
            Nearby(fit("uninsured", *GUIDE, insured=False), 20), Nearby(fit("senior", *GUIDE, promoted=True), 200)]
    public = choose(near, domain="scene_guidance", place="public", day=T0.date(), courses=COURSES, grades=GRADES,
                    limit=10)
    assert [c["volunteer_id"] for c in public] == ["near", "senior", "far"]
    assert public[0] == {"volunteer_id": "near", "name_masked": "张*", "grade": "level_1", "distance_m": 50}
    home = choose(near, domain="scene_guidance", place="home", day=T0.date(), courses=COURSES, grades=GRADES, limit=10)
    assert [c["volunteer_id"] for c in home] == ["senior"]
    assert len(choose(near, domain="scene_guidance", place="public", day=T0.date(), courses=COURSES, grades=GRADES,
                      limit=1)) == 1


def test_once_enough_accepted_the_others_are_stood_down_and_a_closed_alarm_takes_no_one_more():
    volunteers = {n: fit(n, *GUIDE) for n in ("a", "b", "c", "d")}
    chosen = choose([Nearby(v, 100 + i) for i, v in enumerate(volunteers.values())], domain="scene_guidance",
                    place="public", day=T0.date(), courses=COURSES, grades=GRADES, limit=10)
    r = AlarmResponse("a1")
    alerted(r, chosen)
    r.decline("c", at=T0)
    r.accept(volunteers["a"], eta_minutes=4, courses=COURSES, grades=GRADES, at=T0)
    accepted, stood_down = r.accept(volunteers["b"], eta_minutes=6, courses=COURSES, grades=GRADES, at=T0)
    assert accepted.eta_minutes == 6 and stood_down.volunteer_ids == ("d",) and stood_down.reason == "enough_accepted"
    with pytest.raises(IllegalTransition):
        r.accept(volunteers["d"], eta_minutes=3, courses=COURSES, grades=GRADES, at=T0)
    [closed] = r.close(at=T0)
    assert closed.reason == "alarm_closed" and closed.volunteer_ids == () and r.close(at=T0) == []


def test_an_acceptance_passes_the_gate_again_and_only_those_who_accepted_report_and_are_confirmed():
    v, lapsed = fit("a", *GUIDE), fit("b", *GUIDE)
    r = AlarmResponse("a1")
    alerted(r, choose([Nearby(v, 100), Nearby(lapsed, 150)], domain="scene_guidance", place="public", day=T0.date(),
                      courses=COURSES, grades=GRADES, limit=10))
    with pytest.raises(NotFitForDuty):  # the policy ran out after the alert went
        r.accept(lapsed, eta_minutes=5, courses=COURSES, grades=GRADES, at=dt.datetime(2027, 1, 2, tzinfo=dt.UTC))
    with pytest.raises(NotPermitted):
        r.report_scene(v, lat=30, lon=120, assessment="浓烟", guidance=(), photos=(), at=T0)
    with pytest.raises(IllegalTransition):
        r.confirm("a", hours=1, by="c", at=T0)
    r.accept(v, eta_minutes=5, courses=COURSES, grades=GRADES, at=T0)
    with pytest.raises(InvariantViolated):
        r.report_scene(v, lat=30, lon=120, assessment="", guidance=({"kind": "teleport"},), photos=(), at=T0)
    [report] = r.report_scene(v, lat=30, lon=120, assessment="三楼冒烟", guidance=(
        {"kind": "road_blocked", "note": "北门被车堵住，走东门"}, {"kind": "hydrant", "note": "东门右侧"}), photos=(), at=T0)
    assert report.guidance[0]["kind"] == "road_blocked"
    [confirmed] = r.confirm("a", hours=1.5, by="c", at=T0)
    assert confirmed.hours == 1.5 and r.confirm("a", hours=1.5, by="c", at=T0) == []

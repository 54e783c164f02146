"""A volunteer's file and a team, pure: the review's steps and who took them, a rejection's
reason, insurance in force deciding the duty roll, and a team of approved volunteers only."""

from __future__ import annotations

import datetime as dt

import pytest

from linkduty_shared.domain import IllegalTransition, InvariantViolated
from volunteers.domain.courses import parse_courses, shipped_courses_text
from volunteers.domain.events import TeamFormed, VolunteerApplied
from volunteers.domain.service_domains import parse_service_domains, shipped_service_domains_text
from volunteers.domain.volunteer import NotFitForDuty, Policy, ReviewStatus, Team, Volunteer

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
J = {"community": "c1", "street": "s1", "district": "d1", "city": "x"}


def applied(volunteer_id: str = "v1") -> Volunteer:
    v = Volunteer(volunteer_id)
    v.apply(VolunteerApplied(volunteer_id=volunteer_id, at=T0.isoformat(), name_masked="张*", id_number_masked="**1234",
                             phone_masked="*******5678", person_ref="ref", domains=("first_aid",),
                             home_community="c1", jurisdiction=J, availability=("weekends",), applied_by="app"))
    return v


def approved(volunteer_id: str = "v1") -> Volunteer:
    v = applied(volunteer_id)
    v.start_review(by="reviewer-1", at=T0)
    v.approve(by="reviewer-2", at=T0 + dt.timedelta(days=2))
    return v


def policy(start: str, end: str, number: str = "P-1") -> Policy:
    return Policy(number, "人保财险", dt.date.fromisoformat(start), dt.date.fromisoformat(end))


def test_the_review_goes_submitted_under_review_approved_with_a_reviewer_and_a_time_on_every_step():
    v = approved()
    assert v.status is ReviewStatus.APPROVED
    assert [(s["step"], s["by"]) for s in v.history] == [("submitted", "app"), ("under_review", "reviewer-1"),
                                                          ("approved", "reviewer-2")]
    assert v.history[2]["at"] == (T0 + dt.timedelta(days=2)).isoformat()


def test_a_rejection_needs_a_reason_and_ends_the_review():
    v = applied()
    with pytest.raises(IllegalTransition):
        v.reject(by="r", at=T0, reason="不符合条件")  # not under review yet
    v.start_review(by="r", at=T0)
    with pytest.raises(InvariantViolated):
        v.reject(by="r", at=T0, reason="  ")
    v.reject(by="r", at=T0, reason="背景审查未通过")
    assert v.status is ReviewStatus.REJECTED and v.history[-1]["reason"] == "背景审查未通过"
    with pytest.raises(IllegalTransition):
        v.approve(by="r", at=T0)


def test_only_an_approved_volunteer_is_insured_and_on_duty_only_while_a_policy_is_in_force():
    v = applied()
    with pytest.raises(IllegalTransition):
        v.insure(policy("2026-01-01", "2026-12-31"), by="r", at=T0)
    v = approved()
    assert not v.on_duty_roll(dt.date(2026, 12, 5)) and v.missing_for_duty(dt.date(2026, 12, 5)) == [
        "insurance in force (none recorded)"]
    v.insure(policy("2026-01-01", "2026-12-31"), by="r", at=T0)
    assert v.on_duty_roll(dt.date(2026, 12, 31)) and not v.on_duty_roll(dt.date(2027, 1, 1))
    assert v.missing_for_duty(dt.date(2027, 1, 1)) == ["insurance in force (the last policy ended 2026-12-31)"]
    v.insure(policy("2027-01-01", "2027-12-31", "P-2"), by="r", at=T0)  # renewed
    assert v.on_duty_roll(dt.date(2027, 1, 1))
    assert v.insure(policy("2027-01-01", "2027-12-31", "P-2"), by="r", at=T0) == []  # the same policy again


def test_a_policy_that_ends_before_it_starts_or_runs_for_years_is_refused():
    v = approved()
    with pytest.raises(InvariantViolated):
        v.insure(policy("2026-12-31", "2026-01-01"), by="r", at=T0)
    with pytest.raises(InvariantViolated):
        v.insure(policy("2026-01-01", "2036-01-01"), by="r", at=T0)


def test_an_erased_volunteer_is_off_the_duty_roll_and_erasing_twice_records_once():
    v = approved()
    v.insure(policy("2026-01-01", "2026-12-31"), by="r", at=T0)
    assert len(v.erase_personal_data(by="dpo", at=T0)) == 1 and v.erase_personal_data(by="dpo", at=T0) == []
    assert not v.on_duty_roll(dt.date(2026, 6, 1))


def test_a_team_is_led_and_joined_by_approved_volunteers_and_its_leader_cannot_just_leave():
    team = Team("t1")
    formed = TeamFormed(team_id="t1", name="幸福社区志愿服务队", division="c1", jurisdiction=J, leader_id="v1",
                        by="r", at=T0.isoformat())
    with pytest.raises(IllegalTransition):
        team.form(formed, applied("v1"))
    team.form(formed, approved("v1"))
    with pytest.raises(IllegalTransition):
        team.add(applied("v2"), by="r", at=T0)
    team.add(approved("v2"), by="r", at=T0)
    assert team.members == ["v1", "v2"] and team.add(approved("v2"), by="r", at=T0) == []
    with pytest.raises(IllegalTransition):
        team.remove("v1", by="r", at=T0)
    team.change_leader(approved("v2"), by="r", at=T0)
    team.remove("v1", by="r", at=T0, reason="搬家")
    assert (team.leader_id, team.members) == ("v2", ["v2"])


def test_the_shipped_service_domains_parse_and_a_repeated_id_is_refused():
    domains = parse_service_domains(shipped_service_domains_text())
    assert {"first_aid", "water_rescue", "hazard_inspection", "fire_safety_publicity", "legal_aid"} <= set(domains.ids())
    with pytest.raises(ValueError, match="twice"):
        parse_service_domains('version = "x"\n[[domains]]\nid = "a"\nname_zh = "甲"\nname_en = "a"\n'
                              '[[domains]]\nid = "a"\nname_zh = "甲"\nname_en = "a"\n')


COURSES = parse_courses(shipped_courses_text(), parse_service_domains(shipped_service_domains_text()))


def test_the_gate_names_every_required_course_not_passed_and_what_else_is_missing():
    v = approved()
    missing = v.missing_for_domain("first_aid", dt.date(2026, 12, 5), COURSES)
    assert missing == ["insurance in force (none recorded)", "course first_aid_basic (应急救护初级) not taken",
                       "course cpr_aed (心肺复苏与AED) not taken"]
    v.insure(policy("2026-01-01", "2027-12-31"), by="r", at=T0)
    v.record_result(COURSES["first_aid_basic"], passed=True, exam_on=dt.date(2026, 11, 20), by="trainer", at=T0)
    v.record_result(COURSES["cpr_aed"], passed=False, exam_on=dt.date(2026, 11, 21), by="trainer", at=T0)
    with pytest.raises(NotFitForDuty) as refused:
        v.fit_for("first_aid", dt.date(2026, 12, 5), COURSES)
    assert refused.value.status == 409 and refused.value.extra["missing"] == [
        "course cpr_aed (心肺复苏与AED) failed on 2026-11-21"]
    v.record_result(COURSES["cpr_aed"], passed=True, exam_on=dt.date(2026, 11, 28), by="trainer", at=T0)
    v.fit_for("first_aid", dt.date(2026, 12, 5), COURSES)  # fit: nothing raised
    assert v.missing_for_domain("water_rescue", dt.date(2026, 12, 5), COURSES) == [
        "course water_rescue_basic (水上救援基础) not taken"]


def test_a_certificate_runs_out_after_the_course_s_validity_and_a_failed_retake_ends_a_pass():
    v = approved()
    v.insure(policy("2026-01-01", "2028-06-30"), by="r", at=T0)
    v.insure(policy("2028-07-01", "2029-12-31", "P-2"), by="r", at=T0)  # renewed
    for course in ("first_aid_basic", "cpr_aed"):
        v.record_result(COURSES[course], passed=True, exam_on=dt.date(2026, 11, 30), by="t", at=T0)
    assert v.results["cpr_aed"].certificate_until == "2028-11-29"  # 24 months
    assert v.missing_for_domain("first_aid", dt.date(2028, 11, 29), COURSES) == []
    assert v.missing_for_domain("first_aid", dt.date(2028, 11, 30), COURSES) == [
        "course cpr_aed (心肺复苏与AED): its certificate ended 2028-11-29"]
    v.record_result(COURSES["first_aid_basic"], passed=False, exam_on=dt.date(2026, 11, 30), by="t", at=T0)
    assert "failed" in v.missing_for_domain("first_aid", dt.date(2027, 1, 1), COURSES)[0]


def test_only_an_approved_volunteer_is_trained_and_never_for_an_exam_to_come():
    with pytest.raises(IllegalTransition):
        applied().record_result(COURSES["cpr_aed"], passed=True, exam_on=dt.date(2026, 11, 1), by="t", at=T0)
    with pytest.raises(InvariantViolated):
        approved().record_result(COURSES["cpr_aed"], passed=True, exam_on=dt.date(2026, 12, 2), by="t", at=T0)


def test_courses_must_train_every_domain_and_name_only_known_ones():
    domains = parse_service_domains(shipped_service_domains_text())
    with pytest.raises(ValueError, match="no required course for"):
        parse_courses('version = "x"\n[[courses]]\nid = "a"\nname_zh = "甲"\ndomains = ["first_aid"]\n'
                      'required = true\n', domains)
    with pytest.raises(ValueError, match="does not know"):
        parse_courses('version = "x"\n[[courses]]\nid = "a"\nname_zh = "甲"\ndomains = ["dragons"]\n', domains)

"""Grades and stars as data, and the hour ledger, pure: a promotion names the rule it met, a
certificate that runs out demotes naming what is unmet, corrections are new entries, stars are
certified by hours only on application."""

from __future__ import annotations

import datetime as dt

import pytest

from linkduty_shared.domain import InvariantViolated
from volunteers.domain.courses import parse_courses, shipped_courses_text
from volunteers.domain.events import VolunteerDemoted, VolunteerHoursCredited, VolunteerPromoted
from volunteers.domain.grades import parse_grades, shipped_grades_text
from volunteers.domain.service_domains import parse_service_domains, shipped_service_domains_text
from volunteers.domain.volunteer import NotEnoughHours

from tests.unit.volunteers.test_volunteer import T0, approved

DOMAINS = parse_service_domains(shipped_service_domains_text())
COURSES = parse_courses(shipped_courses_text(), DOMAINS)
GRADES = parse_grades(shipped_grades_text(), COURSES)


def entry(n: int, hours: float, rating: int | None = 5, **kw) -> VolunteerHoursCredited:
    return VolunteerHoursCredited(f"e{n}", hours, kw.pop("source", "service_order"), f"o{n}", rating,
                                  confirmed_by="resident", at=T0.isoformat(), **kw)


def credited(total_entries: int, hours: float, rating: int = 5):
    v = approved()
    for n in range(total_entries):
        v.credit_hours(entry(n, hours, rating))
    return v


def test_an_approved_volunteer_starts_at_the_entry_grade_and_is_promoted_with_the_rule_it_met():
    v = credited(5, 12)  # 60 h, five ratings of 5
    assert v.grade_on(GRADES).id == "level_1"
    assert v.regrade(GRADES, COURSES, T0.date(), by="r", at=T0) == []  # no first-aid course yet: stays
    v.record_result(COURSES["first_aid_basic"], passed=True, exam_on=T0.date(), by="t", at=T0)
    [promoted] = v.regrade(GRADES, COURSES, T0.date(), by="r", at=T0)
    assert isinstance(promoted, VolunteerPromoted)
    assert (promoted.from_grade, promoted.to_grade) == ("level_1", "level_2")
    assert promoted.rule["min_hours"] == 50 and promoted.rule["courses"] == ["first_aid_basic"]
    assert promoted.standing == {"hours": 60, "ratings": 5, "average_rating": 5.0}
    assert v.regrade(GRADES, COURSES, T0.date(), by="r", at=T0) == []  # held: no event


def test_a_certificate_that_ran_out_demotes_naming_what_is_unmet():
    v = credited(5, 12)
    v.record_result(COURSES["first_aid_basic"], passed=True, exam_on=T0.date(), by="t", at=T0)
    v.regrade(GRADES, COURSES, T0.date(), by="r", at=T0)
    later = T0 + dt.timedelta(days=3 * 366)
    [demoted] = v.regrade(GRADES, COURSES, later.date(), by="r", at=later)
    assert isinstance(demoted, VolunteerDemoted)
    assert (demoted.from_grade, demoted.to_grade) == ("level_2", "level_1")
    assert demoted.unmet == ("course first_aid_basic passed, certificate in date",)


def test_a_low_average_rating_keeps_the_grade_out_of_reach():
    v = credited(5, 12, rating=3)
    v.record_result(COURSES["first_aid_basic"], passed=True, exam_on=T0.date(), by="t", at=T0)
    assert v.regrade(GRADES, COURSES, T0.date(), by="r", at=T0) == []
    assert GRADES["level_2"].unmet(v.standing(T0.date())) == ["an average rating of 4 (has 3.00)"]


def test_the_ledger_is_append_only_a_correction_is_a_new_entry_and_never_takes_it_below_zero():
    v = credited(2, 4)
    assert v.credit_hours(entry(0, 4)) == []  # the same entry again: credited once
    with pytest.raises(InvariantViolated):
        v.credit_hours(entry(9, -1, None, source="correction", corrects="e0", reason=" "))  # says why
    with pytest.raises(InvariantViolated):
        v.credit_hours(entry(9, -9, None, source="correction", corrects="e0", reason="录入错误"))
    v.credit_hours(entry(9, -1.5, None, source="correction", corrects="e0", reason="录入错误"))
    assert v.hours == 6.5 and list(v.ledger) == ["e0", "e1", "e9"]
    with pytest.raises(InvariantViolated):
        v.credit_hours(entry(10, 30))  # an entry is at most a day


def test_stars_are_certified_on_application_by_hours_and_a_409_says_how_many_are_missing():
    v = credited(8, 12)  # 96 h
    with pytest.raises(NotEnoughHours) as refused:
        v.certify_stars(GRADES, by="v", at=T0)
    assert refused.value.extra == {"hours": 96, "next_stars": 1, "next_min_hours": 100}
    v.credit_hours(entry(50, 24))
    [certified] = v.certify_stars(GRADES, by="v", at=T0)
    assert (certified.stars, certified.hours, certified.min_hours) == (1, 120, 100) and v.stars == 1
    with pytest.raises(NotEnoughHours):
        v.certify_stars(GRADES, by="v", at=T0)  # one star held, 300 h for the next


def test_grades_data_refuses_an_entry_grade_with_a_rule_and_stars_out_of_order():
    with pytest.raises(ValueError, match="entry grade"):
        parse_grades('version = "x"\n[[grades]]\nid = "a"\nname_zh = "a"\nmin_hours = 5\n', COURSES)
    with pytest.raises(ValueError, match="stars"):
        parse_grades('version = "x"\n[[grades]]\nid = "a"\nname_zh = "a"\n'
                     '[[stars]]\nstars = 1\nmin_hours = 10\n[[stars]]\nstars = 2\nmin_hours = 5\n', COURSES)
    with pytest.raises(ValueError, match="unknown courses"):
        parse_grades('version = "x"\n[[grades]]\nid = "a"\nname_zh = "a"\n[[grades]]\nid = "b"\nname_zh = "b"\n'
                     'courses = ["nope"]\n', COURSES)

"""A training session, pure: seats, attendance once begun, and only those present examined."""

from __future__ import annotations

import datetime as dt

import pytest

from linkduty_shared.domain import IllegalTransition, InvariantViolated
from volunteers.domain.events import TrainingSessionScheduled
from volunteers.domain.training import TrainingSession

from tests.unit.volunteers.test_volunteer import J, T0, applied, approved


def scheduled(capacity: int = 2) -> TrainingSession:
    s = TrainingSession("s1")
    s.schedule(TrainingSessionScheduled("s1", "cpr_aed", (T0 + dt.timedelta(days=1)).isoformat(),
                                        (T0 + dt.timedelta(days=1, hours=3)).isoformat(), "社区活动室", capacity,
                                        "李教员", "c1", J, by="c", at=T0.isoformat()))
    return s


def test_a_session_seats_approved_volunteers_up_to_its_capacity():
    s = scheduled()
    with pytest.raises(IllegalTransition):
        s.enrol(applied("x"), by="c", at=T0)  # not approved
    s.enrol(approved("a"), by="c", at=T0)
    assert s.enrol(approved("a"), by="c", at=T0) == []
    s.enrol(approved("b"), by="c", at=T0)
    with pytest.raises(IllegalTransition, match="full"):
        s.enrol(approved("c"), by="c", at=T0)


def test_attendance_is_taken_once_begun_and_only_those_present_are_examined():
    s = scheduled()
    s.enrol(approved("a"), by="c", at=T0)
    s.enrol(approved("b"), by="c", at=T0)
    with pytest.raises(IllegalTransition):
        s.must_have_attended("a")  # no attendance yet
    with pytest.raises(IllegalTransition, match="begun"):
        s.take_attendance(("a",), by="c", at=T0)
    later = T0 + dt.timedelta(days=1, hours=1)
    with pytest.raises(InvariantViolated, match="not enrolled"):
        s.take_attendance(("a", "z"), by="c", at=later)
    [taken] = s.take_attendance(("a",), by="c", at=later)
    assert taken.absent == ("b",)
    s.must_have_attended("a")
    with pytest.raises(IllegalTransition, match="not present"):
        s.must_have_attended("b")
    with pytest.raises(IllegalTransition):
        s.enrol(approved("c"), by="c", at=later)

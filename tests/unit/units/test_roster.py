"""联勤: a force's standby roster — shifts scheduled and cancelled, never overlapping."""

import datetime as dt

import pytest

from linkduty_shared.domain import IllegalTransition, InvariantViolated
from units.domain.events import ShiftCancelled, ShiftScheduled
from units.domain.roster import StandbyRoster, UnknownShift, roster_id

CST = dt.timezone(dt.timedelta(hours=8))
DAY = dt.datetime(2026, 3, 2, tzinfo=CST)


def at(hour: int) -> dt.datetime:
    return DAY + dt.timedelta(hours=hour)


def scheduled(shift_id: str, start: int, end: int, members: int = 4) -> ShiftScheduled:
    return ShiftScheduled(force_id="squad-7", division_code="c-1", shift_id=shift_id, start=at(start).isoformat(),
                          end=at(end).isoformat(), members=members)


def given(*events) -> StandbyRoster:
    return StandbyRoster.rehydrate(roster_id("squad-7"), events)


def test_a_first_shift_starts_the_roster():
    roster = given()
    roster.schedule("squad-7", "c-1", "s1", at(8), at(20), 4)
    assert roster.pending == [scheduled("s1", 8, 20)]
    assert roster.id == "squad-7/roster" and roster.division_code == "c-1"


def test_an_overlapping_shift_is_refused_and_one_that_only_touches_is_not():
    roster = given(scheduled("s1", 8, 20))
    with pytest.raises(InvariantViolated, match="overlaps shift s1"):
        roster.schedule("squad-7", "c-1", "s2", at(19), at(23), 2)
    with pytest.raises(InvariantViolated, match="overlaps"):
        roster.schedule("squad-7", "c-1", "s2", at(6), at(30), 2)  # encloses it
    roster.schedule("squad-7", "c-1", "s2", at(20), at(32), 2)  # [8, 20) then [20, 32)
    assert roster.pending == [scheduled("s2", 20, 32, 2)]


def test_times_must_be_aware_and_ordered_and_someone_on_duty():
    roster = given()
    with pytest.raises(InvariantViolated, match="UTC offset"):
        roster.schedule("squad-7", "c-1", "s1", at(8).replace(tzinfo=None), at(20).replace(tzinfo=None), 4)
    with pytest.raises(InvariantViolated, match="before it starts"):
        roster.schedule("squad-7", "c-1", "s1", at(20), at(8), 4)
    with pytest.raises(InvariantViolated, match="at least one member"):
        roster.schedule("squad-7", "c-1", "s1", at(8), at(20), 0)
    assert roster.pending == []


def test_the_same_shift_again_is_a_no_op_and_a_different_one_under_its_id_a_conflict():
    roster = given(scheduled("s1", 8, 20))
    roster.schedule("squad-7", "c-1", "s1", at(8).astimezone(dt.UTC), at(20), 4)  # same instants, other offset
    assert roster.pending == []
    with pytest.raises(IllegalTransition):
        roster.schedule("squad-7", "c-1", "s1", at(8), at(21), 4)


def test_a_cancelled_shift_frees_its_time_and_its_id_is_not_reused():
    roster = given(scheduled("s1", 8, 20))
    roster.cancel("s1", "crew at a drill")
    assert roster.pending == [ShiftCancelled(shift_id="s1", reason="crew at a drill")]
    roster.cancel("s1")  # a retried DELETE
    assert len(roster.pending) == 1
    roster.schedule("squad-7", "c-1", "s2", at(9), at(17), 3)
    with pytest.raises(IllegalTransition, match="not reused"):
        roster.schedule("squad-7", "c-1", "s1", at(30), at(40), 3)


def test_cancelling_an_unknown_shift_is_not_found():
    with pytest.raises(UnknownShift):
        given(scheduled("s1", 8, 20)).cancel("nope")


def test_upcoming_lists_shifts_not_ended_in_order():
    roster = given(scheduled("late", 30, 40), scheduled("early", 8, 20), scheduled("past", 0, 6))
    assert [s.shift_id for s in roster.upcoming(at(10))] == ["early", "late"]

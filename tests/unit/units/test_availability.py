"""Availability: unit status first, then the joint standby roster; unlisted forces are on duty."""

from datetime import datetime, timedelta, timezone

import pytest

from units.domain.availability import Availability, DutyRoster, DutyWindow, PlanningStatus

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def test_roster_windows_are_half_open_and_unlisted_forces_are_on_duty():
    roster = DutyRoster({"team-1": (DutyWindow(T0, T0 + timedelta(hours=12)),)})
    assert roster.on_duty("team-1", T0)
    assert not roster.on_duty("team-1", T0 + timedelta(hours=12))
    assert not roster.on_duty("team-1", T0 - timedelta(seconds=1))
    assert roster.on_duty("fs-anything", T0 - timedelta(days=9))


def test_status_wins_over_roster_and_roster_over_available():
    roster = DutyRoster({"a": (), "b": ()})  # listed with no window: never on duty
    availability = Availability({"a": PlanningStatus.DISPATCHED, "c": "out_of_service"}, roster)
    assert availability.status("a", T0) is PlanningStatus.DISPATCHED
    assert availability.status("b", T0) is PlanningStatus.OFF_DUTY
    assert availability.status("c", T0) is PlanningStatus.OUT_OF_SERVICE
    assert availability.status("d", T0) is PlanningStatus.AVAILABLE


def test_windows_need_aware_times_in_order():
    with pytest.raises(ValueError, match="timezone-aware"):
        DutyWindow(datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="before it starts"):
        DutyWindow(T0, T0)

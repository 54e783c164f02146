"""联训: a joint training session, the attendance of each invited force, completion or cancellation."""

import datetime as dt

import pytest

from linkduty_shared.domain import IllegalTransition, InvariantViolated
from units.domain.events import (
    TrainingAttendanceRecorded,
    TrainingCancelled,
    TrainingCompleted,
    TrainingScheduled,
)
from units.domain.training import JointTraining

AT = dt.datetime(2026, 3, 5, 14, tzinfo=dt.timezone(dt.timedelta(hours=8)))
SCHEDULED = TrainingScheduled(topic="high-rise hose lay", division_code="s-1", at=AT.isoformat(),
                              forces=["station-1", "team-2", "squad-7"])


def given(*events) -> JointTraining:
    return JointTraining.rehydrate("t-1", events)


def test_scheduling_invites_each_force_once():
    training = given()
    training.schedule(" high-rise hose lay ", "s-1", AT, ["station-1", "team-2", "squad-7", "team-2"])
    assert training.pending == [SCHEDULED]


def test_a_schedule_needs_a_topic_an_aware_time_and_forces():
    with pytest.raises(InvariantViolated, match="topic"):
        given().schedule(" ", "s-1", AT, ["squad-7"])
    with pytest.raises(InvariantViolated, match="UTC offset"):
        given().schedule("drill", "s-1", AT.replace(tzinfo=None), ["squad-7"])
    with pytest.raises(InvariantViolated, match="at least one force"):
        given().schedule("drill", "s-1", AT, [])


def test_attendance_per_invited_force_corrected_by_a_later_record():
    training = given(SCHEDULED)
    training.record_attendance("squad-7", 5)
    training.record_attendance("team-2", 8)
    training.record_attendance("squad-7", 5)  # the same again: nothing new
    training.record_attendance("squad-7", 6)  # a correction
    assert training.pending == [
        TrainingAttendanceRecorded(force_id="squad-7", present=5),
        TrainingAttendanceRecorded(force_id="team-2", present=8),
        TrainingAttendanceRecorded(force_id="squad-7", present=6, corrects=5),
    ]
    assert training.attendance == {"squad-7": 6, "team-2": 8} and training.present == 14


def test_only_invited_forces_and_no_negative_counts():
    training = given(SCHEDULED)
    with pytest.raises(InvariantViolated, match="not invited"):
        training.record_attendance("station-9", 3)
    with pytest.raises(InvariantViolated, match="negative"):
        training.record_attendance("squad-7", -1)


def test_completion_needs_attendance_and_closes_the_record():
    with pytest.raises(InvariantViolated, match="no attendance"):
        given(SCHEDULED).complete()
    training = given(SCHEDULED, TrainingAttendanceRecorded("squad-7", 5))
    training.complete("all three forces drilled")
    assert training.pending == [TrainingCompleted(summary="all three forces drilled")]
    with pytest.raises(IllegalTransition):
        training.record_attendance("team-2", 8)
    with pytest.raises(IllegalTransition):
        training.cancel("too late")


def test_a_cancelled_training_takes_no_attendance_and_is_not_completed():
    training = given(SCHEDULED)
    with pytest.raises(InvariantViolated, match="reason"):
        training.cancel(" ")
    training.cancel("typhoon warning")
    assert training.pending == [TrainingCancelled(reason="typhoon warning")]
    for command in (lambda t: t.record_attendance("squad-7", 5), lambda t: t.complete(), lambda t: t.cancel("again")):
        with pytest.raises(IllegalTransition):
            command(training)


def test_nothing_happens_to_a_training_never_scheduled():
    with pytest.raises(IllegalTransition):
        given().record_attendance("squad-7", 1)
    with pytest.raises(IllegalTransition):
        given(SCHEDULED).schedule("again", "s-1", AT, ["squad-7"])

"""Given events → when command → then events: the aggregate base, with no infrastructure."""

import pytest

from linkduty_shared.application import to_domain_event
from linkduty_shared.domain import IllegalTransition, InvariantViolated
from linkduty_shared.eventstore.store import Position, StoredEvent
from tests.support.tally import Tally, TallyClosed, TallyIncremented, TallyOpened


def given(*events) -> Tally:
    return Tally.rehydrate("t-1", events)


def test_rehydrate_folds_events_and_counts_version():
    tally = given(TallyOpened("fire drills"), TallyIncremented(2, "a"), TallyIncremented(3, "b"))
    assert (tally.total, tally.version, tally.pending) == (5, 3, [])


def test_command_records_pending_events_and_updates_state():
    tally = given(TallyOpened("x"))
    tally.increment(4, "drill")
    assert tally.pending == [TallyIncremented(4, "drill")]
    assert tally.total == 4 and tally.version == 1


def test_illegal_transition_records_nothing():
    tally = given(TallyOpened("x"), TallyClosed())
    with pytest.raises(IllegalTransition):
        tally.increment(1, "late")
    assert tally.pending == []


def test_invariant_violation_is_refused():
    with pytest.raises(InvariantViolated):
        given(TallyOpened("x")).increment(0, "nothing")


def test_opening_twice_is_illegal():
    with pytest.raises(IllegalTransition):
        given(TallyOpened("x")).open("again")


def test_old_schema_version_is_upcast_when_read():
    stored_v1 = StoredEvent(
        stream_id="t-1", stream_type="tally", version=2, event_id=None, event_type="TallyIncremented",
        schema_version=1, data={"by": 7}, metadata={}, occurred_at=None, position=Position(1, 1),
    )
    assert to_domain_event(stored_v1) == TallyIncremented(by=7, reason="unspecified")


def test_position_orders_by_transaction_then_sequence_and_round_trips():
    assert Position(5, 100) < Position(6, 1) < Position(6, 2)
    assert Position.parse(str(Position(123, 456))) == Position(123, 456)


def test_two_services_cannot_register_one_event_type_name():
    """Every service's events share one registry in a process (the tests load them all): a name
    taken by another module's class is refused, not silently replaced (units and volunteers both
    once had a TrainingAttendanceRecorded, and the volunteers' rehydrated as the units' one)."""
    import pytest

    import alarms.domain.events  # noqa: F401 (registers the alarms service's AlarmReported)
    from linkduty_shared.domain import DomainEvent, event

    namespace: dict = {"__name__": "tests.elsewhere", "DomainEvent": DomainEvent}
    exec("class AlarmReported(DomainEvent):\n    alarm_id: str", namespace)
    with pytest.raises(ValueError, match="registered twice"):
        event("AlarmReported")(namespace["AlarmReported"])

"""The units' events are declared once, in `units.domain.events`, under the type names and schema
versions the store holds: a stored event of any of them still loads."""

import inspect

from linkduty_shared.domain import DomainEvent
from linkduty_shared.domain.event import event_class

import units.domain.dispatch  # noqa: F401  (every aggregate of the service imported, as the service does)
import units.domain.joint_operation  # noqa: F401
import units.domain.patrol  # noqa: F401
import units.domain.roster  # noqa: F401
import units.domain.training  # noqa: F401
import units.domain.unit  # noqa: F401
from units.domain import events

# Every event type the units service has ever stored, with its schema version.
STORED = {
    "UnitRegistered": 1, "UnitDispatched": 1, "UnitEnRoute": 1, "UnitArrived": 1, "UnitReturning": 1,
    "UnitStoodDown": 1, "UnitReturnedToService": 1, "UnitTakenOutOfService": 1,
    "DispatchPlanned": 1, "DispatchOrderIssued": 1, "DispatchOrderAcknowledged": 1, "DispatchOrderDeclined": 1,
    "DispatchOrderUnanswered": 1, "DispatchOrderStoodDown": 1, "DispatchedUnitEnRoute": 1,
    "DispatchedUnitArrived": 1, "DispatchedUnitLeftScene": 1, "DispatchEnded": 1, "MoveUpSuggested": 1,
    "JointOperationOpened": 1, "UnitJoinedOperation": 1, "CommandTaken": 1, "CommandHandedOver": 1,
    "OperationLogged": 1, "JointOperationClosed": 1,
    "ShiftScheduled": 1, "ShiftCancelled": 1,
    "PatrolPlanned": 1, "PatrolStarted": 1, "PatrolFindingLogged": 1, "PatrolCompleted": 1,
    "TrainingScheduled": 1, "TrainingAttendanceRecorded": 1, "TrainingCompleted": 1, "TrainingCancelled": 1,
}


def test_the_events_module_declares_exactly_the_stored_types_at_their_versions():
    declared = {cls.event_type: cls.schema_version for _, cls in inspect.getmembers(events, inspect.isclass)
                if issubclass(cls, DomainEvent) and cls is not DomainEvent}
    assert declared == STORED


def test_every_stored_type_loads_as_the_class_in_the_events_module():
    for name in STORED:
        assert event_class(name).__module__ == "units.domain.events", name


def test_a_stored_event_of_an_older_shape_still_loads():
    """A field added with a default since (UnitJoinedOperation.alarm_id) is absent from older rows."""
    joined = event_class("UnitJoinedOperation").from_data({"unit_id": "u1", "role": "main", "at": "2026-03-01T08:00:00+08:00"})
    assert (joined.unit_id, joined.alarm_id) == ("u1", "")

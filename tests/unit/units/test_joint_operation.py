"""联战: command goes to the first unit on scene and passes to the main force when it arrives."""

import pytest

from linkduty_shared.domain import IllegalTransition, InvariantViolated
from units.domain.events import (
    CommandHandedOver,
    CommandTaken,
    JointOperationClosed,
    JointOperationOpened,
    UnitJoinedOperation,
)
from units.domain.joint_operation import JointOperation


def given(*events) -> JointOperation:
    return JointOperation.rehydrate("op-a1", (JointOperationOpened("a1"), *events))


def test_the_community_squad_first_on_scene_takes_command_then_hands_it_to_the_main_force():
    op = given()
    op.unit_arrived("squad-7", "auxiliary_2", "08:03")
    op.unit_arrived("team-2", "auxiliary_1", "08:05")
    op.unit_arrived("station-1", "main", "08:07")
    op.unit_arrived("station-4", "main", "08:09")
    assert [e for e in op.pending if not isinstance(e, UnitJoinedOperation)] == [
        CommandTaken(unit_id="squad-7", role="auxiliary_2", alarm_id="a1"),
        CommandHandedOver(from_unit="squad-7", from_role="auxiliary_2", to_unit="station-1", to_role="main",
                          alarm_id="a1"),
    ]
    assert all(e.alarm_id == "a1" for e in op.pending)  # every record says which alarm it is about
    assert op.commander == ("station-1", "main") and len(op.on_scene) == 4


def test_a_main_force_first_on_scene_commands_without_handover():
    op = given()
    op.unit_arrived("station-1", "main", "08:04")
    op.unit_arrived("squad-7", "auxiliary_2", "08:05")
    assert not any(isinstance(e, CommandHandedOver) for e in op.pending)
    assert op.commander == ("station-1", "main")


def test_an_arrival_reported_twice_is_recorded_once():
    op = given(UnitJoinedOperation("squad-7", "auxiliary_2", "08:03"), CommandTaken("squad-7", "auxiliary_2"))
    op.unit_arrived("squad-7", "auxiliary_2", "08:03")
    assert op.pending == []


def test_a_closed_operation_takes_no_more_and_logs_need_text():
    op = given(JointOperationClosed(by="centre"))
    with pytest.raises(IllegalTransition):
        op.unit_arrived("station-1", "main", "08:10")
    with pytest.raises(InvariantViolated):
        given().log("  ", by="station-1")


def test_a_phone_number_typed_into_the_on_scene_log_is_recorded_masked():
    op = given()
    op.log("被困人员家属电话 138 1234 5678，3幢1502室", by="station-1")
    assert op.pending[-1].entry == "被困人员家属电话 *******5678，3幢1502室"

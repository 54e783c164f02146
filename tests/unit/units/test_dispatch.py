"""The joint dispatch record: a plan becomes orders; answers, progress and the alarm's end move them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from linkduty_shared.domain import IllegalTransition, InvariantViolated
from units.domain.dispatch import Dispatch, OrderStatus
from units.domain.events import (
    DispatchedUnitArrived,
    DispatchEnded,
    DispatchOrderIssued,
    DispatchOrderStoodDown,
    DispatchOrderUnanswered,
    DispatchPlanned,
)
from units.domain.planner import Assignment, DispatchPlan, Skip

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
ALARM = {"kind": "fire", "severity": "moderate", "lat": 30.0, "lon": 120.0, "community_code": "C", "street_code": "S",
         "received_at": NOW.isoformat(), "jurisdiction": {"community": "C", "street": "S"}}
PLAN = DispatchPlan("a1", (Assignment("fs-1", "fire_rescue_station", "main", 216, "the nearest", ("engine",)),
                           Assignment("team-S", "street_team", "auxiliary_1", 150, "street team"),
                           Assignment("squad-C", "community_squad", "auxiliary_2", 140, "community squad")),
                    skipped=(Skip("fs-0", "main", "out of service"),), shortfall=(), run_card="fire.moderate")


def planned() -> Dispatch:
    dispatch = Dispatch("a1")
    dispatch.record_plan(ALARM, PLAN, trigger="AlarmReported", now=NOW, answer_within=timedelta(seconds=60))
    return Dispatch.rehydrate("a1", dispatch.pending)


def test_a_plan_is_recorded_with_its_reasons_and_becomes_one_order_per_assignment():
    dispatch = Dispatch("a1")
    orders = dispatch.record_plan(ALARM, PLAN, trigger="AlarmReported", now=NOW, answer_within=timedelta(seconds=60))
    plan_event = dispatch.pending[0]
    assert isinstance(plan_event, DispatchPlanned) and plan_event.skipped == [
        {"force_id": "fs-0", "role": "main", "why": "out of service"}]
    assert [o.unit_id for o in orders] == ["fs-1", "team-S", "squad-C"]
    assert all(isinstance(o, DispatchOrderIssued) for o in orders)
    assert orders[0].appliances == ["engine"] and orders[0].answer_by == (NOW + timedelta(seconds=60)).isoformat()
    assert dispatch.assigned() == {"fs-1": "main", "team-S": "auxiliary_1", "squad-C": "auxiliary_2"}


def test_a_unit_with_an_order_cannot_be_ordered_again_to_the_same_alarm():
    dispatch = planned()
    with pytest.raises(InvariantViolated):
        dispatch.record_plan(ALARM, PLAN, trigger="AlarmEscalated", now=NOW, answer_within=timedelta(seconds=60))


def test_a_declined_order_frees_the_unit_for_the_next_plan_to_pass_over():
    dispatch = planned()
    dispatch.decline("fs-1", reason="engine in repair", by="fs-1", at=NOW)
    assert "fs-1" not in dispatch.assigned()
    assert dispatch.excluded() == {"fs-1": "declined this alarm: engine in repair"}
    with pytest.raises(IllegalTransition):
        dispatch.acknowledge("fs-1", eta_s=100, by="fs-1", at=NOW)


def test_a_decline_needs_a_reason():
    with pytest.raises(InvariantViolated):
        planned().decline("fs-1", reason="  ", by="fs-1", at=NOW)


def test_only_orders_past_their_answer_time_expire():
    dispatch = planned()
    dispatch.acknowledge("team-S", eta_s=120, by="team-S", at=NOW)
    assert dispatch.overdue(NOW + timedelta(seconds=59)) == []
    later = NOW + timedelta(seconds=61)
    assert sorted(dispatch.overdue(later)) == ["fs-1", "squad-C"]
    assert dispatch.expire("fs-1", now=later) is True
    assert isinstance(dispatch.pending[-1], DispatchOrderUnanswered)
    assert dispatch.expire("team-S", now=later) is False  # it answered
    assert dispatch.excluded() == {"fs-1": f"did not answer by {(NOW + timedelta(seconds=60)).isoformat()}"}


def test_acknowledging_twice_records_once():
    dispatch = planned()
    dispatch.acknowledge("fs-1", eta_s=200, by="fs-1", at=NOW)
    dispatch.acknowledge("fs-1", eta_s=200, by="fs-1", at=NOW)
    assert len(dispatch.pending) == 1


def test_a_unit_may_set_off_without_acknowledging_and_arrive_once():
    dispatch = planned()
    dispatch.unit_en_route("fs-1", at=NOW)
    dispatch.unit_arrived("fs-1", at=NOW + timedelta(minutes=4))
    arrived = dispatch.pending[-1]
    assert isinstance(arrived, DispatchedUnitArrived) and arrived.role == "main" and arrived.force_kind == "fire_rescue_station"
    assert dispatch.orders["fs-1"].status == OrderStatus.ON_SCENE
    with pytest.raises(IllegalTransition):
        dispatch.unit_arrived("fs-1", at=NOW)


def test_the_end_of_the_alarm_recalls_units_not_yet_there_and_stops_planning():
    dispatch = planned()
    dispatch.unit_arrived("squad-C", at=NOW)
    assert sorted(dispatch.end(reason="false alarm", at=NOW)) == ["fs-1", "team-S"]
    assert [type(e) for e in dispatch.pending[-3:]] == [DispatchOrderStoodDown, DispatchOrderStoodDown, DispatchEnded]
    assert dispatch.end(reason="again", at=NOW) == []
    assert dispatch.ended and dispatch.assigned() == {"squad-C": "auxiliary_2"}
    with pytest.raises(IllegalTransition):
        dispatch.record_plan(ALARM, DispatchPlan("a1", (), (), ()), trigger="AlarmEscalated", now=NOW,
                             answer_within=timedelta(seconds=60))


def test_an_ended_dispatch_stays_ended_when_replayed():
    dispatch = Dispatch("a1")
    dispatch.record_plan(ALARM, PLAN, trigger="AlarmReported", now=NOW, answer_within=timedelta(seconds=60))
    dispatch.end(reason="cancelled", at=NOW)
    replayed = Dispatch.rehydrate("a1", dispatch.pending)
    assert replayed.ended and replayed.assigned() == {}


def test_a_unit_leaves_the_scene_only_once_there_and_then_no_longer_counts_towards_the_card():
    dispatch = planned()
    with pytest.raises(IllegalTransition):
        dispatch.unit_left_scene("fs-1", at=NOW)
    dispatch.unit_arrived("fs-1", at=NOW)
    dispatch.unit_left_scene("fs-1", at=NOW + timedelta(minutes=30))
    assert dispatch.orders["fs-1"].status == OrderStatus.LEFT_SCENE and "fs-1" not in dispatch.assigned()


def test_a_phone_number_typed_into_a_decline_reason_is_recorded_masked():
    dispatch = planned()
    dispatch.decline("fs-1", reason="车辆故障，联系队长13812345678", by="fs-1", at=NOW)
    assert dispatch.pending[0].reason == "车辆故障，联系队长*******5678"

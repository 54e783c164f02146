"""联调 — the joint dispatch for one alarm: its plans, the orders to units, their answers and
their progress to the scene. Stream id = the alarm id (shared/linkduty_shared/contracts/units.py).

An order's life:

    issued ──acknowledged──▶ acknowledged ──▶ en_route ──▶ on_scene ──▶ left_scene
      │  (a unit may set off without acknowledging first: setting off is an answer)
      ├──▶ declined      ┐
      ├──▶ unanswered    ├ the unit is free again; a replacement is planned (not for stood_down)
      └──▶ stood_down    ┘ (the alarm was cancelled or a false alarm, or a centre recalled it)

The plan itself comes from the planner (planner.py); this aggregate records it and turns each
assignment into an order, and remembers who declined or did not answer so that the next plan
passes them over. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from enum import StrEnum

from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition, InvariantViolated
from linkduty_shared.domain.personal_data import scrub_personal_numbers

from units.domain.events import (
    DispatchEnded,
    DispatchOrderAcknowledged,
    DispatchOrderDeclined,
    DispatchOrderIssued,
    DispatchOrderStoodDown,
    DispatchOrderUnanswered,
    DispatchPlanned,
    DispatchedUnitArrived,
    DispatchedUnitEnRoute,
    DispatchedUnitLeftScene,
    MoveUpSuggested,
)
from units.domain.planner import AlarmFacts, DispatchPlan, Role


class OrderStatus(StrEnum):
    ISSUED = "issued"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    LEFT_SCENE = "left_scene"
    DECLINED = "declined"
    UNANSWERED = "unanswered"
    STOOD_DOWN = "stood_down"


ACTIVE = frozenset({OrderStatus.ISSUED, OrderStatus.ACKNOWLEDGED, OrderStatus.EN_ROUTE, OrderStatus.ON_SCENE})
NOT_YET_THERE = frozenset({OrderStatus.ISSUED, OrderStatus.ACKNOWLEDGED, OrderStatus.EN_ROUTE})


@dataclasses.dataclass
class Order:
    unit_id: str
    force_kind: str
    role: Role
    status: OrderStatus
    issued_at: str
    answer_by: str
    why_ended: str | None = None


class Dispatch(Aggregate):
    stream_type = "dispatch"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.alarm: dict = {}
        self.orders: dict[str, Order] = {}  # unit id → its latest order for this alarm
        self.ended = False  # the alarm ended: no more plans
        self.plans = 0
        self.shortfall: list[str] = []  # what the last plan could not fill

    # ---- state ---------------------------------------------------------------------------

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case DispatchPlanned():
                self.alarm, self.shortfall = e.alarm, list(e.shortfall)
                self.plans += 1
            case DispatchOrderIssued():
                self.orders[e.unit_id] = Order(e.unit_id, e.force_kind, e.role, OrderStatus.ISSUED, e.issued_at,
                                               e.answer_by)
            case DispatchOrderAcknowledged():
                self.orders[e.unit_id].status = OrderStatus.ACKNOWLEDGED
            case DispatchOrderDeclined():
                self._end(e.unit_id, OrderStatus.DECLINED, f"declined this alarm: {e.reason}")
            case DispatchOrderUnanswered():
                self._end(e.unit_id, OrderStatus.UNANSWERED, f"did not answer by {e.answer_by}")
            case DispatchOrderStoodDown():
                self._end(e.unit_id, OrderStatus.STOOD_DOWN, e.reason)
            case DispatchedUnitEnRoute():
                self.orders[e.unit_id].status = OrderStatus.EN_ROUTE
            case DispatchedUnitArrived():
                self.orders[e.unit_id].status = OrderStatus.ON_SCENE
            case DispatchedUnitLeftScene():
                self.orders[e.unit_id].status = OrderStatus.LEFT_SCENE
            case DispatchEnded():
                self.ended = True

    def _end(self, unit_id: str, status: OrderStatus, why: str) -> None:
        order = self.orders[unit_id]
        order.status, order.why_ended = status, why

    def facts(self, alarm: dict | None = None) -> AlarmFacts:
        """What the planner needs of the alarm: as last planned on, or as `alarm` now says."""
        a = self.alarm if alarm is None else alarm
        return AlarmFacts(alarm_id=self.id, kind=a["kind"], severity=a["severity"], lat=a["lat"], lon=a["lon"],
                          community_code=a["community_code"], street_code=a["street_code"])

    def assigned(self) -> dict[str, Role]:
        """Units sent and still on this alarm, with their roles: the next plan counts them."""
        return {o.unit_id: o.role for o in self.orders.values() if o.status in ACTIVE}

    def excluded(self) -> dict[str, str]:
        """Units that declined or did not answer this alarm, with why: the next plan passes them over."""
        return {o.unit_id: o.why_ended for o in self.orders.values()
                if o.status in (OrderStatus.DECLINED, OrderStatus.UNANSWERED)}

    def order(self, unit_id: str) -> Order:
        try:
            return self.orders[unit_id]
        except KeyError:
            raise InvariantViolated(f"unit {unit_id} has no order for alarm {self.id}") from None

    def overdue(self, now: datetime) -> list[str]:
        """Units whose order is still unanswered at `now`, past its answer-by time."""
        return [o.unit_id for o in self.orders.values()
                if o.status == OrderStatus.ISSUED and datetime.fromisoformat(o.answer_by) <= now]

    # ---- commands ------------------------------------------------------------------------

    def record_plan(self, alarm: dict, plan: DispatchPlan, *, trigger: str, now: datetime,
                    answer_within: timedelta, replaces: str | None = None) -> list[DispatchOrderIssued]:
        """Record a plan and issue an order for each of its assignments; returns the orders.

        `alarm` holds the facts planned on (see DispatchPlanned.alarm); a first plan needs them."""
        if self.ended:
            raise IllegalTransition(f"the alarm {self.id} has ended: no more dispatch")
        if plan.alarm_id != self.id:
            raise InvariantViolated(f"a plan for alarm {plan.alarm_id} recorded on dispatch {self.id}")
        already = [a.force_id for a in plan.assignments if self.orders.get(a.force_id) and
                   self.orders[a.force_id].status in ACTIVE]
        if already:
            raise InvariantViolated(f"unit(s) {', '.join(already)} already have an order for alarm {self.id}")
        self._record(DispatchPlanned(
            alarm_id=self.id, trigger=trigger, run_card=plan.run_card, alarm=alarm,
            assignments=[dataclasses.asdict(a) for a in plan.assignments],
            skipped=[dataclasses.asdict(s) for s in plan.skipped], shortfall=list(plan.shortfall),
        ))
        issued_at, answer_by = now.isoformat(), (now + answer_within).isoformat()
        return [e for a in plan.assignments for e in self._record(DispatchOrderIssued(
            alarm_id=self.id, unit_id=a.force_id, force_kind=a.force_kind, role=a.role, estimated_eta_s=a.eta_s,
            reason=a.reason, appliances=list(a.units), issued_at=issued_at, answer_by=answer_by, replaces=replaces,
        ))]

    def acknowledge(self, unit_id: str, *, eta_s: int, by: str, at: datetime) -> None:
        order = self.order(unit_id)
        if order.status == OrderStatus.ACKNOWLEDGED:
            return  # the app sent its answer twice
        self._require(order, {OrderStatus.ISSUED}, "acknowledge")
        if eta_s < 0:
            raise InvariantViolated(f"an ETA cannot be negative ({eta_s} s)")
        self._record(DispatchOrderAcknowledged(alarm_id=self.id, unit_id=unit_id, eta_s=eta_s, by=by,
                                               at=at.isoformat()))

    def decline(self, unit_id: str, *, reason: str, by: str, at: datetime) -> None:
        order = self.order(unit_id)
        self._require(order, {OrderStatus.ISSUED, OrderStatus.ACKNOWLEDGED}, "decline")
        if not reason.strip():
            raise InvariantViolated("a unit declining an order must say why")
        self._record(DispatchOrderDeclined(alarm_id=self.id, unit_id=unit_id, reason=scrub_personal_numbers(reason),
                                           by=by, at=at.isoformat()))

    def expire(self, unit_id: str, *, now: datetime) -> bool:
        """Mark an order unanswered if it still is past its answer-by time; False if it was answered."""
        if unit_id not in self.overdue(now):
            return False
        order = self.orders[unit_id]
        self._record(DispatchOrderUnanswered(alarm_id=self.id, unit_id=unit_id, answer_by=order.answer_by,
                                             at=now.isoformat()))
        return True

    def unit_en_route(self, unit_id: str, *, at: datetime) -> None:
        order = self.order(unit_id)
        self._require(order, {OrderStatus.ISSUED, OrderStatus.ACKNOWLEDGED}, "set off")
        self._record(DispatchedUnitEnRoute(alarm_id=self.id, unit_id=unit_id, at=at.isoformat()))

    def unit_arrived(self, unit_id: str, *, at: datetime) -> None:
        order = self.order(unit_id)
        self._require(order, NOT_YET_THERE, "arrive")
        self._record(DispatchedUnitArrived(alarm_id=self.id, unit_id=unit_id, force_kind=order.force_kind,
                                           role=order.role, at=at.isoformat()))

    def unit_left_scene(self, unit_id: str, *, at: datetime) -> None:
        order = self.order(unit_id)
        self._require(order, {OrderStatus.ON_SCENE}, "leave the scene")
        self._record(DispatchedUnitLeftScene(alarm_id=self.id, unit_id=unit_id, at=at.isoformat()))

    def stand_down(self, unit_id: str, *, reason: str, at: datetime) -> None:
        """A centre recalls one unit before it reaches the scene."""
        self._require(self.order(unit_id), NOT_YET_THERE, "stand down")
        self._record(DispatchOrderStoodDown(alarm_id=self.id, unit_id=unit_id, reason=scrub_personal_numbers(reason),
                                            at=at.isoformat()))

    def end(self, *, reason: str, at: datetime) -> list[str]:
        """The alarm ended: recall every unit not yet on scene and plan no more. Returns those
        recalled (units on scene stay until they report returning). Ending twice does nothing."""
        if self.ended:
            return []
        units = [o.unit_id for o in self.orders.values() if o.status in NOT_YET_THERE]
        for unit in units:
            self._record(DispatchOrderStoodDown(alarm_id=self.id, unit_id=unit, reason=scrub_personal_numbers(reason),
                                                at=at.isoformat()))
        self._record(DispatchEnded(alarm_id=self.id, reason=scrub_personal_numbers(reason), at=at.isoformat()))
        return units

    def suggest_move_up(self, *, station_id: str, area_code: str, cover_from: str, eta_s: int, reason: str) -> None:
        self._record(MoveUpSuggested(alarm_id=self.id, station_id=station_id, area_code=area_code,
                                     cover_from=cover_from, eta_s=eta_s, reason=reason))

    def _require(self, order: Order, allowed: frozenset[OrderStatus] | set[OrderStatus], what: str) -> None:
        if order.status not in allowed:
            raise IllegalTransition(f"unit {order.unit_id} cannot {what} on alarm {self.id}: its order is {order.status}")

"""Joint dispatch (联调) and the unit's progress to the scene: plan for an alarm and order the
units of the plan, follow their answers and their status, open the joint operation (联战) on
arrival, recall them when the alarm ends.

Every change that touches several records — a plan ordering units, an answer that frees a unit and
orders its replacement, an arrival that moves the unit, its order and the joint operation — is
one transaction over those streams, retried on a concurrent change: a plan never sends a unit
another plan sent a moment before, and nothing is half-written.

A dispatch is seen by a centre whose jurisdiction holds its alarm, and by a unit (its own app)
ordered to it; anything else is the same 404 as no dispatch at all.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from linkduty_shared.application import (
    AggregateNotFound,
    CommandContext,
    EventSourcedRepository,
    Transaction,
    UnitOfWork,
)
from linkduty_shared.auth import Principal
from linkduty_shared.domain import IllegalTransition
from linkduty_shared.eventstore import ConcurrencyConflict, EventStore

from units.application.registry import SOURCE, Registry, utcnow
from units.domain.availability import Availability, PlanningStatus
from units.domain.dispatch import Dispatch
from units.domain.joint_operation import JointOperation
from units.domain.move_up import suggest_move_up
from units.domain.planner import STATION, DispatchPlan, plan_dispatch
from units.domain.run_cards import RunCards
from units.domain.travel import DEFAULT_SPEED_MODEL, SpeedModel
from units.domain.unit import Status, Unit
from units.projections.dispatch_orders import DispatchOrders, overdue_orders
from units.projections.duty_shifts import roster_at
from units.projections.response_intervals import ResponseIntervals
from units.projections.unit_board import busy_units

log = logging.getLogger(__name__)


def operation_id(alarm_id: str) -> str:
    """The joint operation's stream id: the dispatch already uses the alarm id as its own."""
    return f"{alarm_id}/operation"


def alarm_facts(reported: dict) -> dict:
    """The facts a plan needs, from an AlarmReported event's data (the alarms.events contract)."""
    j = reported["jurisdiction"]
    return {"kind": reported["kind"], "severity": reported["severity"], "lat": reported["location"]["lat"],
            "lon": reported["location"]["lon"], "community_code": j["community"], "street_code": j["street"],
            "received_at": reported["received_at"], "jurisdiction": j}


class Dispatcher:
    def __init__(self, store: EventStore, registry: Registry, *, topic: str | None, run_cards: RunCards,
                 answer_within: dt.timedelta, speed: SpeedModel = DEFAULT_SPEED_MODEL,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.store, self.registry, self.directory = store, registry, registry.directory
        self.run_cards, self.speed, self.answer_within, self.clock = run_cards, speed, answer_within, clock
        self.units = registry.units
        self.dispatches = EventSourcedRepository(store, Dispatch, source=SOURCE, topic=topic,
                                                 inline_projections=(DispatchOrders(), ResponseIntervals()),
                                                 chain=lambda d: tuple(d.alarm["jurisdiction"].values()))
        # Keyed by the alarm id, like the dispatch, so consumers see both on the alarm's partition.
        self.operations = EventSourcedRepository(store, JointOperation, source=SOURCE, topic=topic,
                                                 partition_key=lambda op: op.id.split("/")[0])
        self.uow = UnitOfWork(store)

    # ---- reads -------------------------------------------------------------------------------

    def _require_visible(self, dispatch: Dispatch, principal: Principal | None, unit_id: str | None) -> Dispatch:
        """The dispatch, if the caller may see it: a centre whose jurisdiction holds the alarm, or
        `unit_id` speaking for itself and ordered to it. None is the service's own actor."""
        if principal is not None and unit_id is not None and principal.client_id == unit_id:
            sees = unit_id in dispatch.orders
        else:
            sees = dispatch.exists and self.dispatches.visible(dispatch, principal)
        if not sees:
            raise AggregateNotFound(dispatch.id)
        return dispatch

    async def read(self, alarm_id: str, principal: Principal | None = None) -> Dispatch:
        return self._require_visible(await self.dispatches.load(alarm_id), principal, None)

    async def read_operation(self, alarm_id: str, principal: Principal | None = None) -> JointOperation:
        """The joint operation at the alarm (404 until a unit of the dispatch is on scene)."""
        await self.read(alarm_id, principal)
        return await self.operations.get(operation_id(alarm_id))

    async def _availability(self, conn: asyncpg.Connection, now: dt.datetime) -> Availability:
        return Availability(await busy_units(conn), await roster_at(conn, now))

    # ---- planning and ordering ---------------------------------------------------------------

    async def dispatch_alarm(self, alarm_id: str, trigger: str, ctx: CommandContext, *, facts: dict | None = None,
                             changes: dict | None = None) -> Dispatch:
        """Plan for the alarm and order the units of the plan (a first plan needs `facts`; a
        later one, after an escalation or a change of kind or severity, fills what is missing)."""
        async def work(tx: Transaction) -> Dispatch:
            dispatch = await tx.load(self.dispatches, alarm_id)
            if dispatch.ended or (not dispatch.exists and facts is None):
                return dispatch  # ended, or a change to an alarm this service never planned for
            if dispatch.exists and trigger == "AlarmReported":
                return dispatch  # a redelivered AlarmReported: planned already
            alarm = {**(dispatch.alarm or facts), **(changes or {})}
            await self._plan_and_order(tx, dispatch, alarm, trigger, ctx)
            await tx.save(self.dispatches, dispatch)
            return dispatch
        return await self.uow.run(work, ctx)

    async def _plan_and_order(self, tx: Transaction, dispatch: Dispatch, alarm: dict, trigger: str,
                              ctx: CommandContext, replaces: str | None = None) -> DispatchPlan:
        """Record a plan for what is missing on `dispatch` and dispatch its units; the caller
        saves `dispatch` in the same transaction."""
        now = self.clock()
        availability = await self._availability(tx.conn, now)
        forces = self.registry.forces
        plan = plan_dispatch(dispatch.facts(alarm), forces, availability, self.run_cards, now, self.speed,
                             assigned=dispatch.assigned(), excluded=dispatch.excluded())
        if (dispatch.exists and not plan.assignments and alarm == dispatch.alarm
                and list(plan.shortfall) == dispatch.shortfall):
            # Nothing new to send and nothing new to say (an escalation while every force is out):
            # a plan repeating the last one would only be routed to every centre again.
            return plan
        dispatch.record_plan(alarm, plan, trigger=trigger, now=now, answer_within=self.answer_within, replaces=replaces)
        for assignment in plan.assignments:
            unit = await tx.load(self.units, assignment.force_id)
            if unit.status != Status.AVAILABLE:
                # sent elsewhere since the availability read: plan again on fresh state
                raise ConcurrencyConflict(unit.id, unit.version)
            unit.dispatch(dispatch.id, by=ctx.actor or "units")
            await tx.save(self.units, unit)
        self._suggest_move_ups(dispatch, plan, availability, now)
        return plan

    def _suggest_move_ups(self, dispatch: Dispatch, plan: DispatchPlan, before: Availability, now: dt.datetime) -> None:
        leaving = [a.force_id for a in plan.assignments if a.force_kind == STATION]
        if not leaving:
            return
        after = Availability({**before.statuses, **{f: PlanningStatus.DISPATCHED for f in leaving}}, before.roster)
        for station_id in leaving:
            move = suggest_move_up(station_id, self.registry.forces, after, now, self.speed)
            if move is not None:
                dispatch.suggest_move_up(station_id=move.station_id, area_code=move.area_code,
                                         cover_from=move.cover_from, eta_s=move.eta_s, reason=move.reason)

    async def end_dispatch(self, alarm_id: str, reason: str, ctx: CommandContext) -> list[str]:
        """The alarm ended: recall every unit not yet on scene. Returns those recalled."""
        async def work(tx: Transaction) -> list[str]:
            dispatch = await tx.load(self.dispatches, alarm_id)
            if not dispatch.exists:
                return []
            recalled = dispatch.end(reason=reason, at=self.clock())
            for unit_id in recalled:
                await self._free_unit(tx, unit_id, alarm_id, reason)
            await tx.save(self.dispatches, dispatch)
            return recalled
        return await self.uow.run(work, ctx)

    async def _free_unit(self, tx: Transaction, unit_id: str, alarm_id: str, reason: str) -> None:
        unit = await tx.load(self.units, unit_id)
        if unit.alarm_id == alarm_id and unit.status in (Status.DISPATCHED, Status.EN_ROUTE):
            unit.stand_down(reason)
            await tx.save(self.units, unit)

    # ---- the orders: answers, recalls, the unanswered ----------------------------------------

    async def _change_dispatch(self, alarm_id: str, ctx: CommandContext, principal: Principal | None,
                               change: Callable[[Transaction, Dispatch], Awaitable[None]], *,
                               answering: str | None = None) -> Dispatch:
        """The alarm's dispatch, if the caller may see it, changed by `change` and saved: one
        transaction, retried. `answering`: the unit answering its own order (its app, or a
        centre over it), which sees the dispatch if it is ordered to it."""
        async def work(tx: Transaction) -> Dispatch:
            if answering is not None and principal is not None:
                self.registry.require_speaks_for(principal, await tx.load(self.units, answering))
            dispatch = self._require_visible(await tx.load(self.dispatches, alarm_id), principal, answering)
            await change(tx, dispatch)
            await tx.save(self.dispatches, dispatch)
            return dispatch
        return await self.uow.run(work, ctx, principal=principal)

    async def acknowledge(self, alarm_id: str, unit_id: str, ctx: CommandContext, principal: Principal | None = None,
                          *, eta_s: int) -> Dispatch:
        """The unit takes its order, with its own estimate of seconds to the scene."""
        async def change(tx: Transaction, dispatch: Dispatch) -> None:
            dispatch.acknowledge(unit_id, eta_s=eta_s, by=ctx.actor or unit_id, at=self.clock())
        return await self._change_dispatch(alarm_id, ctx, principal, change, answering=unit_id)

    async def decline(self, alarm_id: str, unit_id: str, ctx: CommandContext, principal: Principal | None = None,
                      *, reason: str) -> Dispatch:
        """The unit cannot go: it is free again, and the next candidate is ordered in its place."""
        async def change(tx: Transaction, dispatch: Dispatch) -> None:
            dispatch.decline(unit_id, reason=reason, by=ctx.actor or unit_id, at=self.clock())
            await self._free_unit(tx, unit_id, alarm_id, f"declined: {reason}")
            await self._plan_and_order(tx, dispatch, dispatch.alarm, "DispatchOrderDeclined", ctx, replaces=unit_id)
        return await self._change_dispatch(alarm_id, ctx, principal, change, answering=unit_id)

    async def recall(self, alarm_id: str, unit_id: str, ctx: CommandContext, principal: Principal | None = None,
                     *, reason: str) -> Dispatch:
        """A centre recalls one unit before it arrives (others sufficed): no replacement is sent."""
        async def change(tx: Transaction, dispatch: Dispatch) -> None:
            dispatch.stand_down(unit_id, reason=reason, at=self.clock())
            await self._free_unit(tx, unit_id, alarm_id, f"recalled: {reason}")
        return await self._change_dispatch(alarm_id, ctx, principal, change)

    async def reassign_unanswered(self, limit: int = 100) -> int:
        """Pass over every order unanswered past its time and order the next candidate; returns
        how many were passed over. Safe on several replicas: each order is expired once."""
        now = self.clock()
        async with self.store.pool.acquire() as conn:
            overdue = await overdue_orders(conn, now, limit)
        passed_over, ctx = 0, CommandContext(actor="units-order-sweep")
        for alarm_id, unit_id in overdue:
            async def work(tx: Transaction, alarm_id=alarm_id, unit_id=unit_id) -> bool:
                dispatch = await tx.get(self.dispatches, alarm_id)
                if not dispatch.expire(unit_id, now=self.clock()):
                    return False  # answered meanwhile
                await self._free_unit(tx, unit_id, alarm_id, "no answer to the dispatch order")
                if not dispatch.ended:
                    await self._plan_and_order(tx, dispatch, dispatch.alarm, "DispatchOrderUnanswered", ctx,
                                               replaces=unit_id)
                await tx.save(self.dispatches, dispatch)
                return True
            try:
                passed_over += await self.uow.run(work, ctx)
            except Exception:  # one broken dispatch must not stop the sweep for the others
                log.exception("passing over unanswered order of %s for alarm %s failed", unit_id, alarm_id)
        return passed_over

    # ---- the unit's status and the joint operation ---------------------------------------------

    async def report_status(self, unit_id: str, ctx: CommandContext, principal: Principal | None = None, *,
                            status: str, reason: str | None = None, eta_s: int | None = None) -> Unit:
        """A status from the unit's own app or a centre over it. On a call-out it also moves the
        unit's order (and, on arrival, the joint operation), in the same transaction."""
        async def work(tx: Transaction) -> Unit:
            unit = await tx.load(self.units, unit_id)
            if principal is not None:
                self.registry.require_speaks_for(principal, unit)
            if not unit.exists:
                raise AggregateNotFound(unit_id)
            alarm_id, now = unit.alarm_id, self.clock()
            match status:
                case Status.EN_ROUTE:
                    unit.report_en_route(eta_s)
                case Status.ON_SCENE:
                    unit.report_arrival()
                case Status.RETURNING:
                    unit.report_returning()
                case Status.AVAILABLE:
                    unit.return_to_service()
                case Status.OUT_OF_SERVICE:
                    unit.take_out_of_service(reason or "reported out of service")
                case _:
                    raise IllegalTransition(f"a unit cannot report itself {status}: that status is given by dispatch")
            await tx.save(self.units, unit)
            if alarm_id and status in (Status.EN_ROUTE, Status.ON_SCENE, Status.RETURNING, Status.OUT_OF_SERVICE):
                await self._follow_order(tx, alarm_id, unit, status, now, ctx, reason)
            return unit
        return await self.uow.run(work, ctx, principal=principal)

    async def _follow_order(self, tx: Transaction, alarm_id: str, unit: Unit, status: str, now: dt.datetime,
                            ctx: CommandContext, reason: str | None) -> None:
        dispatch = await tx.load(self.dispatches, alarm_id)
        if unit.id not in dispatch.orders:
            return  # dispatched by hand, outside a plan
        if status == Status.EN_ROUTE:
            dispatch.unit_en_route(unit.id, at=now)
        elif status == Status.ON_SCENE:
            dispatch.unit_arrived(unit.id, at=now)
            operation = await tx.load(self.operations, operation_id(alarm_id))
            if not operation.exists:
                operation.open(alarm_id)
            operation.unit_arrived(unit.id, dispatch.orders[unit.id].role, now.isoformat())
            await tx.save(self.operations, operation)
        elif status == Status.RETURNING:
            dispatch.unit_left_scene(unit.id, at=now)
        else:  # out of service on the way (a breakdown): its order ends and a replacement goes
            dispatch.stand_down(unit.id, reason=f"out of service: {reason or 'no reason given'}", at=now)
            if not dispatch.ended:
                await self._plan_and_order(tx, dispatch, dispatch.alarm, "DispatchOrderStoodDown", ctx,
                                           replaces=unit.id)
        await tx.save(self.dispatches, dispatch)

    async def log_on_scene(self, alarm_id: str, ctx: CommandContext, principal: Principal | None = None, *,
                           entry: str) -> JointOperation:
        """An entry in the on-scene log of the alarm's joint operation (409 while none is open)."""
        async def work(tx: Transaction) -> JointOperation:
            self._require_visible(await tx.load(self.dispatches, alarm_id), principal, None)
            operation = await tx.load(self.operations, operation_id(alarm_id))
            operation.log(entry, by=ctx.actor or "unknown")
            await tx.save(self.operations, operation)
            return operation
        return await self.uow.run(work, ctx, principal=principal)

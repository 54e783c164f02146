"""Units application service: the registry, unit status, and joint dispatch (联调).

Every change that touches several records — a plan ordering units, an answer that frees a unit and
orders its replacement, an arrival that moves the unit, its order and the joint operation — is
one transaction over those streams, retried on a concurrent change: a plan never sends a unit
another plan sent a moment before, and nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from linkduty_shared.application import CommandContext, EventSourcedRepository, Transaction, UnitOfWork
from linkduty_shared.domain import IllegalTransition
from linkduty_shared.eventstore import ConcurrencyConflict, EventStore
from linkduty_shared.jurisdictions import Directory

from units.domain.availability import Availability, PlanningStatus
from units.domain.dispatch import Dispatch
from units.domain.forces import ForceIndex
from units.domain.joint_operation import JointOperation
from units.domain.move_up import suggest_move_up
from units.domain.planner import STATION, DispatchPlan, plan_dispatch
from units.domain.run_cards import RunCards
from units.domain.travel import DEFAULT_SPEED_MODEL, SpeedModel
from units.domain.unit import Status, Unit, default_complement
from units.projections.dispatch_orders import DispatchOrders, overdue_orders
from units.projections.duty_shifts import roster_at
from units.projections.response_intervals import ResponseIntervals
from units.projections.unit_board import UnitBoard, busy_units, registered_forces

log = logging.getLogger(__name__)
SOURCE = "/linkduty/units"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def operation_id(alarm_id: str) -> str:
    """The joint operation's stream id: the dispatch already uses the alarm id as its own."""
    return f"{alarm_id}/operation"


def alarm_facts(reported: dict) -> dict:
    """The facts a plan needs, from an AlarmReported event's data (the alarms.events contract)."""
    j = reported["jurisdiction"]
    return {"kind": reported["kind"], "severity": reported["severity"], "lat": reported["location"]["lat"],
            "lon": reported["location"]["lon"], "community_code": j["community"], "street_code": j["street"],
            "received_at": reported["received_at"], "jurisdiction": j}


class UnitsService:
    def __init__(self, store: EventStore, directory: Directory, *, topic: str, run_cards: RunCards,
                 answer_within: dt.timedelta, speed: SpeedModel = DEFAULT_SPEED_MODEL,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.store, self.directory, self.run_cards, self.speed = store, directory, run_cards, speed
        self.answer_within, self.clock = answer_within, clock
        self.units = EventSourcedRepository(store, Unit, source=SOURCE, topic=topic,
                                            inline_projections=(UnitBoard(directory),))
        self.uow = UnitOfWork(store)
        self.dispatches = EventSourcedRepository(store, Dispatch, source=SOURCE, topic=topic,
                                                 inline_projections=(DispatchOrders(), ResponseIntervals()))
        # Keyed by the alarm id, like the dispatch, so consumers see both on the alarm's partition.
        self.operations = EventSourcedRepository(store, JointOperation, source=SOURCE, topic=topic,
                                                 partition_key=lambda op: op.id.split("/")[0])
        self.forces = ForceIndex(())

    # ---- registry --------------------------------------------------------------------------

    async def register_directory_forces(self) -> int:
        """Register the city's forces that are not registered yet, in one transaction (start-up;
        safe to repeat, and on several replicas at once: the loser of the race retries and finds
        them registered)."""
        ctx = CommandContext(actor="units-registry")

        async def work(tx: Transaction) -> int:
            known = {r["unit_id"] for r in await tx.conn.fetch("SELECT unit_id FROM unit_board")}
            missing = [f for f in self.directory.forces() if f.id not in known]
            for force in missing:
                unit = self._new_unit(force.id, force_kind=force.kind, name=force.name,
                                      division_code=force.division_code, lat=force.lat, lon=force.lon)
                await tx.save(self.units, unit)
            return len(missing)

        added = await self.uow.run(work, ctx)
        await self.refresh_forces()
        return added

    def _new_unit(self, unit_id: str, **facts) -> Unit:
        """A unit registered with `facts`, what its kind brings filling what they leave out."""
        complement = default_complement(facts["force_kind"])
        for key in ("appliances", "members", "capabilities"):
            if facts.get(key) is None:
                facts[key] = complement[key]
        unit = Unit(unit_id)
        unit.register(**facts)
        return unit

    async def register(self, unit_id: str, ctx: CommandContext, **facts) -> Unit:
        unit = self._new_unit(unit_id, **facts)
        # a unit registered twice is a ConcurrencyConflict (409): not retried, it would only conflict again
        await self.uow.run(lambda tx: tx.save(self.units, unit), ctx, retry=False)
        await self.refresh_forces()
        return unit

    async def refresh_forces(self) -> None:
        """Rebuild the planner's force index from the registry (units registered elsewhere too)."""
        async with self.store.pool.acquire() as conn:
            self.forces = ForceIndex(await registered_forces(conn))

    async def _availability(self, conn: asyncpg.Connection, now: dt.datetime) -> Availability:
        return Availability(await busy_units(conn), await roster_at(conn, now))

    # ---- dispatch ----------------------------------------------------------------------------

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
        plan = plan_dispatch(dispatch.facts(alarm), self.forces, availability, self.run_cards, now, self.speed,
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
            move = suggest_move_up(station_id, self.forces, after, now, self.speed)
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
                await self._free_unit(tx, unit_id, alarm_id, reason, ctx)
            await tx.save(self.dispatches, dispatch)
            return recalled
        return await self.uow.run(work, ctx)

    async def _free_unit(self, tx: Transaction, unit_id: str, alarm_id: str, reason: str,
                         ctx: CommandContext) -> None:
        unit = await tx.load(self.units, unit_id)
        if unit.alarm_id == alarm_id and unit.status in (Status.DISPATCHED, Status.EN_ROUTE):
            unit.stand_down(reason)
            await tx.save(self.units, unit)

    async def _change_dispatch(self, alarm_id: str, ctx: CommandContext,
                               change: Callable[[Transaction, Dispatch], Awaitable[None]]) -> Dispatch:
        """Load the alarm's dispatch (404 if none), apply `change`, save: one transaction, retried."""
        async def work(tx: Transaction) -> Dispatch:
            dispatch = await tx.get(self.dispatches, alarm_id)
            await change(tx, dispatch)
            await tx.save(self.dispatches, dispatch)
            return dispatch
        return await self.uow.run(work, ctx)

    async def acknowledge(self, alarm_id: str, unit_id: str, eta_s: int, ctx: CommandContext) -> Dispatch:
        async def change(tx: Transaction, dispatch: Dispatch) -> None:
            dispatch.acknowledge(unit_id, eta_s=eta_s, by=ctx.actor or unit_id, at=self.clock())
        return await self._change_dispatch(alarm_id, ctx, change)

    async def decline(self, alarm_id: str, unit_id: str, reason: str, ctx: CommandContext) -> Dispatch:
        """The unit cannot go: it is free again, and the next candidate is ordered in its place."""
        async def change(tx: Transaction, dispatch: Dispatch) -> None:
            dispatch.decline(unit_id, reason=reason, by=ctx.actor or unit_id, at=self.clock())
            await self._free_unit(tx, unit_id, alarm_id, f"declined: {reason}", ctx)
            await self._plan_and_order(tx, dispatch, dispatch.alarm, "DispatchOrderDeclined", ctx, replaces=unit_id)
        return await self._change_dispatch(alarm_id, ctx, change)

    async def recall(self, alarm_id: str, unit_id: str, reason: str, ctx: CommandContext) -> Dispatch:
        """A centre recalls one unit before it arrives (others sufficed): no replacement is sent."""
        async def change(tx: Transaction, dispatch: Dispatch) -> None:
            dispatch.stand_down(unit_id, reason=reason, at=self.clock())
            await self._free_unit(tx, unit_id, alarm_id, f"recalled: {reason}", ctx)
        return await self._change_dispatch(alarm_id, ctx, change)

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
                await self._free_unit(tx, unit_id, alarm_id, "no answer to the dispatch order", ctx)
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

    # ---- unit status -----------------------------------------------------------------------

    async def report_status(self, unit_id: str, status: str, ctx: CommandContext, *, reason: str | None = None,
                            eta_s: int | None = None) -> Unit:
        """A status from the unit's app or a centre. On a call-out it also moves the unit's order
        (and, on arrival, the joint operation), in the same transaction."""
        async def work(tx: Transaction) -> Unit:
            unit = await tx.get(self.units, unit_id)
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
        return await self.uow.run(work, ctx)

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

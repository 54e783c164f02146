"""Joint dispatch (联调) and the joint operation (联战) at one alarm: read the dispatch, answer an
order (acknowledge with an ETA, or decline), recall a unit, keep the on-scene log."""

from __future__ import annotations


from fastapi import APIRouter, Response

from linkduty_shared.api.deps import Authenticated, Context
from linkduty_shared.application import AggregateNotFound
from linkduty_shared.api.answers import versioned
from linkduty_shared.auth import Principal

from units.api.deps import Operator, Reader, Service
from units.api.schemas import AcknowledgeIn, DeclineIn, LogEntryIn
from units.api.units import require_speaks_for
from units.application import operation_id
from units.domain.dispatch import Dispatch

router = APIRouter(prefix="/v1/dispatches", tags=["dispatch"])


def dispatch_view(dispatch: Dispatch) -> dict:
    return {
        "alarm_id": dispatch.id, "alarm": dispatch.alarm, "ended": dispatch.ended, "plans": dispatch.plans,
        "orders": [{"unit_id": o.unit_id, "force_kind": o.force_kind, "role": o.role, "status": o.status,
                    "issued_at": o.issued_at, "answer_by": o.answer_by, "why_ended": o.why_ended}
                   for o in dispatch.orders.values()],
        "version": dispatch.version,
    }


async def visible_dispatch(service, principal: Principal, alarm_id: str, unit_id: str | None = None) -> Dispatch:
    """The dispatch, if the caller may see it: a centre whose jurisdiction holds the alarm, or a
    unit (speaking for itself) ordered to it. Anything else is the same 404 as no dispatch at all."""
    dispatch = await service.dispatches.load(alarm_id)
    if unit_id is not None and principal.client_id == unit_id:
        sees = unit_id in dispatch.orders
    else:
        sees = dispatch.exists and principal.may_see(list(dispatch.alarm["jurisdiction"].values()))
    if not sees:
        raise AggregateNotFound(alarm_id)
    return dispatch


def _answer(dispatch: Dispatch, response: Response) -> dict:
    return versioned(response, dispatch_view(dispatch), dispatch.version)


@router.get("/{alarm_id}", summary="The dispatch for an alarm: its orders and their state")
async def read_dispatch(alarm_id: str, response: Response, service: Service, principal: Reader) -> dict:
    return _answer(await visible_dispatch(service, principal, alarm_id), response)


@router.post("/{alarm_id}/orders/{unit_id}/acknowledge", summary="The unit takes the order, with its ETA")
async def acknowledge(alarm_id: str, unit_id: str, body: AcknowledgeIn, response: Response, service: Service,
                      principal: Authenticated, ctx: Context) -> dict:
    await require_speaks_for(service, principal, unit_id)
    await visible_dispatch(service, principal, alarm_id, unit_id)
    return _answer(await service.acknowledge(alarm_id, unit_id, body.eta_s, ctx), response)


@router.post("/{alarm_id}/orders/{unit_id}/decline", summary="The unit cannot go: the next candidate is ordered")
async def decline(alarm_id: str, unit_id: str, body: DeclineIn, response: Response, service: Service,
                  principal: Authenticated, ctx: Context) -> dict:
    await require_speaks_for(service, principal, unit_id)
    await visible_dispatch(service, principal, alarm_id, unit_id)
    return _answer(await service.decline(alarm_id, unit_id, body.reason, ctx), response)


@router.post("/{alarm_id}/orders/{unit_id}/stand-down", summary="A centre recalls a unit before it arrives")
async def stand_down(alarm_id: str, unit_id: str, body: DeclineIn, response: Response, service: Service,
                     principal: Operator, ctx: Context) -> dict:
    await visible_dispatch(service, principal, alarm_id)
    return _answer(await service.recall(alarm_id, unit_id, body.reason, ctx), response)


@router.get("/{alarm_id}/operation", summary="The joint operation on scene: who is there, who commands, the log")
async def read_operation(alarm_id: str, response: Response, service: Service, principal: Reader) -> dict:
    await visible_dispatch(service, principal, alarm_id)
    operation = await service.operations.get(operation_id(alarm_id))
    return versioned(response, {
        "alarm_id": alarm_id, "on_scene": operation.on_scene,
        "commander": dict(zip(("unit_id", "role"), operation.commander)) if operation.commander else None,
        "log": operation.entries, "closed": operation.closed, "version": operation.version}, operation.version)


@router.post("/{alarm_id}/operation/log", status_code=201, summary="Add an entry to the on-scene log")
async def log_entry(alarm_id: str, body: LogEntryIn, response: Response, service: Service, principal: Operator,
                    ctx: Context) -> dict:
    await visible_dispatch(service, principal, alarm_id)
    operation = await service.uow.execute(service.operations, operation_id(alarm_id),
                                          lambda op: op.log(body.entry, by=ctx.actor or "unknown"), ctx,
                                          must_exist=False)
    return versioned(response, {"alarm_id": alarm_id, "log": operation.entries, "version": operation.version},
                     operation.version)

"""Joint dispatch (联调) and the joint operation (联战) at one alarm: read the dispatch, answer an
order (acknowledge with an ETA, or decline), recall a unit, keep the on-scene log."""

from __future__ import annotations

from fastapi import APIRouter, Response

from linkduty_shared.api.answers import versioned
from linkduty_shared.api.deps import Authenticated, Context

from units.api.deps import DispatchService, Operator, Reader
from units.api.schemas import (
    AcknowledgeIn,
    DeclineIn,
    DispatchOut,
    LogEntryIn,
    OperationLogOut,
    OperationOut,
)
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


def _answer(dispatch: Dispatch, response: Response) -> dict:
    return versioned(response, dispatch_view(dispatch), dispatch.version)


@router.get("/{alarm_id}", summary="The dispatch for an alarm: its orders and their state", response_model=DispatchOut)
async def read_dispatch(alarm_id: str, response: Response, dispatcher: DispatchService, principal: Reader) -> dict:
    return _answer(await dispatcher.read(alarm_id, principal), response)


@router.post("/{alarm_id}/orders/{unit_id}/acknowledge", summary="The unit takes the order, with its ETA",
             response_model=DispatchOut)
async def acknowledge(alarm_id: str, unit_id: str, body: AcknowledgeIn, response: Response,
                      dispatcher: DispatchService, principal: Authenticated, ctx: Context) -> dict:
    """From the unit's own app (units:report), or a centre over the unit (units:operate)."""
    return _answer(await dispatcher.acknowledge(alarm_id, unit_id, ctx, principal, eta_s=body.eta_s), response)


@router.post("/{alarm_id}/orders/{unit_id}/decline", summary="The unit cannot go: the next candidate is ordered",
             response_model=DispatchOut)
async def decline(alarm_id: str, unit_id: str, body: DeclineIn, response: Response, dispatcher: DispatchService,
                  principal: Authenticated, ctx: Context) -> dict:
    return _answer(await dispatcher.decline(alarm_id, unit_id, ctx, principal, reason=body.reason), response)


@router.post("/{alarm_id}/orders/{unit_id}/stand-down", summary="A centre recalls a unit before it arrives",
             response_model=DispatchOut)
async def stand_down(alarm_id: str, unit_id: str, body: DeclineIn, response: Response, dispatcher: DispatchService,
                     principal: Operator, ctx: Context) -> dict:
    return _answer(await dispatcher.recall(alarm_id, unit_id, ctx, principal, reason=body.reason), response)


@router.get("/{alarm_id}/operation", summary="The joint operation on scene: who is there, who commands, the log",
            response_model=OperationOut)
async def read_operation(alarm_id: str, response: Response, dispatcher: DispatchService, principal: Reader) -> dict:
    operation = await dispatcher.read_operation(alarm_id, principal)
    return versioned(response, {
        "alarm_id": alarm_id, "on_scene": operation.on_scene,
        "commander": dict(zip(("unit_id", "role"), operation.commander)) if operation.commander else None,
        "log": operation.entries, "closed": operation.closed, "version": operation.version}, operation.version)


@router.post("/{alarm_id}/operation/log", status_code=201, summary="Add an entry to the on-scene log",
             response_model=OperationLogOut)
async def log_entry(alarm_id: str, body: LogEntryIn, response: Response, dispatcher: DispatchService,
                    principal: Operator, ctx: Context) -> dict:
    operation = await dispatcher.log_on_scene(alarm_id, ctx, principal, entry=body.entry)
    return versioned(response, {"alarm_id": alarm_id, "log": operation.entries, "version": operation.version},
                     operation.version)

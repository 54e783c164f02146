"""Reports: response times of a division over a period, against the service's targets (NFPA 1225
/ 1710 defaults, overridable per request), and one alarm's response in detail."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request

from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import Principal

from units.api.deps import Reader
from units.api.schemas import AlarmResponseTimesOut, ResponseTimesOut
from units.analytics.response_times import Measure, Targets, UnitTimeline, report
from units.projections.response_intervals import alarm_timelines, timelines

router = APIRouter(prefix="/v1/reports", tags=["reports"])
MAX_PERIOD = dt.timedelta(days=366)
Seconds = Annotated[float | None, Query(gt=0, le=86_400)]


def _division_visible(request: Request, principal: Principal, code: str) -> None:
    """404 for a division the city does not have, 403 for one outside the caller's claim."""
    directory = request.app.state.registry.directory
    try:
        lineage = directory.lineage(code)
    except KeyError:
        raise Problem(404, "not-found", "No such division", f"division {code} does not exist") from None
    if not set(lineage) & set(principal.jurisdiction):
        raise Problem(403, "forbidden", "Not allowed", f"division {code} is outside the caller's jurisdiction")


def _period(start: dt.datetime, end: dt.datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise Problem(422, "invalid-period", "Invalid period", "from and to need a UTC offset (e.g. +08:00)")
    if not start < end:
        raise Problem(422, "invalid-period", "Invalid period", "from must be before to")
    if end - start > MAX_PERIOD:
        raise Problem(422, "invalid-period", "Invalid period", f"a report covers at most {MAX_PERIOD.days} days")


def _measure(m: Measure) -> dict:
    return {**dataclasses.asdict(m), "meets_target": m.meets_target}


@router.get("/response-times", summary="90th-percentile response intervals of a division over a period",
            response_model=ResponseTimesOut, responses=problem_responses(404))
async def response_times(
    request: Request, principal: Reader, division: str,
    start: Annotated[dt.datetime, Query(alias="from")], end: Annotated[dt.datetime, Query(alias="to")],
    kind: str | None = None, target_processing_p90_s: Seconds = None, target_turnout_fire_s: Seconds = None,
    target_travel_first_engine_s: Seconds = None,
) -> dict:
    """Alarms received in [from, to) inside `division`; `kind` narrows to one alarm kind. 404 for a
    division the city does not have, 403 for one outside the caller's jurisdiction."""
    _period(start, end)
    _division_visible(request, principal, division)
    settings = request.app.state.settings
    targets = Targets(
        processing_p90_s=target_processing_p90_s or settings.target_processing_p90_s,
        turnout_fire_s=target_turnout_fire_s or settings.target_turnout_fire_s,
        travel_first_engine_s=target_travel_first_engine_s or settings.target_travel_first_engine_s,
    )
    async with request.app.state.runtime.pool.acquire() as conn:
        sample = await timelines(conn, within=[division], start=start, end=end, alarm_kind=kind)
    r = report(sample, targets)
    return {
        "division": division, "period": {"from": start.isoformat(), "to": end.isoformat()}, "kind": kind,
        "alarms": r.alarms, "orders": len(sample), "responses": sum(1 for t in sample if t.responded),
        "processing": _measure(r.processing), "turnout": _measure(r.turnout),
        "travel_first_engine": _measure(r.travel_first_engine),
        "auxiliaries": {"squad_first_on_scene": r.squad_first_on_scene, "squad_lead_median_s": r.squad_lead_median_s},
    }


def _unit(t: UnitTimeline) -> dict:
    def iso(value: dt.datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "unit_id": t.unit_id, "role": t.role, "ended": t.ended, "received_at": iso(t.received_at),
        "first_dispatched_at": iso(t.first_dispatched_at), "dispatched_at": iso(t.dispatched_at),
        "en_route_at": iso(t.en_route_at), "on_scene_at": iso(t.on_scene_at),
        "processing_s": t.processing_s, "turnout_s": t.turnout_s, "travel_s": t.travel_s,
    }


@router.get("/response-times/alarms/{alarm_id}", summary="Each unit's response intervals for one alarm",
            response_model=AlarmResponseTimesOut)
async def alarm_response_times(alarm_id: str, request: Request, principal: Reader) -> dict:
    async with request.app.state.runtime.pool.acquire() as conn:
        within, units = await alarm_timelines(conn, alarm_id)
    # 404, not 403, outside the caller's jurisdiction: the alarm's existence is not theirs to know.
    if not set(within) & set(principal.jurisdiction):
        raise Problem(404, "not-found", "No such resource", f"responses to alarm {alarm_id} do not exist")
    return {"alarm_id": alarm_id, "alarm_kind": units[0].alarm_kind, "units": [_unit(t) for t in units]}

"""Statistics reports: GET /v1/reports/hazards, as JSON or CSV (`Accept: text/csv` or
`format=csv`), from the counters of `projections/statistics.py`."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from linkduty_shared.api.openapi import problem_responses

from hazards.api.deps import Reader
from hazards.api.report_schemas import HazardReportOut
from hazards.application.statistics import HazardReport, StatisticsService
from hazards.domain.statistics import CITY_TIME_ZONE, FIGURES, MAX_PERIOD_DAYS

router = APIRouter(prefix="/v1/reports", tags=["statistics"])
CSV = "text/csv"


async def statistics_service(request: Request) -> StatisticsService:
    return request.app.state.statistics


Statistics = Annotated[StatisticsService, Depends(statistics_service)]


@router.get("/hazards", response_model=HazardReportOut, summary="Hazard and inspection statistics of a division",
            responses={200: {"content": {CSV: {"schema": {"type": "string"}}},
                             "description": "the report (JSON), or one CSV row per scope"},
                       **problem_responses(404)})
async def hazard_report(
        request: Request, service: Statistics, principal: Reader,
        division: Annotated[str, Query(min_length=1, max_length=64, description="a division code (city … community)")],
        start: Annotated[dt.date, Query(alias="from", description="the first day (the city's local date), included")],
        end: Annotated[dt.date, Query(alias="to", description=f"the last day, included; at most {MAX_PERIOD_DAYS} "
                                                              "days from `from`")],
        format: Annotated[Literal["json", "csv"] | None, Query(description="csv: as Accept: text/csv")] = None,
) -> dict | Response:
    """The hazards reported on the days [from, to] in the division (and what became of them, by
    now), by category and by child division, and its venues' inspections due and done, by venue
    kind, each beside the same dates one year earlier. 403 for a division outside the token's
    jurisdiction claim, 404 for no such division, 422 for a micro-grid or a period refused."""
    report = await service.hazard_report(division, start, end, principal)
    if format == "csv" or (format is None and CSV in request.headers.get("accept", "")):
        return Response(as_csv(report), media_type=f"{CSV}; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="hazards-{report.division.code}-{start}-{end}.csv"'})
    return as_json(report)


def _period(start: dt.date, end: dt.date) -> dict:
    return {"from": start, "to": end}


def as_json(report: HazardReport) -> dict:
    d = report.division
    scope = lambda s: {"scope": s.scope, "key": s.key, "name": s.name, "figures": s.figures,  # noqa: E731
                       "year_earlier": s.year_earlier, "change_pct": s.change_pct}
    return {"division": {"code": d.code, "name": d.name, "level": d.level},
            "period": _period(report.start, report.end),
            "year_earlier": _period(report.earlier_start, report.earlier_end), "time_zone": CITY_TIME_ZONE,
            "total": scope(report.total), "by_category": [scope(s) for s in report.by_category],
            "by_child_division": [scope(s) for s in report.by_child_division],
            "by_venue_kind": [scope(s) for s in report.by_venue_kind]}


CSV_COLUMNS = ("division", "from", "to", "scope", "key", "name", *FIGURES,
               *(f"year_earlier_{f}" for f in FIGURES), *(f"change_pct_{f}" for f in FIGURES))


def _text(value: str | None) -> str | None:
    # A spreadsheet runs a cell starting with = + - @ as a formula: names are quoted out of that.
    return "'" + value if value and value[0] in "=+-@" else value


def as_csv(report: HazardReport) -> str:
    """One row per scope (total, each category, each child division, each venue kind), the same
    columns for all (empty where a figure is null), UTF-8, a header first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for s in report.scopes():
        writer.writerow([report.division.code, report.start, report.end, s.scope, _text(s.key), _text(s.name),
                         *(s.figures[f] for f in FIGURES), *(s.year_earlier[f] for f in FIGURES),
                         *(s.change_pct[f] for f in FIGURES)])
    return out.getvalue()

"""Response bodies of the statistics report (GET /v1/reports/hazards); the figures' definitions
are in the service's README ("Statistics") and `domain/statistics.py`."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class Figures(BaseModel):
    """A scope's figures for one period; null where the scope has no such figure (a category has
    no inspections, a venue kind no triage) or a rate or percentile is undefined (nothing to divide by)."""

    reported: int | None = Field(description="hazards reported in the period (the cohort every other hazard figure counts)")
    accepted: int | None = Field(description="of them, accepted by triage")
    rejected: int | None
    merged: int | None = Field(description="merged into another hazard as its duplicate")
    closed: int | None = Field(description="closed (verified fixed, or fixed on the spot) at least once by now")
    fixed_on_spot: int | None
    recurrences: int | None = Field(description="flagged as a recurrence (反弹) of a hazard fixed before")
    reopened: int | None = Field(description="reopened by a re-inspection (回头看) at least once")
    overdue: int | None = Field(description="escalated at least once for a missed deadline")
    closure_rate: float | None = Field(description="closed / (accepted + fixed_on_spot)")
    recurrence_rate: float | None = Field(description="recurrences / reported")
    rectification_hours_median: int | None = Field(
        description="the smallest whole number of hours within which at least half of the closed were closed")
    rectification_hours_p90: int | None = Field(description="the same for nine tenths")
    inspections_due: int | None = Field(description="venues' inspection due dates falling in the period")
    inspections_done: int | None = Field(description="inspections recorded in the period")
    hazards_found: int | None = Field(description="items of those inspections failed or fixed on the spot")
    hazards_per_100_inspections: float | None = Field(description="hazards_found / inspections_done × 100")


class Changes(BaseModel):
    """Year on year: (now − then) / then × 100, one decimal; null when then is 0 or null."""

    reported: float | None
    accepted: float | None
    rejected: float | None
    merged: float | None
    closed: float | None
    fixed_on_spot: float | None
    recurrences: float | None
    reopened: float | None
    overdue: float | None
    closure_rate: float | None
    recurrence_rate: float | None
    rectification_hours_median: float | None
    rectification_hours_p90: float | None
    inspections_due: float | None
    inspections_done: float | None
    hazards_found: float | None
    hazards_per_100_inspections: float | None


class ScopeOut(BaseModel):
    scope: Literal["total", "category", "child", "venue_kind"]
    key: str = Field(description="the division code, the category id or the venue kind")
    name: str | None
    figures: Figures
    year_earlier: Figures = Field(description="the same dates one year earlier")
    change_pct: Changes


class DivisionOut(BaseModel):
    code: str
    name: str
    level: str


class PeriodOut(BaseModel):
    from_: dt.date = Field(alias="from", description="the first day, included")
    to: dt.date = Field(description="the last day, included")


class HazardReportOut(BaseModel):
    model_config = {"populate_by_name": True}

    division: DivisionOut
    period: PeriodOut
    year_earlier: PeriodOut
    time_zone: str = Field(description="the days are the city's local days in this offset from UTC")
    total: ScopeOut
    by_category: list[ScopeOut]
    by_child_division: list[ScopeOut] = Field(description="the next level down (a community's: its micro-grids)")
    by_venue_kind: list[ScopeOut]

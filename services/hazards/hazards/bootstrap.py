"""Composition root of the hazards service."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI

from linkduty_shared.api.app import create_app
from linkduty_shared.jurisdictions import load_city
from linkduty_shared.runtime import Runtime, every

from hazards import pii
from hazards.api import erasure, hazards, lifecycle, me
from hazards.application import HazardsService
from hazards.config import HazardsSettings
from hazards.domain.categories import default_taxonomy, parse_taxonomy
from hazards.domain.values import Severity
from hazards.projections.hazard_list import HazardList


def triage_within(settings: HazardsSettings) -> dict[str, dt.timedelta]:
    """The triage deadlines by severity; every severity needs one (a ValueError names what is wrong)."""
    hours = settings.triage_within_hours
    if set(hours) != {s.value for s in Severity} or not all(0 < h <= 24 * 365 for h in hours.values()):
        raise ValueError(f"triage_within_hours must give hours in (0, 8760] for exactly {', '.join(Severity)}")
    return {severity: dt.timedelta(hours=h) for severity, h in hours.items()}


def build_app(settings: HazardsSettings | None = None) -> FastAPI:
    settings = settings or HazardsSettings()
    city = load_city(settings.directory_path)
    taxonomy = (parse_taxonomy(Path(settings.categories_path).read_text(encoding="utf-8"))
                if settings.categories_path else default_taxonomy())
    deadlines = triage_within(settings)

    if not (settings.deadline_sweep_interval_s > 0 and settings.deadline_sweep_batch > 0):
        raise ValueError("deadline_sweep_interval_s and deadline_sweep_batch must be positive")

    async def on_start(runtime: Runtime) -> None:
        service = app.state.hazards = HazardsService(
            runtime.store, city, taxonomy, topic=settings.events_topic, triage_within=deadlines,
            duplicate_radius_m=settings.duplicate_radius_m, recurrence_radius_m=settings.recurrence_radius_m,
            recurrence_window=dt.timedelta(days=settings.recurrence_window_days))
        # Every replica sweeps; optimistic concurrency makes each escalation happen once
        # (HazardsService.escalate_overdue). No timer lives in memory: each pass recomputes from PostgreSQL.
        runtime.background("deadline sweep", lambda: every(
            settings.deadline_sweep_interval_s, lambda: service.escalate_overdue(settings.deadline_sweep_batch)))

    app = create_app(
        settings, title="LinkDuty hazards",
        routers=[hazards.router, lifecycle.router, me.router, erasure.router],
        schema_sql=(HazardList.ddl, pii.DDL), on_start=on_start,
    )
    return app

"""Composition root of the hazards service."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI

from linkduty_shared.api.app import create_app
from linkduty_shared.jurisdictions import load_city
from linkduty_shared.messaging.consumer import ConsumerRunner
from linkduty_shared.objects import ObjectStore
from linkduty_shared.runtime import Runtime, every

from hazards import images, photos, pii
from hazards.api import alarm_context, erasure, hazards, inspections, lifecycle, me, open311, reports, venues
from hazards.api import photos as photo_routes
from hazards.application import HazardsService, utcnow
from hazards.application.alarm_context import AlarmContextService
from hazards.application.service import SOURCE
from hazards.application.photos import PhotosService
from hazards.application.statistics import StatisticsService
from hazards.application.venues import VenuesService
from hazards.config import HazardsSettings
from hazards.consumers import (
    alarm_context_handler,
    device_troubles_handler,
    is_alarm_reported,
    is_device_trouble,
    is_order_completed,
    is_patrol_finding,
    patrol_findings_handler,
    volunteer_findings_handler,
)
from hazards.domain.categories import default_taxonomy, parse_taxonomy
from hazards.domain.patrol_kinds import parse_patrol_kinds, shipped_patrol_kinds_text
from hazards.domain.values import Severity
from hazards.domain.venue_kinds import parse_venue_kinds, shipped_venue_kinds_text
from hazards.projections.hazard_list import HazardList
from hazards.projections.statistics import INSPECTION_DDL, HazardStatistics
from hazards.projections.venue_list import VenueList


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
    patrol_kinds = parse_patrol_kinds(Path(settings.patrol_kinds_path).read_text(encoding="utf-8")
                                      if settings.patrol_kinds_path else shipped_patrol_kinds_text(), taxonomy)
    venue_kinds = parse_venue_kinds(Path(settings.venue_kinds_path).read_text(encoding="utf-8")
                                    if settings.venue_kinds_path else shipped_venue_kinds_text(), taxonomy)

    if settings.volunteer_findings_category not in taxonomy:
        raise ValueError(f"volunteer_findings_category {settings.volunteer_findings_category!r} is no category")
    if settings.device_troubles_enabled and settings.device_troubles_category not in taxonomy:
        raise ValueError(f"device_troubles_category {settings.device_troubles_category!r} is no category")
    if not (settings.deadline_sweep_interval_s > 0 and settings.deadline_sweep_batch > 0):
        raise ValueError("deadline_sweep_interval_s and deadline_sweep_batch must be positive")

    limits = images.PhotoLimits(max_bytes=settings.photo_max_bytes, max_pixels=settings.photo_max_pixels)
    if not all(0 <= n <= 9 for n in settings.min_photos_per_report.values()):
        raise ValueError("min_photos_per_report: at most 9 photos a report")

    async def on_start(runtime: Runtime) -> None:
        photo_store = app.state.photos = PhotosService(
            runtime.store.pool, ObjectStore.from_settings(settings, prefix="hazards"), limits=limits,
            concurrency=settings.photo_concurrency, clock=utcnow)
        service = app.state.hazards = HazardsService(
            runtime.store, city, taxonomy, topic=settings.events_topic, triage_within=deadlines,
            duplicate_radius_m=settings.duplicate_radius_m, recurrence_radius_m=settings.recurrence_radius_m,
            recurrence_window=dt.timedelta(days=settings.recurrence_window_days),
            min_photos=settings.min_photos_per_report, photo_store=photo_store)
        app.state.statistics = StatisticsService(runtime.store.pool, city, taxonomy)
        # Every replica sweeps; optimistic concurrency makes each escalation happen once
        # (HazardsService.escalate_overdue). No timer lives in memory: each pass recomputes from PostgreSQL.
        runtime.background("deadline sweep", lambda: every(
            settings.deadline_sweep_interval_s, lambda: service.escalate_overdue(settings.deadline_sweep_batch)))
        registry = app.state.venues = VenuesService(service, venue_kinds, topic=settings.events_topic)
        runtime.background("inspection sweep", lambda: every(
            settings.deadline_sweep_interval_s, lambda: registry.escalate_overdue(settings.deadline_sweep_batch)))
        findings = app.state.patrol_findings = ConsumerRunner(
            bootstrap=settings.kafka, group_id=settings.patrol_findings_group, topics=[settings.units_events_topic],
            handler=patrol_findings_handler(service, patrol_kinds), wanted=is_patrol_finding,
            max_attempts=settings.consumer_max_attempts, retry_backoff_s=settings.consumer_retry_backoff_s)
        runtime.background("units.events consumer (patrol findings)", findings.run)
        visits = app.state.volunteer_findings = ConsumerRunner(
            bootstrap=settings.kafka, group_id=settings.volunteer_findings_group,
            topics=[settings.volunteers_events_topic],
            handler=volunteer_findings_handler(service, settings.volunteer_findings_category),
            wanted=is_order_completed, max_attempts=settings.consumer_max_attempts,
            retry_backoff_s=settings.consumer_retry_backoff_s)
        runtime.background("volunteers.events consumer (hazards found on home visits)", visits.run)
        if settings.device_troubles_enabled:
            troubles = app.state.device_troubles = ConsumerRunner(
                bootstrap=settings.kafka, group_id=settings.device_troubles_group,
                topics=[settings.devices_events_topic],
                handler=device_troubles_handler(service, settings.device_troubles_category),
                wanted=is_device_trouble, max_attempts=settings.consumer_max_attempts,
                retry_backoff_s=settings.consumer_retry_backoff_s)
            runtime.background("devices.events consumer (detectors' troubles)", troubles.run)
        pictures = app.state.alarm_context = AlarmContextService(
            runtime.store, venue_kinds, topic=settings.events_topic, source=SOURCE,
            venue_radius_m=settings.alarm_context_venue_radius_m, hazard_radius_m=settings.alarm_context_radius_m,
            max_age=dt.timedelta(seconds=settings.alarm_context_max_age_s), clock=utcnow)
        if settings.alarm_context_enabled:
            alarm_contexts = app.state.alarm_context_consumer = ConsumerRunner(
                bootstrap=settings.kafka, group_id=settings.alarm_context_group, topics=[settings.alarms_events_topic],
                handler=alarm_context_handler(pictures), wanted=is_alarm_reported,
                max_attempts=settings.consumer_max_attempts, retry_backoff_s=settings.consumer_retry_backoff_s)
            runtime.background("alarms.events consumer (pre-incident pictures)", alarm_contexts.run)
        keep = dt.timedelta(hours=settings.photo_unattached_keep_hours)
        runtime.background("unattached photos", lambda: every(600.0, lambda: photo_store.drop_unattached(keep)))

    app = create_app(
        settings, title="LinkDuty hazards",
        routers=[hazards.router, lifecycle.router, me.router, erasure.router, photo_routes.router, open311.router,
                 venues.router, inspections.router, reports.router, alarm_context.router],
        schema_sql=(HazardList.ddl, VenueList.ddl, HazardStatistics.ddl, INSPECTION_DDL, pii.DDL, photos.DDL),
        on_start=on_start,
        body_limits=photo_routes.body_limits(settings.photo_max_bytes) | open311.body_limits() | venues.body_limits(),
    )
    return app

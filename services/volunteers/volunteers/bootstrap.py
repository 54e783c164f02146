"""Composition root of the volunteers service: its database (event store, outbox, vault, the
read models, the position index), its data (service domains, courses, grades, order kinds), the
consumer of alarms.events that alerts volunteers near a 119 alarm, the sweeps (orders past their
deadline, stale positions), and its routes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI

from linkduty_shared import vault
from linkduty_shared.api.app import create_app
from linkduty_shared.jurisdictions import load_city
from linkduty_shared.messaging.consumer import ConsumerRunner
from linkduty_shared.runtime import Runtime, every

from volunteers import positions
from volunteers.alert_stream import AlertHub
from volunteers.api import me, orders, responses, teams, training, volunteers
from volunteers.application import VolunteersService, utcnow
from volunteers.application.orders import OrdersService
from volunteers.application.responses import ResponsesService
from volunteers.application.training import TrainingService
from volunteers.config import VolunteersSettings
from volunteers.consumers import alarm_alerts_handler, is_alarm_change
from volunteers.domain.courses import parse_courses, shipped_courses_text
from volunteers.domain.grades import parse_grades, shipped_grades_text
from volunteers.domain.order_kinds import parse_order_kinds, shipped_order_kinds_text
from volunteers.domain.service_domains import parse_service_domains, shipped_service_domains_text
from volunteers.projections.alerts import VolunteerAlerts
from volunteers.projections.order_list import OrderList
from volunteers.projections.volunteer_list import VolunteerList


def _text(path: str | None, shipped) -> str:
    return Path(path).read_text(encoding="utf-8") if path else shipped()


def build_app(settings: VolunteersSettings | None = None) -> FastAPI:
    settings = settings or VolunteersSettings()
    city = load_city(settings.directory_path)
    domains = parse_service_domains(_text(settings.service_domains_path, shipped_service_domains_text))
    courses = parse_courses(_text(settings.courses_path, shipped_courses_text), domains)
    grades = parse_grades(_text(settings.grades_path, shipped_grades_text), courses)
    order_kinds = parse_order_kinds(_text(settings.order_kinds_path, shipped_order_kinds_text), domains, grades)
    if not (settings.alert_radius_m > 0 and settings.alert_wanted > 0 and settings.alert_max >= settings.alert_wanted
            and settings.position_fresh_s > 0):
        raise ValueError("alert_radius_m, alert_wanted and position_fresh_s must be positive, alert_max ≥ alert_wanted")

    async def on_start(runtime: Runtime) -> None:
        service = app.state.volunteers = VolunteersService(runtime.store, city, domains, courses, grades,
                                                           topic=settings.events_topic, clock=utcnow)
        app.state.training = TrainingService(service, topic=settings.events_topic)
        order_service = app.state.orders = OrdersService(service, order_kinds, topic=settings.events_topic)
        response_service = app.state.responses = ResponsesService(
            service, topic=settings.events_topic, radius_m=settings.alert_radius_m, wanted=settings.alert_wanted,
            max_alerted=settings.alert_max, position_fresh=dt.timedelta(seconds=settings.position_fresh_s),
            max_alarm_age=dt.timedelta(seconds=settings.alert_max_alarm_age_s))
        hub = app.state.alert_hub = AlertHub(runtime.pool, max_streams=settings.max_alert_streams)
        runtime.background("alert stream listener", hub.listen)
        # Every replica sweeps; optimistic concurrency makes each return happen once.
        runtime.background("order deadlines", lambda: every(
            settings.order_sweep_interval_s, lambda: order_service.return_unanswered(settings.order_sweep_batch)))
        runtime.background("stale positions", lambda: every(
            min(60.0, settings.position_fresh_s), response_service.forget_stale_positions))
        if settings.alarm_alerts_enabled:
            alerts = app.state.alarm_alerts = ConsumerRunner(
                bootstrap=settings.kafka, group_id=settings.alarm_alerts_group, topics=[settings.alarms_events_topic],
                handler=alarm_alerts_handler(response_service), wanted=is_alarm_change,
                max_attempts=settings.consumer_max_attempts, retry_backoff_s=settings.consumer_retry_backoff_s)
            runtime.background("alarms.events consumer (proximity alerts)", alerts.run)

    app = create_app(settings, title="LinkDuty volunteers",
                     routers=[volunteers.router, teams.router, training.router, orders.router, responses.router,
                              me.router],
                     schema_sql=(VolunteerList.ddl, OrderList.ddl, VolunteerAlerts.ddl, positions.DDL, vault.DDL),
                     on_start=on_start)
    return app

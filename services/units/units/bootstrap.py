"""Composition root of the units service."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI

from linkduty_shared.api.app import create_app
from linkduty_shared.jurisdictions import load_city
from linkduty_shared.messaging.consumer import ConsumerRunner
from linkduty_shared.runtime import Runtime, every

from units.api import dispatches, patrols, reports, rosters, trainings, units
from units.application import RECORDS_DDL, Dispatcher, JointRecords, Registry
from units.config import UnitsSettings
from units.consumers import alarm_events_handler
from units.domain.run_cards import default_run_cards, parse_run_cards
from units.projections.dispatch_orders import DispatchOrders
from units.projections.response_intervals import ResponseIntervals
from units.projections.unit_board import UnitBoard

FORCE_INDEX_REFRESH_S = 60.0  # units registered through another replica reach this one's planner


def build_app(settings: UnitsSettings | None = None) -> FastAPI:
    settings = settings or UnitsSettings()
    city = load_city(settings.directory_path)
    run_cards = (parse_run_cards(Path(settings.run_cards_path).read_text(encoding="utf-8"))
                 if settings.run_cards_path else default_run_cards())

    async def on_start(runtime: Runtime) -> None:
        registry = Registry(runtime.store, city, topic=settings.events_topic)
        await registry.register_directory_forces()
        dispatcher = Dispatcher(runtime.store, registry, topic=settings.events_topic, run_cards=run_cards,
                                answer_within=dt.timedelta(seconds=settings.answer_within_s))
        app.state.registry, app.state.dispatcher = registry, dispatcher
        app.state.records = JointRecords(runtime.store, city, topic=settings.events_topic)
        app.state.settings = settings
        runner = ConsumerRunner(bootstrap=settings.kafka, group_id=settings.service_name,
                                topics=[settings.alarms_topic], handler=alarm_events_handler(
                                    dispatcher, max_alarm_age=dt.timedelta(seconds=settings.dispatch_max_alarm_age_s)),
                                max_attempts=settings.consumer_max_attempts,
                                retry_backoff_s=settings.consumer_retry_backoff_s)
        app.state.alarm_consumer = runner
        runtime.background("alarms.events consumer", runner.run)
        runtime.background("unanswered order sweep",
                           lambda: every(settings.order_sweep_interval_s, dispatcher.reassign_unanswered))
        runtime.background("force index refresh", lambda: every(FORCE_INDEX_REFRESH_S, registry.refresh_forces))

    app = create_app(
        settings, title="LinkDuty units",
        routers=[units.router, dispatches.router, rosters.router, patrols.router, trainings.router, reports.router],
        schema_sql=(UnitBoard.ddl, DispatchOrders.ddl, ResponseIntervals.ddl, *RECORDS_DDL), on_start=on_start,
    )
    return app

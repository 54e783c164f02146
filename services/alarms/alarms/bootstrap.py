"""Composition root of the alarms service."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI

from linkduty_shared.api.app import create_app
from linkduty_shared.contracts.units import UNIT_ARRIVED_EVENT
from linkduty_shared.jurisdictions import load_city
from linkduty_shared.messaging.consumer import ConsumerRunner
from linkduty_shared.runtime import Runtime

from linkduty_shared import vault as pii
from alarms.api import directory, routes
from alarms.application import AlarmsService
from alarms.config import AlarmsSettings
from alarms.consumers import arrival_handler, device_alarms_handler, escalation_handler, is_device_alarm
from alarms.projections.cap_messages import CapMessages
from alarms.projections.device_calls import DeviceCalls
from alarms.projections.open_alarms import OpenAlarms


def build_app(settings: AlarmsSettings | None = None) -> FastAPI:
    settings = settings or AlarmsSettings()
    city = load_city(settings.directory_path)

    async def on_start(runtime: Runtime) -> None:
        service = AlarmsService(runtime.store, city, topic=settings.events_topic, duplicate_radius_m=settings.duplicate_radius_m,
                                duplicate_window=dt.timedelta(seconds=settings.duplicate_window_s))
        app.state.alarms = service
        runner = ConsumerRunner(bootstrap=settings.kafka, group_id=settings.service_name, topics=[settings.commands_topic],
                                handler=escalation_handler(service), max_attempts=settings.consumer_max_attempts)
        runtime.background("linkage.commands consumer", runner.run)
        arrivals = ConsumerRunner(bootstrap=settings.kafka, group_id=f"{settings.service_name}-arrivals",
                                  topics=[settings.units_topic], handler=arrival_handler(service),
                                  max_attempts=settings.consumer_max_attempts,
                                  wanted=lambda event_type: event_type.endswith(f".{UNIT_ARRIVED_EVENT}"))
        runtime.background("units.events consumer", arrivals.run)
        if settings.device_alarms_enabled:
            detectors = app.state.device_alarms = ConsumerRunner(
                bootstrap=settings.kafka, group_id=settings.device_alarms_group, topics=[settings.devices_events_topic],
                handler=device_alarms_handler(service), wanted=is_device_alarm,
                max_attempts=settings.consumer_max_attempts)
            runtime.background("devices.events consumer (detectors' alarms)", detectors.run)

    app = create_app(
        settings, title="LinkDuty alarms", routers=[routes.router, directory.router],
        schema_sql=(OpenAlarms.ddl, CapMessages.ddl, DeviceCalls.ddl, pii.DDL), on_start=on_start,
    )
    return app

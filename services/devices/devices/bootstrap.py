"""Composition root of the devices service: its database (event store, outbox, vault, the device
state rows, the replay guard, the personal-data read audit, the MQTT dead letters), the IoT
platforms, both intakes (the webhook route and the MQTT subscriber), the offline sweep, and its
routes."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI

from linkduty_shared import vault
from linkduty_shared.api.app import create_app
from linkduty_shared.jurisdictions import load_city
from linkduty_shared.runtime import Runtime, every

from devices.api import devices, residents, signals
from devices.application.intake import SEEN_DDL, Intake
from devices.application.registry import AUDIT_DDL, Registry, utcnow
from devices.config import DevicesSettings
from devices.domain.values import Timing
from devices.mqtt import DEAD_LETTERS_DDL, MqttIntake
from devices.platforms import load_platforms
from devices.projections.device_state import DeviceState


def build_app(settings: DevicesSettings | None = None) -> FastAPI:
    settings = settings or DevicesSettings()
    city = load_city(settings.directory_path)
    platforms = load_platforms(settings.device_platforms_file or None)
    if not (settings.quick_clear_s >= 0 and settings.offline_grace >= 1 and 0 <= settings.battery_ok_pct <= 100):
        raise ValueError("quick_clear_s ≥ 0, offline_grace ≥ 1 and 0 ≤ battery_ok_pct ≤ 100, please")
    timing = Timing(quick_clear=dt.timedelta(seconds=settings.quick_clear_s), offline_grace=settings.offline_grace,
                    battery_ok_pct=settings.battery_ok_pct)

    async def on_start(runtime: Runtime) -> None:
        registry = app.state.registry = Registry(runtime.store, city, platforms, timing, topic=settings.events_topic,
                                                 clock=utcnow)
        intake = app.state.intake = Intake(registry)
        app.state.platforms = platforms
        runtime.background("offline sweep", lambda: every(
            settings.offline_sweep_interval_s, lambda: intake.sweep_silent(settings.offline_sweep_batch)))
        runtime.background("replay guard purge", lambda: every(600.0, intake.forget_seen))
        if settings.mqtt_enabled:
            mqtt = app.state.mqtt = MqttIntake(
                intake, platforms, runtime.pool, host=settings.mqtt_host, port=settings.mqtt_port,
                username=settings.mqtt_username or None, password=settings.mqtt_password or None,
                # the service's one session, whichever replica leads (only the leader connects)
                client_id=f"linkduty-{settings.service_name}",
                workers=settings.mqtt_workers, topic_suffix=settings.mqtt_topic_suffix,
                persistent_session=settings.mqtt_persistent_session, ca_file=settings.mqtt_ca_file)
            runtime.background("MQTT intake", mqtt.run)

    app = create_app(settings, title="LinkDuty devices", routers=[signals.router, devices.router, residents.router],
                     schema_sql=(DeviceState.ddl, SEEN_DDL, AUDIT_DDL, DEAD_LETTERS_DDL, vault.DDL), on_start=on_start)
    return app

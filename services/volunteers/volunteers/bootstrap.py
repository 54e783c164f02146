"""Composition root of the volunteers service: its database (event store, outbox, vault, the
volunteer list), the service domains as data, and its routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from linkduty_shared import vault
from linkduty_shared.api.app import create_app
from linkduty_shared.jurisdictions import load_city
from linkduty_shared.runtime import Runtime

from volunteers.api import teams, volunteers
from volunteers.application import VolunteersService, utcnow
from volunteers.config import VolunteersSettings
from volunteers.domain.courses import parse_courses, shipped_courses_text
from volunteers.domain.service_domains import parse_service_domains, shipped_service_domains_text
from volunteers.projections.volunteer_list import VolunteerList


def build_app(settings: VolunteersSettings | None = None) -> FastAPI:
    settings = settings or VolunteersSettings()
    city = load_city(settings.directory_path)
    domains = parse_service_domains(Path(settings.service_domains_path).read_text(encoding="utf-8")
                                    if settings.service_domains_path else shipped_service_domains_text())
    courses = parse_courses(Path(settings.courses_path).read_text(encoding="utf-8")
                            if settings.courses_path else shipped_courses_text(), domains)

    async def on_start(runtime: Runtime) -> None:
        app.state.volunteers = VolunteersService(runtime.store, city, domains, courses, topic=settings.events_topic,
                                                 clock=utcnow)

    app = create_app(settings, title="LinkDuty volunteers", routers=[volunteers.router, teams.router],
                     schema_sql=(VolunteerList.ddl, vault.DDL), on_start=on_start)
    return app

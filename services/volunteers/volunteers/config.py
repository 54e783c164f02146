from __future__ import annotations

from linkduty_shared.config import HttpServiceSettings


class VolunteersSettings(HttpServiceSettings):
    service_name: str = "volunteers"
    pg_dsn: str = "postgresql://linkduty:linkduty@127.0.0.1:15432/linkduty_volunteers"
    port: int = 8105
    events_topic: str = "volunteers.events"
    # The service domains (TOML, see domain/service_domains.toml); the shipped ones when unset.
    service_domains_path: str | None = None
    # The courses and which are required per domain (TOML, see domain/courses.toml; the shipped ones when unset).
    courses_path: str | None = None

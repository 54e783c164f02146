"""The service domains as data (service_domains.toml), parsed and checked. Pure."""

from __future__ import annotations

import dataclasses

from volunteers.domain.data import entries, shipped, versioned


@dataclasses.dataclass(frozen=True)
class ServiceDomain:
    id: str
    name_zh: str
    name_en: str


@dataclasses.dataclass(frozen=True)
class ServiceDomains:
    version: str
    domains: tuple[ServiceDomain, ...]
    alarm_alerts: dict[str, str] = dataclasses.field(default_factory=dict)  # alarm kind → domain

    def __contains__(self, domain_id: object) -> bool:
        return any(d.id == domain_id for d in self.domains)

    def ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.domains)


def parse_service_domains(text: str) -> ServiceDomains:
    """ValueError naming what is wrong: a missing version, a bad or repeated id, a missing name."""
    version, data = versioned(text, "service domains")
    out = [ServiceDomain(domain_id, entry["name_zh"], entry["name_en"])
           for domain_id, entry in entries(data, "domains", "service domains", names=("name_zh", "name_en"))]
    seen = {d.id for d in out}
    if not out:
        raise ValueError("service domains: none defined")
    alerts = data.get("alarm_alerts", {})
    if not isinstance(alerts, dict) or any(d not in seen for d in alerts.values()):
        raise ValueError("service domains: alarm_alerts maps alarm kinds to domains defined here")
    return ServiceDomains(version, tuple(out), dict(alerts))


def shipped_service_domains_text() -> str:
    return shipped("service_domains.toml")

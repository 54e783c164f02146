"""The service domains as data (service_domains.toml), parsed and checked. Pure."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from importlib import resources

_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


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
    data = tomllib.loads(text)
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise ValueError("service domains: a version is required")
    out, seen = [], set()
    for i, entry in enumerate(data.get("domains", ())):
        domain_id = entry.get("id")
        if not isinstance(domain_id, str) or not _ID.match(domain_id):
            raise ValueError(f"service domains: domains[{i}].id must be snake_case")
        if domain_id in seen:
            raise ValueError(f"service domains: {domain_id} twice")
        if not entry.get("name_zh") or not entry.get("name_en"):
            raise ValueError(f"service domains: {domain_id} needs name_zh and name_en")
        seen.add(domain_id)
        out.append(ServiceDomain(domain_id, entry["name_zh"], entry["name_en"]))
    if not out:
        raise ValueError("service domains: none defined")
    alerts = data.get("alarm_alerts", {})
    if not isinstance(alerts, dict) or any(d not in seen for d in alerts.values()):
        raise ValueError("service domains: alarm_alerts maps alarm kinds to domains defined here")
    return ServiceDomains(version, tuple(out), dict(alerts))


def shipped_service_domains_text() -> str:
    return resources.files(__package__).joinpath("service_domains.toml").read_text(encoding="utf-8")

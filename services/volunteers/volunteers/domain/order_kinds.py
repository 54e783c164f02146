"""Service order kinds as data (order_kinds.toml), pure: checked against the service domains and
grades on loading."""

from __future__ import annotations

import dataclasses

from volunteers.domain.data import entries, shipped, versioned
from volunteers.domain.grades import Grades
from volunteers.domain.service_domains import ServiceDomains


@dataclasses.dataclass(frozen=True)
class OrderKind:
    id: str
    name_zh: str
    domain: str
    min_grade: str
    answer_within_hours: float


@dataclasses.dataclass(frozen=True)
class OrderKinds:
    version: str
    kinds: tuple[OrderKind, ...]

    def __contains__(self, kind_id: object) -> bool:
        return any(k.id == kind_id for k in self.kinds)

    def __getitem__(self, kind_id: str) -> OrderKind:
        return next(k for k in self.kinds if k.id == kind_id)

    def ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in self.kinds)


def parse_order_kinds(text: str, domains: ServiceDomains, grades: Grades) -> OrderKinds:
    version, data = versioned(text, "order kinds")
    kinds = []
    for kind_id, entry in entries(data, "kinds", "order kinds"):
        if entry.get("domain") not in domains or entry.get("min_grade") not in grades:
            raise ValueError(f"order kinds: {kind_id}: unknown domain or grade")
        hours = entry.get("answer_within_hours", 24)
        if not isinstance(hours, int | float) or not 0 < hours <= 24 * 30:
            raise ValueError(f"order kinds: {kind_id}: answer_within_hours in (0, 720]")
        kinds.append(OrderKind(kind_id, entry["name_zh"], entry["domain"], entry["min_grade"], float(hours)))
    return OrderKinds(version, tuple(kinds))


def shipped_order_kinds_text() -> str:
    return shipped("order_kinds.toml")

"""联防 — a joint prevention patrol: forces walking a division together, logging the hazards
they find.

    planned → started → (findings logged) → completed

Findings describe places and hazards, never people: a text carrying a mobile or resident ID
number is refused.
"""

from __future__ import annotations

import re
from datetime import datetime

from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition, InvariantViolated
from linkduty_shared.domain.personal_data import scrub_personal_numbers

from units.domain.events import (
    PatrolCompleted,
    PatrolFindingLogged,
    PatrolPlanned,
    PatrolStarted,
)

# What a patrol finds most (GLOSSARY.md "Hazards"); anything else is `other`, described in the text.
HAZARD_KINDS = frozenset({
    "e_bike_charging",  # 电动车违规充电, 飞线充电
    "blocked_passage",  # 生命通道 / 疏散通道 blocked
    "blocked_fire_lane",  # 消防车通道 blocked
    "three_in_one_premises",  # 三合一场所
    "electrical_wiring",
    "flammables_storage",
    "fire_equipment_fault",  # extinguisher, hydrant, alarm out of order
    "other",
})
# A mainland mobile number or an 18-character resident ID number, standing alone.
_PERSONAL_NUMBER = re.compile(r"(?<![0-9])(1[3-9][0-9]{9}|[0-9]{17}[0-9Xx])(?![0-9Xx])")


def _require_aware(**times: datetime) -> None:
    for name, value in times.items():
        if value.tzinfo is None:
            raise InvariantViolated(f"{name} needs a UTC offset (e.g. 2026-03-01T08:00:00+08:00)")


class JointPatrol(Aggregate):
    stream_type = "joint_patrol"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: str | None = None  # planned | started | completed
        self.division_code: str | None = None
        self.forces: tuple[str, ...] = ()
        self.planned_start: str | None = None
        self.planned_end: str | None = None
        self.started_at: str | None = None
        self.completed_at: str | None = None
        self.summary: str | None = None
        self.findings: list[PatrolFindingLogged] = []

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case PatrolPlanned():
                self.status, self.division_code, self.forces = "planned", e.division_code, tuple(e.forces)
                self.planned_start, self.planned_end = e.planned_start, e.planned_end
            case PatrolStarted():
                self.status, self.started_at = "started", e.at
            case PatrolFindingLogged():
                self.findings.append(e)
            case PatrolCompleted():
                self.status, self.completed_at, self.summary = "completed", e.at, e.summary

    def plan(self, division_code: str, forces: list[str], start: datetime, end: datetime) -> None:
        if self.exists:
            raise IllegalTransition(f"patrol {self.id} is already planned")
        _require_aware(planned_start=start, planned_end=end)
        if not start < end:
            raise InvariantViolated(f"the patrol ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        forces = list(dict.fromkeys(forces))
        if not forces:
            raise InvariantViolated("a joint patrol needs at least one force")
        self._record(PatrolPlanned(division_code=division_code, forces=forces, planned_start=start.isoformat(),
                                   planned_end=end.isoformat()))

    def start(self, at: datetime) -> None:
        _require_aware(at=at)
        self._require("planned", "start")
        self._record(PatrolStarted(at=at.isoformat()))

    def log_finding(self, text: str, hazard_kind: str, at: datetime, lat: float | None = None,
                    lon: float | None = None) -> None:
        _require_aware(at=at)
        self._require("started", "log a finding on")
        if not text.strip():
            raise InvariantViolated("a finding needs text")
        if _PERSONAL_NUMBER.search(text):
            raise InvariantViolated("findings carry no personal data: remove the phone or ID number from the text")
        if hazard_kind not in HAZARD_KINDS:
            raise InvariantViolated(f"unknown hazard kind {hazard_kind!r}; one of {', '.join(sorted(HAZARD_KINDS))}")
        if (lat is None) != (lon is None):
            raise InvariantViolated("a finding's location needs both lat and lon, or neither")
        self._record(PatrolFindingLogged(text=scrub_personal_numbers(text.strip()),
                                         hazard_kind=hazard_kind, at=at.isoformat(), lat=lat, lon=lon))

    def complete(self, summary: str, at: datetime) -> None:
        _require_aware(at=at)
        self._require("started", "complete")
        if not summary.strip():
            raise InvariantViolated("a completed patrol needs a summary")
        self._record(PatrolCompleted(summary=scrub_personal_numbers(summary.strip()), at=at.isoformat()))

    def _require(self, status: str, action: str) -> None:
        if self.status != status:
            raise IllegalTransition(f"cannot {action} patrol {self.id}: it is {self.status or 'not planned'}, not {status}")

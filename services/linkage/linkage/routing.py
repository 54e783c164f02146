"""Who must see an alarm: its chain's centres, widened by rules that are data (routing_rules.toml)."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from linkduty_shared.contracts.alarms import CHAIN_LEVELS
from linkduty_shared.contracts.notifications import AlarmSummary
from linkduty_shared.jurisdictions import Directory

DEFAULT_RULES = Path(__file__).with_name("routing_rules.toml")
_WIDENINGS = {
    "neighbouring_communities": "community",
    "neighbouring_streets": "street",
    "neighbouring_districts": "district",
}


@dataclasses.dataclass(frozen=True)
class Rule:
    name: str
    widen: str
    kinds: frozenset[str] = frozenset()  # empty: any kind
    severities: frozenset[str] = frozenset()  # empty: any severity

    def matches(self, alarm: AlarmSummary) -> bool:
        return (not self.kinds or alarm.kind in self.kinds) and (not self.severities or alarm.severity in self.severities)


@dataclasses.dataclass(frozen=True)
class RoutingConfig:
    rules: tuple[Rule, ...]
    ack_timeouts_s: dict[str, float]

    @classmethod
    def load(cls, path: Path = DEFAULT_RULES) -> RoutingConfig:
        doc = tomllib.loads(Path(path).read_text())
        rules = []
        for raw in doc.get("rules", []):
            if raw["widen"] not in _WIDENINGS:
                raise ValueError(f"rule {raw.get('name')!r}: unknown widen {raw['widen']!r}; one of {sorted(_WIDENINGS)}")
            rules.append(Rule(raw["name"], raw["widen"], frozenset(raw.get("kinds", ())), frozenset(raw.get("severities", ()))))
        timeouts = {level: float(doc["acknowledgement_timeouts_s"][level]) for level in CHAIN_LEVELS}
        return cls(tuple(rules), timeouts)


def recipients(directory: Directory, alarm: AlarmSummary, rules: tuple[Rule, ...]) -> dict[str, str]:
    """centre id → why it sees the alarm ("jurisdiction" or "rule:<name>"), chain first."""
    chosen = {directory.centre_of(alarm.jurisdiction[level]).id: "jurisdiction" for level in CHAIN_LEVELS}
    for rule in rules:
        if not rule.matches(alarm):
            continue
        level = _WIDENINGS[rule.widen]
        for neighbour in directory.neighbours(alarm.jurisdiction[level]):
            chosen.setdefault(directory.centre_of(neighbour.code).id, f"rule:{rule.name}")
    return chosen

"""Who must see an alarm: its chain's centres, widened by rules that are data (routing_rules.toml)."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from linkduty_shared.contracts.alarms import CHAIN_LEVELS
from linkduty_shared.contracts.hazards import HANDLING_LEVELS
from linkduty_shared.contracts.notifications import AlarmSummary, HazardSummary
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


HAZARD_SEVERITIES = frozenset({"minor", "moderate", "major"})  # contracts/hazards.py Severity
_REACHES = HANDLING_LEVELS[1:]  # the community sees every hazard of its own


@dataclasses.dataclass(frozen=True)
class HazardRule:
    """A hazard matching it is seen at once by every level of its chain up to `reach`."""

    name: str
    reach: str  # "street" | "district"
    categories: frozenset[str] = frozenset()  # empty: any category
    severities: frozenset[str] = frozenset()  # empty: any severity

    def matches(self, hazard: HazardSummary) -> bool:
        return ((not self.categories or hazard.category in self.categories)
                and (not self.severities or hazard.severity in self.severities))


@dataclasses.dataclass(frozen=True)
class RoutingConfig:
    rules: tuple[Rule, ...]
    ack_timeouts_s: dict[str, float]
    hazard_rules: tuple[HazardRule, ...] = ()

    @classmethod
    def load(cls, path: Path = DEFAULT_RULES) -> RoutingConfig:
        doc = tomllib.loads(Path(path).read_text())
        rules = []
        for raw in doc.get("rules", []):
            if raw["widen"] not in _WIDENINGS:
                raise ValueError(f"rule {raw.get('name')!r}: unknown widen {raw['widen']!r}; one of {sorted(_WIDENINGS)}")
            rules.append(Rule(raw["name"], raw["widen"], frozenset(raw.get("kinds", ())), frozenset(raw.get("severities", ()))))
        timeouts = {level: float(doc["acknowledgement_timeouts_s"][level]) for level in CHAIN_LEVELS}
        return cls(tuple(rules), timeouts, tuple(_hazard_rule(raw) for raw in doc.get("hazard_rules", [])))


def _hazard_rule(raw: dict) -> HazardRule:
    name = raw.get("name")
    if raw.get("reach") not in _REACHES:
        raise ValueError(f"hazard rule {name!r}: unknown reach {raw.get('reach')!r}; one of {list(_REACHES)}")
    severities = frozenset(raw.get("severities", ()))
    if severities - HAZARD_SEVERITIES:  # a typo would silently match nothing
        raise ValueError(f"hazard rule {name!r}: unknown severities {sorted(severities - HAZARD_SEVERITIES)};"
                         f" of {sorted(HAZARD_SEVERITIES)}")
    return HazardRule(name, raw["reach"], frozenset(raw.get("categories", ())), severities)


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


def hazard_recipients(directory: Directory, hazard: HazardSummary, rules: tuple[HazardRule, ...]) -> dict[str, str]:
    """centre id → why it sees the hazard, bottom up: its community ("jurisdiction"), each level
    up to the one handling it ("escalation"), then the levels a matching rule reaches
    ("rule:<name>")."""
    chain = hazard.jurisdiction
    chosen = {directory.centre_of(chain["community"]).id: "jurisdiction"}
    for level in HANDLING_LEVELS[1:HANDLING_LEVELS.index(hazard.handling_level) + 1]:
        chosen.setdefault(directory.centre_of(chain[level]).id, "escalation")
    for rule in rules:
        if rule.matches(hazard):
            for level in HANDLING_LEVELS[1:HANDLING_LEVELS.index(rule.reach) + 1]:
                chosen.setdefault(directory.centre_of(chain[level]).id, f"rule:{rule.name}")
    return chosen

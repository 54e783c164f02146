"""Run cards as data: which forces an alarm of a given kind and severity calls out.

The cards live in run_cards.toml beside this module (the format is described at its top), so an
operations officer can change them without touching the planner. `parse_run_cards` is pure (text
in, cards out); `default_run_cards` reads the shipped file once.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from types import MappingProxyType
from typing import Mapping

# The alarms service's vocabularies (alarms.domain.values Kind and Severity). Services never import
# each other, so they are repeated here; a card for a kind the alarms service never sends is a typo.
KINDS = frozenset({"fire", "rescue", "hazmat", "medical", "other"})
SEVERITIES = frozenset({"minor", "moderate", "major", "extreme"})
ANY_SEVERITY = "any"
CARD_KEYS = frozenset({"stations", "units", "auxiliary_1", "auxiliary_2"})


@dataclass(frozen=True, slots=True)
class RunCard:
    """What one alarm calls out. `name` is where it came from ("fire.major", "default")."""

    name: str
    stations: int  # fire-rescue stations of the main force
    units: tuple[str, ...]  # unit types each of those stations sends
    auxiliary_1: bool  # the street team
    auxiliary_2: bool  # the community squad, else the nearest micro fire station


@dataclass(frozen=True, slots=True)
class RunCards:
    version: str
    default: RunCard
    cards: Mapping[tuple[str, str], RunCard]  # (kind, severity or "any") → card

    def for_alarm(self, kind: str, severity: str) -> RunCard:
        """The most specific card: kind and severity, else the kind's "any", else the default."""
        return self.cards.get((kind, severity)) or self.cards.get((kind, ANY_SEVERITY)) or self.default


def parse_run_cards(text: str) -> RunCards:
    """Run cards from TOML text; a ValueError names the bad card and what is wrong with it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"run cards are not valid TOML: {error}") from None
    version = data.pop("version", None)
    if not isinstance(version, str) or not version:
        raise ValueError("run cards: 'version' must be a non-empty string")
    if "default" not in data:
        raise ValueError("run cards: a [default] card is required, for alarms no other card matches")
    default = _card("default", data.pop("default"))
    cards: dict[tuple[str, str], RunCard] = {}
    for kind, by_severity in data.items():
        if kind not in KINDS:
            raise ValueError(f"run card {kind}: unknown alarm kind {kind!r} (known: {', '.join(sorted(KINDS))})")
        if not isinstance(by_severity, dict):
            raise ValueError(f"run card {kind}: expected [{kind}.<severity>] tables, got a value")
        for severity, table in by_severity.items():
            name = f"{kind}.{severity}"
            if severity != ANY_SEVERITY and severity not in SEVERITIES:
                raise ValueError(f"run card {name}: unknown severity {severity!r} "
                                 f"(known: {', '.join(sorted(SEVERITIES))}, or {ANY_SEVERITY!r})")
            cards[(kind, severity)] = _card(name, table)
    return RunCards(version=version, default=default, cards=MappingProxyType(cards))


def _card(name: str, table: object) -> RunCard:
    if not isinstance(table, dict):
        raise ValueError(f"run card {name}: expected a table, got {table!r}")
    unknown, missing = set(table) - CARD_KEYS, CARD_KEYS - set(table)
    if unknown:
        raise ValueError(f"run card {name}: unknown key(s) {', '.join(sorted(unknown))}")
    if missing:
        raise ValueError(f"run card {name}: missing key(s) {', '.join(sorted(missing))}")
    stations, units = table["stations"], table["units"]
    # bool is an int in Python; "stations = true" is a mistake, not one station.
    if not isinstance(stations, int) or isinstance(stations, bool) or stations < 0:
        raise ValueError(f"run card {name}: stations must be a whole number >= 0, got {stations!r}")
    if not isinstance(units, list) or not all(isinstance(u, str) and u for u in units):
        raise ValueError(f"run card {name}: units must be a list of unit type names, got {units!r}")
    if stations > 0 and not units:
        raise ValueError(f"run card {name}: {stations} station(s) called out with no units to send")
    for key in ("auxiliary_1", "auxiliary_2"):
        if not isinstance(table[key], bool):
            raise ValueError(f"run card {name}: {key} must be true or false, got {table[key]!r}")
    return RunCard(name=name, stations=stations, units=tuple(units),
                   auxiliary_1=table["auxiliary_1"], auxiliary_2=table["auxiliary_2"])


@functools.cache
def default_run_cards() -> RunCards:
    """The shipped run_cards.toml, read once per process."""
    return parse_run_cards(files(__package__).joinpath("run_cards.toml").read_text(encoding="utf-8"))

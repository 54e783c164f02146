"""Venue kinds, their inspection interval and their checklists, as data: venue_kinds.toml beside
this module (its format is at its top).

`parse_venue_kinds` is pure and checks every checklist item against the taxonomy it opens hazards
in, so a checklist naming a category the taxonomy lacks fails at start-up, never at the first
failed item of an inspection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import tomllib
from collections.abc import Mapping
from importlib.resources import files
from types import MappingProxyType

from hazards.domain.categories import Taxonomy

_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
GROUPS = ("nine_small", "residential", "large")
_ITEM_KEYS = frozenset({"id", "text_zh", "text_en", "category"})
_KIND_KEYS = frozenset({"id", "name_zh", "name_en", "group", "inspect_every_days", "items"})


@dataclasses.dataclass(frozen=True, slots=True)
class ChecklistItem:
    id: str
    text_zh: str
    text_en: str
    category: str  # the hazard category its failure opens


@dataclasses.dataclass(frozen=True, slots=True)
class VenueKind:
    id: str
    name_zh: str
    name_en: str
    group: str
    inspect_every: dt.timedelta
    checklist: tuple[ChecklistItem, ...]

    def inspection_due(self, since: dt.datetime) -> dt.datetime:
        """When a venue of this kind inspected (or registered) at `since` must be inspected next."""
        return since + self.inspect_every

    def item(self, item_id: str) -> ChecklistItem | None:
        return next((i for i in self.checklist if i.id == item_id), None)


@dataclasses.dataclass(frozen=True, slots=True)
class VenueKinds:
    version: str
    kinds: Mapping[str, VenueKind]

    def __contains__(self, kind_id: object) -> bool:
        return kind_id in self.kinds

    def __getitem__(self, kind_id: str) -> VenueKind:
        return self.kinds[kind_id]

    def ids(self) -> tuple[str, ...]:
        return tuple(self.kinds)


def _text(where: str, entry: dict, key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: '{key}' must be a non-empty string")
    return value


def _id(where: str, entry: dict) -> str:
    value = _text(where, entry, "id")
    if not _ID.match(value):
        raise ValueError(f"{where}: id {value!r} must be lowercase snake_case")
    return value


def parse_venue_kinds(text: str, taxonomy: Taxonomy) -> VenueKinds:
    """The kinds in TOML text; a ValueError names the kind, item or field that is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"venue kinds are not valid TOML: {error}") from None
    if unknown := set(data) - {"version", "item", "kind"}:
        raise ValueError(f"venue kinds: unknown top-level key(s) {', '.join(sorted(unknown))}")
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise ValueError("venue kinds: 'version' must be a non-empty string")
    items: dict[str, ChecklistItem] = {}
    for n, entry in enumerate(data.get("item", []), 1):
        where = f"venue kinds: item {n}"
        if not isinstance(entry, dict) or (unknown := set(entry) - _ITEM_KEYS):
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown)) if isinstance(entry, dict) else ''}")
        item_id = _id(where, entry)
        where = f"venue kinds: item {item_id}"
        if item_id in items:
            raise ValueError(f"{where}: listed twice")
        category = _text(where, entry, "category")
        if category not in taxonomy:
            raise ValueError(f"{where}: {category!r} is no category of taxonomy {taxonomy.version}")
        items[item_id] = ChecklistItem(item_id, _text(where, entry, "text_zh"), _text(where, entry, "text_en"), category)
    kinds: dict[str, VenueKind] = {}
    for n, entry in enumerate(data.get("kind", []), 1):
        where = f"venue kinds: kind {n}"
        if not isinstance(entry, dict) or (unknown := set(entry) - _KIND_KEYS):
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown)) if isinstance(entry, dict) else ''}")
        kind_id = _id(where, entry)
        where = f"venue kinds: kind {kind_id}"
        if kind_id in kinds:
            raise ValueError(f"{where}: listed twice")
        group = entry.get("group")
        if group not in GROUPS:
            raise ValueError(f"{where}: group must be one of {', '.join(GROUPS)} (got {group!r})")
        days = entry.get("inspect_every_days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3 * 366:
            raise ValueError(f"{where}: inspect_every_days must be a whole number of days in [1, 1098]")
        listed = entry.get("items")
        if not isinstance(listed, list) or not listed or not all(isinstance(i, str) for i in listed):
            raise ValueError(f"{where}: items must list at least one checklist item id")
        if missing := [i for i in listed if i not in items]:
            raise ValueError(f"{where}: unknown checklist item(s) {', '.join(missing)}")
        if len(set(listed)) != len(listed):
            raise ValueError(f"{where}: a checklist item is listed twice")
        kinds[kind_id] = VenueKind(kind_id, _text(where, entry, "name_zh"), _text(where, entry, "name_en"), group,
                                   dt.timedelta(days=days), tuple(items[i] for i in listed))
    if not kinds:
        raise ValueError("venue kinds: at least one [[kind]] is required")
    return VenueKinds(version, MappingProxyType(kinds))


@functools.cache
def shipped_venue_kinds_text() -> str:
    return files(__package__).joinpath("venue_kinds.toml").read_text(encoding="utf-8")

"""The hazard taxonomy as data: categories.toml beside this module (its format is at its top).

`parse_taxonomy` is pure (text in, taxonomy out) and checks everything a report and a deadline
rely on, so a bad edit fails at start-up naming the category and the field; `default_taxonomy`
reads the shipped file once.
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

from hazards.domain.values import Severity

_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_KEYS = frozenset({"id", "name_zh", "name_en", "default_severity", "rectify_within_hours", "reinspect_after_days",
                   "compatible"})
_SEVERITY_ORDER = (Severity.MINOR, Severity.MODERATE, Severity.MAJOR)


@dataclasses.dataclass(frozen=True, slots=True)
class Category:
    id: str
    name_zh: str
    name_en: str
    default_severity: Severity
    rectify_within: Mapping[Severity, dt.timedelta]
    reinspect_after: dt.timedelta
    compatible: frozenset[str]  # itself included

    def rectification_due(self, severity: Severity | str, assigned_at: dt.datetime) -> dt.datetime:
        """限期整改: the deadline of a fix assigned (or sent back) at `assigned_at`."""
        return assigned_at + self.rectify_within[Severity(severity)]

    def reinspection_due(self, closed_at: dt.datetime) -> dt.datetime:
        """回头看: when the re-inspection of a hazard verified fixed at `closed_at` is due."""
        return closed_at + self.reinspect_after


@dataclasses.dataclass(frozen=True, slots=True)
class Taxonomy:
    version: str
    categories: Mapping[str, Category]

    def __contains__(self, category_id: object) -> bool:
        return category_id in self.categories

    def __getitem__(self, category_id: str) -> Category:
        return self.categories[category_id]

    def compatible(self, a: str, b: str) -> bool:
        """Whether reports of categories `a` and `b` may be about the same hazard."""
        return a in self.categories and b in self.categories[a].compatible

    def ids(self) -> tuple[str, ...]:
        return tuple(self.categories)


def parse_taxonomy(text: str) -> Taxonomy:
    """The taxonomy in TOML text; a ValueError names the category and what is wrong with it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"hazard categories are not valid TOML: {error}") from None
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise ValueError("hazard categories: 'version' must be a non-empty string")
    unknown_top = set(data) - {"version", "category"}
    if unknown_top:
        raise ValueError(f"hazard categories: unknown top-level key(s) {', '.join(sorted(unknown_top))}")
    entries = data.get("category")
    if not isinstance(entries, list) or not entries:
        raise ValueError("hazard categories: at least one [[category]] is required")
    parsed: dict[str, tuple[Category, list[str]]] = {}
    for index, entry in enumerate(entries):
        category, compatible = _category(index, entry)
        if category.id in parsed:
            raise ValueError(f"hazard category {category.id}: listed twice")
        parsed[category.id] = (category, compatible)
    pairs: dict[str, set[str]] = {cid: {cid} for cid in parsed}
    for cid, (_, compatible) in parsed.items():
        for other in compatible:
            if other not in parsed:
                raise ValueError(f"hazard category {cid}: compatible names unknown category {other!r}")
            pairs[cid].add(other)
            pairs[other].add(cid)  # symmetric
    categories = {cid: dataclasses.replace(c, compatible=frozenset(pairs[cid])) for cid, (c, _) in parsed.items()}
    return Taxonomy(version, MappingProxyType(categories))


def _category(index: int, entry: object) -> tuple[Category, list[str]]:
    if not isinstance(entry, dict):
        raise ValueError(f"hazard category #{index + 1}: not a table")
    cid = entry.get("id")
    if not isinstance(cid, str) or not _ID.match(cid):
        raise ValueError(f"hazard category #{index + 1}: 'id' must be lowercase snake_case (got {cid!r})")
    where = f"hazard category {cid}"
    unknown = set(entry) - _KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for name in ("name_zh", "name_en"):
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            raise ValueError(f"{where}: '{name}' must be a non-empty string")
    try:
        default_severity = Severity(entry.get("default_severity"))
    except ValueError:
        raise ValueError(f"{where}: 'default_severity' must be one of {', '.join(_SEVERITY_ORDER)}") from None
    hours = entry.get("rectify_within_hours")
    if not isinstance(hours, dict) or set(hours) != set(_SEVERITY_ORDER):
        raise ValueError(f"{where}: 'rectify_within_hours' must give exactly {', '.join(_SEVERITY_ORDER)}")
    for severity, value in hours.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 24 * 365:
            raise ValueError(f"{where}: rectify_within_hours.{severity} must be a number of hours in (0, 8760]")
    ordered = [hours[s] for s in _SEVERITY_ORDER]
    if ordered != sorted(ordered, reverse=True):
        raise ValueError(f"{where}: rectify_within_hours must not grow with severity (minor ≥ moderate ≥ major)")
    days = entry.get("reinspect_after_days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise ValueError(f"{where}: 'reinspect_after_days' must be a whole number of days in [1, 365]")
    compatible = entry.get("compatible", [])
    if not isinstance(compatible, list) or not all(isinstance(c, str) for c in compatible):
        raise ValueError(f"{where}: 'compatible' must be a list of category ids")
    category = Category(
        id=cid, name_zh=entry["name_zh"].strip(), name_en=entry["name_en"].strip(), default_severity=default_severity,
        rectify_within=MappingProxyType({Severity(s): dt.timedelta(hours=h) for s, h in hours.items()}),
        reinspect_after=dt.timedelta(days=days), compatible=frozenset(),
    )
    return category, compatible


@functools.cache
def default_taxonomy() -> Taxonomy:
    """The shipped taxonomy (categories.toml), read once per process."""
    return parse_taxonomy(files(__package__).joinpath("categories.toml").read_text(encoding="utf-8"))

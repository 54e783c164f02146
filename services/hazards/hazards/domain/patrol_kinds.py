"""A joint patrol's hazard kinds (units.events) onto the taxonomy's categories, as data:
patrol_kinds.toml beside this module (its format is at its top).

`parse_patrol_kinds` is pure and checks the mapping against the taxonomy it will file into, so a
mapping naming a category the taxonomy lacks fails at start-up, never at the first finding.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
from collections.abc import Mapping
from importlib.resources import files
from types import MappingProxyType

from hazards.domain.categories import Taxonomy

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclasses.dataclass(frozen=True, slots=True)
class PatrolKinds:
    categories: Mapping[str, str]  # kind → category id
    default: str  # the category of a kind not listed

    def category_of(self, kind: str) -> str:
        return self.categories.get(kind, self.default)

    def knows(self, kind: str) -> bool:
        return kind in self.categories


def parse_patrol_kinds(text: str, taxonomy: Taxonomy) -> PatrolKinds:
    """The mapping in TOML text; a ValueError names the kind or category that is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"patrol kinds are not valid TOML: {error}") from None
    unknown_top = set(data) - {"default", "kinds"}
    if unknown_top:
        raise ValueError(f"patrol kinds: unknown top-level key(s) {', '.join(sorted(unknown_top))}")
    default, kinds = data.get("default"), data.get("kinds", {})
    if not isinstance(default, str) or default not in taxonomy:
        raise ValueError(f"patrol kinds: 'default' must name a category of taxonomy {taxonomy.version} "
                         f"(got {default!r})")
    if not isinstance(kinds, dict):
        raise ValueError("patrol kinds: [kinds] must be a table of kind = category id")
    for kind, category in kinds.items():
        if not _KIND.match(kind):
            raise ValueError(f"patrol kind {kind!r}: must be lowercase snake_case")
        if not isinstance(category, str) or category not in taxonomy:
            raise ValueError(f"patrol kind {kind}: {category!r} is no category of taxonomy {taxonomy.version}")
    return PatrolKinds(MappingProxyType(dict(kinds)), default)


@functools.cache
def shipped_patrol_kinds_text() -> str:
    return files(__package__).joinpath("patrol_kinds.toml").read_text(encoding="utf-8")

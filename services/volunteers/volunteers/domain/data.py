"""What every data file of the service (service domains, courses, grades, order kinds) is made
of, checked alike: TOML with a `version`, and entries each with a unique snake_case `id` and the
names people read. Pure. A ValueError names the file, the entry and what is wrong."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from importlib import resources

_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def versioned(text: str, what: str) -> tuple[str, dict]:
    """(its version, the whole table)."""
    data = tomllib.loads(text)
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise ValueError(f"{what}: a version is required")
    return version, data


def entries(data: dict, key: str, what: str, *, names: tuple[str, ...] = ("name_zh",)) -> Iterator[tuple[str, dict]]:
    """(id, entry) of each entry of `data[key]`, its id unique and snake_case, its `names` given."""
    seen: set[str] = set()
    for i, entry in enumerate(data.get(key, ())):
        entry_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(entry_id, str) or not _ID.match(entry_id):
            raise ValueError(f"{what}: {key}[{i}].id must be snake_case")
        if entry_id in seen:
            raise ValueError(f"{what}: {entry_id} twice")
        if not all(isinstance(entry.get(n), str) and entry[n].strip() for n in names):
            raise ValueError(f"{what}: {entry_id} needs {' and '.join(names)}")
        seen.add(entry_id)
        yield entry_id, entry


def shipped(name: str) -> str:
    """A data file shipped beside this module."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")

"""Checks across features: the tree is whole, codes nest, every division can be reached and has
its centre, every force covers a division that exists. A bad dataset fails loudly at load, with
the feature to fix, rather than routing an alarm to nobody later.
"""

from __future__ import annotations

from linkduty_shared.jurisdictions.geojson_format import Dataset, DivisionRecord
from linkduty_shared.jurisdictions.model import PARENT_LEVEL, Level, centre_id

# How many leading digits a division shares with its parent (统计用区划代码).
SHARED_PREFIX: dict[Level, int] = {Level.DISTRICT: 4, Level.STREET: 6, Level.COMMUNITY: 9}


def division_error(record: DivisionRecord, message: str) -> ValueError:
    return ValueError(f"feature #{record.feature} (division {record.code}): {message}")


def validate(dataset: Dataset) -> dict[str, DivisionRecord]:
    """Raise ValueError naming the first bad feature; return the divisions by code."""
    by_code: dict[str, DivisionRecord] = {}
    for record in dataset.divisions:
        if record.code in by_code:
            raise division_error(record, f"duplicate code (also feature #{by_code[record.code].feature})")
        by_code[record.code] = record
    cities = [r for r in dataset.divisions if r.level is Level.CITY]
    if len(cities) != 1:
        raise ValueError(f"the dataset needs exactly one city division, found {len(cities)}")
    for record in dataset.divisions:
        if record.level is not Level.CITY:
            _check_parent(record, by_code)
    has_children = {r.parent for r in dataset.divisions}
    for record in dataset.divisions:
        if record.level is not Level.GRID and record.code not in has_children:
            raise division_error(record, f"has no {_child_level(record.level)}: no point could ever resolve to it")
    _check_centres(dataset, by_code)
    _check_forces(dataset, by_code)
    return by_code


def _check_parent(record: DivisionRecord, by_code: dict[str, DivisionRecord]) -> None:
    parent = by_code.get(record.parent)
    if parent is None:
        raise division_error(record, f"parent {record.parent} does not exist")
    if parent.level is not PARENT_LEVEL[record.level]:
        raise division_error(record, f"parent {parent.code} is a {parent.level}; "
                                     f"a {record.level}'s parent must be a {PARENT_LEVEL[record.level]}")
    if record.level is Level.GRID:
        nests = record.code.startswith(parent.code + "-")
    else:
        nests = record.code[:SHARED_PREFIX[record.level]] == parent.code[:SHARED_PREFIX[record.level]]
    if not nests:
        raise division_error(record, f"code does not nest in its parent {parent.code}")


def _child_level(level: Level) -> str:
    return next(child for child, parent in PARENT_LEVEL.items() if parent is level).value


def _check_centres(dataset: Dataset, by_code: dict[str, DivisionRecord]) -> None:
    seen: set[str] = set()
    for index, centre in dataset.centres:
        where = f"feature #{index} (centre {centre.id})"
        division = by_code.get(centre.division_code)
        if division is None:
            raise ValueError(f"{where}: division_code {centre.division_code} does not exist")
        if division.level is Level.GRID:
            raise ValueError(f"{where}: {centre.division_code} is a grid, and grids have no centre")
        if centre.id != centre_id(division.code):
            raise ValueError(f"{where}: a centre's id must be {centre_id(division.code)!r}")
        if centre.level is not division.level:
            raise ValueError(f"{where}: level {centre.level} but its division is a {division.level}")
        if centre.id in seen:
            raise ValueError(f"{where}: duplicate centre id")
        seen.add(centre.id)
    for record in dataset.divisions:
        if record.level is not Level.GRID and centre_id(record.code) not in seen:
            raise division_error(record, f"has no operations centre (a 'centre' feature {centre_id(record.code)})")


def _check_forces(dataset: Dataset, by_code: dict[str, DivisionRecord]) -> None:
    seen: set[str] = set()
    for index, force in dataset.forces:
        if force.id in seen:
            raise ValueError(f"feature #{index} (force {force.id}): duplicate force id")
        seen.add(force.id)
        if force.division_code not in by_code:
            raise ValueError(f"feature #{index} (force {force.id}): division_code {force.division_code} does not exist")

"""Hazard statistics (GET /v1/reports/hazards): a division's figures over a period, by category,
by child division and by venue kind, each beside the same dates a year earlier. Read from the
counters of `projections/statistics.py` (a bounded number of cells, never the hazards);
definitions in `domain/statistics.py` and the service's README ("Statistics")."""

from __future__ import annotations

import dataclasses
import datetime as dt

import asyncpg

from linkduty_shared.auth import Principal
from linkduty_shared.jurisdictions import Directory, Division

from hazards.application.errors import (
    DivisionOutsideYourJurisdiction,
    NotAReportingDivision,
    PeriodNotReportable,
    UnknownDivision,
)
from hazards.domain.categories import Taxonomy
from hazards.domain.statistics import (
    ALL,
    CHILD_LEVEL,
    PeriodRefused,
    Tally,
    changes,
    check_period,
    figures,
    read_ranges,
    year_earlier,
)
from hazards.projections.statistics import Range, read_tallies

NOW, YEAR_EARLIER = 0, 1
EMPTY = Tally({}, {})


@dataclasses.dataclass(frozen=True)
class Scope:
    """One row of the report: what (total, category, child, venue_kind), which, its figures."""

    scope: str
    key: str
    name: str | None
    figures: dict
    year_earlier: dict
    change_pct: dict


@dataclasses.dataclass(frozen=True)
class HazardReport:
    division: Division
    start: dt.date
    end: dt.date
    earlier_start: dt.date
    earlier_end: dt.date
    total: Scope
    by_category: list[Scope]
    by_child_division: list[Scope]
    by_venue_kind: list[Scope]

    def scopes(self) -> list[Scope]:
        return [self.total, *self.by_category, *self.by_child_division, *self.by_venue_kind]


def _scope(scope: str, key: str, name: str | None, now: Tally, then: Tally, *, hazards: bool = True,
           inspections: bool = True) -> Scope:
    a, b = figures(now, hazards=hazards, inspections=inspections), figures(then, hazards=hazards,
                                                                            inspections=inspections)
    return Scope(scope, key, name, a, b, changes(a, b))


def _joined(hazards: Tally, inspections: Tally) -> Tally:
    return Tally({**hazards.counts, **inspections.counts}, hazards.rectification_hours)


class StatisticsService:
    def __init__(self, pool: asyncpg.Pool, directory: Directory, taxonomy: Taxonomy) -> None:
        self.pool, self.directory, self.taxonomy = pool, directory, taxonomy

    def division(self, code: str, principal: Principal) -> Division:
        """The division asked for, if the caller's claim covers it (it or a division above it)."""
        try:
            division = self.directory.division(code)
        except KeyError:
            raise UnknownDivision(code) from None
        if division.level not in CHILD_LEVEL:
            raise NotAReportingDivision(
                f"{code} is a micro-grid: ask for its community ({division.parent}), whose report lists its grids")
        if not principal.may_see(tuple(self.directory.lineage(code))):
            raise DivisionOutsideYourJurisdiction(f"{division.name} ({code}) is not in your jurisdiction claim")
        return division

    async def hazard_report(self, code: str, start: dt.date, end: dt.date, principal: Principal) -> HazardReport:
        """The figures of the hazards reported on the days [start, end] (inclusive, the city's
        local days) in the division, and of the inspections due and done on those days."""
        try:
            check_period(start, end)
        except PeriodRefused as refused:
            raise PeriodNotReportable(str(refused)) from None
        division = self.division(code, principal)
        earlier = (year_earlier(start), year_earlier(end))
        ranges: list[Range] = [(NOW, *r) for r in read_ranges(start, end)] + \
                              [(YEAR_EARLIER, *r) for r in read_ranges(*earlier)]
        children = self.directory.children(code)
        async with self.pool.acquire() as conn:
            own_hazards, own_inspections = await read_tallies(conn, level=division.level, codes=[code], ranges=ranges,
                                                              only_all=False)
            child_hazards, child_inspections = await read_tallies(
                conn, level=CHILD_LEVEL[division.level], codes=[c.code for c in children], ranges=ranges,
                only_all=True)

        def of(tallies: dict, code_: str, key: str, which: int) -> Tally:
            return tallies.get((which, code_, key), EMPTY)

        def both(tallies: dict, code_: str, key: str) -> tuple[Tally, Tally]:
            return of(tallies, code_, key, NOW), of(tallies, code_, key, YEAR_EARLIER)

        def joined(code_: str, hazards: dict, inspections: dict, which: int) -> Tally:
            return _joined(of(hazards, code_, ALL, which), of(inspections, code_, ALL, which))

        total = _scope("total", code, division.name, joined(code, own_hazards, own_inspections, NOW),
                       joined(code, own_hazards, own_inspections, YEAR_EARLIER))
        # Every category of the taxonomy, then any other the counters hold (an older taxonomy's).
        categories = list(self.taxonomy.ids()) + sorted(
            {k for (_, c, k) in own_hazards if c == code and k != ALL} - set(self.taxonomy.ids()))
        by_category = []
        for category in categories:
            known = self.taxonomy.categories.get(category)
            by_category.append(_scope("category", category, known.name_zh if known else None,
                                      *both(own_hazards, code, category), inspections=False))
        by_child = [_scope("child", c.code, c.name, joined(c.code, child_hazards, child_inspections, NOW),
                           joined(c.code, child_hazards, child_inspections, YEAR_EARLIER)) for c in children]
        kinds = sorted({k for (_, c, k) in own_inspections if c == code and k != ALL})
        by_kind = [_scope("venue_kind", kind, None, *both(own_inspections, code, kind), hazards=False)
                   for kind in kinds]
        return HazardReport(division, start, end, *earlier, total, by_category, by_child, by_kind)

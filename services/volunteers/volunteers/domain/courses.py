"""Courses as data (courses.toml): which are required for which service domain, and how long a
pass certifies. Pure; checked against the service domains on loading."""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt

from volunteers.domain.data import entries, shipped, versioned
from volunteers.domain.service_domains import ServiceDomains


@dataclasses.dataclass(frozen=True)
class Course:
    id: str
    name_zh: str
    domains: tuple[str, ...]
    required: bool
    valid_months: int  # 0: a pass certifies for good

    def certificate_until(self, passed_on: dt.date) -> dt.date | None:
        """The last day a pass on `passed_on` certifies (None: for good)."""
        if not self.valid_months:
            return None
        month = passed_on.month - 1 + self.valid_months
        year, month = passed_on.year + month // 12, month % 12 + 1
        day = min(passed_on.day, calendar.monthrange(year, month)[1])
        return dt.date(year, month, day) - dt.timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class Courses:
    version: str
    courses: tuple[Course, ...]

    def __contains__(self, course_id: object) -> bool:
        return any(c.id == course_id for c in self.courses)

    def __getitem__(self, course_id: str) -> Course:
        return next(c for c in self.courses if c.id == course_id)

    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.courses)

    def required_for(self, domain: str) -> tuple[Course, ...]:
        return tuple(c for c in self.courses if c.required and domain in c.domains)


def parse_courses(text: str, domains: ServiceDomains) -> Courses:
    """ValueError naming what is wrong: a bad or repeated id, a domain the service does not know,
    a negative validity, or a domain no required course trains for."""
    version, data = versioned(text, "courses")
    out = []
    for course_id, entry in entries(data, "courses", "courses"):
        unknown = [d for d in entry.get("domains", ()) if d not in domains]
        if unknown or not entry.get("domains"):
            raise ValueError(f"courses: {course_id} names no domain, or ones the service does not know: {unknown}")
        months = entry.get("valid_months", 0)
        if not isinstance(months, int) or months < 0:
            raise ValueError(f"courses: {course_id} needs valid_months ≥ 0")
        out.append(Course(course_id, entry["name_zh"], tuple(entry["domains"]), bool(entry.get("required", False)),
                          months))
    courses = Courses(version, tuple(out))
    untrained = [d for d in domains.ids() if not courses.required_for(d)]
    if untrained:
        raise ValueError(f"courses: no required course for {', '.join(untrained)}: anyone would be fit for duty")
    return courses


def shipped_courses_text() -> str:
    return shipped("courses.toml")

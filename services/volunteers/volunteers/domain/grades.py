"""Grades and stars as data (grades.toml), pure: which grade a volunteer's record earns today,
with the rule that decided it, and how many stars their hours certify."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from volunteers.domain.courses import Courses
from volunteers.domain.data import entries, shipped, versioned
PLACES = ("public", "home")


@dataclasses.dataclass(frozen=True)
class Standing:
    """What the grade rules read of a volunteer on a day."""

    hours: float  # confirmed, in the ledger
    ratings: int  # how many residents rated them
    average_rating: float | None
    certified: Callable[[str], bool]  # a course passed with its certificate in date


@dataclasses.dataclass(frozen=True)
class Grade:
    id: str
    name_zh: str
    min_hours: float = 0
    min_rating: float | None = None
    min_ratings: int = 0
    courses: tuple[str, ...] = ()
    alert_places: tuple[str, ...] = ("public",)

    def unmet(self, s: Standing) -> list[str]:
        """Each condition of this grade's rule `s` does not meet (empty: the grade is earned)."""
        unmet = []
        if s.hours < self.min_hours:
            unmet.append(f"{self.min_hours:g} hours served (has {s.hours:g})")
        if self.min_rating is not None:
            if s.ratings < self.min_ratings:
                unmet.append(f"{self.min_ratings} ratings (has {s.ratings})")
            elif (s.average_rating or 0) < self.min_rating:
                unmet.append(f"an average rating of {self.min_rating:g} (has {s.average_rating:.2f})")
        unmet += [f"course {c} passed, certificate in date" for c in self.courses if not s.certified(c)]
        return unmet

    def rule(self) -> dict:
        """The rule as events carry it."""
        return {"grade": self.id, "min_hours": self.min_hours, "min_rating": self.min_rating,
                "min_ratings": self.min_ratings, "courses": list(self.courses)}


@dataclasses.dataclass(frozen=True)
class StarLevel:
    stars: int
    min_hours: float


@dataclasses.dataclass(frozen=True)
class Grades:
    version: str
    grades: tuple[Grade, ...]  # lowest first
    stars: tuple[StarLevel, ...]  # fewest first

    @property
    def entry(self) -> Grade:
        return self.grades[0]

    def __contains__(self, grade_id: object) -> bool:
        return any(g.id == grade_id for g in self.grades)

    def __getitem__(self, grade_id: str) -> Grade:
        return next(g for g in self.grades if g.id == grade_id)

    def rank(self, grade_id: str) -> int:
        return next(i for i, g in enumerate(self.grades) if g.id == grade_id)

    def earned(self, standing: Standing) -> Grade:
        """The highest grade whose rule `standing` meets (the entry grade at least)."""
        return next((g for g in reversed(self.grades) if not g.unmet(standing)), self.entry)

    def stars_for(self, hours: float) -> StarLevel | None:
        return next((s for s in reversed(self.stars) if hours >= s.min_hours), None)


def parse_grades(text: str, courses: Courses) -> Grades:
    """ValueError naming what is wrong: a bad or repeated id, a course the service does not know,
    an entry grade with a rule, a place that is neither public nor home, stars out of order."""
    version, data = versioned(text, "grades")
    grades = []
    for grade_id, entry in entries(data, "grades", "grades"):
        unknown = [c for c in entry.get("courses", ()) if c not in courses]
        places = tuple(entry.get("alert_places", ("public",)))
        if unknown or not places or set(places) - set(PLACES):
            raise ValueError(f"grades: {grade_id}: unknown courses {unknown} or places {places}")
        grades.append(Grade(grade_id, entry["name_zh"], float(entry.get("min_hours", 0)), entry.get("min_rating"),
                            int(entry.get("min_ratings", 0)), tuple(entry.get("courses", ())), places))
    if not grades:
        raise ValueError("grades: at least one grade")
    first = grades[0]
    if first.min_hours or first.min_rating is not None or first.courses:
        raise ValueError(f"grades: the entry grade {first.id} has no rule: every approved volunteer holds it")
    stars = tuple(StarLevel(int(s["stars"]), float(s["min_hours"])) for s in data.get("stars", ()))
    if [s.stars for s in stars] != list(range(1, len(stars) + 1)) or any(
            a.min_hours >= b.min_hours for a, b in zip(stars, stars[1:], strict=False)):
        raise ValueError("grades: stars are 1, 2, 3… with rising hours")
    return Grades(version, tuple(grades), stars)


def shipped_grades_text() -> str:
    return shipped("grades.toml")

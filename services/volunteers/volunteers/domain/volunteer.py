"""A volunteer's file (档案) and a team, as aggregates. Pure: no I/O, the time passed in.

The review is a workflow: submitted → under_review → approved | rejected (with the reason the
applicant is told), each step with its reviewer and time. An approved volunteer is on the duty
roll only while an insurance policy is in force (`insured_on`): an expired policy takes them off
until it is renewed, with no event needed for the expiry (it is a date, read against the day).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from linkduty_shared.domain import Aggregate, DomainError, DomainEvent, IllegalTransition, InvariantViolated

from volunteers.domain.courses import Course, Courses
from volunteers.domain.grades import Grades, Standing

from volunteers.domain.events import (
    TeamFormed,
    TeamLeaderChanged,
    TeamMemberAdded,
    TeamMemberRemoved,
    VolunteerApplied,
    VolunteerApproved,
    VolunteerCourseResultRecorded,
    VolunteerDemoted,
    VolunteerHoursCredited,
    VolunteerInsured,
    VolunteerPersonalDataErased,
    VolunteerPromoted,
    VolunteerRejected,
    VolunteerReviewStarted,
    VolunteerStarsCertified,
)

MAX_POLICY_DAYS = 3 * 366  # a policy longer than three years is a typing error, not cover


class ReviewStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"


def iso_time(at: dt.datetime) -> str:
    if at.tzinfo is None:
        raise InvariantViolated("a time needs its offset")
    return at.isoformat()


@dataclasses.dataclass(frozen=True)
class Policy:
    policy_number: str
    insurer: str
    valid_from: dt.date
    valid_to: dt.date


class Volunteer(Aggregate):
    stream_type = "volunteer"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: ReviewStatus | None = None
        self.applied: VolunteerApplied | None = None
        self.history: list[dict] = []  # [{"step", "by", "at", "reason"?}], the review's steps in order
        self.policies: list[Policy] = []
        self.results: dict[str, VolunteerCourseResultRecorded] = {}  # course id → the latest exam's
        self.erased = False
        self.grade: str | None = None  # None: the entry grade (grades.toml's first) once approved
        self.ledger: dict[str, VolunteerHoursCredited] = {}  # entry id → entry, in order (append-only)
        self.stars = 0

    @property
    def jurisdiction(self) -> dict:
        return self.applied.jurisdiction if self.applied else {}

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case VolunteerApplied():
                self.applied, self.status = e, ReviewStatus.SUBMITTED
                self.history.append({"step": "submitted", "by": e.applied_by, "at": e.at})
            case VolunteerReviewStarted():
                self.status = ReviewStatus.UNDER_REVIEW
                self.history.append({"step": "under_review", "by": e.by, "at": e.at})
            case VolunteerApproved():
                self.status = ReviewStatus.APPROVED
                self.history.append({"step": "approved", "by": e.by, "at": e.at, "note": e.note})
            case VolunteerRejected():
                self.status = ReviewStatus.REJECTED
                self.history.append({"step": "rejected", "by": e.by, "at": e.at, "reason": e.reason})
            case VolunteerInsured():
                self.policies.append(Policy(e.policy_number, e.insurer, dt.date.fromisoformat(e.valid_from),
                                            dt.date.fromisoformat(e.valid_to)))
            case VolunteerCourseResultRecorded():
                self.results[e.course_id] = e
            case VolunteerPersonalDataErased():
                self.erased = True
            case VolunteerPromoted() | VolunteerDemoted():
                self.grade = e.to_grade
            case VolunteerHoursCredited():
                self.ledger[e.entry_id] = e
            case VolunteerStarsCertified():
                self.stars = e.stars

    # ---- commands ----------------------------------------------------------------------------

    def apply(self, applied: VolunteerApplied) -> list[DomainEvent]:
        if self.exists:
            raise IllegalTransition(f"volunteer {self.id} has applied already")
        if not applied.domains:
            raise InvariantViolated("an application names at least one service domain")
        return self._record(applied)

    def start_review(self, *, by: str, at: dt.datetime) -> list[DomainEvent]:
        self._expect(ReviewStatus.SUBMITTED, "start a review of")
        return self._record(VolunteerReviewStarted(by=by, at=iso_time(at)))

    def approve(self, *, by: str, at: dt.datetime, note: str | None = None) -> list[DomainEvent]:
        self._expect(ReviewStatus.UNDER_REVIEW, "approve")
        return self._record(VolunteerApproved(by=by, at=iso_time(at), note=note))

    def reject(self, *, by: str, at: dt.datetime, reason: str) -> list[DomainEvent]:
        self._expect(ReviewStatus.UNDER_REVIEW, "reject")
        if not reason.strip():
            raise InvariantViolated("a rejection says why: the applicant is told")
        return self._record(VolunteerRejected(by=by, at=iso_time(at), reason=reason.strip()))

    def insure(self, policy: Policy, *, by: str, at: dt.datetime) -> list[DomainEvent]:
        """Record a policy (a renewal is one more). Only an approved volunteer is insured for duty."""
        self._expect(ReviewStatus.APPROVED, "insure")
        if policy.valid_to < policy.valid_from:
            raise InvariantViolated("a policy ends on or after the day it starts")
        if (policy.valid_to - policy.valid_from).days > MAX_POLICY_DAYS:
            raise InvariantViolated(f"a policy covers at most {MAX_POLICY_DAYS} days")
        if any(p.policy_number == policy.policy_number and p.insurer == policy.insurer for p in self.policies):
            return []  # the same policy again: recorded already
        return self._record(VolunteerInsured(policy.policy_number, policy.insurer, policy.valid_from.isoformat(),
                                             policy.valid_to.isoformat(), by=by, at=iso_time(at)))

    def record_result(self, course: Course, *, passed: bool, exam_on: dt.date, by: str, at: dt.datetime,
                      score: float | None = None, session_id: str | None = None) -> list[DomainEvent]:
        """An exam of `course`: the latest result stands (a failed retake after a pass ends the
        pass: 培训不合格不上岗). Only an approved volunteer is trained; not in the future."""
        self._expect(ReviewStatus.APPROVED, "train")
        if exam_on > at.date():
            raise InvariantViolated("an exam is recorded once it was taken, not before")
        until = course.certificate_until(exam_on) if passed else None
        return self._record(VolunteerCourseResultRecorded(
            course.id, passed, score, exam_on.isoformat(), until.isoformat() if until else None, by=by, at=iso_time(at),
            session_id=session_id))

    def erase_personal_data(self, *, by: str, at: dt.datetime) -> list[DomainEvent]:
        if self.erased:
            return []
        return self._record(VolunteerPersonalDataErased(by=by, at=iso_time(at)))

    def credit_hours(self, entry: VolunteerHoursCredited) -> list[DomainEvent]:
        """One entry of the hour ledger (idempotent on its id). A correction names the entry it
        corrects and may take hours away, never below zero in all."""
        self._expect(ReviewStatus.APPROVED, "credit hours to")
        if entry.entry_id in self.ledger:
            return []
        if entry.corrects is None and not 0 < entry.hours <= 24:
            raise InvariantViolated("an entry credits more than 0 and at most 24 hours")
        if entry.corrects is not None:
            if entry.corrects not in self.ledger or not (entry.reason or "").strip():
                raise InvariantViolated("a correction names an entry of this ledger and says why")
            if self.hours + entry.hours < 0:
                raise InvariantViolated(f"a correction of {entry.hours:g} h would leave the ledger below zero")
        return self._record(entry)

    def regrade(self, grades: Grades, courses: Courses, day: dt.date, *, by: str,
                at: dt.datetime) -> list[DomainEvent]:
        """Promote or demote to the grade the record earns on `day`, with the rule that decided;
        nothing if it is the one held. Only an approved volunteer has a grade."""
        if self.status is not ReviewStatus.APPROVED:
            return []
        standing = self.standing(day)
        held = self.grade_on(grades)
        earned = grades.earned(standing)
        if earned.id == held.id:
            return []
        measured = {"hours": standing.hours, "ratings": standing.ratings, "average_rating": standing.average_rating}
        if grades.rank(earned.id) > grades.rank(held.id):
            return self._record(VolunteerPromoted(held.id, earned.id, earned.rule(), measured, at=iso_time(at), by=by))
        return self._record(VolunteerDemoted(held.id, earned.id, held.rule(), tuple(held.unmet(standing)), measured,
                                             at=iso_time(at), by=by))

    def certify_stars(self, grades: Grades, *, by: str, at: dt.datetime) -> list[DomainEvent]:
        """星级认证 on application: the stars the ledger's hours reach, or NotEnoughHours (409)."""
        self._expect(ReviewStatus.APPROVED, "certify")
        hours = self.hours
        level = grades.stars_for(hours)
        if level is None or level.stars <= self.stars:
            following = next((s for s in grades.stars if s.stars > self.stars), None)
            raise NotEnoughHours(self.id, hours, following.stars if following else None,
                                 following.min_hours if following else None)
        return self._record(VolunteerStarsCertified(level.stars, hours, level.min_hours, at=iso_time(at), by=by))

    # ---- queries -----------------------------------------------------------------------------

    @property
    def hours(self) -> float:
        return round(sum(e.hours for e in self.ledger.values()), 2)

    def certified(self, course_id: str, day: dt.date) -> bool:
        """Passed `course_id`, with its certificate in date on `day`."""
        result = self.results.get(course_id)
        return bool(result and result.passed and (
            result.certificate_until is None or dt.date.fromisoformat(result.certificate_until) >= day))

    def standing(self, day: dt.date) -> Standing:
        rated = [e.rating for e in self.ledger.values() if e.rating is not None]
        return Standing(self.hours, len(rated), sum(rated) / len(rated) if rated else None,
                        lambda course_id: self.certified(course_id, day))

    def grade_on(self, grades: Grades):
        """The grade held (the entry grade until a promotion; a grade since removed from the data
        counts as the entry grade)."""
        return grades[self.grade] if self.grade in grades else grades.entry

    def policy_on(self, day: dt.date) -> Policy | None:
        """The policy in force on `day`, the one covering longest if several."""
        covering = [p for p in self.policies if p.valid_from <= day <= p.valid_to]
        return max(covering, key=lambda p: p.valid_to) if covering else None

    def on_duty_roll(self, day: dt.date) -> bool:
        """Approved and insured on `day` (training, the other half of the gate, is §2's)."""
        return not self._missing_to_serve(day)

    def must_be_on_duty_roll(self, day: dt.date) -> None:
        """NotFitForDuty (409) naming what keeps the volunteer off duty on `day`."""
        missing = self._missing_to_serve(day)
        if missing:
            raise NotFitForDuty(self.id, "any domain", missing)

    def missing_for_duty(self, day: dt.date) -> list[str]:
        """What keeps the volunteer off duty on `day`, as a 409 names it."""
        missing = []
        if self.status is not ReviewStatus.APPROVED:
            missing.append(f"approval (the review is {self.status.value if self.status else 'not started'})")
        if self.policy_on(day) is None:
            last = max((p.valid_to for p in self.policies), default=None)
            missing.append(f"insurance in force (the last policy ended {last.isoformat()})" if last
                           else "insurance in force (none recorded)")
        return missing

    def _missing_to_serve(self, day: dt.date) -> list[str]:
        """missing_for_duty, and the person if they were erased: nobody serves as a file alone."""
        return self.missing_for_duty(day) + (["a person (their personal data was erased)"] if self.erased else [])

    def missing_for_domain(self, domain: str, day: dt.date, courses: Courses) -> list[str]:
        """What keeps the volunteer from serving in `domain` on `day` (不培训不上岗): approval,
        insurance, and each required course of the domain passed with its certificate in date."""
        missing = self._missing_to_serve(day)
        for course in courses.required_for(domain):
            result = self.results.get(course.id)
            if result is None:
                missing.append(f"course {course.id} ({course.name_zh}) not taken")
            elif not result.passed:
                missing.append(f"course {course.id} ({course.name_zh}) failed on {result.exam_on}")
            elif result.certificate_until and dt.date.fromisoformat(result.certificate_until) < day:
                missing.append(f"course {course.id} ({course.name_zh}): its certificate ended {result.certificate_until}")
        return missing

    def fit_for(self, domain: str, day: dt.date, courses: Courses) -> None:
        """The duty gate an order or an alert of `domain` passes: NotFitForDuty naming what is missing."""
        missing = self.missing_for_domain(domain, day, courses)
        if missing:
            raise NotFitForDuty(self.id, domain, missing)

    def _expect(self, status: ReviewStatus, what: str) -> None:
        if not self.exists:
            raise IllegalTransition(f"no volunteer {self.id}")
        if self.status is not status:
            raise IllegalTransition(f"cannot {what} volunteer {self.id}: the review is {self.status.value}")


class NotEnoughHours(DomainError):
    type_slug, status, title = "not-enough-hours", 409, "Not enough hours for more stars"

    def __init__(self, volunteer_id: str, hours: float, stars: int | None, min_hours: float | None) -> None:
        following = (f"{stars} star(s) need {min_hours:g}" if stars else "no more stars to certify")
        super().__init__(f"volunteer {volunteer_id} has {hours:g} hours in the ledger: {following}",
                         extra={"hours": hours, "next_stars": stars, "next_min_hours": min_hours})


class NotFitForDuty(DomainError):
    type_slug, status, title = "not-fit-for-duty", 409, "Not fit for duty in this domain"

    def __init__(self, volunteer_id: str, domain: str, missing: list[str]) -> None:
        super().__init__(f"volunteer {volunteer_id} may not serve in {domain}: missing {'; '.join(missing)}",
                         extra={"domain": domain, "missing": missing})


class Team(Aggregate):
    """志愿服务队: approved volunteers under a community or a street, with a leader among them."""

    stream_type = "volunteer_team"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.formed: TeamFormed | None = None
        self.leader_id = ""
        self.members: list[str] = []

    @property
    def jurisdiction(self) -> dict:
        return self.formed.jurisdiction if self.formed else {}

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case TeamFormed():
                self.formed, self.leader_id, self.members = e, e.leader_id, [e.leader_id]
            case TeamMemberAdded():
                self.members.append(e.volunteer_id)
            case TeamMemberRemoved():
                self.members.remove(e.volunteer_id)
            case TeamLeaderChanged():
                self.leader_id = e.leader_id

    def form(self, formed: TeamFormed, leader: Volunteer) -> list[DomainEvent]:
        if self.exists:
            raise IllegalTransition(f"team {self.id} exists already")
        if not formed.name.strip():
            raise InvariantViolated("a team has a name")
        _must_serve(leader, "lead a team")
        return self._record(formed)

    def add(self, volunteer: Volunteer, *, by: str, at: dt.datetime) -> list[DomainEvent]:
        self._must_exist()
        if volunteer.id in self.members:
            return []
        _must_serve(volunteer, "join a team")
        return self._record(TeamMemberAdded(volunteer.id, by=by, at=iso_time(at)))

    def remove(self, volunteer_id: str, *, by: str, at: dt.datetime, reason: str | None = None) -> list[DomainEvent]:
        self._must_exist()
        if volunteer_id not in self.members:
            return []
        if volunteer_id == self.leader_id:
            raise IllegalTransition("the leader cannot leave the team: name another leader first")
        return self._record(TeamMemberRemoved(volunteer_id, by=by, at=iso_time(at), reason=reason))

    def change_leader(self, volunteer: Volunteer, *, by: str, at: dt.datetime) -> list[DomainEvent]:
        self._must_exist()
        if volunteer.id not in self.members:
            raise IllegalTransition(f"volunteer {volunteer.id} is not a member of team {self.id}")
        if volunteer.id == self.leader_id:
            return []
        _must_serve(volunteer, "lead a team")
        return self._record(TeamLeaderChanged(volunteer.id, by=by, at=iso_time(at)))

    def _must_exist(self) -> None:
        if not self.exists:
            raise IllegalTransition(f"no team {self.id}")


def _must_serve(volunteer: Volunteer, what: str) -> None:
    if not volunteer.exists or volunteer.status is not ReviewStatus.APPROVED:
        raise IllegalTransition(f"only an approved volunteer may {what}")

"""Events of a volunteer (志愿者) and of a team (志愿服务队), past-tense facts.

Their data is what `volunteers.events` publishes, except the vault reference (`person_ref`,
dropped by the relay): a volunteer's name, resident ID number and phone are in the service's PII
vault, and the events carry them masked. Every event carries `at` (ISO 8601 with its offset) and,
when a person decided it, `by` (the token's subject) and that person's reason where one is due.
"""

from __future__ import annotations

from linkduty_shared.domain import DomainEvent, event


@event("VolunteerApplied")
class VolunteerApplied(DomainEvent):
    """Someone applied to serve: their own assessment of what they can do, where and when."""

    volunteer_id: str
    at: str
    name_masked: str
    id_number_masked: str
    phone_masked: str
    person_ref: str  # {"name", "id_number", "phone"} (JSON) in the vault
    domains: tuple  # service domains they assess themselves fit for (domain/service_domains.toml ids)
    home_community: str  # a community's division code
    jurisdiction: dict  # {"community", "street", "district", "city"} of that community
    availability: tuple  # e.g. ("weekday_evenings", "weekends")
    applied_by: str  # the token's subject (the applicant's app, or community staff for them)


@event("VolunteerReviewStarted")
class VolunteerReviewStarted(DomainEvent):
    """审核: a reviewer took up the background review."""

    by: str
    at: str


@event("VolunteerApproved")
class VolunteerApproved(DomainEvent):
    """审批加入: the review passed; the volunteer may be trained and insured for duty."""

    by: str
    at: str
    note: str | None = None


@event("VolunteerRejected")
class VolunteerRejected(DomainEvent):
    """The review failed, with the reason the applicant is told."""

    by: str
    at: str
    reason: str


@event("VolunteerInsured")
class VolunteerInsured(DomainEvent):
    """An insurance policy recorded for the volunteer: on duty only while one is in force."""

    policy_number: str
    insurer: str
    valid_from: str  # ISO date, the first day covered
    valid_to: str  # ISO date, the last day covered
    by: str
    at: str


@event("VolunteerPersonalDataErased")
class VolunteerPersonalDataErased(DomainEvent):
    """The person's name, ID number and phone were shredded in the vault: the file stays, the person is gone."""

    by: str
    at: str


@event("TeamFormed")
class TeamFormed(DomainEvent):
    """A volunteer service team (志愿服务队) under a community or a street."""

    team_id: str
    name: str
    division: str  # the community's or street's code
    jurisdiction: dict
    leader_id: str  # an approved volunteer
    by: str
    at: str


@event("TeamMemberAdded")
class TeamMemberAdded(DomainEvent):
    volunteer_id: str
    by: str
    at: str


@event("TeamMemberRemoved")
class TeamMemberRemoved(DomainEvent):
    volunteer_id: str
    by: str
    at: str
    reason: str | None = None


@event("TeamLeaderChanged")
class TeamLeaderChanged(DomainEvent):
    leader_id: str
    by: str
    at: str


@event("VolunteerCourseResultRecorded")
class VolunteerCourseResultRecorded(DomainEvent):
    """An exam of a course (courses.toml) taken: passed or failed, and, passed, the certificate's last day."""

    course_id: str
    passed: bool
    score: float | None
    exam_on: str  # ISO date
    certificate_until: str | None  # ISO date; None: failed, or a pass that certifies for good
    by: str
    at: str

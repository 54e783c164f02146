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
    session_id: str | None = None  # the training session it was examined in, if it was


# ---- grades, the hour ledger and stars -------------------------------------------------------

@event("VolunteerPromoted")
class VolunteerPromoted(DomainEvent):
    """The volunteer's record earns a higher grade (grades.toml): `rule` is the one it met."""

    from_grade: str
    to_grade: str
    rule: dict  # Grade.rule(): the thresholds met
    standing: dict  # {"hours", "ratings", "average_rating"} as the rule read them
    at: str
    by: str


@event("VolunteerDemoted")
class VolunteerDemoted(DomainEvent):
    """The volunteer's record no longer earns their grade: `unmet` names the conditions of the
    grade's `rule` they fell short of (a certificate ran out, a rating fell)."""

    from_grade: str
    to_grade: str
    rule: dict
    unmet: tuple
    standing: dict
    at: str
    by: str


@event("VolunteerHoursCredited")
class VolunteerHoursCredited(DomainEvent):
    """One entry of the append-only hour ledger: hours confirmed by the one served (an order's
    requester, the community for an alarm response). A correction is another entry
    (`corrects` names the one it corrects, `hours` may be negative), never an edit."""

    entry_id: str
    hours: float
    source: str  # service_order | alarm_response | correction
    source_id: str  # the order's id, the alarm's id, or the corrected entry's id
    rating: int | None  # 1–5, the requester's, when one was given
    confirmed_by: str
    at: str
    corrects: str | None = None
    reason: str | None = None


@event("VolunteerStarsCertified")
class VolunteerStarsCertified(DomainEvent):
    """星级认证, on the volunteer's application: the stars their ledger's hours reached."""

    stars: int
    hours: float  # the ledger's total when certified
    min_hours: float  # the threshold (grades.toml) it met
    at: str
    by: str


# ---- service orders (三单: 点单, 派单, 接单) ------------------------------------------------------

@event("ServiceOrderPlaced")
class ServiceOrderPlaced(DomainEvent):
    """点单: a resident or a community ordered a service. The address and the contact's phone are
    in the vault (`contact_ref`, dropped by the relay); the events carry them masked."""

    order_id: str
    kind: str  # order_kinds.toml
    domain: str  # the kind's service domain, the duty gate the volunteer passes
    min_grade: str
    community: str
    jurisdiction: dict
    lat: float
    lon: float
    description: str  # phone and ID numbers scrubbed
    address_masked: str
    contact_masked: str
    contact_ref: str
    wanted_from: str | None  # ISO 8601, the window the requester asked for
    wanted_until: str | None
    requested_by: str
    at: str


@event("ServiceOrderAssigned")
class ServiceOrderAssigned(DomainEvent):
    """派单: to a volunteer, or to a team whose members may take it."""

    volunteer_id: str | None
    team_id: str | None
    answer_by: str  # ISO 8601: unanswered by then, it goes back to the assigner
    by: str
    at: str


@event("ServiceOrderPublished")
class ServiceOrderPublished(DomainEvent):
    """Published for any volunteer who passes its gate and grade to claim."""

    answer_by: str
    by: str
    at: str


@event("ServiceOrderAccepted")
class ServiceOrderAccepted(DomainEvent):
    """接单."""

    volunteer_id: str
    name_masked: str
    at: str


@event("ServiceOrderDeclined")
class ServiceOrderDeclined(DomainEvent):
    """The volunteer it was assigned to declined: it goes back to its assigner."""

    volunteer_id: str
    reason: str
    at: str


@event("ServiceOrderReturned")
class ServiceOrderReturned(DomainEvent):
    """Nobody answered by its deadline: back to its assigner to assign again."""

    answer_by: str
    at: str


@event("ServiceOrderCompleted")
class ServiceOrderCompleted(DomainEvent):
    """The volunteer did it: their report (numbers scrubbed), photos, the time it took, and the
    hazards found on the visit (each filed with the hazards service from this event)."""

    volunteer_id: str
    report: str
    photos: tuple  # object keys or URLs, as the app uploaded them
    hours_spent: float
    hazards_found: tuple  # ({"finding_id", "category", "description", "lat", "lon"}, …)
    at: str


@event("ServiceOrderConfirmed")
class ServiceOrderConfirmed(DomainEvent):
    """The requester confirmed and rated it; `hours` went to the volunteer's ledger."""

    volunteer_id: str
    rating: int  # 1–5
    comment: str
    hours: float
    by: str
    at: str


@event("ServiceOrderCancelled")
class ServiceOrderCancelled(DomainEvent):
    reason: str
    by: str
    at: str


# ---- proximity alerts on 119 alarms --------------------------------------------------------------

@event("VolunteersAlerted")
class VolunteersAlerted(DomainEvent):
    """The qualified on-duty volunteers near a 119 alarm were alerted (stream
    `alarm_response/<alarm id>`; published keyed by the alarm id). No position is published:
    each alerted volunteer is listed with their grade and distance, rounded to 50 m."""

    alarm_id: str
    kind: str
    domain: str  # the service domain whose gate they passed
    place: str  # public | home
    lat: float  # the alarm's point
    lon: float
    radius_m: float
    wanted: int  # how many acceptances stop the alerting
    alerted: tuple  # ({"volunteer_id", "name_masked", "grade", "distance_m"}, …) nearest first
    jurisdiction: dict
    at: str


@event("VolunteerResponseAccepted")
class VolunteerResponseAccepted(DomainEvent):
    """An alerted volunteer is coming, with an ETA."""

    alarm_id: str
    volunteer_id: str
    name_masked: str
    grade: str
    eta_minutes: int
    distance_m: float
    at: str


@event("VolunteerResponseDeclined")
class VolunteerResponseDeclined(DomainEvent):
    alarm_id: str
    volunteer_id: str
    at: str


@event("VolunteerSceneReported")
class VolunteerSceneReported(DomainEvent):
    """On scene: where they are, what they see, how to get the appliance in (road blocked, the
    hydrant, the gate code), with photos. Text scrubbed of phone and ID numbers."""

    alarm_id: str
    volunteer_id: str
    name_masked: str
    lat: float
    lon: float
    assessment: str
    guidance: tuple  # ({"kind": road_blocked | hydrant | gate_code | access | other, "note"}, …)
    photos: tuple
    at: str


@event("VolunteerAlertsStoodDown")
class VolunteerAlertsStoodDown(DomainEvent):
    """The alerts still unanswered are withdrawn: enough accepted, or the alarm closed."""

    alarm_id: str
    reason: str  # enough_accepted | alarm_closed
    volunteer_ids: tuple
    at: str


@event("VolunteerResponseConfirmed")
class VolunteerResponseConfirmed(DomainEvent):
    """The community confirmed the volunteer's response: `hours` went to their ledger."""

    alarm_id: str
    volunteer_id: str
    hours: float
    by: str
    at: str


# ---- training sessions ---------------------------------------------------------------------------

@event("TrainingSessionScheduled")
class TrainingSessionScheduled(DomainEvent):
    """A session of a course (courses.toml): when, where, how many seats, who teaches."""

    session_id: str
    course_id: str
    starts_at: str
    ends_at: str
    place: str
    capacity: int
    trainer: str
    division: str  # the community's or street's code
    jurisdiction: dict
    by: str
    at: str


@event("TrainingEnrolled")
class TrainingEnrolled(DomainEvent):
    volunteer_id: str
    by: str
    at: str


@event("TrainingAttendanceTaken")
class TrainingAttendanceTaken(DomainEvent):
    """Who came (签到): only they are examined in the session."""

    present: tuple
    absent: tuple
    by: str
    at: str

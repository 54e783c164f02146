"""Bodies and answers of the volunteers API (limits on every field)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
PhotoRef = Annotated[str, Field(min_length=1, max_length=500, description="an object key or URL the app uploaded")]
Photos = Annotated[list[PhotoRef], Field(max_length=9)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=50)]
    id_number: Annotated[str, Field(pattern=r"^(\d{17}[\dXx]|\d{15})$", description="a resident ID number")]
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 -]{5,20}$")]
    domains: Annotated[list[Slug], Field(min_length=1, max_length=10, description="GET /v1/service-domains")]
    home_community: Code
    availability: Annotated[list[Slug], Field(max_length=10)] = []


class ReviewStartIn(Strict):
    pass


class ApprovalIn(Strict):
    note: Annotated[str, Field(max_length=2000)] | None = None


class RejectionIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=2000, description="the applicant is told")]


class PolicyIn(Strict):
    policy_number: Annotated[str, Field(min_length=1, max_length=64)]
    insurer: Annotated[str, Field(min_length=1, max_length=200)]
    valid_from: dt.date
    valid_to: dt.date


class CourseResultIn(Strict):
    course_id: Slug
    passed: bool
    exam_on: dt.date
    score: Annotated[float, Field(ge=0, le=100)] | None = None


class FitnessCheckIn(Strict):
    domain: Slug


class FitnessOut(BaseModel):
    volunteer_id: str
    domain: str
    fit: bool


class CourseResultOut(BaseModel):
    course_id: str
    passed: bool
    score: float | None
    exam_on: dt.date
    certificate_until: dt.date | None


class CourseOut(BaseModel):
    id: str
    name_zh: str
    domains: list[str]
    required: bool
    valid_months: int = Field(description="how long a pass certifies; 0: for good")


class CoursesOut(BaseModel):
    version: str
    courses: list[CourseOut]


class ReviewStep(BaseModel):
    step: str
    by: str
    at: str
    reason: str | None = None
    note: str | None = None


class PolicyOut(BaseModel):
    policy_number: str
    insurer: str
    valid_from: dt.date
    valid_to: dt.date


class VolunteerOut(BaseModel):
    volunteer_id: str
    status: str = Field(description="submitted | under_review | approved | rejected")
    name: str = Field(description="masked")
    id_number: str = Field(description="masked")
    phone: str = Field(description="masked")
    domains: list[str]
    home_community: str
    jurisdiction: dict[str, str]
    availability: list[str]
    review: list[ReviewStep]
    policies: list[PolicyOut]
    courses: list[CourseResultOut] = Field(description="each course's latest exam")
    on_duty_roll: bool = Field(description="approved and insured today (each domain's courses: fitness-checks)")
    missing_for_duty: list[str]
    grade: str | None = Field(description="grades.toml; None until approved")
    hours: float = Field(description="the hour ledger's total")
    stars: int = Field(description="certified (星级认证), on application")
    personal_data_erased: bool
    version: int


class PersonOut(BaseModel):
    name: str
    id_number: str
    phone: str


class VolunteerRow(BaseModel):
    volunteer_id: str
    status: str
    name_masked: str
    phone_masked: str
    domains: list[str]
    community: str
    applied_at: dt.datetime
    insured_until: dt.date | None


class VolunteerPage(BaseModel):
    volunteers: list[VolunteerRow]
    next_cursor: str | None


class ServiceDomainOut(BaseModel):
    id: str
    name_zh: str
    name_en: str


class ServiceDomainsOut(BaseModel):
    version: str
    domains: list[ServiceDomainOut]


class TeamIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    division: Code
    leader_id: Id


class MemberIn(Strict):
    volunteer_id: Id


class LeaderIn(Strict):
    volunteer_id: Id


class TeamOut(BaseModel):
    team_id: str
    name: str
    division: str
    jurisdiction: dict[str, str]
    leader_id: str
    members: list[str]
    version: int


# ---- grades, the hour ledger, stars ------------------------------------------------------------

class LedgerEntryOut(BaseModel):
    entry_id: str
    hours: float
    source: str = Field(description="service_order | alarm_response | correction")
    source_id: str
    rating: int | None
    confirmed_by: str
    at: str
    corrects: str | None = None
    reason: str | None = None


class HoursOut(BaseModel):
    volunteer_id: str
    total: float
    entries: list[LedgerEntryOut] = Field(description="append-only, oldest first")


class CorrectionIn(Strict):
    entry_id: Id
    hours: Annotated[float, Field(ge=-24, le=24, description="added to the ledger (negative takes away)")]
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class GradeOut(BaseModel):
    id: str
    name_zh: str
    min_hours: float
    min_rating: float | None
    min_ratings: int
    courses: list[str]
    alert_places: list[str]


class GradesOut(BaseModel):
    version: str
    grades: list[GradeOut] = Field(description="lowest first")
    stars: list[dict]


# ---- service orders ----------------------------------------------------------------------------

class OrderIn(Strict):
    kind: Slug = Field(description="GET /v1/order-kinds")
    community: Code
    lat: Lat
    lon: Lon
    address: Annotated[str, Field(min_length=1, max_length=300, description="kept in the vault, masked elsewhere")]
    contact_phone: Annotated[str, Field(pattern=r"^\+?[0-9 -]{5,20}$")]
    description: Annotated[str, Field(max_length=2000)] = ""
    wanted_from: AwareDatetime | None = None
    wanted_until: AwareDatetime | None = None


class AssignmentIn(Strict):
    volunteer_id: Id | None = None
    team_id: Id | None = None


class DeclineIn(Strict):
    reason: Annotated[str, Field(max_length=1000)] = ""


class HazardFoundIn(Strict):
    category: Slug = Field(description="the hazards service's taxonomy")
    description: Annotated[str, Field(min_length=1, max_length=2000)]
    lat: Lat
    lon: Lon


class CompletionIn(Strict):
    report: Annotated[str, Field(min_length=1, max_length=4000)]
    photos: Photos = []
    hours_spent: Annotated[float, Field(gt=0, le=24)]
    hazards_found: Annotated[list[HazardFoundIn], Field(max_length=20)] = []


class ConfirmationIn(Strict):
    rating: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=1000)] = ""
    hours: Annotated[float, Field(gt=0, le=24)] | None = Field(default=None, description="the volunteer's by default")


class CancellationIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class OrderOut(BaseModel):
    order_id: str
    kind: str
    domain: str
    min_grade: str
    status: str = Field(description="placed | assigned | published | accepted | completed | confirmed | cancelled")
    community: str
    jurisdiction: dict[str, str]
    lat: float
    lon: float
    description: str
    address: str = Field(description="masked")
    contact: str = Field(description="masked")
    wanted_from: str | None
    wanted_until: str | None
    requested_by: str
    assigned_to: dict | None
    answer_by: str | None
    volunteer_id: str | None = Field(description="who accepted it")
    completion: dict | None
    confirmation: dict | None
    history: list[dict]
    version: int


class OrderRow(BaseModel):
    order_id: str
    kind: str
    status: str
    community: str
    placed_at: dt.datetime
    answer_by: dt.datetime | None
    volunteer_id: str | None
    team_id: str | None
    rating: int | None


class OrderPage(BaseModel):
    orders: list[OrderRow]
    next_cursor: str | None


class ContactOut(BaseModel):
    address: str
    phone: str


class OrderKindOut(BaseModel):
    id: str
    name_zh: str
    domain: str
    min_grade: str
    answer_within_hours: float


class OrderKindsOut(BaseModel):
    version: str
    kinds: list[OrderKindOut]


# ---- on duty, alerts and responses -------------------------------------------------------------

class PositionIn(Strict):
    lat: Lat
    lon: Lon
    accuracy_m: Annotated[float, Field(ge=0, le=10_000)] | None = None


class PositionOut(BaseModel):
    on_duty: bool
    reported_at: dt.datetime | None
    fresh_for_s: float = Field(description="how long the position counts for alerts without a new report")


class AlertOut(BaseModel):
    alarm_id: str
    status: str = Field(description="alerted | accepted | declined | stood_down")
    kind: str
    place: str
    lat: float = Field(description="the alarm's point")
    lon: float
    distance_m: float
    alerted_at: dt.datetime
    answered_at: dt.datetime | None
    eta_minutes: int | None


class AlertsOut(BaseModel):
    alerts: list[AlertOut]


class AcceptIn(Strict):
    eta_minutes: Annotated[int, Field(ge=1, le=60)]


class GuidanceIn(Strict):
    kind: Annotated[str, Field(pattern=r"^(road_blocked|hydrant|gate_code|access|other)$")]
    note: Annotated[str, Field(max_length=500)] = ""


class SceneReportIn(Strict):
    lat: Lat
    lon: Lon
    assessment: Annotated[str, Field(max_length=2000)] = ""
    guidance: Annotated[list[GuidanceIn], Field(max_length=10)] = []
    photos: Photos = []


class ResponseConfirmationIn(Strict):
    volunteer_id: Id
    hours: Annotated[float, Field(gt=0, le=24)]


class ResponseOut(BaseModel):
    alarm_id: str
    kind: str
    domain: str
    place: str
    radius_m: float
    wanted: int
    alerted: list[dict] = Field(description="each {volunteer_id, name_masked, grade, distance_m, status}")
    coming: list[dict] = Field(description="each accepted {volunteer_id, name_masked, grade, eta_minutes, eta_at}")
    scene_reports: list[dict]
    closed: bool
    version: int


# ---- training sessions ---------------------------------------------------------------------------

class SessionIn(Strict):
    course_id: Slug = Field(description="GET /v1/courses")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: Annotated[str, Field(min_length=1, max_length=300)]
    capacity: Annotated[int, Field(ge=1, le=500)]
    trainer: Annotated[str, Field(min_length=1, max_length=100)]
    division: Code = Field(description="the community or street running it")


class EnrolmentIn(Strict):
    volunteer_id: Id


class AttendanceIn(Strict):
    present: Annotated[list[Id], Field(max_length=500)]


class ExamResultIn(Strict):
    volunteer_id: Id
    passed: bool
    score: Annotated[float, Field(ge=0, le=100)] | None = None


class SessionResultsIn(Strict):
    results: Annotated[list[ExamResultIn], Field(min_length=1, max_length=500)]


class SessionOut(BaseModel):
    session_id: str
    course_id: str
    starts_at: str
    ends_at: str
    place: str
    capacity: int
    trainer: str
    division: str
    jurisdiction: dict[str, str]
    enrolled: list[str]
    present: list[str] | None = Field(description="None until attendance is taken")
    version: int

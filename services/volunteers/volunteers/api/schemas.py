"""Bodies and answers of the volunteers API (limits on every field)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


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
    on_duty_roll: bool = Field(description="approved and insured today (training is not checked yet)")
    missing_for_duty: list[str]
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

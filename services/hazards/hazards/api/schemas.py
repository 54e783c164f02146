"""Request and response bodies of the hazards API (JSON)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from hazards.domain.values import AssigneeKind, RejectionReason, Severity, Source

Note = Field(default=None, min_length=1, max_length=1000)
VENUE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
PHOTO_ID = r"^[0-9a-fA-F-]{32,36}$"
MAX_PHOTOS = 9
PhotoIds = Field(default_factory=list, max_length=MAX_PHOTOS,
                 description="ids of photos uploaded first (POST /v1/photos) with the same token; each attached once")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- requests ------------------------------------------------------------------------------------

class Point(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    address: str | None = Field(default=None, min_length=1, max_length=300, description="as typed; the point decides")


class ReporterIn(Strict):
    """How to reach the reporter: kept in the vault, masked everywhere else, erasable."""

    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{3,20}$")
    name: str | None = Field(default=None, min_length=1, max_length=50)


class ReportHazardIn(Strict):
    """随手拍: a hazard as a resident's app, a grid worker, a volunteer or an inspector reports it."""

    category: str = Field(min_length=1, max_length=64, description="an id of GET /v1/hazard-categories")
    description: str = Field(min_length=1, max_length=2000)
    location: Point
    venue_id: str | None = Field(default=None, pattern=VENUE_ID, description="a venue (九小场所) id, kept as given")
    source: Source = Source.RESIDENT_APP
    severity: Severity | None = Field(default=None, description="the category's default severity when left out")
    reporter: ReporterIn | None = None
    photo_ids: list[Annotated[str, Field(pattern=PHOTO_ID)]] = PhotoIds


class AcceptIn(Strict):
    severity: Severity | None = Field(default=None, description="to change the severity (and so the deadlines)")
    note: str | None = Note


class RejectIn(Strict):
    reason: RejectionReason
    message: str = Field(min_length=1, max_length=1000, description="what the reporter reads")
    refer_to: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="whose remit it is: required exactly when reason is outside_remit")


class MergeIn(Strict):
    into: str = Field(min_length=1, max_length=64, description="the open hazard this report is the same as")


class AssignIn(Strict):
    assignee_kind: AssigneeKind
    assignee_id: str = Field(min_length=1, max_length=100)
    assignee_name: str | None = Field(default=None, min_length=1, max_length=200,
                                      description="an organisation's name (a venue, a property company)")


class RectificationIn(Strict):
    note: str = Field(min_length=1, max_length=2000)
    photo_ids: list[Annotated[str, Field(pattern=PHOTO_ID)]] = PhotoIds  # the 'after' photos


class VerificationIn(Strict):
    outcome: Literal["passed", "failed"]
    note: str | None = Field(default=None, min_length=1, max_length=1000, description="required when failed")


class ReinspectionIn(Strict):
    outcome: Literal["confirmed", "reopened"]
    note: str | None = Field(default=None, min_length=1, max_length=1000, description="required when reopened")


# ---- answers -------------------------------------------------------------------------------------

class CategoryOut(BaseModel):
    id: str
    name_zh: str
    name_en: str
    default_severity: str
    rectify_within_hours: dict[str, float]
    reinspect_after_days: int


class Categories(BaseModel):
    version: str
    categories: list[CategoryOut]


class PlaceOut(BaseModel):
    lat: float
    lon: float
    address: str | None = None


class HandlerOut(BaseModel):
    level: str = Field(description="community | street | district: where it is handled now")
    centre_id: str
    centre_name: str


class AssigneeOut(BaseModel):
    kind: str
    id: str
    name: str | None


class CandidateOut(BaseModel):
    hazard_id: str
    distance_m: float


class RejectionOut(BaseModel):
    reason: str
    message: str
    refer_to: str | None


class RecurrenceOut(BaseModel):
    hazard_id: str
    rule: str
    distance_m: float
    closed_at: str


class PhotoLink(BaseModel):
    photo_id: str
    url: str = Field(description="the photo, metadata stripped (for who may see the hazard)")
    thumbnail_url: str


class RectificationOut(BaseModel):
    note: str
    photos: list[PhotoLink] = Field(description="the 'after' photos")
    at: str


class StepOut(BaseModel):
    what: str
    at: str
    by: str | None = Field(description="who did it (shown to the centres only)")
    note: str | None


class HazardOut(BaseModel):
    """A hazard as a centre in its chain reads it, or as one of its reporters does (then without
    other hazards' ids and without who did what). Never anyone's contact: a masked number at most."""

    hazard_id: str
    version: int
    status: str
    category: str
    category_name: dict[str, str] = Field(description="zh and en")
    severity: str
    source: str
    description: str
    location: PlaceOut
    venue_id: str | None
    reported_at: str
    jurisdiction: dict[str, str] = Field(description="division codes by level (grid … city)")
    jurisdiction_names: dict[str, str]
    grid: str
    handled_by: HandlerOut
    assignee: AssigneeOut | None
    triage_due_at: str
    rectification_due_at: str | None
    reinspection_due_at: str | None
    closed_at: str | None
    failures: int
    reopenings: int
    reporters: int = Field(description="how many reported it (merged duplicates included)")
    reporter_masked: str | None = Field(description="the first reporter's number, masked (centres only)")
    rejection: RejectionOut | None
    merged_into: str | None
    merged_duplicates: list[str]
    duplicate_candidates: list[CandidateOut] = Field(description="open hazards it may be, that the caller may see")
    recurrence_of: RecurrenceOut | None
    photos: list[PhotoLink] = Field(description="the report's photos")
    rectifications: list[RectificationOut]
    history: list[StepOut]


class HazardSummary(BaseModel):
    """A hazard as a list shows it (the `hazard_list` read model)."""

    hazard_id: str
    status: str
    category: str
    severity: str
    source: str
    lat: float
    lon: float
    venue_id: str | None
    grid: str
    community: str
    street: str
    district: str
    city: str
    handling_level: str
    reported_at: str
    triage_due_at: str
    rectification_due_at: str | None
    reinspection_due_at: str | None
    closed_at: str | None
    reporters: int
    failures: int
    assignee_kind: str | None
    assignee_id: str | None
    merged_into: str | None
    recurrence_of: str | None
    version: int


class HazardPage(BaseModel):
    hazards: list[HazardSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class MyHazard(HazardSummary):
    following_at: str = Field(description="since when the caller follows it (its report, or the merge)")


class MyHazardPage(BaseModel):
    hazards: list[MyHazard]
    next_cursor: str | None

"""Request and response bodies of the venue registry and inspections (JSON)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field

from hazards.api.schemas import PHOTO_ID, MAX_PHOTOS, Point, Strict
from hazards.domain.values import InspectionKind, ItemResult, ParticipantRole, ReinspectionOutcome, RiskClass

Reason = Field(min_length=1, max_length=500)
KindId = Field(min_length=1, max_length=64, description="an id of GET /v1/venue-kinds")


class PersonIn(Strict):
    """A responsible person or fire-safety contact: kept in the vault, masked everywhere else, erasable."""

    name: str | None = Field(default=None, min_length=1, max_length=50)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{3,20}$")


class RegisterVenueIn(Strict):
    kind: str = KindId
    name: str = Field(min_length=1, max_length=200)
    location: Point
    floor_area_m2: float | None = Field(default=None, gt=0, le=10_000_000)
    risk_class: RiskClass = RiskClass.MEDIUM
    responsible: PersonIn | None = Field(default=None, description="安全责任人")
    contact: PersonIn | None = Field(default=None, description="the fire-safety contact (消防安全管理人)")
    ledger_ref: str | None = Field(default=None, min_length=1, max_length=100,
                                   description="its id in the street's ledger: registering it again updates it")


class ChangeVenueIn(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: str | None = Field(default=None, min_length=1, max_length=64)
    floor_area_m2: float | None = Field(default=None, gt=0, le=10_000_000)
    location: Point | None = Field(default=None, description="moved (its micro-grid follows) or a new address")


class ContactsIn(Strict):
    responsible: PersonIn | None = None
    contact: PersonIn | None = None


class ClassifyIn(Strict):
    risk_class: RiskClass
    reason: str = Reason


class DeregisterIn(Strict):
    reason: str = Reason


class ItemAnswerIn(Strict):
    item_id: str = Field(min_length=1, max_length=64)
    result: ItemResult
    note: str | None = Field(default=None, min_length=1, max_length=1000,
                             description="what was found (required for a failed item)")
    photo_ids: list[Annotated[str, Field(pattern=PHOTO_ID)]] = Field(default_factory=list, max_length=MAX_PHOTOS)


class ParticipantIn(Strict):
    role: ParticipantRole
    id: str = Field(min_length=1, max_length=100, description="a fire station: its unit id in the units directory")
    name: str | None = Field(default=None, min_length=1, max_length=200,
                             description="an office's or station's name, never a person's")


class ReinspectedIn(Strict):
    hazard_id: str = Field(min_length=1, max_length=64)
    outcome: ReinspectionOutcome


class InspectionIn(Strict):
    kind: InspectionKind
    inspected_at: AwareDatetime | None = Field(default=None, description="when it took place (now if left out)")
    items: list[ItemAnswerIn] = Field(min_length=1, max_length=100, description="every item of the kind's checklist")
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=20)
    reinspected: list[ReinspectedIn] = Field(default_factory=list, max_length=50,
                                             description="回头看: the venue's closed hazards looked at again")
    note: str | None = Field(default=None, min_length=1, max_length=2000)


# ---- responses -----------------------------------------------------------------------------------

class Named(BaseModel):
    zh: str
    en: str


class ContactOut(BaseModel):
    masked: str | None


class RiskStep(BaseModel):
    risk_class: str
    since: str
    reason: str


class InspectionRef(BaseModel):
    inspection_id: str
    kind: str
    inspected_at: str


class VenueHazard(BaseModel):
    hazard_id: str
    status: str
    category: str
    severity: str
    source: str
    reported_at: str
    closed_at: str | None = None
    rectification_due_at: str | None = None
    overdue: bool
    recurrence_of: str | None = None
    description: str | None = None


class VenueOut(BaseModel):
    venue_id: str
    version: int
    status: str
    kind: str
    kind_name: Named
    name: str
    location: dict
    jurisdiction: dict[str, str]
    floor_area_m2: float | None
    risk_class: str
    risk_history: list[RiskStep]
    responsible: ContactOut
    contact: ContactOut
    ledger_ref: str | None
    registered_at: str
    last_inspected_at: str | None
    inspection_due_at: str | None
    inspection_overdue: bool
    handled_by_level: str


class VenuePage(VenueOut):
    """A venue's page: its inspections, its hazards open and past, how often they came back."""

    inspections: list[InspectionRef]
    open_hazards: list[VenueHazard]
    past_hazards: list[VenueHazard]
    recurrences: int = Field(description="its hazards flagged as a recurrence (反弹)")


class VenueRow(BaseModel):
    venue_id: str
    kind: str
    name: str
    address: str | None
    lat: float
    lon: float
    grid: str
    community: str
    street: str
    district: str
    city: str
    risk_class: str
    status: str
    last_inspected_at: str | None
    inspection_due_at: str | None
    handling_level: str


class VenueList(BaseModel):
    venues: list[VenueRow]
    next_cursor: str | None


class ImportRejection(BaseModel):
    line: int
    errors: list[str]


class ImportOut(BaseModel):
    registered: int
    updated: int
    rejected: list[ImportRejection]


class ChecklistItemOut(BaseModel):
    id: str
    text: Named
    category: str


class VenueKindOut(BaseModel):
    id: str
    name: Named
    group: str
    inspect_every_days: int
    checklist: list[ChecklistItemOut]


class VenueKindsOut(BaseModel):
    version: str
    kinds: list[VenueKindOut]


class ItemOut(BaseModel):
    item_id: str
    result: str
    category: str
    hazard_id: str | None
    note: str | None
    photo_ids: list[str]


class OpenedHazard(BaseModel):
    hazard_id: str
    item_id: str
    status: str
    category: str
    severity: str
    rectification_due_at: str | None = None
    triage_due_at: str | None = None


class InspectionOut(BaseModel):
    inspection_id: str
    venue_id: str
    venue_kind: str
    kind: str
    inspected_at: str
    jurisdiction: dict[str, str]
    checklist_version: str
    items: list[ItemOut]
    participants: list[dict]
    reinspected: list[dict]
    note: str | None
    found: int = Field(description="hazards it found: failed items and those fixed on the spot")
    fixed_on_spot: int
    opened_hazards: list[OpenedHazard] = Field(default_factory=list, description="in this answer to its recording")


class ErasedContactsOut(BaseModel):
    erased: int = Field(description="vault entries shredded (present and replaced contacts)")

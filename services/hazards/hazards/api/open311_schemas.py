"""Request and response bodies of the Open311 GeoReport v2 routes (`api/open311.py`), with
GeoReport's own field names (`long`, not `lon`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_DESCRIPTION = 4000  # GeoReport v2: "may not exceed 4,000 characters"
PHONE = r"^\+?[0-9 ()-]{3,20}$"  # as ReporterIn's
EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,190}$"  # a shape, not a verification: it is only kept, never written to


class Open311Service(BaseModel):
    service_code: str = Field(description="a hazard category id (GET /v1/hazard-categories)")
    service_name: str
    description: str
    metadata: bool = Field(description="always false: no service defines attributes")
    type: Literal["realtime", "batch", "blackbox"] = Field(description="always realtime: the id comes at once")
    keywords: str = Field(description="comma separated")
    group: str


class Open311RequestIn(BaseModel):
    """POST /open311/v2/requests.json as a form (or a JSON object with the same names). Unknown
    parameters (GeoReport extensions) are ignored, and so are `attribute[…]` (no service has any)
    and `api_key` (the bearer token is the credential)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    jurisdiction_id: str | None = Field(default=None, max_length=64, description="the city's division code, if sent")
    service_code: str = Field(min_length=1, max_length=64, description="a service_code of services.json")
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False, description="WGS84; required")
    long: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False, description="WGS84; required")
    address_string: str | None = Field(default=None, max_length=300, description="kept as typed; the point decides")
    address_id: str | None = Field(default=None, max_length=100, description="not used (no address registry here)")
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION,
                                    description="the category's name when left out")
    media_url: str | None = Field(default=None, max_length=2000,
                                  description="only a photo uploaded first (POST /v1/photos: its url); never fetched")
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)
    phone: str | None = Field(default=None, pattern=PHONE)
    first_name: str | None = Field(default=None, max_length=50)
    last_name: str | None = Field(default=None, max_length=50)
    device_id: str | None = Field(default=None, max_length=100)
    account_id: str | None = Field(default=None, max_length=100)
    api_key: str | None = Field(default=None, max_length=200, description="ignored: send the bearer token")


class Open311Created(BaseModel):
    service_request_id: str
    service_notice: str | None = Field(description="who triages it and by when; parameters that were not used")
    account_id: str | None = Field(description="always null: the account id is kept with the contact, not echoed")


class Open311Request(BaseModel):
    """A hazard as a GeoReport v2 service request. Never anyone's contact."""

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None = Field(description="the hazard's own status, and the note that set it")
    service_name: str
    service_code: str
    description: str | None = Field(description="phone and ID numbers masked")
    agency_responsible: str = Field(description="the operations centre handling it now (community, street, district)")
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None = Field(description="the deadline running now: triage, or the rectification")
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float
    long: float
    media_url: str | None = Field(description="a photo of the report (fetched with a bearer token that may read it)")

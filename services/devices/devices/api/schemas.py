"""Bodies and answers of the devices API (limits on every field)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from linkduty_shared.contracts.devices import AGE_BANDS, MOBILITIES, TROUBLES

from devices.domain.values import MaintenanceKind, Place
from devices.signal_contract import SignalIn  # noqa: F401  (the OpenAPI's body of POST /v1/device-signals)

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
DeviceId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$")]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Short = Annotated[str, Field(min_length=1, max_length=100)]
Floor = Annotated[int, Field(ge=-10, le=200)]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9 -]{5,20}$")]
AgeBand = Literal[AGE_BANDS]  # type: ignore[valid-type]
Mobility = Literal[MOBILITIES]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- signals (HTTP webhook body and MQTT payload alike) ---------------------------------------

class SignalTaken(BaseModel):
    signal_id: str
    device_id: str
    decided: list[str] = Field(description="the events it recorded (none: a heartbeat, or a repeat counted)")


class DeadLetter(BaseModel):
    dead_letter_id: int
    topic: str
    platform: str | None
    reason: str
    detail: str
    payload: str
    received_at: dt.datetime


class DeadLetterPage(BaseModel):
    dead_letters: list[DeadLetter]
    next_after: int | None


# ---- devices ---------------------------------------------------------------------------------

class DeviceLocationIn(Strict):
    lat: Lat
    lon: Lon
    building: Short | None = None
    floor: Floor | None = None
    flat: Short | None = None


class DeviceIn(Strict):
    device_id: DeviceId = Field(description="the platform's id of the detector")
    platform: Code
    model: Short
    location: DeviceLocationIn
    place: Place = Field(description="home: a flat (only volunteers trusted with homes are alerted); public")
    heartbeat_period_s: Annotated[int, Field(ge=10, le=86_400)] = 60
    resident_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    premises_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class LinkIn(Strict):
    resident_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    premises_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class MaintenanceIn(Strict):
    kind: MaintenanceKind
    note: Annotated[str, Field(max_length=1000)] = ""


class DeviceStateOut(BaseModel):
    last_seen_at: dt.datetime
    online: bool
    battery_pct: int | None
    alarm_repeats: int


class DeviceOut(BaseModel):
    device_id: str
    platform: str
    model: str
    location: dict
    place: str
    jurisdiction: dict[str, str]
    heartbeat_period_s: int
    resident_id: str | None
    premises_id: str | None
    open_alarm: dict | None
    troubles: dict[str, str] = Field(description="open trouble → its episode id")
    maintenance: list[dict]
    last_test_at: str | None = Field(None, description="the device's time of its newest test signal")
    state: DeviceStateOut | None
    version: int


class DevicePage(BaseModel):
    devices: list[dict]
    next_cursor: str | None


# ---- residents and premises ------------------------------------------------------------------

class EmergencyContactIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=50)]
    phone: Phone
    relation: Annotated[str, Field(max_length=30)] = ""


class ResidentIn(Strict):
    community: Code
    consent_by: Literal["self", "guardian", "community"]
    name: Annotated[str, Field(min_length=1, max_length=50)]
    id_number: Annotated[str, Field(pattern=r"^(\d{17}[\dXx]|\d{15})$")] | None = None
    phone: Phone | None = None
    address: Annotated[str, Field(min_length=1, max_length=300)]
    emergency_contacts: Annotated[list[EmergencyContactIn], Field(max_length=5)] = []
    age_band: AgeBand
    mobility: Mobility
    floor: Floor | None = None
    lives_alone: bool = False
    hearing_impaired: bool = False
    sight_impaired: bool = False
    oxygen_at_home: bool = False
    needs: Annotated[str, Field(max_length=300)] | None = None


class ResidentChangeIn(ResidentIn):
    community: Code | None = None  # a resident stays in their community
    consent_by: Literal["self", "guardian", "community"] | None = None


class ReviewIn(Strict):
    outcome: Literal["confirmed", "returned"]
    note: Annotated[str, Field(max_length=1000)] = ""


class ResidentOut(BaseModel):
    resident_id: str
    community: str
    jurisdiction: dict[str, str]
    consent_by: str
    review: str
    history: list[dict]
    person: dict | None = Field(description="masked: the name's first character, the phone's last digits")
    vulnerability: dict | None = Field(description="what a responder sees: no name, no number")
    personal_data_erased: bool
    version: int


class PersonOut(BaseModel):
    name: str
    id_number: str | None
    phone: str | None
    address: str
    emergency_contacts: list[dict]


class PersonalDataRead(BaseModel):
    read_id: int
    resident_id: str
    read_by: str
    agency: str | None
    purpose: str
    outcome: str
    at: dt.datetime


class PersonalDataReads(BaseModel):
    reads: list[PersonalDataRead]
    next_after: int | None


class PremisesIn(Strict):
    name: Short
    premises_kind: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$",
                                        description="nursery, care_home, market, school, hospital…")]
    occupants: Annotated[int, Field(ge=0, le=100_000)]
    needs: Annotated[str, Field(max_length=300)] = ""
    lat: Lat
    lon: Lon


class PremisesOut(BaseModel):
    premises_id: str
    name: str
    premises_kind: str
    occupants: int
    needs: str
    location: dict
    jurisdiction: dict[str, str]
    version: int


TroubleName = Literal[TROUBLES]  # type: ignore[valid-type]

"""Events of the devices service, past-tense facts.

A device's events (stream `device/<id>`) are published on `devices.events`; four of them are the
public contract other services act on (`linkduty_shared.contracts.devices`): DeviceAlarmRaised,
DeviceAlarmCleared, DeviceTroubleBegan, DeviceTroubleEnded. Heartbeats and repeats of an open
alarm are not events: they are counted on the device's state row (a detector heartbeating every
60 s would be half a million events a year, and say nothing new).

A resident's and a premises' events never leave the service (their repository publishes
nothing). A resident's events hold no personal data at all: who they are (name, ID number,
phone, home address, emergency contacts) and what a responder needs (age band, mobility,
floor, living alone…) are in the vault under `person_ref` and `summary_ref`, so that erasing the
two keys removes the person and leaves every event (crypto-shredding). Every event carries `at`
and, when a person decided it, `by` (the token's subject).
"""

from __future__ import annotations

from linkduty_shared.domain import DomainEvent, event


@event("DeviceRegistered")
class DeviceRegistered(DomainEvent):
    device_id: str
    platform: str
    model: str
    location: dict  # {"lat", "lon", "building", "floor", "flat"}: the device's, never a person's
    place: str  # home | public
    jurisdiction: dict  # {"grid", "community", "street", "district", "city"}
    heartbeat_period_s: int
    by: str
    at: str


@event("DeviceLinked")
class DeviceLinked(DomainEvent):
    """Whom a detector watches over: a registered resident, a vulnerable premises, or nobody (both None)."""

    resident_id: str | None
    premises_id: str | None
    by: str
    at: str


@event("DeviceMaintained")
class DeviceMaintained(DomainEvent):
    kind: str  # installed | inspected | battery_replaced | repaired
    note: str  # scrubbed of phone and ID numbers
    by: str
    at: str


@event("DeviceTestSignalled")
class DeviceTestSignalled(DomainEvent):
    signal_id: str
    signalled_at: str
    at: str


@event("DeviceAlarmRaised")
class DeviceAlarmRaised(DomainEvent):
    device_id: str
    episode_id: str  # the first alarm signal's id
    platform: str
    model: str
    location: dict
    place: str
    vulnerability: dict | None  # contracts.devices.Vulnerability: no name, no number
    signalled_at: str
    at: str


@event("DeviceAlarmCleared")
class DeviceAlarmCleared(DomainEvent):
    device_id: str
    episode_id: str
    repeats: int  # alarm signals the episode counted, the first included
    after_s: float
    possible_false_alarm: bool
    at: str


@event("DeviceTroubleBegan")
class DeviceTroubleBegan(DomainEvent):
    device_id: str
    episode_id: str
    trouble: str  # offline | low_battery | fault | tamper
    model: str
    location: dict
    detail: str
    at: str


@event("DeviceTroubleEnded")
class DeviceTroubleEnded(DomainEvent):
    device_id: str
    episode_id: str
    trouble: str
    how: str  # reported_again | battery_ok | maintained
    at: str


@event("ResidentRegistered")
class ResidentRegistered(DomainEvent):
    resident_id: str
    community: str
    jurisdiction: dict  # {"community", "street", "district", "city"}
    consent_by: str  # self | guardian | community
    person_ref: str  # vault: {"name", "id_number", "phone", "address", "emergency_contacts"}
    summary_ref: str  # vault: the responder's summary (contracts.devices.Vulnerability, kind resident)
    registered_by: str
    at: str


@event("ResidentDetailsChanged")
class ResidentDetailsChanged(DomainEvent):
    """The person's record or their summary was replaced (new vault entries, the old ones shredded)."""

    person_ref: str
    summary_ref: str
    by: str
    at: str


@event("ResidentReviewed")
class ResidentReviewed(DomainEvent):
    outcome: str  # confirmed | returned
    note: str
    by: str
    at: str


@event("ResidentErased")
class ResidentErased(DomainEvent):
    by: str
    at: str


@event("PremisesRegistered")
class PremisesRegistered(DomainEvent):
    """A vulnerable unit (脆弱性单元): a nursery, a care home, a market… Not personal data."""

    premises_id: str
    name: str
    premises_kind: str
    occupants: int
    needs: str
    location: dict
    jurisdiction: dict
    by: str
    at: str

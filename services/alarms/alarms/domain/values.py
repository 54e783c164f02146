"""Value vocabularies and small pure helpers of the alarm domain."""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import StrEnum

from linkduty_shared.contracts.devices import Vulnerability
from linkduty_shared.domain import DomainError
from linkduty_shared.domain.personal_data import scrub_personal_numbers

# How far ahead of LinkDuty's clock a sender's clock may run: a time beyond it is refused, never
# trusted (it would top every "newest first" list for ever, and skew every interval measured).
CLOCK_SKEW = dt.timedelta(minutes=2)


class Source(StrEnum):
    FIRE_119 = "119"
    POLICE_110 = "110"
    MEDICAL_120 = "120"
    DEVICE = "device"
    PATROL = "patrol"
    RESIDENT_APP = "resident_app"
    CAP = "cap"


class Kind(StrEnum):
    FIRE = "fire"
    RESCUE = "rescue"
    HAZMAT = "hazmat"
    MEDICAL = "medical"
    OTHER = "other"


class Severity(StrEnum):
    MINOR = "minor"
    MODERATE = "moderate"
    MAJOR = "major"
    EXTREME = "extreme"


class Status(StrEnum):
    REPORTED = "reported"
    VERIFIED = "verified"
    CONTROLLED = "controlled"
    FALSE_ALARM = "false_alarm"
    CANCELLED = "cancelled"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({Status.REPORTED, Status.VERIFIED, Status.CONTROLLED})


# Kinds whose calls may be the same incident (a "fire" call and a "rescue" call from one burning
# building are one incident; a medical call next door is not).
_COMPATIBLE = {
    Kind.FIRE: {Kind.FIRE, Kind.RESCUE, Kind.HAZMAT},
    Kind.RESCUE: {Kind.FIRE, Kind.RESCUE},
    Kind.HAZMAT: {Kind.FIRE, Kind.HAZMAT},
    Kind.MEDICAL: {Kind.MEDICAL},
    Kind.OTHER: {Kind.OTHER},
}


def compatible_kinds(kind: str) -> frozenset[str]:
    return frozenset(k.value for k in _COMPATIBLE[Kind(kind)])


# Who is likely inside a home whose detector went off (the devices contract's Vulnerability):
# these make a smoke alarm `major` (someone who may not get out alone, or may not hear it).
_CANNOT_GET_OUT_ALONE = frozenset({"wheelchair", "bedridden"})
_OLDEST_AGE_BANDS = frozenset({"80_89", "90_plus"})


# The fields of a vulnerability an alarm keeps: the devices contract's, which hold no name or number.
VULNERABILITY_FIELDS = tuple(f.name for f in dataclasses.fields(Vulnerability))


def responder_vulnerability(vulnerability: dict | None) -> dict | None:
    """What an alarm keeps of who is likely inside: only the contract's fields, its free-text
    `needs` scrubbed of phone and ID numbers once more (the source scrubs them already)."""
    if vulnerability is None:
        return None
    kept = {name: vulnerability[name] for name in VULNERABILITY_FIELDS if name in vulnerability}
    if isinstance(kept.get("needs"), str):
        kept["needs"] = scrub_personal_numbers(kept["needs"])
    return kept


def device_alarm_severity(vulnerability: dict | None) -> str:
    """A networked smoke detector's alarm: `major` when the record says someone inside lives
    alone, is bedridden or in a wheelchair, has oxygen at home, is 80 or older, or the place is a
    registered premises (nursery, care home...); otherwise `moderate`."""
    v = vulnerability or {}
    if (v.get("kind") == "premises" or v.get("lives_alone") or v.get("oxygen_at_home")
            or v.get("mobility") in _CANNOT_GET_OUT_ALONE or v.get("age_band") in _OLDEST_AGE_BANDS):
        return Severity.MAJOR.value
    return Severity.MODERATE.value




class TimeInTheFuture(DomainError):
    type_slug = "received-in-the-future"
    title = "A time lies in the future"


def refuse_future(at: dt.datetime, now: dt.datetime, field: str) -> dt.datetime:
    """`at` as given, unless it lies more than CLOCK_SKEW ahead of `now` (LinkDuty's clock)."""
    if at > now + CLOCK_SKEW:
        raise TimeInTheFuture(f"{field} {at.isoformat()} is more than {CLOCK_SKEW} ahead of LinkDuty's clock")
    return at

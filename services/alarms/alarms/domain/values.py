"""Value vocabularies and small pure helpers of the alarm domain."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from linkduty_shared.domain import DomainError

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




class TimeInTheFuture(DomainError):
    type_slug = "received-in-the-future"
    title = "A time lies in the future"


def refuse_future(at: dt.datetime, now: dt.datetime, field: str) -> dt.datetime:
    """`at` as given, unless it lies more than CLOCK_SKEW ahead of `now` (LinkDuty's clock)."""
    if at > now + CLOCK_SKEW:
        raise TimeInTheFuture(f"{field} {at.isoformat()} is more than {CLOCK_SKEW} ahead of LinkDuty's clock")
    return at

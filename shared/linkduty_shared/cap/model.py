"""The CAP 1.2 alert as plain frozen dataclasses: no I/O, no XML.

Field names follow the CAP 1.2 element names in snake case; repeated elements become tuples,
name/value pairs (parameter, geocode, eventCode) become `(name, value)` tuples, and coordinates
are WGS 84 `(lat, lon)` floats. Enumerated values stay the spec's strings ("Actual", "Fire").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal, get_args

Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
MsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
Scope = Literal["Public", "Restricted", "Private"]
Category = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"
]
ResponseType = Literal["Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]

# The allowed values, in the spec's order (error messages list them in that order).
STATUSES: tuple[str, ...] = get_args(Status)
MSG_TYPES: tuple[str, ...] = get_args(MsgType)
SCOPES: tuple[str, ...] = get_args(Scope)
CATEGORIES: tuple[str, ...] = get_args(Category)
RESPONSE_TYPES: tuple[str, ...] = get_args(ResponseType)
URGENCIES: tuple[str, ...] = get_args(Urgency)
SEVERITIES: tuple[str, ...] = get_args(Severity)
CERTAINTIES: tuple[str, ...] = get_args(Certainty)

DEFAULT_LANGUAGE = "en-US"  # CAP 1.2: an <info> without <language> is en-US

Point = tuple[float, float]  # (lat, lon), WGS 84


@dataclasses.dataclass(frozen=True)
class CapReference:
    """One earlier message this one refers to: CAP's "sender,identifier,sent" triple."""

    sender: str
    identifier: str
    sent: dt.datetime


@dataclasses.dataclass(frozen=True)
class CapCircle:
    lat: float
    lon: float
    radius_km: float


@dataclasses.dataclass(frozen=True)
class CapResource:
    """A file linked to the info (image, audio); `size` in bytes, `digest` SHA-1 hex as sent."""

    resource_desc: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref_uri: str | None = None
    digest: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CapArea:
    """Polygons are closed rings of (lat, lon) (first point == last); altitude/ceiling in feet."""

    area_desc: str
    polygons: tuple[tuple[Point, ...], ...] = ()
    circles: tuple[CapCircle, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()
    altitude: float | None = None
    ceiling: float | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CapInfo:
    language: str = DEFAULT_LANGUAGE
    categories: tuple[Category, ...]
    event: str
    response_types: tuple[ResponseType, ...] = ()
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    audience: str | None = None
    event_codes: tuple[tuple[str, str], ...] = ()
    effective: dt.datetime | None = None
    onset: dt.datetime | None = None
    expires: dt.datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    resources: tuple[CapResource, ...] = ()
    areas: tuple[CapArea, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class CapAlert:
    identifier: str
    sender: str
    sent: dt.datetime
    status: Status
    msg_type: MsgType
    scope: Scope
    references: tuple[CapReference, ...] = ()
    infos: tuple[CapInfo, ...] = ()
    note: str | None = None
    incidents: tuple[str, ...] = ()
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None  # as sent: whitespace-separated, names with spaces in quotes
    code: tuple[str, ...] = ()

    def info_for(self, language_prefix: str = "zh") -> CapInfo | None:
        """The first info in the wanted language ("zh" matches zh, zh-CN, zh-Hans-CN; case-blind),
        else the first info, else None (Ack and Cancel messages often carry none)."""
        wanted = language_prefix.lower()
        for info in self.infos:
            language = info.language.lower()
            if language == wanted or language.startswith(wanted + "-"):
                return info
        return self.infos[0] if self.infos else None

    def first_point(self) -> Point | None:
        """A representative (lat, lon) to place the alert on a map or in a jurisdiction.

        The centre of the first circle in any area of any info, else the centroid of the first
        polygon, else None (an alert described by geocodes or words only). The centroid is the plain
        average of the ring's vertices without the closing repeat: good enough for the small, roughly
        convex shapes alerts use, and never wrong by more than the polygon's own extent.
        """
        areas = [area for info in self.infos for area in info.areas]
        for area in areas:
            if area.circles:
                return (area.circles[0].lat, area.circles[0].lon)
        for area in areas:
            if area.polygons:
                vertices = area.polygons[0][:-1]
                return (
                    sum(lat for lat, _ in vertices) / len(vertices),
                    sum(lon for _, lon in vertices) / len(vertices),
                )
        return None

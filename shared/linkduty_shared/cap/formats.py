"""CAP 1.2's value formats, read and written in one place so both directions agree.

Readers raise a plain `ValueError` with the reason; the parser prefixes the element's path.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

from linkduty_shared.cap.model import CapCircle, CapReference, Point

CAP_1_2_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_1_1_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.1"

# CAP 1.2 XSD: \d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-,+]\d\d:\d\d; no fractions, no "Z".
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2}):(\d{2})", re.ASCII)
_NAIVE_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?", re.ASCII)
# Plain ASCII decimals only: float() would also take "nan", "inf", "1e3", "1_0" and full-width "３０".
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)
# Whitespace-separated names; a name containing whitespace is wrapped in double quotes.
_LIST_ITEM = re.compile(r'\s*(?:"([^"]*)"|([^\s"]+))\s*')
_FORBIDDEN_IN_ID = re.compile(r"[\s,<&]")

DATETIME_EXAMPLE = "2003-04-02T14:39:01-05:00"


def read_datetime(text: str) -> dt.datetime:
    match = _DATETIME.fullmatch(text)
    if match is None:
        if _NAIVE_DATETIME.fullmatch(text):
            raise ValueError(f"{text!r} has no timezone offset; CAP needs one, e.g. {DATETIME_EXAMPLE}")
        if text.endswith(("Z", "z")):
            raise ValueError(f"{text!r}: CAP does not allow 'Z'; write UTC as -00:00, e.g. {DATETIME_EXAMPLE}")
        raise ValueError(f"{text!r} is not a CAP datetime like {DATETIME_EXAMPLE}")
    year, month, day, hour, minute, second, sign, off_hours, off_minutes = match.groups()
    try:
        offset = dt.timedelta(hours=int(off_hours), minutes=int(off_minutes))
        tz = dt.timezone(-offset if sign == "-" else offset)
        return dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz)
    except ValueError as exc:  # 2003-02-30, 25:00, an offset of 24 hours or more
        raise ValueError(f"{text!r} is not a valid date and time ({exc})") from None


def write_datetime(value: dt.datetime) -> str:
    """CAP form; sub-second precision is dropped (CAP has none); UTC is written -00:00 as CAP asks."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"{value!r} has no timezone; CAP datetimes need an offset")
    seconds = int(offset.total_seconds())
    if seconds % 60:
        raise ValueError(f"{value!r}: CAP offsets are whole minutes")
    sign = "+" if seconds > 0 else "-"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
        f"{sign}{hours:02d}:{minutes:02d}"
    )


def read_number(text: str) -> float:
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"{text!r} is not a decimal number")
    return float(text)


def write_number(value: float) -> str:
    """Shortest text that reads back to the same float, never in exponent form (which CAP lacks)."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    text = repr(float(value))
    if "e" in text:
        text = format(Decimal(text), "f")
    return text.removesuffix(".0")


def read_point(text: str) -> Point:
    lat_text, comma, lon_text = text.partition(",")
    if not comma or "," in lon_text:
        raise ValueError(f"{text!r} is not a 'lat,lon' pair")
    lat, lon = read_number(lat_text), read_number(lon_text)
    if not -90 <= lat <= 90:
        raise ValueError(f"latitude {lat_text} is outside [-90, 90]")
    if not -180 <= lon <= 180:
        raise ValueError(f"longitude {lon_text} is outside [-180, 180]")
    return (lat, lon)


def write_point(point: Point) -> str:
    return f"{write_number(point[0])},{write_number(point[1])}"


def read_polygon(text: str) -> tuple[Point, ...]:
    points = tuple(read_point(pair) for pair in text.split())
    if len(points) < 4:
        raise ValueError(f"a polygon needs at least 4 'lat,lon' pairs (a closed ring), got {len(points)}")
    if points[0] != points[-1]:
        raise ValueError("a polygon must be closed: its first and last points must be the same")
    return points


def write_polygon(points: tuple[Point, ...]) -> str:
    return " ".join(write_point(point) for point in points)


def read_circle(text: str) -> CapCircle:
    parts = text.split()
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not 'lat,lon radius_km'")
    (lat, lon), radius = read_point(parts[0]), read_number(parts[1])
    if radius < 0:
        raise ValueError(f"radius {parts[1]} is negative")
    return CapCircle(lat, lon, radius)


def write_circle(circle: CapCircle) -> str:
    return f"{write_point((circle.lat, circle.lon))} {write_number(circle.radius_km)}"


def check_id(text: str, what: str = "") -> str:
    """CAP: identifiers and senders MUST NOT include spaces, commas or the characters < and &
    (so that they can be listed in <references>)."""
    label = f"{what} " if what else ""
    if not text:
        raise ValueError(f"{label}is empty")
    if bad := _FORBIDDEN_IN_ID.search(text):
        raise ValueError(
            f"{label}{text!r} contains {bad.group()!r}; "
            "CAP forbids spaces, commas, '<' and '&' in identifiers and senders"
        )
    return text


# An Update names the messages it updates: a handful. Thousands are an attack on whoever looks
# them up (6,000 had cost 6,000 queries).
MAX_REFERENCES = 100


def read_references(text: str) -> tuple[CapReference, ...]:
    references = []
    triples = text.split()
    if len(triples) > MAX_REFERENCES:
        raise ValueError(f"{len(triples)} references; at most {MAX_REFERENCES} are accepted")
    for triple in triples:
        parts = triple.split(",")
        if len(parts) != 3:
            raise ValueError(f"{triple!r} is not a 'sender,identifier,sent' triple")
        sender, identifier, sent = parts
        references.append(
            CapReference(check_id(sender, "sender"), check_id(identifier, "identifier"), read_datetime(sent))
        )
    return tuple(references)


def write_references(references: tuple[CapReference, ...]) -> str:
    return " ".join(f"{ref.sender},{ref.identifier},{write_datetime(ref.sent)}" for ref in references)


def read_name_list(text: str) -> tuple[str, ...]:
    names, position = [], 0
    while position < len(text):
        match = _LIST_ITEM.match(text, position)
        if match is None:
            raise ValueError(f"unbalanced double quote in {text!r}")
        quoted, bare = match.groups()
        names.append(quoted if quoted is not None else bare)
        position = match.end()
    return tuple(names)


def write_name_list(names: tuple[str, ...]) -> str:
    return " ".join(f'"{name}"' if not name or re.search(r"\s", name) else name for name in names)

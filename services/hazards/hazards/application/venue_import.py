"""A street's existing venue ledger (台账) read from CSV or GeoJSON, pure: each row a RegisterVenue
or the reasons it is not one, by line (CSV: its line in the file, the header being line 1;
GeoJSON: the feature's position, from 1). What registering refuses (an unknown kind, a point
outside the city or the caller's claim) is checked by the service row by row.

Columns (CSV header, or GeoJSON feature properties; the point from the geometry, or lat/lon):
  id (or ledger_ref)  the row's id in the ledger: importing again updates the venue it registered
  kind, name          required (kind: venue_kinds.toml)
  address, floor_area_m2, risk_class (low | medium | high; medium if absent)
  lat, lon            required in CSV
  responsible_name, responsible_phone, contact_name, contact_phone   personal data: into the vault
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Iterator

from hazards.application.commands import Person, RegisterVenue

MAX_ROWS = 5000
MAX_FIELD = 500
COLUMNS = ("id", "ledger_ref", "kind", "name", "address", "lat", "lon", "floor_area_m2", "risk_class",
           "responsible_name", "responsible_phone", "contact_name", "contact_phone")


@dataclasses.dataclass(frozen=True)
class Row:
    line: int
    venue: RegisterVenue | None
    errors: tuple[str, ...] = ()


class LedgerUnreadable(ValueError):
    """The file as a whole cannot be read (not one bad row: no row is kept)."""


def _number(value, field: str, errors: list[str], *, low: float, high: float) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.append(f"{field}: {str(value)[:40]!r} is not a number")
        return None
    if not math.isfinite(number) or not low <= number <= high:
        errors.append(f"{field}: {number} is outside [{low}, {high}]")
        return None
    return number


def _text(props: dict, field: str, errors: list[str]) -> str | None:
    value = props.get(field)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        errors.append(f"{field}: must be text")
        return None
    value = str(value).strip()
    if len(value) > MAX_FIELD:
        errors.append(f"{field}: longer than {MAX_FIELD} characters")
        return None
    return value or None


def _person(props: dict, role: str, errors: list[str]) -> Person | None:
    name, phone = _text(props, f"{role}_name", errors), _text(props, f"{role}_phone", errors)
    return Person(name, phone) if name or phone else None


def row_of(line: int, props: dict, point: tuple[float, float] | None = None) -> Row:
    """One ledger row (its properties, and its point if a geometry gave it)."""
    errors: list[str] = []
    kind, name = _text(props, "kind", errors), _text(props, "name", errors)
    if not kind:
        errors.append("kind: required")
    if not name:
        errors.append("name: required")
    if point is None:
        lat = _number(props.get("lat"), "lat", errors, low=-90, high=90)
        lon = _number(props.get("lon"), "lon", errors, low=-180, high=180)
        if (lat is None or lon is None) and not any(e.startswith(("lat", "lon")) for e in errors):
            errors.append("lat, lon: required")
    else:
        lat, lon = point
    area = _number(props.get("floor_area_m2"), "floor_area_m2", errors, low=0.01, high=10_000_000)
    risk = _text(props, "risk_class", errors) or "medium"
    ledger_ref = _text(props, "id", errors) or _text(props, "ledger_ref", errors)
    responsible, contact = _person(props, "responsible", errors), _person(props, "contact", errors)
    if errors:
        return Row(line, None, tuple(errors))
    return Row(line, RegisterVenue(kind=kind, name=name, lat=lat, lon=lon, address=_text(props, "address", errors),
                                   floor_area_m2=area, risk_class=risk, responsible=responsible, contact=contact,
                                   ledger_ref=ledger_ref))


def read_csv(text: str) -> list[Row]:
    return list(csv_rows(text))


def read_geojson(text: str) -> list[Row]:
    return list(geojson_rows(text))


def csv_rows(text: str) -> Iterator[Row]:
    """The CSV's rows one at a time (a caller on an event loop can let it breathe between them);
    LedgerUnreadable, raised while iterating, refuses the whole file."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as error:
        raise LedgerUnreadable(f"the CSV header cannot be read: {error}") from None
    if not header:
        raise LedgerUnreadable("the CSV is empty: it needs a header line")
    header = [h.strip().lstrip("\ufeff") for h in header]  # Excel's byte-order mark
    reader.fieldnames = header
    if not {"kind", "name", "lat", "lon"} <= set(header):
        raise LedgerUnreadable("the CSV header must name at least kind, name, lat, lon (it has: "
                               + ", ".join(h[:40] for h in header[:20]) + ")")
    count = 0
    try:
        for record in reader:
            if count == MAX_ROWS:
                raise LedgerUnreadable(f"more than {MAX_ROWS} rows: split the ledger")
            count += 1
            line = reader.line_num
            if None in record:  # more fields than the header
                yield Row(line, None, (f"{len(record[None])} field(s) more than the header",))
                continue
            yield row_of(line, {k: v for k, v in record.items() if v is not None})
    except csv.Error as error:
        raise LedgerUnreadable(f"line {reader.line_num}: {error}") from None


def geojson_rows(text: str) -> Iterator[Row]:
    """The FeatureCollection's features as rows, one at a time (see csv_rows)."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise LedgerUnreadable(f"not JSON: {str(error)[:200]}") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
            or not isinstance(document.get("features"), list):
        raise LedgerUnreadable("a GeoJSON FeatureCollection is expected")
    features = document["features"]
    if len(features) > MAX_ROWS:
        raise LedgerUnreadable(f"more than {MAX_ROWS} features: split the ledger")
    for n, feature in enumerate(features, 1):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            yield Row(n, None, ("not a Feature with properties",))
            continue
        geometry, errors = feature.get("geometry"), []
        point = None
        if geometry is not None:
            coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
            if not (isinstance(geometry, dict) and geometry.get("type") == "Point" and isinstance(coordinates, list)
                    and len(coordinates) >= 2):
                yield Row(n, None, ("geometry: a Point [lon, lat] is expected",))
                continue
            lon = _number(coordinates[0], "geometry lon", errors, low=-180, high=180)
            lat = _number(coordinates[1], "geometry lat", errors, low=-90, high=90)
            if errors:
                yield Row(n, None, tuple(errors))
                continue
            point = (lat, lon)
        yield row_of(n, feature.get("properties") or {}, point)

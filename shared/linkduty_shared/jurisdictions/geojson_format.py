"""Reading and writing the dataset file (FORMAT.md): one GeoJSON FeatureCollection, maybe gzipped.

Parsing checks each feature on its own (types, required properties, code shapes) and raises a
ValueError naming the feature; checks across features live in validation.py.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import orjson

from linkduty_shared.jurisdictions.model import FORCE_KINDS, Centre, Force, Level

FORMAT_VERSION = 1
POLYGON_TYPES = ("Polygon", "MultiPolygon")

# 统计用区划代码: 6 digits county (of which 4 the city), +3 town/street, +3 village/community.
CODE_PATTERNS: dict[Level, re.Pattern[str]] = {
    Level.CITY: re.compile(r"\d{2}(?!00)\d{2}0{8}"),
    Level.DISTRICT: re.compile(r"\d{4}(?!00)\d{2}0{6}"),
    Level.STREET: re.compile(r"\d{6}(?!000)\d{3}000"),
    Level.COMMUNITY: re.compile(r"\d{9}(?!000)\d{3}"),
    Level.GRID: re.compile(r"\d{12}-[0-9A-Za-z_]+"),  # <community code>-<serial>: grids are not in the scheme
}


@dataclass(frozen=True, slots=True)
class DivisionRecord:
    """A division as the file gives it; the loader derives its representative point."""

    feature: int  # index in "features", for error messages
    code: str
    name: str
    level: Level
    parent: str | None
    geometry: dict | None  # GeoJSON Polygon/MultiPolygon, or None
    h3_cells: tuple[str, ...] | None  # grids only: the cells that make the grid


@dataclass(frozen=True, slots=True)
class Dataset:
    version: str  # "linkduty.version" + "+" + content hash prefix
    grid_h3_resolution: int
    divisions: list[DivisionRecord]
    centres: list[tuple[int, Centre]]  # (feature index, centre)
    forces: list[tuple[int, Force]]


def read_dataset(path: str | Path) -> Dataset:
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic: do not trust the file name
        raw = gzip.decompress(raw)
    return parse_dataset(raw)


def content_hash(raw_json: bytes) -> str:
    return hashlib.sha256(raw_json).hexdigest()


def parse_dataset(raw_json: bytes) -> Dataset:
    try:
        doc = orjson.loads(raw_json)
    except orjson.JSONDecodeError as e:
        raise ValueError(f"jurisdiction dataset is not JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise ValueError("jurisdiction dataset must be a GeoJSON FeatureCollection with a 'features' list")
    meta = doc.get("linkduty")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise ValueError(f'jurisdiction dataset needs a top-level "linkduty": {{"format": {FORMAT_VERSION}, ...}}')
    version, resolution = meta.get("version"), meta.get("grid_h3_resolution")
    if not isinstance(version, str) or not version:
        raise ValueError('"linkduty.version" must be a non-empty string')
    if type(resolution) is not int or not 0 <= resolution <= 15:
        raise ValueError('"linkduty.grid_h3_resolution" must be an integer 0..15')
    dataset = Dataset(f"{version}+{content_hash(raw_json)[:12]}", resolution, [], [], [])
    for index, feature in enumerate(doc["features"]):
        _parse_feature(index, feature, dataset)
    return dataset


def _parse_feature(index: int, feature: object, into: Dataset) -> None:
    props = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(props, dict) or feature.get("type") != "Feature":
        raise ValueError(f"feature #{index}: not a GeoJSON Feature with properties")
    kind = props.get("kind")
    label = f"feature #{index} ({kind} {props.get('code') or props.get('id')!s})"
    try:
        if kind == "division":
            into.divisions.append(_division(index, props, feature.get("geometry")))
        elif kind == "centre":
            into.centres.append((index, Centre(_text(props, "id"), _text(props, "name"), _level(props),
                                               _text(props, "division_code"), *_point(feature))))
        elif kind == "force":
            force_kind = _text(props, "force_kind")
            if force_kind not in FORCE_KINDS:
                raise ValueError(f"force_kind must be one of {sorted(FORCE_KINDS)}, not {force_kind!r}")
            into.forces.append((index, Force(_text(props, "id"), force_kind, _text(props, "name"),
                                             _text(props, "division_code"), *_point(feature))))
        else:
            raise ValueError('"kind" must be "division", "centre" or "force"')
    except ValueError as e:
        raise ValueError(f"{label}: {e}") from None


def _division(index: int, props: dict, geometry: object) -> DivisionRecord:
    code, level = _text(props, "code"), _level(props)
    if not CODE_PATTERNS[level].fullmatch(code):
        raise ValueError(f"code {code!r} does not have the shape of a {level} code")
    parent = props.get("parent")
    if (parent is None) != (level is Level.CITY) or (parent is not None and not isinstance(parent, str)):
        raise ValueError("the city has parent null; every other division names its parent's code")
    if geometry is not None and (not isinstance(geometry, dict) or geometry.get("type") not in POLYGON_TYPES
                                 or not isinstance(geometry.get("coordinates"), list) or not geometry["coordinates"]):
        raise ValueError("geometry must be a GeoJSON Polygon or MultiPolygon, or null")
    cells = props.get("h3_cells")
    if cells is not None:
        listed = isinstance(cells, list) and cells and all(isinstance(c, str) for c in cells)
        if level is not Level.GRID or not listed:
            raise ValueError('"h3_cells" is a non-empty list of H3 cell strings, and only grids have it')
        cells = tuple(cells)
    elif level is Level.GRID and geometry is None:
        raise ValueError('a grid needs a Polygon/MultiPolygon geometry or "h3_cells"')
    return DivisionRecord(index, code, _text(props, "name"), level, parent, geometry, cells)


def _text(props: dict, key: str) -> str:
    value = props.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'"{key}" must be a non-empty string')
    return value


def _level(props: dict) -> Level:
    try:
        return Level(props.get("level"))
    except ValueError:
        raise ValueError(f'"level" must be one of {[lv.value for lv in Level]}, not {props.get("level")!r}') from None


def _point(feature: dict) -> tuple[float, float]:
    """(lat, lon) of a GeoJSON Point, whose coordinates are [lon, lat]."""
    geometry = feature.get("geometry")
    coords = geometry.get("coordinates") if isinstance(geometry, dict) and geometry.get("type") == "Point" else None
    if (not isinstance(coords, list) or len(coords) < 2
            or not all(type(v) in (int, float) and math.isfinite(v) for v in coords[:2])
            or not (-90 <= coords[1] <= 90 and -180 <= coords[0] <= 180)):
        raise ValueError("geometry must be a GeoJSON Point [lon, lat]")
    return float(coords[1]), float(coords[0])


# ---- writing (the demo generator) -------------------------------------------------------------

def dump_dataset(meta: dict, features: list[dict]) -> bytes:
    """Deterministic JSON, one feature per line (diffable, and stable bytes for the content hash)."""
    def encode(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    head = f'{{"type":"FeatureCollection","linkduty":{encode(meta)},"features":[\n'
    return (head + ",\n".join(encode(f) for f in features) + "\n]}\n").encode()


def write_dataset(path: str | Path, raw_json: bytes) -> None:
    """Write, gzipped if the name ends in .gz; mtime=0 and no file name keep the bytes reproducible."""
    path = Path(path)
    data = gzip.compress(raw_json, compresslevel=9, mtime=0) if path.suffix == ".gz" else raw_json
    path.write_bytes(data)

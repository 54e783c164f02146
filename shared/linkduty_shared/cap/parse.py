"""CAP 1.2 XML to `CapAlert`, checking every rule an intake relies on.

Strict where a lax reading would hide a partner's mistake: unknown elements in the CAP namespace,
repeated single elements and stray text are errors, each naming the element's path
("alert/info[2]/area[1]/polygon[1]: ..."). Free text (headline, description, ...) is kept exactly
as sent; codes, enumerations, datetimes and coordinates are read with surrounding whitespace
trimmed, so pretty-printed messages parse. An empty optional element reads as absent.
CAP 1.1 messages (same structure, a subset of the values) are accepted too and read into the same
model; `to_cap_xml` writes them back as 1.2. XML signatures under <alert> are skipped, not checked.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TypeVar

from linkduty_shared.cap import formats
from linkduty_shared.cap.formats import CAP_1_1_NAMESPACE, CAP_1_2_NAMESPACE
from linkduty_shared.cap.errors import CapError
from linkduty_shared.cap.model import (
    CATEGORIES,
    CERTAINTIES,
    DEFAULT_LANGUAGE,
    MSG_TYPES,
    RESPONSE_TYPES,
    SCOPES,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    CapAlert,
    CapArea,
    CapInfo,
    CapResource,
)
from linkduty_shared.cap.safe_xml import read_xml

XMLDSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
DEFAULT_MAX_BYTES = 256 * 1024

# The children CAP allows in each complex element (any order is accepted), and which may repeat.
ALERT_ELEMENTS = frozenset(
    "identifier sender sent status msgType source scope restriction addresses code note references incidents "
    "info".split()
)
INFO_ELEMENTS = frozenset(
    "language category event responseType urgency severity certainty audience eventCode effective onset expires "
    "senderName headline description instruction web contact parameter resource area".split()
)
AREA_ELEMENTS = frozenset("areaDesc polygon circle geocode altitude ceiling".split())
RESOURCE_ELEMENTS = frozenset("resourceDesc mimeType size uri derefUri digest".split())
PAIR_ELEMENTS = frozenset(("valueName", "value"))
REPEATABLE = frozenset(
    "code info category responseType eventCode parameter resource area polygon circle geocode".split()
)
NEEDS_REFERENCES = {"Update": "updates", "Cancel": "cancels"}

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")  # RFC 3066, as CAP's <language>
_SIZE = re.compile(r"[0-9]+")

T = TypeVar("T")


def parse_cap(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> CapAlert:
    """Parse and validate one CAP alert; raises `CapError` saying what is wrong and where."""
    root = read_xml(data, max_bytes=max_bytes)
    namespace, name = _split_tag(root.tag)
    if name != "alert":
        raise CapError(f"the root element is <{name}>; a CAP message is an <alert>")
    if namespace not in (CAP_1_2_NAMESPACE, CAP_1_1_NAMESPACE):
        found = f"namespace {namespace!r}" if namespace else "no namespace"
        raise CapError(f'<alert> is in {found}; CAP 1.2 needs xmlns="{CAP_1_2_NAMESPACE}"')
    return _read_alert(_Node(root, "alert", namespace, ALERT_ELEMENTS))


def _read_alert(node: _Node) -> CapAlert:
    msg_type = node.value("msgType", _one_of(MSG_TYPES), required=True)
    references = node.value("references", formats.read_references) or ()
    if msg_type in NEEDS_REFERENCES and not references:
        raise CapError(
            f"alert: an {msg_type} must name the message(s) it {NEEDS_REFERENCES[msg_type]} in <references>"
        )
    scope = node.value("scope", _one_of(SCOPES), required=True)
    addresses = node.text("addresses")
    if scope == "Private" and addresses is None:
        raise CapError("alert: <addresses> is required when <scope> is Private")
    return CapAlert(
        identifier=node.value("identifier", formats.check_id, required=True),
        sender=node.value("sender", formats.check_id, required=True),
        sent=node.value("sent", formats.read_datetime, required=True),
        status=node.value("status", _one_of(STATUSES), required=True),
        msg_type=msg_type,
        scope=scope,
        references=references,
        infos=tuple(_read_info(info) for info in node.nodes("info", INFO_ELEMENTS)),
        note=node.text("note"),
        incidents=node.value("incidents", formats.read_name_list) or (),
        source=node.text("source"),
        restriction=node.text("restriction"),
        addresses=addresses,
        code=node.texts("code"),
    )


def _read_info(node: _Node) -> CapInfo:
    categories = node.values("category", _one_of(CATEGORIES))
    if not categories:
        raise CapError(f"{node.path}: missing required element <category>")
    return CapInfo(
        language=node.value("language", _language) or DEFAULT_LANGUAGE,
        categories=categories,
        event=node.text("event", required=True),
        response_types=node.values("responseType", _one_of(RESPONSE_TYPES)),
        urgency=node.value("urgency", _one_of(URGENCIES), required=True),
        severity=node.value("severity", _one_of(SEVERITIES), required=True),
        certainty=node.value("certainty", _one_of(CERTAINTIES), required=True),
        audience=node.text("audience"),
        event_codes=_read_pairs(node, "eventCode"),
        effective=node.value("effective", formats.read_datetime),
        onset=node.value("onset", formats.read_datetime),
        expires=node.value("expires", formats.read_datetime),
        sender_name=node.text("senderName"),
        headline=node.text("headline"),
        description=node.text("description"),
        instruction=node.text("instruction"),
        web=node.text("web"),
        contact=node.text("contact"),
        parameters=_read_pairs(node, "parameter"),
        resources=tuple(_read_resource(resource) for resource in node.nodes("resource", RESOURCE_ELEMENTS)),
        areas=tuple(_read_area(area) for area in node.nodes("area", AREA_ELEMENTS)),
    )


def _read_area(node: _Node) -> CapArea:
    altitude = node.value("altitude", formats.read_number)
    ceiling = node.value("ceiling", formats.read_number)
    if ceiling is not None and altitude is None:
        raise CapError(f"{node.path}: <ceiling> may only be used together with <altitude>")
    return CapArea(
        area_desc=node.text("areaDesc", required=True),
        polygons=node.values("polygon", formats.read_polygon),
        circles=node.values("circle", formats.read_circle),
        geocodes=_read_pairs(node, "geocode"),
        altitude=altitude,
        ceiling=ceiling,
    )


def _read_resource(node: _Node) -> CapResource:
    return CapResource(
        resource_desc=node.text("resourceDesc", required=True),
        mime_type=node.text("mimeType", required=True),
        size=node.value("size", _size),
        uri=node.text("uri"),
        deref_uri=node.text("derefUri"),
        digest=node.text("digest"),
    )


def _read_pairs(node: _Node, name: str) -> tuple[tuple[str, str], ...]:
    """parameter, geocode and eventCode: a <valueName> and a <value>, which may be empty."""
    return tuple(
        (pair.text("valueName", required=True), pair.text("value", required=True, blank_ok=True))
        for pair in node.nodes(name, PAIR_ELEMENTS)
    )


class _Node:
    """A complex CAP element with its children grouped by name, checked against what CAP allows."""

    def __init__(self, element: ET.Element, path: str, namespace: str, allowed: frozenset[str]) -> None:
        self.path = path
        self._namespace = namespace
        self._children: dict[str, list[ET.Element]] = {}
        _refuse_text(element.text, path)
        for child in element:
            _refuse_text(child.tail, path)
            child_namespace, name = _split_tag(child.tag)
            if child_namespace == XMLDSIG_NAMESPACE and path == "alert":
                continue  # a signature: CAP 1.2 puts it here; verifying it is not this codec's job
            if child_namespace != namespace:
                where = f"namespace {child_namespace!r}" if child_namespace else "no namespace"
                raise CapError(f"{path}: element <{name}> is in {where}, not the CAP namespace")
            if name not in allowed:
                raise CapError(f"{path}: unexpected element <{name}>")
            self._children.setdefault(name, []).append(child)
        for name, found in self._children.items():
            if len(found) > 1 and name not in REPEATABLE:
                raise CapError(f"{path}: <{name}> appears {len(found)} times; CAP allows it once")

    def text(self, name: str, *, required: bool = False, blank_ok: bool = False) -> str | None:
        """The element's text exactly as sent; None when absent or empty (unless `blank_ok`)."""
        found = self._children.get(name)
        if not found:
            if required:
                raise CapError(f"{self.path}: missing required element <{name}>")
            return None
        text = _leaf_text(found[0], f"{self.path}/{name}")
        if text.strip() or blank_ok:
            return text
        if required:
            raise CapError(f"{self.path}/{name}: must not be empty")
        return None

    def value(self, name: str, read: Callable[[str], T], *, required: bool = False) -> T | None:
        text = self.text(name, required=required)
        return None if text is None else _read(f"{self.path}/{name}", read, text.strip())

    def values(self, name: str, read: Callable[[str], T]) -> tuple[T, ...]:
        return tuple(
            _read(path, read, _leaf_text(element, path).strip()) for path, element in self._indexed(name)
        )

    def texts(self, name: str) -> tuple[str, ...]:
        return tuple(_leaf_text(element, path) for path, element in self._indexed(name))

    def nodes(self, name: str, allowed: frozenset[str]) -> list[_Node]:
        return [_Node(element, path, self._namespace, allowed) for path, element in self._indexed(name)]

    def _indexed(self, name: str) -> list[tuple[str, ET.Element]]:
        found = self._children.get(name, [])
        return [(f"{self.path}/{name}[{index}]", element) for index, element in enumerate(found, 1)]


def _read(path: str, read: Callable[[str], T], text: str) -> T:
    try:
        return read(text)
    except CapError:
        raise
    except ValueError as exc:
        raise CapError(f"{path}: {exc}") from None


def _leaf_text(element: ET.Element, path: str) -> str:
    if len(element):
        raise CapError(f"{path}: must hold text, not elements")
    return element.text or ""


def _refuse_text(text: str | None, path: str) -> None:
    if text and text.strip():
        raise CapError(f"{path}: unexpected text {text.strip()[:40]!r} between elements")


def _split_tag(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


@functools.cache
def _one_of(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def check(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"{text!r} is not one of {', '.join(allowed)}")
        return text

    return check


def _language(text: str) -> str:
    if not _LANGUAGE_TAG.fullmatch(text):
        raise ValueError(f"{text!r} is not a language tag like zh-CN or en-US")
    return text


def _size(text: str) -> int:
    if not _SIZE.fullmatch(text):
        raise ValueError(f"{text!r} is not a size in bytes")
    return int(text)

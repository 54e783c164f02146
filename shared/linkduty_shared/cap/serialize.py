"""`CapAlert` to CAP 1.2 XML: UTF-8, default namespace, elements in the order of the CAP 1.2 XSD.

The model is trusted as built (run `parse_cap` on the output to validate an alert built by hand);
only what XML or CAP cannot carry at all is refused: naive datetimes, non-finite numbers and
characters outside XML 1.0.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import TypeVar

from linkduty_shared.cap import formats
from linkduty_shared.cap.formats import CAP_1_2_NAMESPACE
from linkduty_shared.cap.errors import CapError
from linkduty_shared.cap.model import CapAlert, CapArea, CapInfo, CapResource

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NOT_IN_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

T = TypeVar("T")


def to_cap_xml(alert: CapAlert) -> bytes:
    root = ET.Element(_tag("alert"))
    _add(root, "identifier", alert.identifier)
    _add(root, "sender", alert.sender)
    _add(root, "sent", _write("sent", formats.write_datetime, alert.sent))
    _add(root, "status", alert.status)
    _add(root, "msgType", alert.msg_type)
    _add(root, "source", alert.source)
    _add(root, "scope", alert.scope)
    _add(root, "restriction", alert.restriction)
    _add(root, "addresses", alert.addresses)
    _add_each(root, "code", alert.code)
    _add(root, "note", alert.note)
    if alert.references:
        _add(root, "references", _write("references", formats.write_references, alert.references))
    if alert.incidents:
        _add(root, "incidents", formats.write_name_list(alert.incidents))
    for info in alert.infos:
        _add_info(ET.SubElement(root, _tag("info")), info)
    ET.indent(root, space="  ")  # only touches whitespace between elements, never a value
    body = ET.tostring(root, encoding="unicode", default_namespace=CAP_1_2_NAMESPACE)
    # A parser turns a raw CR into LF; a character reference keeps a CR that was sent as &#13;.
    return (XML_DECLARATION + body.replace("\r", "&#13;") + "\n").encode("utf-8")


def _add_info(element: ET.Element, info: CapInfo) -> None:
    _add(element, "language", info.language)
    _add_each(element, "category", info.categories)
    _add(element, "event", info.event)
    _add_each(element, "responseType", info.response_types)
    _add(element, "urgency", info.urgency)
    _add(element, "severity", info.severity)
    _add(element, "certainty", info.certainty)
    _add(element, "audience", info.audience)
    _add_pairs(element, "eventCode", info.event_codes)
    for name in ("effective", "onset", "expires"):
        moment = getattr(info, name)
        if moment is not None:
            _add(element, name, _write(name, formats.write_datetime, moment))
    _add(element, "senderName", info.sender_name)
    _add(element, "headline", info.headline)
    _add(element, "description", info.description)
    _add(element, "instruction", info.instruction)
    _add(element, "web", info.web)
    _add(element, "contact", info.contact)
    _add_pairs(element, "parameter", info.parameters)
    for resource in info.resources:
        _add_resource(ET.SubElement(element, _tag("resource")), resource)
    for area in info.areas:
        _add_area(ET.SubElement(element, _tag("area")), area)


def _add_resource(element: ET.Element, resource: CapResource) -> None:
    _add(element, "resourceDesc", resource.resource_desc)
    _add(element, "mimeType", resource.mime_type)
    _add(element, "size", None if resource.size is None else str(resource.size))
    _add(element, "uri", resource.uri)
    _add(element, "derefUri", resource.deref_uri)
    _add(element, "digest", resource.digest)


def _add_area(element: ET.Element, area: CapArea) -> None:
    _add(element, "areaDesc", area.area_desc)
    _add_each(element, "polygon", (_write("polygon", formats.write_polygon, ring) for ring in area.polygons))
    _add_each(element, "circle", (_write("circle", formats.write_circle, circle) for circle in area.circles))
    _add_pairs(element, "geocode", area.geocodes)
    for name in ("altitude", "ceiling"):
        number = getattr(area, name)
        if number is not None:
            _add(element, name, _write(name, formats.write_number, number))


def _add_pairs(parent: ET.Element, name: str, pairs: Iterable[tuple[str, str]]) -> None:
    for value_name, value in pairs:
        pair = ET.SubElement(parent, _tag(name))
        _add(pair, "valueName", value_name)
        _add(pair, "value", value)


def _add_each(parent: ET.Element, name: str, texts: Iterable[str]) -> None:
    for text in texts:
        _add(parent, name, text)


def _add(parent: ET.Element, name: str, text: str | None) -> None:
    if text is None:
        return
    if bad := _NOT_IN_XML.search(text):
        raise CapError(f"<{name}> contains U+{ord(bad.group()):04X}, which XML 1.0 cannot carry")
    ET.SubElement(parent, _tag(name)).text = text


def _write(name: str, write: Callable[[T], str], value: T) -> str:
    try:
        return write(value)
    except ValueError as exc:
        raise CapError(f"<{name}>: {exc}") from None


def _tag(name: str) -> str:
    return f"{{{CAP_1_2_NAMESPACE}}}{name}"

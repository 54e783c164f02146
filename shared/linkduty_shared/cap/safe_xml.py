"""Untrusted bytes to an ElementTree, refusing what makes XML dangerous.

defusedxml's parser refuses any DTD (so no entity expansion, billion laughs, external entities or
network fetches ever start); the size is checked before parsing, and depth and element count are
counted while the tree is built, so a hostile document is dropped as soon as it crosses a limit.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from linkduty_shared.cap.errors import CapError, CapForbiddenMarkupError, CapTooLargeError

# CAP itself nests 5 deep (alert/info/area/geocode/value); an XML signature under <alert> about 8.
MAX_DEPTH = 16
# Generous for CAP (a county-wide NWS alert with hundreds of geocodes stays in the low thousands).
MAX_ELEMENTS = 10_000


class _LimitedTreeBuilder(ET.TreeBuilder):
    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._elements = 0

    def start(self, tag, attrs):
        self._depth += 1
        self._elements += 1
        if self._depth > MAX_DEPTH:
            raise CapError(f"XML nests deeper than {MAX_DEPTH} elements; CAP needs far fewer")
        if self._elements > MAX_ELEMENTS:
            raise CapError(f"XML has more than {MAX_ELEMENTS} elements")
        return super().start(tag, attrs)

    def end(self, tag):
        self._depth -= 1
        return super().end(tag)


def read_xml(data: bytes, *, max_bytes: int) -> ET.Element:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"CAP input must be bytes, not {type(data).__name__}")
    if len(data) > max_bytes:
        raise CapTooLargeError(f"CAP message is {len(data)} bytes; the limit is {max_bytes} bytes")
    parser = DefusedXMLParser(target=_LimitedTreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(bytes(data))
        return parser.close()
    except DefusedXmlException:
        raise CapForbiddenMarkupError("DTDs and entities are not allowed") from None
    except ET.ParseError as exc:
        raise CapError(f"not well-formed XML: {exc}") from None
    except CapError:
        raise
    except (ValueError, LookupError) as exc:  # pyexpat: multi-byte encodings (GBK, GB18030) or unknown names
        raise CapError(f"cannot read the XML ({exc}); send CAP as UTF-8") from None

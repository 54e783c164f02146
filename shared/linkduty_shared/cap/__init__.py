"""OASIS CAP 1.2 (Common Alerting Protocol, 通用告警协议) codec: hardened parsing and serialization.

Pure and I/O-free: `parse_cap(bytes) -> CapAlert` for what partners POST as application/cap+xml,
and `to_cap_xml(CapAlert) -> bytes` for answering as CAP. Mapping alerts onto 119 alarms is the
alarms service's business, not this package's.
"""

from linkduty_shared.cap.errors import CapError, CapForbiddenMarkupError, CapTooLargeError
from linkduty_shared.cap.model import (
    CapAlert,
    CapArea,
    CapCircle,
    CapInfo,
    CapReference,
    CapResource,
)
from linkduty_shared.cap.formats import CAP_1_1_NAMESPACE, CAP_1_2_NAMESPACE
from linkduty_shared.cap.parse import DEFAULT_MAX_BYTES, parse_cap
from linkduty_shared.cap.serialize import to_cap_xml

CAP_CONTENT_TYPE = "application/cap+xml"

__all__ = [
    "CAP_1_1_NAMESPACE",
    "CAP_1_2_NAMESPACE",
    "CAP_CONTENT_TYPE",
    "DEFAULT_MAX_BYTES",
    "CapAlert",
    "CapArea",
    "CapCircle",
    "CapError",
    "CapForbiddenMarkupError",
    "CapInfo",
    "CapReference",
    "CapResource",
    "CapTooLargeError",
    "parse_cap",
    "to_cap_xml",
]

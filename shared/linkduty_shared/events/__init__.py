"""The event envelope (CloudEvents 1.0) and the upcaster registry."""

from linkduty_shared.events.envelope import Envelope, EnvelopeError, envelope_from_kafka, envelope_to_kafka
from linkduty_shared.events.upcasting import Upcasters, upcasters

__all__ = ["Envelope", "EnvelopeError", "Upcasters", "envelope_from_kafka", "envelope_to_kafka", "upcasters"]

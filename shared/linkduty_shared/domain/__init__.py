"""Building blocks for pure domain code: events, aggregates, domain errors. No I/O here."""

from linkduty_shared.domain.aggregate import Aggregate
from linkduty_shared.domain.errors import (
    DomainError,
    IllegalTransition,
    InvariantViolated,
    NotPermitted,
    OutsideYourJurisdiction,
)
from linkduty_shared.domain.event import DomainEvent, event

__all__ = ["Aggregate", "DomainError", "DomainEvent", "IllegalTransition", "InvariantViolated", "NotPermitted", "OutsideYourJurisdiction",
           "event"]

"""The application layer every service reuses: a repository per aggregate type, and one unit of
work for every write (load → decide → append → commit → wake the relay, retried on a conflict)."""

from linkduty_shared.application.repository import (
    AggregateNotFound,
    CommandContext,
    EventSourcedRepository,
    PreconditionFailed,
    to_domain_event,
)
from linkduty_shared.application.unit_of_work import Transaction, UnitOfWork

__all__ = [
    "AggregateNotFound", "CommandContext", "EventSourcedRepository", "PreconditionFailed", "Transaction",
    "UnitOfWork", "to_domain_event",
]

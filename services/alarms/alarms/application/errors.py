"""Why the alarms service refuses a command: each a domain error, answered as problem+json in
one place (`linkduty_shared.api.problems`)."""

from __future__ import annotations

from linkduty_shared import domain as shared
from linkduty_shared.domain import DomainError, IllegalTransition, NotPermitted


class OutsideTheCity(DomainError):
    type_slug, status, title = "outside-jurisdiction", 422, "Location is outside the city's jurisdiction"


class OutsideYourJurisdiction(shared.OutsideYourJurisdiction):
    title = "Location is outside your jurisdiction"


class NotACentre(NotPermitted):
    type_slug, title = "not-a-centre", "Only an operations centre acknowledges"


class UnknownCentre(NotPermitted):
    type_slug, title = "unknown-centre", "Unknown operations centre"


class NotResponsible(NotPermitted):
    type_slug, title = "not-responsible", "This centre is not in the alarm's chain"


class NotTheOriginalSender(NotPermitted):
    type_slug, title = "not-the-original-sender", "Only the alert's sender may update or cancel it"


class CapAlreadyReceived(IllegalTransition):
    type_slug, title = "cap-already-received", "This CAP message was already taken in"


class CapNotActedOn(DomainError):
    """A well-formed CAP message this intake does not act on (an Exercise, an Ack, no location…)."""

    status = 422

    def __init__(self, type_slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.type_slug, self.title = type_slug, title


class UnknownReferencedAlert(DomainError):
    type_slug, status, title = "unknown-referenced-alert", 422, "The referenced alert is unknown here"

"""Why the volunteers service refuses a command: each a domain error, answered as problem+json in
one place (`linkduty_shared.api.problems`). A volunteer or team outside the caller's
jurisdiction is not refused here: it is not found (404), like one that does not exist."""

from __future__ import annotations

from linkduty_shared import domain as shared
from linkduty_shared.domain import DomainError


class UnknownServiceDomain(DomainError):
    type_slug, status, title = "unknown-service-domain", 422, "Unknown service domain"

    def __init__(self, unknown: list[str], known: tuple[str, ...]) -> None:
        super().__init__(f"{', '.join(repr(u[:64]) for u in unknown)}: no service domain of this service",
                         extra={"domains": list(known)})


class UnknownCourse(DomainError):
    type_slug, status, title = "unknown-course", 422, "Unknown course"

    def __init__(self, course: str, known: tuple[str, ...]) -> None:
        super().__init__(f"{course[:64]!r} is no course of this service", extra={"courses": list(known)})


class NotACommunity(DomainError):
    type_slug, status, title = "not-a-community", 422, "A volunteer's home is a community"


class NotATeamDivision(DomainError):
    type_slug, status, title = "not-a-team-division", 422, "A team is under a community or a street"


class OutsideYourJurisdiction(shared.OutsideYourJurisdiction):
    title = "That division is outside your jurisdiction"


class UnknownOrderKind(DomainError):
    type_slug, status, title = "unknown-order-kind", 422, "Unknown kind of service order"

    def __init__(self, kind: str, known: tuple[str, ...]) -> None:
        super().__init__(f"{kind[:64]!r} is no kind of service order", extra={"kinds": list(known)})


class NotAVolunteerToken(DomainError):
    type_slug, status, title = "not-a-volunteer", 403, "This token does not speak for a volunteer"

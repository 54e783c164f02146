"""Why the units service refuses a command: each a domain error, answered as problem+json in one
place (`linkduty_shared.api.problems`). A record outside the caller's jurisdiction is not refused
here: it is not found (`AggregateNotFound`, 404), like one that does not exist."""

from __future__ import annotations

from linkduty_shared.domain import DomainError, IllegalTransition


class UnknownDivision(DomainError):
    type_slug, status, title = "unknown-division", 422, "Unknown division"


class UnknownForce(DomainError):
    """Forces named in a record that are not registered, or not inside the caller's jurisdiction:
    the same answer for both, since which forces exist elsewhere is not the caller's to learn."""

    type_slug, status, title = "unknown-force", 422, "Unknown force"

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(f"no registered force {', '.join(unknown)} inside your jurisdiction",
                         extra={"unknown": unknown})
        self.unknown = unknown


class AlreadyRegistered(IllegalTransition):
    type_slug, title = "already-registered", "Unit already registered"


class FindingOutsidePatrolArea(DomainError):
    type_slug, status, title = ("finding-outside-patrol-area", 422,
                                "The finding lies outside the patrol's division")

"""Why the hazards service refuses a command: each a domain error, answered as problem+json in
one place (`linkduty_shared.api.problems`). A hazard outside the caller's jurisdiction is not
refused here: it is not found (`AggregateNotFound`, 404), like one that does not exist."""

from __future__ import annotations

from linkduty_shared import domain as shared
from linkduty_shared.domain import DomainError


class UnknownCategory(DomainError):
    type_slug, status, title = "unknown-category", 422, "Unknown hazard category"

    def __init__(self, category: str, known: tuple[str, ...]) -> None:
        super().__init__(f"{category[:64]!r} is no category of the hazard taxonomy", extra={"categories": list(known)})


class OutsideTheCity(DomainError):
    type_slug, status, title = "outside-jurisdiction", 422, "Location is outside the city's jurisdiction"


class OutsideYourJurisdiction(shared.OutsideYourJurisdiction):
    title = "Location is outside your jurisdiction"


class UnknownDivision(DomainError):
    type_slug, status, title = "unknown-division", 404, "No such division"

    def __init__(self, code: str) -> None:
        super().__init__(f"{code[:64]!r} is no division of the city's directory")


class NotAReportingDivision(DomainError):
    type_slug, status, title = "not-a-reporting-division", 422, "Statistics are kept for this division's parent"


class PeriodNotReportable(DomainError):
    type_slug, status, title = "bad-period", 422, "The period cannot be reported on"


class DivisionOutsideYourJurisdiction(shared.OutsideYourJurisdiction):
    title = "Division is outside your jurisdiction"


class TimeOutOfRange(DomainError):
    type_slug, status, title = "time-out-of-range", 422, "A time lies outside what can be asked for"


class UnknownVenueKind(DomainError):
    type_slug, status, title = "unknown-venue-kind", 422, "Unknown venue kind"

    def __init__(self, kind: str, known: tuple[str, ...]) -> None:
        super().__init__(f"{kind[:64]!r} is no venue kind", extra={"kinds": list(known)})


class UnknownFireStation(DomainError):
    type_slug, status, title = "unknown-fire-station", 422, "Unknown fire station"


class ReinspectionMismatch(DomainError):
    type_slug, status, title = "reinspection-mismatch", 422, "Not a hazard of this venue to re-inspect"

"""Errors domain code raises; the API layer maps each to a problem+json answer in one place."""


class DomainError(Exception):
    """A command was refused by the domain. `type_slug` names the problem type."""

    type_slug = "domain-error"
    status = 422
    title = "Command refused"


class InvariantViolated(DomainError):
    type_slug = "invariant-violated"
    status = 422


class IllegalTransition(DomainError):
    """The aggregate's state does not allow this command (e.g. closing a closed alarm)."""

    type_slug = "illegal-transition"
    status = 409


class NotPermitted(DomainError):
    """The caller may not do this (a rule about who asks, not about the aggregate's state)."""

    type_slug = "forbidden"
    status = 403
    title = "Not allowed"

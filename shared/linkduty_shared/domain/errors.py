"""Errors domain code raises; the API layer maps each to a problem+json answer in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """A command was refused by the domain. `type_slug` names the problem type; `extra` holds
    members the problem document carries beside `detail` (e.g. which of the named forces are
    unknown), for clients that act on them."""

    type_slug = "domain-error"
    status = 422
    title = "Command refused"
    headers: Mapping[str, str] | None = None  # e.g. Retry-After, for a refusal that passes

    def __init__(self, *args: object, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(*args)
        self.extra = dict(extra or {})


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


class OutsideYourJurisdiction(NotPermitted):
    """What the caller named (a location, a division) lies outside its token's jurisdiction claim.
    Services subclass it for a title that says what it was."""

    type_slug, title = "outside-your-jurisdiction", "Outside your jurisdiction"

"""Public, versioned integration contracts between services (what others may consume).

A service's internal events are not automatically its contract: what crosses a service boundary
is declared here.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")


class ContractViolation(ValueError):
    """A consumed record whose data breaks its contract: poison, dead-lettered at once (a retry
    cannot make it valid), never acted on or shown."""


def validated(adapter: TypeAdapter[T], data: Any, contract: str) -> T:
    """`data` as the contract's type, every field of the type it gives (extra fields dropped), or
    ContractViolation naming the first field at fault and how many there are."""
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        raise ContractViolation(f"breaks the {contract} v1 contract: {where}: {first['msg']}"
                                f" ({exc.error_count()} error(s))") from None

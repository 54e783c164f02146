"""Domain events: small immutable dataclasses named as past-tense facts.

`@event("AlarmReported", version=2)` registers the class under its type name and schema version,
so the event store can turn stored rows back into objects (after upcasting older versions).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, TypeVar

E = TypeVar("E", bound="DomainEvent")


@dataclasses.dataclass(frozen=True)
class DomainEvent:
    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    def to_data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_data(cls: type[E], data: dict[str, Any]) -> E:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


_registry: dict[str, type[DomainEvent]] = {}


def event(name: str, *, version: int = 1):
    """Class decorator: a frozen dataclass event registered as `name` at schema `version`."""

    def wrap(cls: type[E]) -> type[E]:
        cls = dataclasses.dataclass(frozen=True)(cls)
        cls.event_type = name
        cls.schema_version = version
        existing = _registry.get(name)
        if existing is not None and (existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"event type {name!r} registered twice ({existing} and {cls})")
        _registry[name] = cls
        return cls

    return wrap


def event_class(name: str) -> type[DomainEvent]:
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"unknown event type {name!r}") from None

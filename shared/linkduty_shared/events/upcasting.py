"""Upcasters lift stored event data from an old schema version to the current one when read.

History is never rewritten: an `AlarmReported` v1 row stays v1 in the store, and every reader
sees it as the latest version through the chain v1 → v2 → … registered here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Data = dict[str, Any]


class Upcasters:
    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Callable[[Data], Data]] = {}

    def register(self, event_type: str, from_version: int):
        """Decorator: `fn(data_at_from_version) -> data_at_from_version_plus_1`."""

        def wrap(fn: Callable[[Data], Data]) -> Callable[[Data], Data]:
            key = (event_type, from_version)
            if key in self._steps:
                raise ValueError(f"upcaster for {event_type} v{from_version} registered twice")
            self._steps[key] = fn
            return fn

        return wrap

    def upcast(self, event_type: str, version: int, data: Data, target_version: int) -> Data:
        while version < target_version:
            step = self._steps.get((event_type, version))
            if step is None:
                raise LookupError(f"no upcaster for {event_type} v{version} → v{version + 1}")
            data = step(dict(data))
            version += 1
        return data


# The process-wide registry: services register their upcasters next to their events.
upcasters = Upcasters()

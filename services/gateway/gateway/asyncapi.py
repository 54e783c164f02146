"""The AsyncAPI 3.0 document (services/gateway/asyncapi.yaml): the notifications topic and the
console streams. Loaded and checked once; served as YAML and JSON."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import yaml

_PACKAGED = Path(__file__).with_name("asyncapi.yaml")  # inside a built wheel
_SOURCE = Path(__file__).resolve().parents[1] / "asyncapi.yaml"  # in the repository


@dataclasses.dataclass(frozen=True)
class AsyncApi:
    text: str
    document: dict[str, Any]

    @staticmethod
    @functools.cache
    def load() -> AsyncApi:
        text = (_PACKAGED if _PACKAGED.exists() else _SOURCE).read_text(encoding="utf-8")
        document = yaml.safe_load(text)
        if not str(document.get("asyncapi", "")).startswith("3."):
            raise ValueError("asyncapi.yaml is not an AsyncAPI 3 document")
        return AsyncApi(text, document)

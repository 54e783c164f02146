"""ETag = the aggregate version; If-Match makes a write conditional on it."""

from __future__ import annotations

from linkduty_shared.api.problems import Problem


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match header asks for; None when absent. `*` means any version."""
    if value is None or value.strip() == "*":
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Problem(400, "bad-if-match", "If-Match is not a version ETag", f"got {value!r}; expected e.g. '\"3\"'")
    return int(tag)

"""ETag = the aggregate version; If-Match makes a write conditional on it."""

from __future__ import annotations

from linkduty_shared.api.problems import Problem


# Versions are PostgreSQL integers: a bigger one in a query or an If-Match is refused as a 4xx
# before it reaches the database (where it answered 500).
MAX_VERSION = 2**31 - 1


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match header asks for; None when absent. `*` means any version."""
    if value is None or value.strip() == "*":
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not (tag.isascii() and tag.isdigit() and int(tag) <= MAX_VERSION):
        raise Problem(400, "bad-if-match", "If-Match is not a version ETag", f"got {value!r}; expected e.g. '\"3\"'")
    return int(tag)

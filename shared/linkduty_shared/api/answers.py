"""How a route answers about one aggregate, and how a read model's row becomes JSON: once, for
every service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import Response

from linkduty_shared.api.etag import etag


def versioned(response: Response, body: dict, version: int, *, status: int | None = None,
              location: str | None = None) -> dict:
    """`body`, answered with the aggregate's version as its ETag (and a status, a Location)."""
    if status is not None:
        response.status_code = status
    response.headers["ETag"] = etag(version)
    if location is not None:
        response.headers["Location"] = location
    return body


def json_row(row: Mapping[str, Any], *, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """A read model's row as JSON: datetimes in ISO 8601, the columns in `leave_out` dropped."""
    dropped = set(leave_out)
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in dict(row).items() if k not in dropped}

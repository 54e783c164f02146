"""Page cursors of "newest first" lists: (time, id) of a page's last row, opaque to clients.
A cursor a client made up is a 400 `bad-cursor`, never a query."""

from __future__ import annotations

import base64
import datetime as dt
import json

from linkduty_shared.api.problems import Problem

MAX_CURSOR = 200  # characters: a route's Query(max_length=…)


def encode_cursor(at: dt.datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), row_id]).encode()).decode().rstrip("=")


def next_cursor(rows, limit: int, at: str, row_id: str) -> str | None:
    """The cursor of the page after `rows` (its last row's `at` and `row_id` columns), or None
    when the page was not full: there is no next page."""
    if len(rows) < limit or not rows:
        return None
    return encode_cursor(rows[-1][at], rows[-1][row_id])


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = dt.datetime.fromisoformat(at)
        if when.tzinfo is None or not isinstance(row_id, str) or "\x00" in row_id:
            raise ValueError
        return when.astimezone(dt.UTC), row_id  # a time PostgreSQL can hold, or OverflowError
    except (ValueError, TypeError, UnicodeDecodeError, OverflowError):
        raise Problem(400, "bad-cursor", "Not a cursor this list gave", "pass next_cursor as it came") from None

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


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = dt.datetime.fromisoformat(at)
        if when.tzinfo is None or not isinstance(row_id, str) or "\x00" in row_id:
            raise ValueError
        return when.astimezone(dt.UTC), row_id  # a time PostgreSQL can hold, or OverflowError
    except (ValueError, TypeError, UnicodeDecodeError, OverflowError):
        raise Problem(400, "bad-cursor", "Not a cursor this list gave", "pass next_cursor as it came") from None

"""Records about one alarm from other topics than its own (dispatch and joint operation on
`units.events`, the pre-incident picture on `hazards.events`), pure: whose alarm each is, and how
one waits, parked, for its alarm's AlarmReported.

The topics are consumed independently, so a dispatch record or a picture can overtake the
AlarmReported of its alarm. Routing then parks it (linkage.state, alarm id → the
records below) and routes it right after that AlarmReported; a parked record nobody claims in
time is dropped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from linkduty_shared.events.envelope import Envelope, EnvelopeError


def alarm_id_of(envelope: Envelope, key: bytes | None) -> str:
    """The alarm a dispatch or joint-operation record is about: its data's `alarm_id`, else its key.

    Not the subject: a joint operation's stream id is "<alarm id>/operation".
    """
    alarm_id = envelope.data.get("alarm_id")
    if alarm_id is None and key:
        try:
            alarm_id = key.decode()
        except UnicodeDecodeError:
            alarm_id = None
    if not isinstance(alarm_id, str) or not alarm_id:
        raise EnvelopeError(f"{envelope.type} {envelope.id} names no alarm (no data.alarm_id, no key)")
    return alarm_id


def envelope_json(envelope: Envelope) -> dict[str, Any]:
    """An envelope as linkage's tables keep it (JSON: its fields, time as ISO 8601)."""
    return {**dataclasses.asdict(envelope), "time": envelope.time.isoformat()}


def envelope_from_json(fields: dict[str, Any]) -> Envelope:
    return Envelope(**{**fields, "time": dt.datetime.fromisoformat(fields["time"])})


def parked_record(envelope: Envelope, parked_at: float, offset: int | None = None,
                  topic: str | None = None) -> dict[str, Any]:
    """A record as the parking table keeps it (JSON: the envelope's fields, time as ISO 8601, and
    the topic and offset it was read at, for its DLQ headers should it fail; records parked before
    offsets were kept have none, and before topics were, they all came from units.events)."""
    return {"envelope": envelope_json(envelope), "parked_at": parked_at, "offset": offset, "topic": topic}


def unparked(record: dict[str, Any]) -> Envelope:
    return envelope_from_json(record["envelope"])


def park(records: list[dict[str, Any]], envelope: Envelope, now: float, *, limit: int,
         offset: int | None = None, topic: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """`records` with `envelope` (read at `offset`) added, and how many of the oldest were dropped
    to stay within `limit`.

    A redelivered record (same event id) is parked once.
    """
    if any(r["envelope"]["id"] == envelope.id for r in records):
        return records, 0
    kept = [*records, parked_record(envelope, now, offset, topic)]
    return kept[-limit:], max(0, len(kept) - limit)


def expire(records: list[dict[str, Any]], now: float,
           max_age_s: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(still waiting, parked longer than `max_age_s`)."""
    waiting = [r for r in records if now - r["parked_at"] <= max_age_s]
    return waiting, [r for r in records if now - r["parked_at"] > max_age_s]

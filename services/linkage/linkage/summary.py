"""An alarm's console summary, folded from its public events (pure; linkage.state keeps it)."""

from __future__ import annotations

import dataclasses

from linkduty_shared.contracts.alarms import STATUS_AFTER_EVENT
from linkduty_shared.contracts.notifications import AlarmSummary


def fold(summary: AlarmSummary | None, alarm_id: str, event_type: str, data: dict, version: int) -> AlarmSummary | None:
    """The summary after one event; None while the alarm's first event has not been seen.

    An event at or below the summary's version is a redelivery (delivery is at least once) and
    changes nothing: counting a CallLinked twice would show a console the wrong number of calls.
    """
    if summary is not None and version <= summary.version:
        return summary
    if event_type == "AlarmReported":
        return AlarmSummary(
            alarm_id=alarm_id, status="reported", kind=data["kind"], severity=data["severity"],
            description=data["description"], received_at=data["received_at"], location=data["location"],
            jurisdiction=data["jurisdiction"], call_count=1, acknowledged={}, escalation_level="community",
            version=version,
        )
    if summary is None:
        return None
    change: dict = {"version": version}
    match event_type:
        case "CallLinked":
            change["call_count"] = summary.call_count + 1
        case "CallSplit":
            change["call_count"] = summary.call_count - 1
        case "AlarmUpdated":
            change |= {k: v for k, v in data["changes"].items() if k in ("kind", "severity", "description")}
        case "AlarmAcknowledged":
            change["acknowledged"] = {**summary.acknowledged, data["level"]: data["centre_id"]}
        case "AlarmEscalated":
            change["escalation_level"] = data["to_level"]
        case _ if event_type in STATUS_AFTER_EVENT:
            change["status"] = STATUS_AFTER_EVENT[event_type]
    return dataclasses.replace(summary, **change)

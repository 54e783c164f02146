"""An alarm's or a hazard's console summary, folded from its public events (pure; linkage.state
keeps it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from linkduty_shared.contracts import hazards
from linkduty_shared.contracts.alarms import STATUS_AFTER_EVENT
from linkduty_shared.contracts.notifications import AlarmSummary, HazardSummary


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
            version=version, source=data.get("source"), vulnerability=data.get("vulnerability"),
        )
    if summary is None:
        return None
    change: dict = {"version": version}
    match event_type:
        case "CallLinked":
            change |= {"call_count": summary.call_count + 1, "possible_false_alarm": False}
            if summary.vulnerability is None and data.get("vulnerability"):
                change["vulnerability"] = data["vulnerability"]
        case "DeviceClearReported":
            change["possible_false_alarm"] = bool(data.get("alarm_possible_false_alarm"))
        case "AlarmVerified":
            change |= {"possible_false_alarm": False, "status": STATUS_AFTER_EVENT[event_type]}
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


def fold_hazard(summary: HazardSummary | None, hazard_id: str, event: Any, version: int,
                centre_of: Callable[[str], str]) -> HazardSummary | None:
    """A hazard's summary after one event (`event`: the hazards.events contract's dataclass of
    it); None while its HazardReported has not been seen. `centre_of` gives the centre id of a
    division code (the handling level's centre). A redelivery (version at or below the summary's)
    changes nothing, as for alarms."""
    if summary is not None and version <= summary.version:
        return summary
    name = type(event).__name__
    if isinstance(event, hazards.HazardReported):
        jurisdiction = dataclasses.asdict(event.jurisdiction)
        return HazardSummary(
            hazard_id=hazard_id, status=hazards.STATUS_AFTER_EVENT[name], category=event.category,
            severity=event.severity, description=event.description, source=event.source, reported_at=event.at,
            location=dataclasses.asdict(event.location), jurisdiction=jurisdiction, venue_id=event.venue_id,
            handling_level=hazards.HANDLING_LEVELS[0], handled_by=centre_of(jurisdiction[hazards.HANDLING_LEVELS[0]]),
            triage_due_at=event.triage_due_at, rectification_due_at=None, reinspection_due_at=None, version=version)
    if summary is None:
        return None
    change: dict = {"version": version}
    if name in hazards.STATUS_AFTER_EVENT:
        change["status"] = hazards.STATUS_AFTER_EVENT[name]
    match event:
        case hazards.HazardAccepted():
            change["severity"] = event.severity
        case hazards.HazardAssigned() | hazards.RectificationFailed():
            change["rectification_due_at"] = event.due_at
        case hazards.HazardReopened():
            change |= {"rectification_due_at": event.due_at, "reinspection_due_at": None}
        case hazards.ReinspectionScheduled():
            change["reinspection_due_at"] = event.due_at
        case hazards.HazardEscalated():
            change |= {"handling_level": event.to_level, "handled_by": centre_of(summary.jurisdiction[event.to_level])}
            if event.due_at and event.deadline == "triage":  # the escalation moves the deadline it was for
                change["triage_due_at"] = event.due_at
            elif event.due_at and event.deadline == "rectification":
                change["rectification_due_at"] = event.due_at
    return dataclasses.replace(summary, **change)

"""CAP 1.2 ⇄ alarm: how a partner's alert becomes a 119 alarm, and an alarm a CAP alert.

The codec itself (hardened parsing, serialization) is `linkduty_shared.cap`; this module only
maps meanings.
"""

from __future__ import annotations

import datetime as dt

from linkduty_shared.cap import CapAlert, CapArea, CapCircle, CapInfo
from linkduty_shared.domain.personal_data import scrub_personal_numbers

from alarms.application.commands import ReportAlarm
from alarms.application.errors import CapNotActedOn
from alarms.domain.alarm import Alarm
from alarms.domain.values import Status

_KIND_BY_CATEGORY = {"Fire": "fire", "Rescue": "rescue", "CBRNE": "hazmat", "Health": "medical"}
_SEVERITY_FROM_CAP = {"Extreme": "extreme", "Severe": "major", "Moderate": "moderate", "Minor": "minor",
                      "Unknown": "moderate"}
_SEVERITY_TO_CAP = {v: k for k, v in _SEVERITY_FROM_CAP.items() if k != "Unknown"}
_CATEGORY_BY_KIND = {v: k for k, v in _KIND_BY_CATEGORY.items()} | {"other": "Other"}
CAP_SENDER = "alarms@linkduty.local"


def cap_ref(alert: CapAlert) -> dict:
    return {"identifier": alert.identifier, "sender": alert.sender, "sent": alert.sent.isoformat()}


def _info(alert: CapAlert) -> CapInfo:
    info = alert.info_for("zh")
    if info is None:
        raise CapNotActedOn("cap-without-info", "CAP alert has no <info>", f"{alert.msg_type} needs an <info> block")
    return info


def _kind(info: CapInfo) -> str:
    for category in info.categories:
        if category in _KIND_BY_CATEGORY:
            return _KIND_BY_CATEGORY[category]
    return "other"


def report_from_cap(alert: CapAlert) -> ReportAlarm:
    """An Alert message as an intake call (source "cap")."""
    info = _info(alert)
    point = alert.first_point()
    if point is None:
        raise CapNotActedOn("cap-without-location", "CAP alert has no circle or polygon",
                      "an alarm needs a point: give an <area> with a <circle> or <polygon>")
    area_desc = next((a.area_desc for a in info.areas), None)
    return ReportAlarm(
        source="cap", received_at=alert.sent, kind=_kind(info), severity=_SEVERITY_FROM_CAP[info.severity],
        description=" — ".join(filter(None, (info.headline, info.description))) or info.event,
        lat=point[0], lon=point[1], address=area_desc, cap=cap_ref(alert),
        call_id=f"cap:{alert.sender}/{alert.identifier}",  # a resent Alert is the same call
    )


def changes_from_cap(alert: CapAlert) -> dict:
    """The facts an Update message states (the alarm records only those that differ)."""
    info = _info(alert)
    description = " — ".join(filter(None, (info.headline, info.description))) or info.event
    return {"kind": _kind(info), "severity": _SEVERITY_FROM_CAP[info.severity],
            "description": scrub_personal_numbers(description)}


def alarm_to_cap(alarm: Alarm) -> CapAlert:
    """The alarm's current state as a CAP 1.2 Alert (its status also in a parameter)."""
    j, loc = alarm.jurisdiction, alarm.location
    certainty = "Observed" if alarm.status in (Status.VERIFIED, Status.CONTROLLED) else "Likely"
    info = CapInfo(
        language="zh-CN", categories=(_CATEGORY_BY_KIND.get(alarm.kind, "Other"),), event=alarm.kind,
        urgency="Immediate" if alarm.is_open else "Past", severity=_SEVERITY_TO_CAP[alarm.severity],
        certainty=certainty, headline=f"119 {alarm.kind} alarm ({alarm.status})", description=alarm.description,
        parameters=(("linkduty:status", str(alarm.status)), ("linkduty:calls", str(alarm.active_calls))),
        areas=(CapArea(area_desc=loc.get("address") or j["community"],
                       circles=(CapCircle(loc["lat"], loc["lon"], 0.3),),
                       geocodes=tuple((f"division:{lvl}", j[lvl]) for lvl in ("community", "street", "district"))),),
    )
    return CapAlert(
        identifier=f"linkduty-{alarm.id}-v{alarm.version}", sender=CAP_SENDER,
        sent=dt.datetime.fromisoformat(alarm.received_at).replace(microsecond=0),
        status="Actual", msg_type="Alert", scope="Restricted",
        restriction="operations centres and partner agencies of the jurisdiction",
        incidents=(alarm.id,), infos=(info,),
    )

"""What linkage does with one record, pure: given the record and the state kept for its alarm
(plain dicts), which notifications to send and which state to keep. There is no database, Kafka
or clock here: routing (`linkage.consumers`) and the timers (`linkage.timers`) read the state,
pass the time in, and write and send what comes back.

The state's entries (`linkage.state`, state.sql). The database holds them as JSON, so the shapes
must stay readable across releases:
- an alarm (`linkage_alarms.entry`): {"summary": AlarmSummary fields, "notified": {centre id:
  reason}}, plus "closed_at" (epoch seconds) and "partition" once the alarm is closed;
- its deadline (`linkage_deadlines`): {"level": the level that must acknowledge, "due": epoch seconds};
- its parked records (`linkage_parked.waiting`): {"partition": int, "records":
  [unit_records.parked_record(…), …]}.
- a fire hazard (`linkage_hazards.entry`): {"summary": HazardSummary fields, "notified": {centre
  id: reason}}, plus "closed_at" (epoch seconds) once it is finished (rejected, merged or its
  re-inspection confirmed: nothing follows).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from linkduty_shared.contracts.alarms import CHAIN_LEVELS, CLOSED_STATUSES, levels_from
from linkduty_shared.contracts.commands import EscalateAlarm
from linkduty_shared.contracts.hazards import OPEN_STATUSES as OPEN_HAZARD_STATUSES
from linkduty_shared.contracts.notifications import (
    ServiceOrderNotification,
    AlarmNotification,
    AlarmRouted,
    AlarmSummary,
    HazardNotification,
    HazardSummary,
    RoutedCentre,
    notification_id,
)
from linkduty_shared.events.envelope import Envelope
from linkduty_shared.contracts import ContractViolation
from linkduty_shared.jurisdictions import Directory, Level

from linkage.routing import HazardRule, Rule, hazard_recipients, recipients
from linkage.summary import fold, fold_hazard
from linkage.unit_records import park

KEEP: Final = "keep"  # a deadline the event leaves as it is
PER_CENTRE: Final = "per_centre"  # the notifications' shapes (LinkageSettings.notifications_shape)
PER_EVENT: Final = "per_event"
# A hazard in one of these is done with: no event follows (a closed one may still be reopened).
FINISHED_HAZARD_STATUSES: Final = frozenset({"rejected", "merged", "confirmed"})


@dataclasses.dataclass(frozen=True)
class AlarmEventRouted:
    entry: dict[str, Any]  # the alarm's entry after the event
    notifications: list[Envelope]  # what goes to linkage.notifications (Router.notifications); key = subject
    deadline: dict[str, Any] | None | str  # its deadline after the event: None = none, or KEEP


@dataclasses.dataclass(frozen=True)
class UnitRecordRouted:
    notifications: list[Envelope]  # none while its alarm is unknown
    waiting: dict[str, Any] | None = None  # its alarm's parked records, when the record was parked
    dropped: int = 0  # the oldest parked records dropped to make room for it


@dataclasses.dataclass(frozen=True)
class HazardEventRouted:
    entry: dict[str, Any]  # the hazard's entry after the event
    notifications: list[Envelope]  # one HazardNotification per centre that sees it; key = subject = centre id


def summary_of(entry: Mapping[str, Any]) -> AlarmSummary:
    return AlarmSummary(**entry["summary"])


@dataclasses.dataclass(frozen=True)
class Router:
    directory: Directory
    rules: tuple[Rule, ...]
    ack_timeouts_s: Mapping[str, float]  # per level, as linkage waits them (scaled)
    parked_per_alarm: int
    shape: str = dataclasses.field(default=PER_CENTRE, kw_only=True)  # PER_CENTRE | PER_EVENT
    hazard_rules: tuple[HazardRule, ...] = dataclasses.field(default=(), kw_only=True)

    def alarm_event(self, entry: Mapping[str, Any] | None, envelope: Envelope, *, partition: int,
                    now: dt.datetime) -> AlarmEventRouted | None:
        """The alarm's event folded into its entry, and told to every centre that must see it;
        None for an event that came before the alarm's AlarmReported (nothing to do).

        A redelivered event leaves the summary as it is, and its notifications go out again
        under the same ids, which the gateway drops.
        """
        previous = summary_of(entry) if entry else None
        summary = fold(previous, envelope.subject, envelope.event_name, envelope.data, envelope.streamversion or 0)
        if summary is None:
            return None
        # Every centre told about the alarm once keeps hearing about it: a major fire downgraded to
        # moderate must still close on the neighbouring streets' boards.
        audience = {**(entry["notified"] if entry else {}), **recipients(self.directory, summary, self.rules)}
        kept: dict[str, Any] = {"summary": dataclasses.asdict(summary), "notified": audience}
        if summary.status in CLOSED_STATUSES:
            # kept a while for the records that follow (units recalled); the partition is for the
            # timer that forgets it
            kept |= {"closed_at": now.timestamp(), "partition": partition}
        return AlarmEventRouted(kept, self.notifications(envelope, summary, audience, now=now),
                                self.deadline(summary, envelope))

    def deadline(self, summary: AlarmSummary, envelope: Envelope) -> dict[str, Any] | None | str:
        """The alarm's acknowledgement deadline after `envelope`: {"level", "due"}, None (there is
        none: it is closed, acknowledged at its level or above, or at the top level, with nobody
        above to escalate to), or KEEP. Due times are absolute and come from the events, so a
        restart neither loses nor extends them."""
        level = summary.escalation_level
        if (summary.status in CLOSED_STATUSES or any(lvl in summary.acknowledged for lvl in levels_from(level))
                or level == CHAIN_LEVELS[-1]):
            return None
        if envelope.event_name in ("AlarmReported", "AlarmEscalated"):
            return {"level": level, "due": envelope.time.timestamp() + self.ack_timeouts_s[level]}
        return KEEP

    def unit_record(self, entry: Mapping[str, Any] | None, waiting: Mapping[str, Any] | None, envelope: Envelope, *,
                    partition: int, offset: int, now: dt.datetime, topic: str | None = None) -> UnitRecordRouted:
        """A record about the alarm of `entry` from another topic (`topic`): a dispatch or
        joint-operation record, or the alarm's pre-incident picture. It goes to every centre told
        about that alarm, with the summary unchanged. While the alarm is unknown (the record
        overtook its AlarmReported, or came after the closed alarm was forgotten), the record is
        parked in `waiting`."""
        if entry is None:
            waiting = waiting or {"partition": partition, "records": []}
            records, dropped = park(waiting["records"], envelope, now.timestamp(), limit=self.parked_per_alarm,
                                    offset=offset, topic=topic)
            return UnitRecordRouted([], {**waiting, "records": records}, dropped)
        return UnitRecordRouted(self.notifications(envelope, summary_of(entry), entry["notified"], now=now))

    def notifications(self, envelope: Envelope, summary: AlarmSummary, audience: Mapping[str, str], *,
                      now: dt.datetime) -> list[Envelope]:
        """What `envelope` (an alarm event or a units record) sends to the centres of `audience`:
        one AlarmNotification per centre (PER_CENTRE; key = subject = the centre id), or one
        AlarmRouted listing them (PER_EVENT; key = subject = the alarm id), which the gateway fans
        out into the same notifications."""
        routed_at = now.isoformat()
        if self.shape == PER_EVENT:
            if not audience:
                return []
            return [AlarmRouted(
                centres=tuple(RoutedCentre(centre_id, reason) for centre_id, reason in audience.items()),
                event_id=envelope.id, event_type=envelope.event_name, event_data=envelope.data,
                occurred_at=envelope.time.isoformat(), routed_at=routed_at, alarm=summary,
                open=summary.status not in CLOSED_STATUSES,
            ).envelope(traceparent=envelope.traceparent, correlationid=envelope.correlationid)]
        return [
            AlarmNotification(
                notification_id=notification_id(envelope.id, centre_id), centre_id=centre_id, reason=reason,
                event_id=envelope.id, event_type=envelope.event_name, event_data=envelope.data,
                occurred_at=envelope.time.isoformat(), routed_at=routed_at, alarm=summary,
                open=summary.status not in CLOSED_STATUSES,
            ).envelope(traceparent=envelope.traceparent, correlationid=envelope.correlationid)
            for centre_id, reason in audience.items()
        ]

    def hazard_event(self, entry: Mapping[str, Any] | None, envelope: Envelope, event: Any, *,
                     now: dt.datetime) -> HazardEventRouted | None:
        """A hazard's event (`event`: its hazards.events contract dataclass, checked already)
        folded into its entry and told to every centre that sees the hazard; None before the
        hazard's HazardReported. Whoever was told once keeps hearing (a major hazard downgraded
        at triage still closes on the street's board), and an escalation adds the level above.
        Always one notification per centre (key = centre id), whatever `shape`."""
        previous = HazardSummary(**entry["summary"]) if entry else None
        summary = fold_hazard(previous, envelope.subject, event, envelope.streamversion or 0, self._centre_id)
        if summary is None:
            return None
        audience = {**(entry["notified"] if entry else {}), **hazard_recipients(self.directory, summary,
                                                                                self.hazard_rules)}
        kept: dict[str, Any] = {"summary": dataclasses.asdict(summary), "notified": audience}
        if summary.status in FINISHED_HAZARD_STATUSES:
            kept["closed_at"] = now.timestamp()
        # the contract's fields only, re-serialized: nothing a record adds beyond them reaches a console
        event_data, routed_at = dataclasses.asdict(event), now.isoformat()
        is_open = summary.status in OPEN_HAZARD_STATUSES
        return HazardEventRouted(kept, [
            HazardNotification(
                notification_id=notification_id(envelope.id, centre_id), centre_id=centre_id, reason=reason,
                event_id=envelope.id, event_type=envelope.event_name, event_data=event_data,
                occurred_at=envelope.time.isoformat(), routed_at=routed_at, hazard=summary, open=is_open,
            ).envelope(traceparent=envelope.traceparent, correlationid=envelope.correlationid)
            for centre_id, reason in audience.items()])

    def order_event(self, envelope: Envelope, event_data: dict[str, Any], *, now: dt.datetime) -> list[Envelope]:
        """A service order's transition (`event_data`: the fields its contract lets through), one
        ServiceOrderNotification for each of the community and street centres of the order's
        chain (the record's `divisions`). No state: the record says where it is. A chain naming
        no community of this directory breaks the contract (dead-lettered)."""
        levels = {}
        for code in (envelope.divisions or "").split():
            try:
                levels[self.directory.division(code).level] = code
            except KeyError:
                raise ContractViolation(f"{envelope.type} {envelope.id}: division {code[:64]!r} is in no directory"
                                        " of linkage's") from None
        if Level.COMMUNITY not in levels:
            raise ContractViolation(f"{envelope.type} {envelope.id}: its divisions name no community")
        routed_at = now.isoformat()
        return [ServiceOrderNotification(
            notification_id=notification_id(envelope.id, centre_id), centre_id=centre_id, reason="jurisdiction",
            event_id=envelope.id, event_type=envelope.event_name, event_data=event_data,
            occurred_at=envelope.time.isoformat(), routed_at=routed_at, order_id=envelope.subject,
        ).envelope(traceparent=envelope.traceparent, correlationid=envelope.correlationid)
            for centre_id in dict.fromkeys(self._centre_id(levels[level]) for level in (Level.COMMUNITY, Level.STREET)
                                           if level in levels)]

    def _centre_id(self, division_code: str) -> str:
        return self.directory.centre_of(division_code).id

    def escalation(self, alarm_id: str, level: str) -> EscalateAlarm:
        return EscalateAlarm(alarm_id, level, f"not acknowledged at {level} level within "
                                              f"{self.ack_timeouts_s[level]:.0f} s")

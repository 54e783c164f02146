"""What the volunteers service consumes: `alarms.events`. An AlarmReported alerts the qualified
on-duty volunteers near it; an alarm closing (closed, cancelled, marked false) stands down the
alerts still out. Every other record is skipped unparsed (`wanted`)."""

from __future__ import annotations

import logging

from aiokafka import ConsumerRecord

from linkduty_shared.application import CommandContext
from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts.alarms import ALARM_REPORTED_TYPE, CLOSING_TYPES, alarm_reported_from_data
from linkduty_shared.events.envelope import Envelope

from volunteers.application.responses import ResponsesService

log = logging.getLogger(__name__)


def is_alarm_change(event_type: str) -> bool:
    return event_type == ALARM_REPORTED_TYPE or event_type in CLOSING_TYPES


def alarm_alerts_handler(service: ResponsesService):
    """A record breaking the contract (an AlarmReported's fields, any alarm event's subject):
    ContractViolation, dead-lettered at once by the runner."""

    async def handle(event: Envelope, record: ConsumerRecord) -> None:
        if not is_alarm_change(event.type):
            return
        if not event.subject:
            raise ContractViolation(f"{event.type} {event.id} names no alarm (no subject)")
        ctx = CommandContext.caused_by(event, actor="volunteers:alarm-alerts")
        if event.type in CLOSING_TYPES:
            await service.close(event.subject, ctx)
            return
        alarm = alarm_reported_from_data(event.data)
        if event.subject != alarm.alarm_id:
            raise ContractViolation(f"AlarmReported {event.id}: subject {event.subject!r} is not its alarm_id")
        alerted = await service.alert(alarm, ctx, recorded_at=event.time)
        if alerted is not None:
            log.info("alarm %s: %d volunteer(s) alerted within %g m (%s, %s)", alarm.alarm_id, len(alerted.alerted),
                     alerted.radius_m, alerted.domain, alerted.place)

    return handle

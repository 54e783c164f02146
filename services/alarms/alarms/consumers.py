"""What the alarms service consumes: escalation commands from the linkage app."""

from __future__ import annotations

import logging

from aiokafka import ConsumerRecord

from linkduty_shared.application import AggregateNotFound, CommandContext
from linkduty_shared.events.envelope import Envelope

from alarms.application import AlarmsService

log = logging.getLogger(__name__)


def escalation_handler(service: AlarmsService):
    async def handle(command: Envelope, record: ConsumerRecord) -> None:
        if command.event_name != "EscalateAlarm":
            return  # commands for other services
        data = command.data
        ctx = CommandContext(actor="linkage", correlation_id=command.correlationid, causation_id=command.id)
        try:
            await service.repo.execute(data["alarm_id"], lambda a: a.escalate(data["from_level"], data["reason"]), ctx)
        except AggregateNotFound:
            log.warning("escalation for unknown alarm %s ignored", data["alarm_id"])

    return handle

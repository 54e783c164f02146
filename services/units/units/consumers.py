"""What the units service consumes: the alarms' events, which start, widen and end a dispatch."""

from __future__ import annotations

import datetime as dt
import logging

from aiokafka import ConsumerRecord

from linkduty_shared.application import CommandContext
from linkduty_shared.events.envelope import Envelope

from units.application import Dispatcher, alarm_facts

log = logging.getLogger(__name__)

# Alarm events that end the alarm, and so recall every unit not yet on scene.
ENDING_EVENTS = {"AlarmCancelled": "alarm cancelled", "AlarmMarkedFalse": "false alarm", "AlarmClosed": "alarm closed"}
# The alarm facts that change the run card.
PLANNED_ON = ("kind", "severity")


def alarm_events_handler(dispatcher: Dispatcher, *, max_alarm_age: dt.timedelta):
    async def handle(event: Envelope, record: ConsumerRecord) -> None:
        alarm_id, name = event.subject, event.event_name
        ctx = CommandContext(actor="units", correlation_id=event.correlationid, causation_id=event.id)
        if name == "AlarmReported":
            # The age of the record (LinkDuty's clock), not of the call (the sender's): a call taken
            # in now from a backlog is dispatched; an old record read again (a new group, a reset
            # offset) is not.
            age = dispatcher.clock() - event.time
            if age > max_alarm_age:
                log.info("alarm %s was recorded %s ago: not dispatched automatically", alarm_id, age)
                return
            await dispatcher.dispatch_alarm(alarm_id, name, ctx, facts=alarm_facts(event.data))
        elif name == "AlarmEscalated":
            # Unanswered at a level: plan again, so that a shortfall is filled if forces have come free.
            await dispatcher.dispatch_alarm(alarm_id, name, ctx)
        elif name == "AlarmUpdated":
            changes = {k: v for k, v in event.data["changes"].items() if k in PLANNED_ON}
            if changes:
                await dispatcher.dispatch_alarm(alarm_id, name, ctx, changes=changes)
        elif name in ENDING_EVENTS:
            recalled = await dispatcher.end_dispatch(alarm_id, ENDING_EVENTS[name], ctx)
            if recalled:
                log.info("alarm %s ended (%s): %d unit(s) recalled", alarm_id, name, len(recalled))

    return handle

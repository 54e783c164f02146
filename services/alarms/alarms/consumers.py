"""What the alarms service consumes: escalation commands from the linkage app, and the arrivals
of dispatched units from the units service."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from aiokafka import ConsumerRecord

from linkduty_shared.application import AggregateNotFound, CommandContext
from linkduty_shared.contracts.commands import ESCALATE_ALARM_TYPE, escalate_alarm_from_data
from linkduty_shared.contracts.units import UNIT_ARRIVED_EVENT
from linkduty_shared.events.envelope import Envelope

from alarms.application import AlarmsService

log = logging.getLogger(__name__)


def escalation_handler(service: AlarmsService):
    async def handle(command: Envelope, record: ConsumerRecord) -> None:
        if command.type != ESCALATE_ALARM_TYPE:
            return  # commands for other services
        escalation = escalate_alarm_from_data(command.data)  # ContractViolation: the runner dead-letters it at once
        ctx = CommandContext(actor="linkage", correlation_id=command.correlationid, causation_id=command.id)
        try:
            await service.escalate(escalation.alarm_id, escalation.from_level, escalation.reason, ctx)
        except AggregateNotFound:
            log.warning("escalation for unknown alarm %s ignored", escalation.alarm_id)

    return handle


class MalformedArrival(ValueError):
    """A DispatchedUnitArrived whose data breaks the units contract (the runner dead-letters it)."""


@dataclasses.dataclass(frozen=True)
class UnitArrival:
    alarm_id: str
    unit_id: str
    force_kind: str
    role: str
    at: dt.datetime

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> UnitArrival:
        data = envelope.data
        fields = {}
        for name in ("alarm_id", "unit_id", "force_kind", "role", "at"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise MalformedArrival(f"{envelope.type} {envelope.id}: {name} missing or not a string")
            fields[name] = value
        try:
            at = dt.datetime.fromisoformat(fields.pop("at"))
        except ValueError:
            raise MalformedArrival(f"{envelope.type} {envelope.id}: at {data['at']!r} is not ISO 8601") from None
        return cls(**fields, at=at)


def arrival_handler(service: AlarmsService):
    """`units.events` → ForceArrivedOnScene on the alarm; every other units event is ignored."""

    async def handle(envelope: Envelope, record: ConsumerRecord) -> None:
        if envelope.event_name != UNIT_ARRIVED_EVENT:
            return
        arrival = UnitArrival.from_envelope(envelope)
        ctx = CommandContext(actor="units", correlation_id=envelope.correlationid, causation_id=envelope.id)

        try:
            alarm = await service.record_arrival(arrival.alarm_id, unit_id=arrival.unit_id,
                                                 force_kind=arrival.force_kind, role=arrival.role,
                                                 arrived_at=arrival.at, ctx=ctx)
        except AggregateNotFound:
            log.warning("arrival of unit %s at unknown alarm %s ignored", arrival.unit_id, arrival.alarm_id)
            return
        if arrival.unit_id not in alarm.forces_on_scene:
            log.info("arrival of unit %s at alarm %s, which is %s, not recorded", arrival.unit_id, alarm.id,
                     alarm.status)

    return handle

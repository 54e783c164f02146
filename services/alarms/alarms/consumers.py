"""What the alarms service consumes: escalation commands from the linkage app, the arrivals of
dispatched units from the units service, and networked smoke detectors' alarms from the devices
service (`devices.events` DeviceAlarmRaised / DeviceAlarmCleared)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from aiokafka import ConsumerRecord

from linkduty_shared.application import AggregateNotFound, CommandContext
from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts.commands import ESCALATE_ALARM_TYPE, escalate_alarm_from_data
from linkduty_shared.contracts.devices import (
    ALARM_RAISED_TYPE,
    ALARM_TYPES,
    DeviceAlarmCleared,
    DeviceAlarmRaised,
    DeviceLocation,
    device_event_of,
    episode_key,
)
from linkduty_shared.contracts.units import UNIT_ARRIVED_EVENT
from linkduty_shared.events.envelope import Envelope

from alarms.application import AlarmsService, ReportAlarm
from alarms.application.errors import OutsideTheCity
from alarms.domain.values import Kind, Source, device_alarm_severity

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


def is_device_alarm(event_type: str) -> bool:
    return event_type in ALARM_TYPES


def device_address(where: DeviceLocation) -> str | None:
    """The door a responder goes to ("3幢 5层 502")."""
    return where.door()


def device_alarm_report(raised: DeviceAlarmRaised) -> ReportAlarm:
    """The 119-grade call a detector's new alarm episode is: kind fire, source device, the device
    and its episode as the call id (a redelivered record links nothing twice), severity from who
    is likely inside, the vulnerability kept for the consoles."""
    vulnerability = dataclasses.asdict(raised.vulnerability) if raised.vulnerability is not None else None
    return ReportAlarm(
        source=Source.DEVICE.value, received_at=raised.at, kind=Kind.FIRE.value,
        severity=device_alarm_severity(vulnerability),
        description=f"联网烟感报警 (networked smoke detector alarm): {raised.device_id} ({raised.model})",
        lat=raised.location.lat, lon=raised.location.lon, address=device_address(raised.location),
        call_id=episode_key(raised.device_id, raised.episode_id), place=raised.place,
        vulnerability=vulnerability, device_id=raised.device_id)


def device_alarms_handler(service: AlarmsService):
    """`devices.events` DeviceAlarmRaised → an alarm (or a further call of the open alarm it is
    near: a block of flats going off is one fire); DeviceAlarmCleared → recorded on the alarm
    holding its episode, shown as a possible false alarm, never acted on.

    - a record breaking the contract (its subject not its device id included): ContractViolation,
      dead-lettered at once by the runner;
    - a device in no micro-grid of this directory: dead-lettered (replayable once the devices
      registry and this directory agree);
    - a clear whose raise no alarm took (not seen, or dead-lettered): logged with its ids, skipped.
    Troubles (offline, battery...) are the hazards service's: skipped unparsed (`wanted`)."""

    async def handle(event: Envelope, record: ConsumerRecord) -> None:
        if not is_device_alarm(event.type):
            return
        signal = device_event_of(event)
        # The device is the actor: no person is named (the record carries none).
        ctx = CommandContext.caused_by(event, actor=f"device:{signal.device_id}")
        if event.type == ALARM_RAISED_TYPE:
            assert isinstance(signal, DeviceAlarmRaised)
            try:
                reported = await service.report(device_alarm_report(signal), ctx)
            except OutsideTheCity:
                raise ContractViolation(f"device {signal.device_id} episode {signal.episode_id}: its location lies "
                                        "in no micro-grid of this service's city directory") from None
            log.info("device %s episode %s: alarm %s (%s)", signal.device_id, signal.episode_id, reported.alarm.id,
                     "a further call" if reported.linked else "new")
            return
        assert isinstance(signal, DeviceAlarmCleared)
        alarm = await service.record_device_clear(
            episode_key(signal.device_id, signal.episode_id), device_id=signal.device_id, repeats=signal.repeats,
            after_s=signal.after_s, possible_false_alarm=signal.possible_false_alarm, at=signal.at, ctx=ctx)
        if alarm is None:
            log.warning("device %s episode %s (event %s): alarm cleared, but no alarm took its raise: skipped",
                        signal.device_id, signal.episode_id, event.id)

    return handle

"""What the hazards service consumes: joint patrols' findings on `units.events`, each filed as a
hazard (source joint_patrol), the hazards volunteers found on home visits (`volunteers.events`
ServiceOrderCompleted, source volunteer), networked detectors' troubles (`devices.events`
DeviceTroubleBegan / DeviceTroubleEnded: a maintenance hazard, source device, opened and closed
again), and the AlarmReported of `alarms.events`, each given its pre-incident picture. Every other
record is skipped unparsed (`wanted`)."""

from __future__ import annotations

import logging

from aiokafka import ConsumerRecord

from linkduty_shared.application import CommandContext
from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts.alarms import ALARM_REPORTED_TYPE, alarm_reported_from_data
from linkduty_shared.contracts.devices import (
    TROUBLE_BEGAN_TYPE,
    TROUBLE_TYPES,
    DeviceTroubleBegan,
    DeviceTroubleEnded,
    device_event_of,
    episode_key,
)
from linkduty_shared.contracts.units import PATROL_FINDING_TYPE, patrol_finding_from_data, patrol_finding_ids
from linkduty_shared.contracts.volunteers import ORDER_COMPLETED_TYPE, order_completed_from_data
from linkduty_shared.domain.personal_data import scrub_personal_numbers
from linkduty_shared.events.envelope import Envelope

from hazards.application import HazardsService
from hazards.application.alarm_context import AlarmContextService
from hazards.application.errors import OutsideTheCity
from hazards.domain.patrol_kinds import PatrolKinds

log = logging.getLogger(__name__)


def is_patrol_finding(event_type: str) -> bool:
    return event_type == PATROL_FINDING_TYPE


def patrol_findings_handler(service: HazardsService, kinds: PatrolKinds):
    """`units.events` PatrolFindingLogged → a hazard, once per finding (its event id).

    - a record breaking the contract: ContractViolation, dead-lettered at once by the runner;
    - a finding without a location: skipped (a hazard needs a point to find its grid; the finding
      stays in the patrol's record at units), logged with ids only;
    - a location in no micro-grid: dead-lettered. The contract puts it in the patrol's division of
      the shared city directory, so this directory disagrees with units' one; replayed from the
      DLQ once they agree, it is filed then;
    - a kind the mapping does not know: filed under its default category, logged."""

    async def handle(event: Envelope, record: ConsumerRecord) -> None:
        if not is_patrol_finding(event.type):
            return
        patrol_id, finding_id = patrol_finding_ids(event.subject, event.id)
        finding = patrol_finding_from_data(event.data)
        if not finding.located:
            log.info("patrol %s finding %s has no location: not filed as a hazard", patrol_id, finding_id)
            return
        if not kinds.knows(finding.hazard_kind):
            log.warning("patrol %s finding %s: unknown hazard kind %r, filed as %s", patrol_id, finding_id,
                        scrub_personal_numbers(finding.hazard_kind), kinds.default)  # never a number in a log
        # The patrol is the actor (no person: its members are forces, counted, never named).
        ctx = CommandContext.caused_by(event, actor=f"patrol:{patrol_id}")
        try:
            hazard = await service.file_finding(finding_id, ctx, category=kinds.category_of(finding.hazard_kind),
                                                       text=finding.text, lat=finding.lat, lon=finding.lon)
        except OutsideTheCity:
            raise ContractViolation(f"patrol {patrol_id} finding {finding_id}: its location lies in no micro-grid "
                                    "of this service's city directory") from None
        if hazard is None:
            log.info("patrol %s finding %s: already filed", patrol_id, finding_id)

    return handle


def is_order_completed(event_type: str) -> bool:
    return event_type == ORDER_COMPLETED_TYPE


def volunteer_findings_handler(service: HazardsService, default_category: str):
    """`volunteers.events` ServiceOrderCompleted → each hazard found on the visit filed, once per
    finding id. A record breaking the contract, or a finding in no micro-grid of this directory:
    dead-lettered (replayable once the directories agree). A category the taxonomy does not
    know: filed under `default_category`, logged."""

    async def handle(event: Envelope, record: ConsumerRecord) -> None:
        if not is_order_completed(event.type):
            return
        completed = order_completed_from_data(event.data)
        ctx = CommandContext.caused_by(event, actor=f"volunteer:{completed.volunteer_id}")
        for found in completed.hazards_found:
            category = found.category if found.category in service.taxonomy else default_category
            if category != found.category:
                log.warning("order %s finding %s: unknown category %r, filed as %s", event.subject, found.finding_id,
                            scrub_personal_numbers(found.category), category)
            try:
                await service.file_finding(found.finding_id, ctx, category=category, text=found.description,
                                           lat=found.lat, lon=found.lon, source="volunteer")
            except OutsideTheCity:
                raise ContractViolation(f"order {event.subject} finding {found.finding_id}: its location lies in no "
                                        "micro-grid of this service's city directory") from None

    return handle


def is_device_trouble(event_type: str) -> bool:
    return event_type in TROUBLE_TYPES


# What a maintainer reads first, by the contract's trouble (devices.TROUBLES); the device's `detail` follows.
TROUBLE_TEXT = {
    "offline": "联网烟感离线 (detector offline)",
    "low_battery": "联网烟感电量低 (detector battery low)",
    "fault": "联网烟感故障 (detector fault)",
    "tamper": "联网烟感被拆动 (detector tampered with)",
}


def trouble_text(trouble: DeviceTroubleBegan) -> str:
    """The hazard's description: the trouble, the device and its model, and the device's detail."""
    head = TROUBLE_TEXT.get(trouble.trouble, trouble.trouble)
    detail = trouble.detail.strip()
    return f"{head}: {trouble.device_id} ({trouble.model})" + (f". {detail}" if detail else "")


def trouble_place(trouble: DeviceTroubleBegan) -> str | None:
    """Where in the building the device is, as a maintainer reads it ("3号楼 5层 502室")."""
    return trouble.location.door(flat_suffix="室")


def device_troubles_handler(service: HazardsService, category: str):
    """`devices.events` DeviceTroubleBegan → one maintenance hazard (source device, `category`)
    per trouble episode, at the device's point; DeviceTroubleEnded → that episode's hazard closed
    as resolved at its source (HazardResolvedAtSource).

    - once per episode: the hazard's id is a UUID 5 of the device and episode (`device_hazard_id`); a
      redelivered Began finds its hazard and files nothing, a redelivered Ended finds it closed;
    - a record breaking the contract (its subject not its device id included): ContractViolation,
      dead-lettered at once by the runner;
    - a device in no micro-grid of this directory: dead-lettered (replayable once the devices
      registry and this directory agree);
    - an Ended whose hazard was never filed (its Began not seen, or dead-lettered): logged with
      its ids, skipped."""

    async def handle(event: Envelope, record: ConsumerRecord) -> None:
        if not is_device_trouble(event.type):
            return
        trouble = device_event_of(event)
        # The device is the actor: no person is named (the record carries none).
        ctx = CommandContext.caused_by(event, actor=f"device:{trouble.device_id}")
        if event.type == TROUBLE_BEGAN_TYPE:
            assert isinstance(trouble, DeviceTroubleBegan)
            try:
                hazard = await service.file_finding(
                    episode_key(trouble.device_id, trouble.episode_id), ctx, category=category, text=trouble_text(trouble),
                    lat=trouble.location.lat, lon=trouble.location.lon, source="device",
                    address=trouble_place(trouble))
            except OutsideTheCity:
                raise ContractViolation(f"device {trouble.device_id} episode {trouble.episode_id}: its location lies "
                                        "in no micro-grid of this service's city directory") from None
            if hazard is None:
                log.info("device %s episode %s: already filed", trouble.device_id, trouble.episode_id)
            return
        assert isinstance(trouble, DeviceTroubleEnded)
        hazard = await service.resolve_at_source(episode_key(trouble.device_id, trouble.episode_id), ctx,
                                                 how=trouble.how)
        if hazard is None:
            log.warning("device %s episode %s (event %s): trouble ended, but no hazard was filed for it: skipped",
                        trouble.device_id, trouble.episode_id, event.id)
        elif hazard.resolved_at_source is None:
            log.info("device %s episode %s: trouble ended, hazard %s already %s: left as it is", trouble.device_id,
                     trouble.episode_id, hazard.id, hazard.status)

    return handle


def is_alarm_reported(event_type: str) -> bool:
    return event_type == ALARM_REPORTED_TYPE


def alarm_context_handler(service: AlarmContextService):
    """`alarms.events` AlarmReported → the alarm's pre-incident picture, once per alarm (its id).
    A record breaking the contract: ContractViolation, dead-lettered at once by the runner. Every
    other alarm event is skipped unparsed (`wanted`)."""

    async def handle(event: Envelope, record: ConsumerRecord) -> None:
        if not is_alarm_reported(event.type):
            return
        alarm = alarm_reported_from_data(event.data)
        if event.subject and event.subject != alarm.alarm_id:
            raise ContractViolation(f"AlarmReported {event.id}: subject {event.subject!r} is not its alarm_id")
        ctx = CommandContext.caused_by(event, actor="hazards:alarm-context")
        taken = await service.attach(alarm, ctx, recorded_at=event.time)
        if taken is not None:
            log.info("alarm %s: picture attached (venue %s, %d open hazard(s), %d overdue)", alarm.alarm_id,
                     taken.venue["venue_id"] if taken.venue else None, taken.open_hazards, taken.overdue_hazards)

    return handle

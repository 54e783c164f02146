"""Alarms application service: every command a unit of work over the alarm streams, with the
intake's extra steps (jurisdiction lookup, duplicate-call matching, the PII vault) in the same
transaction. Refusals are domain errors (`alarms.application.errors`); nothing here knows HTTP."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from linkduty_shared.application import (
    AggregateNotFound,
    CommandContext,
    EventSourcedRepository,
    Transaction,
    UnitOfWork,
)
from linkduty_shared.auth import Principal
from linkduty_shared.cap import CapAlert
from linkduty_shared.domain.personal_data import mask_phone, scrub_personal_numbers
from linkduty_shared.contracts.alarms import CHAIN_LEVELS
from linkduty_shared.eventstore import EventStore
from linkduty_shared.ids import time_ordered_uuid
from linkduty_shared.jurisdictions import Chain, Directory, OutsideJurisdiction

from linkduty_shared import vault as pii
from alarms.application.commands import ReportAlarm, Reported
from alarms.application.errors import (
    CapAlreadyReceived,
    CapNotActedOn,
    NotACentre,
    NotResponsible,
    NotTheOriginalSender,
    OutsideTheCity,
    OutsideYourJurisdiction,
    UnknownCentre,
    UnknownReferencedAlert,
)
from alarms.cap_mapping import cap_ref, changes_from_cap, report_from_cap
from alarms.domain.alarm import Alarm
from alarms.domain.values import refuse_future, responder_vulnerability
from alarms.projections.cap_messages import CapMessages, alarm_for_references, known_message
from alarms.projections.device_calls import DeviceCalls, alarm_of_device_call
from alarms.projections.open_alarms import OpenAlarms, find_duplicate

SOURCE = "/linkduty/alarms"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AlarmsService:
    def __init__(self, store: EventStore, directory: Directory, *, topic: str, duplicate_radius_m: float,
                 duplicate_window: dt.timedelta, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.store, self.clock = store, clock
        self.directory = directory
        self.repo = EventSourcedRepository(store, Alarm, source=SOURCE, topic=topic,
                                           inline_projections=(OpenAlarms(), CapMessages(), DeviceCalls()),
                                           chain=lambda alarm: tuple(alarm.jurisdiction.values()))
        self.uow = UnitOfWork(store)
        self.duplicate_radius_m = duplicate_radius_m
        self.duplicate_window = duplicate_window

    # ---- reads -------------------------------------------------------------------------------

    async def read(self, alarm_id: str, principal: Principal, *, version: int | None = None,
                   as_of: dt.datetime | None = None) -> Alarm:
        """The alarm now, or as it was at a version or a moment; not found outside the caller's jurisdiction."""
        return await self.repo.get(alarm_id, visible_to=principal, up_to_version=version, as_of=as_of)

    def resolve(self, lat: float, lon: float) -> Chain:
        try:
            return self.directory.resolve(lat, lon)
        except OutsideJurisdiction:
            raise OutsideTheCity(f"({lat}, {lon}) is in no micro-grid of {self.directory.city.name}") from None

    def division_names(self, jurisdiction: dict[str, str]) -> dict[str, str]:
        return {level: self.directory.division(code).name for level, code in jurisdiction.items() if level != "grid"}

    # ---- the intake --------------------------------------------------------------------------

    async def report(self, cmd: ReportAlarm, ctx: CommandContext, principal: Principal | None = None) -> Reported:
        """Take in a call. A call that joins an alarm someone else just changed (an
        acknowledgement, an escalation) is matched and decided again: a 119 call is never refused
        for a concurrent update.

        A reporter reports only inside its jurisdiction, and its call is linked only to an alarm
        it may see (the whole city for the service's own actor). A reporter must be able to read
        and split what its call joined: a partner limited to one community, reporting a fire 87 m
        across a district border, opens an alarm of its own (both are dispatched; the centres
        above see both, side by side) rather than joining one it can neither see nor correct."""
        refuse_future(cmd.received_at, self.clock(), "sent" if cmd.cap else "received_at")
        chain = self.resolve(cmd.lat, cmd.lon)
        if principal is not None and not principal.may_see(tuple(d.code for d in chain.divisions())):
            raise OutsideYourJurisdiction(
                f"{chain.community.name} ({chain.community.code}) is not in your jurisdiction claim")
        within = list(principal.jurisdiction) if principal is not None else [self.directory.city.code]
        call_id = cmd.call_id or str(time_ordered_uuid())
        return await self.uow.run(lambda tx: self._take_call(tx, cmd, chain, call_id, within), ctx)

    async def _take_call(self, tx: Transaction, cmd: ReportAlarm, chain: Chain, call_id: str,
                         within: list[str]) -> Reported:
        conn = tx.conn
        # One intake at a time per street: two calls about one fire a moment apart must not
        # both open an alarm. Calls in different streets do not wait for each other.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", chain.street.code)
        if cmd.device_id is not None and (held := await alarm_of_device_call(conn, call_id)) is not None:
            # A detector's episode taken in already (redelivered, even after the duplicate window,
            # or its alarm closed since): nothing stored again.
            return Reported(await tx.load(self.repo, held), call_id, linked=True)
        # Phone and ID numbers typed into free text are masked before anything records it; what
        # was typed is kept whole in the vault, erasable like the caller's number.
        description = scrub_personal_numbers(cmd.description)
        address = scrub_personal_numbers(cmd.address) if cmd.address else cmd.address
        location = {"lat": cmd.lat, "lon": cmd.lon, "address": address}
        if cmd.place:
            location["place"] = cmd.place
        vulnerability = responder_vulnerability(cmd.vulnerability)
        match = await find_duplicate(conn, kind=cmd.kind, lat=cmd.lat, lon=cmd.lon, received_at=cmd.received_at,
                                     radius_m=self.duplicate_radius_m, window=self.duplicate_window, within=within)
        alarm = await tx.load(self.repo, match[0]) if match is not None else None
        if alarm is not None and call_id in alarm.calls:
            return Reported(alarm, call_id, linked=True)  # the same call resent: taken in already, nothing stored
        caller_masked = mask_phone(cmd.caller_phone)
        caller_ref = await pii.store(conn, cmd.caller_phone) if cmd.caller_phone else None
        free_text_ref = None if (description, address) == (cmd.description, cmd.address) else await pii.store(
            conn, json.dumps({"description": cmd.description, "address": cmd.address}, ensure_ascii=False))
        if alarm is not None:
            alarm.link_call(call_id=call_id, source=cmd.source, received_at=cmd.received_at.isoformat(),
                            location=location, description=description, distance_m=match[1], cap=cmd.cap,
                            caller_masked=caller_masked, caller_ref=caller_ref, free_text_ref=free_text_ref,
                            vulnerability=vulnerability, device_id=cmd.device_id)
        else:
            alarm = Alarm(str(time_ordered_uuid()))
            alarm.report(call_id=call_id, source=cmd.source, received_at=cmd.received_at.isoformat(),
                         kind=cmd.kind, severity=cmd.severity, description=description, location=location,
                         jurisdiction=chain.codes(), cap=cmd.cap, caller_masked=caller_masked,
                         caller_ref=caller_ref, free_text_ref=free_text_ref, vulnerability=vulnerability,
                         device_id=cmd.device_id)
        await tx.save(self.repo, alarm)
        return Reported(alarm, call_id, linked=match is not None)

    async def take_cap(self, alert: CapAlert, ctx: CommandContext, principal: Principal) -> Reported | Alarm:
        """A partner's CAP 1.2 message: an Alert is a call (`Reported`); an Update or Cancel changes
        the alarm its references name (that `Alarm`), and only its original sender may send it."""
        if alert.status != "Actual":
            raise CapNotActedOn("cap-status-not-accepted", "Only Actual alerts become alarms",
                                f"status {alert.status} is not acted on")
        async with self.store.pool.acquire() as conn:
            if await known_message(conn, alert.sender, alert.identifier):
                raise CapAlreadyReceived(f"{alert.sender}/{alert.identifier}")
            target = await alarm_for_references(conn, [(r.sender, r.identifier) for r in alert.references])
        if alert.msg_type == "Alert":
            return await self.report(report_from_cap(alert), ctx, principal)
        if alert.msg_type not in ("Update", "Cancel"):
            raise CapNotActedOn("cap-msgtype-not-accepted", "This CAP message type is not acted on",
                                f"CAP {alert.msg_type} messages are not acted on: send Alert, Update or Cancel")
        refs = ", ".join(f"{r.sender}/{r.identifier}" for r in alert.references)
        if target is None:
            raise UnknownReferencedAlert(f"no alarm was made from {refs}")
        ref = cap_ref(alert)

        def decide(alarm: Alarm) -> None:
            # Here, after the unit of work found the alarm inside the caller's jurisdiction: one
            # outside it is answered as an unknown one, before any check could tell them apart.
            if any(r.sender != alert.sender for r in alert.references) or (
                    alarm.cap and alarm.cap["sender"] != alert.sender):
                raise NotTheOriginalSender(f"{alert.sender} may update or cancel only its own alerts, not {refs}")
            principal.require("alarms:operate")  # changing an alarm is more than reporting one
            refuse_future(alert.sent, self.clock(), "sent")
            if alert.msg_type == "Update":
                alarm.update(changes_from_cap(alert), by=alert.sender, cap=ref)
            else:
                alarm.cancel(by=alert.sender, reason=alert.note or "cancelled by CAP", cap=ref)

        try:
            return await self.uow.execute(self.repo, target, decide, ctx, principal=principal)
        except AggregateNotFound:
            raise UnknownReferencedAlert(f"no alarm was made from {refs}") from None

    # ---- the alarm's lifecycle -----------------------------------------------------------------

    async def change(self, alarm_id: str, decide: Callable[[Alarm], object], ctx: CommandContext,
                     principal: Principal, *, expected_version: int | None = None) -> Alarm:
        """A centre's command on an alarm it may see (verify, mark false, control, cancel, close)."""
        return await self.uow.execute(self.repo, alarm_id, decide, ctx, principal=principal,
                                      expected_version=expected_version)

    async def acknowledge(self, alarm_id: str, ctx: CommandContext, principal: Principal) -> tuple[Alarm, str, str]:
        """The caller's operations centre (its token's `centre`) acknowledges the alarm at the level
        the centre sits in the alarm's chain. Returns the alarm, the centre and that level."""
        if not principal.centre:
            raise NotACentre("the token has no centre claim")
        try:
            centre = self.directory.centre(principal.centre)
        except KeyError:
            raise UnknownCentre(principal.centre) from None
        level = ""

        def decide(alarm: Alarm) -> None:
            nonlocal level
            found = self.level_of_centre(alarm, centre.division_code)
            if found is None:
                raise NotResponsible(f"{centre.name} does not cover {alarm.jurisdiction['community']}")
            level = found
            alarm.acknowledge(centre.id, level, by=principal.client_id)

        alarm = await self.uow.execute(self.repo, alarm_id, decide, ctx, principal=principal)
        return alarm, centre.id, level

    async def split_call(self, alarm_id: str, call_id: str, ctx: CommandContext, principal: Principal) -> Alarm:
        """Split a wrongly merged call out into an alarm of its own (two streams, one transaction)."""
        async def work(tx: Transaction) -> Alarm:
            original = await tx.get(self.repo, alarm_id)
            new_alarm = Alarm(str(time_ordered_uuid()))
            call = original.split_call(call_id, new_alarm.id, by=ctx.actor or "unknown")
            chain = self.resolve(call.location["lat"], call.location["lon"])
            new_alarm.report(call_id=call.call_id, source=call.source, received_at=call.received_at,
                             kind=original.kind, severity=original.severity, description=original.description,
                             location=call.location, jurisdiction=chain.codes(),
                             caller_masked=call.caller_masked, caller_ref=None, split_from=original.id,
                             vulnerability=call.vulnerability, device_id=call.device_id)
            await tx.save(self.repo, original)
            await tx.save(self.repo, new_alarm)
            return new_alarm

        return await self.uow.run(work, ctx, principal=principal)

    # ---- what other services ask -------------------------------------------------------------

    async def escalate(self, alarm_id: str, from_level: str, reason: str, ctx: CommandContext) -> Alarm:
        """Linkage's escalation timer: nobody at `from_level` acknowledged in time."""
        return await self.uow.execute(self.repo, alarm_id, lambda a: a.escalate(from_level, reason), ctx)

    async def record_arrival(self, alarm_id: str, *, unit_id: str, force_kind: str, role: str,
                             arrived_at: dt.datetime, ctx: CommandContext) -> Alarm:
        """A dispatched unit reported itself on scene (from `units.events`)."""
        return await self.uow.execute(
            self.repo, alarm_id,
            lambda a: a.record_arrival(unit_id=unit_id, force_kind=force_kind, role=role, arrived_at=arrived_at),
            ctx)

    async def record_device_clear(self, call_id: str, *, device_id: str, repeats: int, after_s: float,
                                  possible_false_alarm: bool, at: dt.datetime, ctx: CommandContext) -> Alarm | None:
        """A detector reported "alarm cleared" for its episode, the call `call_id` (from
        `devices.events`): recorded on the alarm holding that call. None when no alarm ever took
        the call (its raise not seen, or dead-lettered)."""
        async with self.store.pool.acquire() as conn:
            alarm_id = await alarm_of_device_call(conn, call_id)
        if alarm_id is None:
            return None
        return await self.uow.execute(
            self.repo, alarm_id,
            lambda a: a.record_device_clear(call_id=call_id, device_id=device_id, repeats=repeats, after_s=after_s,
                                            possible_false_alarm=possible_false_alarm, at=at),
            ctx)

    def level_of_centre(self, alarm: Alarm, centre_division: str) -> str | None:
        """The level at which a centre's division sits in the alarm's chain, if it does."""
        for level in CHAIN_LEVELS:
            if alarm.jurisdiction.get(level) == centre_division:
                return level
        return None



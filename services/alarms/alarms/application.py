"""Alarms application service: load → decide → append, with the intake's extra steps
(jurisdiction lookup, duplicate-call matching, the PII vault) in the same transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence

from linkduty_shared.api.problems import Problem
from linkduty_shared.application import CommandContext, EventSourcedRepository
from linkduty_shared.contracts.alarms import CHAIN_LEVELS
from linkduty_shared.eventstore import ConcurrencyConflict, EventStore
from linkduty_shared.jurisdictions import Chain, Directory, OutsideJurisdiction

from alarms import pii
from alarms.domain.alarm import Alarm
from alarms.domain.values import mask_phone, refuse_future, scrub_personal_numbers
from alarms.projections.cap_messages import CapMessages
from alarms.projections.open_alarms import OpenAlarms, find_duplicate

SOURCE = "/linkduty/alarms"


@dataclasses.dataclass(frozen=True)
class ReportAlarm:
    """A call reaching the intake (接警). `call_id` de-duplicates a call the intake resends."""

    source: str
    received_at: dt.datetime
    kind: str
    severity: str
    description: str
    lat: float
    lon: float
    address: str | None = None
    caller_phone: str | None = None
    call_id: str | None = None
    cap: dict | None = None


@dataclasses.dataclass(frozen=True)
class Reported:
    alarm: Alarm
    call_id: str
    linked: bool  # True: the call joined an open alarm as a further call


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AlarmsService:
    def __init__(self, store: EventStore, directory: Directory, *, topic: str, duplicate_radius_m: float,
                 duplicate_window: dt.timedelta, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.store, self.clock = store, clock
        self.directory = directory
        self.repo = EventSourcedRepository(store, Alarm, source=SOURCE, topic=topic,
                                           inline_projections=(OpenAlarms(), CapMessages()))
        self.duplicate_radius_m = duplicate_radius_m
        self.duplicate_window = duplicate_window

    def resolve(self, lat: float, lon: float) -> Chain:
        try:
            return self.directory.resolve(lat, lon)
        except OutsideJurisdiction:
            raise Problem(422, "outside-jurisdiction", "Location is outside the city's jurisdiction",
                          f"({lat}, {lon}) is in no micro-grid of {self.directory.city.name}") from None

    async def report(self, cmd: ReportAlarm, ctx: CommandContext, chain: Chain | None = None, *,
                     within: Sequence[str] | None = None) -> Reported:
        """Take in a call. A call that joins an alarm someone else just changed (an
        acknowledgement, an escalation) is matched and decided again: a 119 call is never refused
        for a concurrent update.

        A call is linked only to an alarm inside `within`, the divisions its reporter may see
        (its token's jurisdiction; the whole city when None). A reporter must be able to read and
        split what its call joined: a partner limited to one community, reporting a fire 87 m
        across a district border, opens an alarm of its own (both are dispatched; the centres
        above see both, side by side) rather than joining one it can neither see nor correct."""
        refuse_future(cmd.received_at, self.clock(), "sent" if cmd.cap else "received_at")
        chain = chain or self.resolve(cmd.lat, cmd.lon)
        call_id = cmd.call_id or str(uuid.uuid4())
        for attempt in range(1, 4):
            try:
                return await self._report_once(cmd, ctx, chain, call_id,
                                               list(within) if within is not None else [self.directory.city.code])
            except ConcurrencyConflict:
                if attempt == 3:
                    raise
        raise AssertionError("unreachable")

    async def _report_once(self, cmd: ReportAlarm, ctx: CommandContext, chain: Chain, call_id: str,
                           within: list[str]) -> Reported:
        # Phone and ID numbers typed into free text are masked before anything records it; what
        # was typed is kept whole in the vault, erasable like the caller's number.
        description = scrub_personal_numbers(cmd.description)
        address = scrub_personal_numbers(cmd.address) if cmd.address else cmd.address
        location = {"lat": cmd.lat, "lon": cmd.lon, "address": address}
        async with self.store.pool.acquire() as conn, conn.transaction():
            # One intake at a time per street: two calls about one fire a moment apart must not
            # both open an alarm. Calls in different streets do not wait for each other.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", chain.street.code)
            caller = {
                "caller_masked": mask_phone(cmd.caller_phone),
                "caller_ref": await pii.store(conn, cmd.caller_phone) if cmd.caller_phone else None,
                "free_text_ref": None if (description, address) == (cmd.description, cmd.address)
                else await pii.store(conn, json.dumps({"description": cmd.description, "address": cmd.address},
                                                      ensure_ascii=False)),
            }
            match = await find_duplicate(conn, kind=cmd.kind, lat=cmd.lat, lon=cmd.lon, received_at=cmd.received_at,
                                         radius_m=self.duplicate_radius_m, window=self.duplicate_window, within=within)
            if match is not None:
                alarm = await self.repo.load(match[0], conn=conn)
                alarm.link_call(call_id=call_id, source=cmd.source, received_at=cmd.received_at.isoformat(),
                                location=location, description=description, distance_m=match[1],
                                cap=cmd.cap, **caller)
            else:
                alarm = Alarm(str(uuid.uuid4()))
                alarm.report(call_id=call_id, source=cmd.source, received_at=cmd.received_at.isoformat(),
                             kind=cmd.kind, severity=cmd.severity, description=description, location=location,
                             jurisdiction=chain_codes(chain), cap=cmd.cap, **caller)
            await self.repo.save(alarm, ctx, conn=conn)
        self.store.committed()
        return Reported(alarm, call_id, linked=match is not None)

    async def split_call(self, alarm_id: str, call_id: str, ctx: CommandContext) -> Alarm:
        """Split a wrongly merged call out into an alarm of its own (two events, one transaction)."""
        async with self.store.pool.acquire() as conn, conn.transaction():
            original = await self.repo.get(alarm_id, conn=conn)
            new_alarm = Alarm(str(uuid.uuid4()))
            call = original.split_call(call_id, new_alarm.id, by=ctx.actor or "unknown")
            chain = self.resolve(call.location["lat"], call.location["lon"])
            new_alarm.report(call_id=call.call_id, source=call.source, received_at=call.received_at,
                             kind=original.kind, severity=original.severity, description=original.description,
                             location=call.location, jurisdiction=chain_codes(chain),
                             caller_masked=call.caller_masked, caller_ref=None, split_from=original.id)
            await self.repo.save(original, ctx, conn=conn)
            await self.repo.save(new_alarm, ctx, conn=conn)
        self.store.committed()
        return new_alarm

    def level_of_centre(self, alarm: Alarm, centre_division: str) -> str | None:
        """The level at which a centre's division sits in the alarm's chain, if it does."""
        for level in CHAIN_LEVELS:
            if alarm.jurisdiction.get(level) == centre_division:
                return level
        return None


def chain_codes(chain: Chain) -> dict[str, str]:
    return {"grid": chain.grid.code, "community": chain.community.code, "street": chain.street.code,
            "district": chain.district.code, "city": chain.city.code}

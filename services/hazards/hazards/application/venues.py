"""The venue registry (场所台账) and its inspections (检查): every command a unit of work, an
inspection's venue, checklist, opened hazards and re-inspections in one transaction.

Personal data: a venue's responsible person and fire-safety contact go to the vault (name and
phone, JSON), masked in events and answers, erasable (`erase_contacts`) without touching an event.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable

from linkduty_shared import vault
from linkduty_shared.application import CommandContext, EventSourcedRepository, PreconditionFailed, Transaction, UnitOfWork
from linkduty_shared.auth import Principal
from linkduty_shared.domain import DomainError
from linkduty_shared.domain.personal_data import mask_phone, scrub_personal_numbers
from linkduty_shared.eventstore import ConcurrencyConflict
from linkduty_shared.ids import time_ordered_uuid

from hazards.application.venue_import import Row
from hazards.application.commands import ChangeVenue, Inspected, Person, RecordInspection, RegisterVenue, ReportHazard
from hazards.application.errors import (
    OutsideYourJurisdiction,
    ReinspectionMismatch,
    UnknownFireStation,
    UnknownVenueKind,
)
from hazards.application.service import SOURCE, HazardsService
from hazards.domain.hazard import Hazard
from hazards.domain.values import ItemResult, ParticipantRole, ReinspectionOutcome
from hazards.domain.venue import Contact, Inspection, Venue
from hazards.domain.venue_kinds import VenueKind, VenueKinds
from hazards.projections.statistics import InspectionStatistics, VenueStatistics
from hazards.projections.venue_list import VenueList, overdue_venues

log = logging.getLogger(__name__)

LEDGER = uuid.UUID("0b7f3c7e-2f0e-4d6b-8a51-3c9d4f6e1a22")  # namespace of imported venues' ids
IMPORT_BATCH = 200  # venues a transaction (a 5,000-row ledger: 25 of them)
STATION_KINDS = ("fire_rescue_station", "micro_fire_station")


def ledger_venue_id(street: str, ledger_ref: str) -> str:
    """The venue a street's ledger row is registered as: always the same one, so importing the
    ledger again finds the venues it registered before."""
    return str(uuid.uuid5(LEDGER, f"{street}\x00{ledger_ref}"))


class VenuesService:
    def __init__(self, hazards: HazardsService, kinds: VenueKinds, *, topic: str) -> None:
        self.hazards, self.kinds = hazards, kinds
        self.store, self.directory = hazards.store, hazards.directory
        self.repo = EventSourcedRepository(self.store, Venue, source=SOURCE, topic=topic,
                                           inline_projections=(VenueList(), VenueStatistics()),
                                           chain=lambda venue: tuple(venue.jurisdiction.values()))
        self.inspections = EventSourcedRepository(self.store, Inspection, source=SOURCE, topic=topic,
                                                  inline_projections=(InspectionStatistics(),),
                                                  chain=lambda i: tuple(i.recorded.jurisdiction.values())
                                                  if i.recorded else ())
        self.uow = UnitOfWork(self.store)
        self.stations = {f.id: f for f in self.directory.forces() if f.kind in STATION_KINDS}

    @property
    def clock(self) -> Callable[[], dt.datetime]:
        return self.hazards.clock  # one clock for the hazards and the venues they are found at

    def kind(self, kind_id: str) -> VenueKind:
        if kind_id not in self.kinds:
            raise UnknownVenueKind(kind_id, self.kinds.ids())
        return self.kinds[kind_id]

    def _located(self, lat: float, lon: float, address: str | None, principal: Principal) -> tuple[dict, dict]:
        chain = self.hazards.resolve(lat, lon)
        jurisdiction = chain.codes()
        if not principal.may_see(tuple(jurisdiction.values())):
            raise OutsideYourJurisdiction(
                f"{chain.community.name} ({chain.community.code}) is not in your jurisdiction claim")
        location = {"lat": lat, "lon": lon, "address": scrub_personal_numbers(address) if address else address}
        return location, jurisdiction

    @staticmethod
    async def _contact(conn, person: Person | None) -> Contact:
        """Into the vault whole, masked for the events; nothing given, nothing kept."""
        if person is None or not (person.name or person.phone):
            return Contact(None, None)
        ref = await vault.store(conn, json.dumps(dataclasses.asdict(person), ensure_ascii=False))
        return Contact(mask_phone(person.phone) or "***", ref)

    # ---- the registry ------------------------------------------------------------------------

    async def register(self, cmd: RegisterVenue, ctx: CommandContext, principal: Principal) -> tuple[Venue, bool]:
        """A new venue (201), or, for a ledger row registered before, the one it is, its details
        brought up to date (returns it and False)."""
        outcome = await self.register_many([cmd], ctx, principal)
        return outcome[0]

    async def register_many(self, cmds: list[RegisterVenue], ctx: CommandContext,
                            principal: Principal) -> list[tuple[Venue, bool]]:
        """Venues in one transaction (an import's batch): each new (True) or the one its ledger row
        registered before, updated (False). A refusal of any refuses them all: the import checks
        its rows first (`registrable`) so that one bad row never costs the good ones."""
        checked = [(cmd, self.kind(cmd.kind), *self._located(cmd.lat, cmd.lon, cmd.address, principal)) for cmd in cmds]

        async def work(tx: Transaction) -> list[tuple[Venue, bool]]:
            done, at = [], self.clock()
            for cmd, kind, location, jurisdiction in checked:
                venue_id = (ledger_venue_id(jurisdiction["street"], cmd.ledger_ref) if cmd.ledger_ref
                            else str(time_ordered_uuid()))
                venue = await tx.load(self.repo, venue_id)
                if venue.exists:
                    if venue.is_active:
                        venue.change_details(by=principal.client_id, at=at, name=cmd.name, kind=kind,
                                             floor_area_m2=cmd.floor_area_m2, address=location["address"],
                                             location=location, jurisdiction=jurisdiction)
                    await tx.save(self.repo, venue)
                    done.append((venue, False))
                    continue
                venue.register(kind=kind, name=scrub_personal_numbers(cmd.name), location=location,
                               jurisdiction=jurisdiction, risk_class=cmd.risk_class, floor_area_m2=cmd.floor_area_m2,
                               responsible=await self._contact(tx.conn, cmd.responsible),
                               contact=await self._contact(tx.conn, cmd.contact), ledger_ref=cmd.ledger_ref,
                               by=principal.client_id, at=at)
                await tx.save(self.repo, venue)
                done.append((venue, True))
            return done

        return await self.uow.run(work, ctx, principal=principal)

    async def import_ledger(self, rows: list[Row], ctx: CommandContext, principal: Principal) -> dict:
        """A ledger's rows: the bad ones reported by line, with why; the good ones registered (or,
        registered before, updated), in batches of `IMPORT_BATCH` a transaction."""
        rejected = [{"line": r.line, "errors": list(r.errors)} for r in rows if r.venue is None]
        readable = [r for r in rows if r.venue is not None]
        registered = updated = 0
        # Checked a batch at a time, between the batches' transactions: 5,000 rows checked in one
        # go would hold the event loop for their whole check.
        for start in range(0, len(readable), IMPORT_BATCH):
            batch = []
            for row in readable[start:start + IMPORT_BATCH]:
                try:
                    self.registrable(row.venue, principal)
                    batch.append(row)
                except DomainError as error:
                    rejected.append({"line": row.line, "errors": [str(error)]})
            if not batch:
                continue
            try:
                outcomes = await self.register_many([r.venue for r in batch], ctx, principal)
            except DomainError:  # one of them refused after all (two rows of one ledger id): row by row
                outcomes = []
                for row in batch:
                    try:
                        outcomes += await self.register_many([row.venue], ctx, principal)
                    except DomainError as error:
                        rejected.append({"line": row.line, "errors": [str(error)]})
            registered += sum(new for _, new in outcomes)
            updated += sum(not new for _, new in outcomes)
        return {"registered": registered, "updated": updated,
                "rejected": sorted(rejected, key=lambda r: r["line"])}

    def registrable(self, cmd: RegisterVenue, principal: Principal) -> None:
        """Raises what `register` would refuse the row for, without writing anything."""
        kind = self.kind(cmd.kind)
        location, jurisdiction = self._located(cmd.lat, cmd.lon, cmd.address, principal)
        probe = Venue("probe")
        probe.register(kind=kind, name=cmd.name, location=location, jurisdiction=jurisdiction,
                       risk_class=cmd.risk_class, floor_area_m2=cmd.floor_area_m2, responsible=Contact(None, None),
                       contact=Contact(None, None), ledger_ref=cmd.ledger_ref, by=principal.client_id, at=self.clock())

    async def change(self, venue_id: str, cmd: ChangeVenue, ctx: CommandContext, principal: Principal, *,
                     expected_version: int | None = None) -> Venue:
        location = jurisdiction = None
        if cmd.lat is not None and cmd.lon is not None:
            location, jurisdiction = self._located(cmd.lat, cmd.lon, cmd.address, principal)
        kind = self.kind(cmd.kind) if cmd.kind else None
        return await self.uow.execute(
            self.repo, venue_id,
            lambda v: v.change_details(by=principal.client_id, at=self.clock(),
                                       name=scrub_personal_numbers(cmd.name) if cmd.name else None, kind=kind,
                                       floor_area_m2=cmd.floor_area_m2,
                                       address=scrub_personal_numbers(cmd.address) if cmd.address else None,
                                       location=location, jurisdiction=jurisdiction),
            ctx, principal=principal, expected_version=expected_version)

    async def classify(self, venue_id: str, risk_class: str, reason: str, ctx: CommandContext, principal: Principal,
                       *, expected_version: int | None = None) -> Venue:
        return await self.uow.execute(
            self.repo, venue_id, lambda v: v.classify(risk_class=risk_class, reason=scrub_personal_numbers(reason),
                                                      by=principal.client_id, at=self.clock()),
            ctx, principal=principal, expected_version=expected_version)

    async def deregister(self, venue_id: str, reason: str, ctx: CommandContext, principal: Principal, *,
                         expected_version: int | None = None) -> Venue:
        return await self.uow.execute(
            self.repo, venue_id, lambda v: v.deregister(reason=scrub_personal_numbers(reason), by=principal.client_id,
                                                        at=self.clock()),
            ctx, principal=principal, expected_version=expected_version)

    async def change_contacts(self, venue_id: str, responsible: Person | None, contact: Person | None,
                              ctx: CommandContext, principal: Principal, *,
                              expected_version: int | None = None) -> Venue:
        """New people: the old ones' vault entries are erased in the same transaction."""
        async def work(tx: Transaction) -> Venue:
            venue = await tx.get(self.repo, venue_id)
            if expected_version is not None and venue.version != expected_version:
                raise PreconditionFailed(expected_version, venue.version)
            old = [uuid.UUID(c.ref) for c in (venue.responsible, venue.contact) if c.ref]
            venue.change_contacts(responsible=await self._contact(tx.conn, responsible),
                                  contact=await self._contact(tx.conn, contact), by=principal.client_id,
                                  at=self.clock())
            if old:
                await vault.erase_all(tx.conn, old)
            await tx.save(self.repo, venue)
            return venue

        return await self.uow.run(work, ctx, principal=principal, retry=expected_version is None)

    async def erase_contacts(self, venue_id: str) -> int:
        """Right to erasure: every contact the venue's events point at, shredded in the vault (the
        events stay: they hold masked numbers and references to shredded keys). Returns how many
        entries were erased; the venue is found whatever the jurisdiction (a data-protection
        officer's request)."""
        await self.repo.get(venue_id)  # AggregateNotFound (404) for a venue never registered
        refs = await self._all_contact_refs(venue_id)
        if refs:
            async with self.store.pool.acquire() as conn:
                await vault.erase_all(conn, refs)
        return len(refs)

    async def _all_contact_refs(self, venue_id: str) -> list[uuid.UUID]:
        """Every vault reference in the venue's history (its present contacts and the replaced ones)."""
        return [uuid.UUID(stored.data[k]) for stored in await self.store.load(venue_id)
                for k in ("responsible_ref", "contact_ref") if stored.data.get(k)]

    async def contacts(self, venue: Venue) -> dict[str, dict | None]:
        """The people as the vault holds them (None: none given, or erased)."""
        async with self.store.pool.acquire() as conn:
            return {role: json.loads(text) if c.ref and (text := await vault.reveal(conn, c.ref)) else None
                    for role, c in (("responsible", venue.responsible), ("contact", venue.contact))}

    # ---- inspections -------------------------------------------------------------------------

    async def record_inspection(self, venue_id: str, cmd: RecordInspection, ctx: CommandContext,
                                principal: Principal) -> Inspected:
        """One inspection of the venue, in one transaction: the Inspection, a hazard opened for every
        failed item (source inspection; accepted by the inspector who saw it and assigned to the
        venue, with its category's rectification deadline) and
        one closed at once for every item fixed on the spot, the re-inspections (回头看) of the
        venue's hazards it did, and the venue's next due date."""
        for p in cmd.participants:
            if p.role == ParticipantRole.FIRE_STATION and p.id not in self.stations:
                raise UnknownFireStation(f"{p.id[:64]!r} is no fire station of the units directory")

        async def work(tx: Transaction) -> Inspected:
            venue = await tx.get(self.repo, venue_id)
            kind, at, inspection = self.kind(venue.kind), self.clock(), Inspection(str(time_ordered_uuid()))
            hazard_ids = {a.item_id: str(time_ordered_uuid()) for a in cmd.answers
                          if a.result in (ItemResult.FAILED, ItemResult.FIXED_ON_SPOT)}
            inspection.record(venue=venue, kind=kind, checklist_version=self.kinds.version,
                              inspection_kind=cmd.kind, inspected_at=cmd.inspected_at, answers=list(cmd.answers),
                              participants=list(cmd.participants), hazard_ids=hazard_ids,
                              reinspected=list(cmd.reinspected), by=principal.client_id, at=at,
                              note=scrub_personal_numbers(cmd.note) if cmd.note else None)
            opened = [await self._open_hazard(tx, venue, kind, inspection.id, a, hazard_ids[a.item_id], principal)
                      for a in cmd.answers if a.item_id in hazard_ids]
            for hazard_id, outcome in cmd.reinspected:
                await self._reinspect(tx, venue, hazard_id, outcome, cmd.note, principal, at)
            venue.inspected(inspection_id=inspection.id, inspection_kind=cmd.kind, inspected_at=cmd.inspected_at,
                            kind=kind, at=at)
            await tx.save(self.inspections, inspection)
            await tx.save(self.repo, venue)
            return Inspected(inspection, venue, opened)

        return await self.uow.run(work, ctx, principal=principal)

    async def _open_hazard(self, tx: Transaction, venue: Venue, kind: VenueKind, inspection_id: str, answer,
                           hazard_id: str, principal: Principal) -> Hazard:
        item = kind.item(answer.item_id)
        category = self.hazards.category(item.category)
        text = answer.note.strip() if answer.note and answer.note.strip() else item.text_zh
        cmd = ReportHazard(category=category.id, description=f"{item.text_zh}: {text}" if text != item.text_zh
                           else text, lat=venue.location["lat"], lon=venue.location["lon"], source="inspection",
                           address=venue.location.get("address"), venue_id=venue.id,
                           photo_ids=tuple(answer.photo_ids))
        hazard, _, _ = await self.hazards.file_report(tx, Hazard(hazard_id), cmd, category, venue.jurisdiction,
                                                      inspection_id=inspection_id)
        await self.hazards.attach_photos(tx.conn, cmd.photo_ids, principal, hazard.id, "inspection")
        at = self.clock()
        if answer.result == ItemResult.FIXED_ON_SPOT:
            hazard.fix_on_spot(category=category, by=principal.client_id, at=at,
                               note=scrub_personal_numbers(answer.note) if answer.note else None)
        else:  # the inspector saw it: no triage; the venue must fix it by the category's deadline (限期整改)
            hazard.accept(by=principal.client_id, at=at)
            hazard.assign(category=category, by=principal.client_id, at=at, assignee_kind="venue_contact",
                          assignee_id=venue.id, assignee_name=venue.name)
        await tx.save(self.hazards.repo, hazard)
        return hazard

    async def _reinspect(self, tx: Transaction, venue: Venue, hazard_id: str, outcome: str, note: str | None,
                         principal: Principal, at: dt.datetime) -> None:
        hazard = await tx.get(self.hazards.repo, hazard_id)
        if hazard.venue_id != venue.id:
            raise ReinspectionMismatch(f"hazard {hazard_id} is not one of venue {venue.id}'s")
        if outcome == ReinspectionOutcome.CONFIRMED:
            hazard.confirm_reinspection(by=principal.client_id, at=at, note=note)
        elif outcome == ReinspectionOutcome.REOPENED:
            hazard.reopen(category=self.hazards.category(hazard.category), by=principal.client_id, at=at,
                          note=scrub_personal_numbers(note) if note else "found again at the venue's inspection")
        else:
            raise ReinspectionMismatch(f"re-inspection outcome {outcome[:32]!r}: confirmed or reopened")
        await tx.save(self.hazards.repo, hazard)

    # ---- overdue inspections: the sweep --------------------------------------------------------

    async def escalate_overdue(self, limit: int = 100) -> int:
        """One pass: every venue whose inspection is overdue now one level up (as
        `HazardsService.escalate_overdue`, optimistic concurrency making each escalation once)."""
        async with self.store.pool.acquire() as conn:
            overdue = await overdue_venues(conn, self.clock(), limit)
        escalated, ctx = 0, CommandContext(actor="hazards-inspection-sweep")

        async def escalate(tx: Transaction, venue_id: str) -> bool:
            venue = await tx.get(self.repo, venue_id)
            done = venue.escalate_inspection(at=self.clock(), kind=self.kind(venue.kind))
            await tx.save(self.repo, venue)
            return done

        for venue_id in overdue:
            try:
                escalated += await self.uow.run(lambda tx, v=venue_id: escalate(tx, v), ctx)
            except ConcurrencyConflict:
                log.warning("escalating the inspection of venue %s: concurrent changes, left to the next sweep",
                            venue_id)
            except Exception:  # one broken venue must not stop the sweep for the others
                log.exception("escalating the overdue inspection of venue %s failed", venue_id)
        return escalated

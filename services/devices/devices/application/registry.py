"""The registries: devices (with their links and maintenance), vulnerable residents and premises.
Every command one unit of work.

Personal data: a resident's record (name, ID number, phone, home address, emergency contacts)
and the responder's summary (age band, mobility, floor, living alone…) are two vault entries, each
with a key of its own; the events hold their references only. Reading the whole record is
audited in the same transaction (`personal_data_reads`, append-only: a trigger refuses any change);
erasure shreds both keys and leaves every event."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable

import asyncpg

from linkduty_shared import vault
from linkduty_shared.application import (
    AggregateNotFound,
    CommandContext,
    EventSourcedRepository,
    PreconditionFailed,
    UnitOfWork,
)
from linkduty_shared.auth import Principal
from linkduty_shared.domain.personal_data import mask_phone, scrub_personal_numbers
from linkduty_shared.eventstore import EventStore
from linkduty_shared.ids import time_ordered_uuid
from linkduty_shared.jurisdictions import Chain, Directory, Level, OutsideJurisdiction

from devices.application.errors import (
    DeviceRegisteredAlready,
    NotACommunity,
    OutsideTheCity,
    OutsideYourJurisdiction,
    PersonalDataErased,
    UnknownPlatform,
    UnknownResidentOrPremises,
)
from devices.domain.device import Device
from devices.domain.events import DeviceRegistered, PremisesRegistered, ResidentRegistered
from devices.domain.resident import Premises, Resident
from devices.domain.values import MaintenanceKind, Timing
from devices.platforms import Platform
from devices.projections.device_state import DeviceState

SOURCE = "/linkduty/devices"

AUDIT_DDL = """
CREATE TABLE IF NOT EXISTS personal_data_reads (
    read_id     bigserial PRIMARY KEY,
    resident_id text NOT NULL,
    read_by     text NOT NULL,
    agency      text,
    purpose     text NOT NULL,
    outcome     text NOT NULL,       -- revealed | erased
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS personal_data_reads_resident ON personal_data_reads (resident_id, read_id);
CREATE OR REPLACE FUNCTION personal_data_reads_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'personal_data_reads is append-only'; END $$;
DROP TRIGGER IF EXISTS personal_data_reads_append_only ON personal_data_reads;
CREATE TRIGGER personal_data_reads_append_only BEFORE UPDATE OR DELETE ON personal_data_reads
    FOR EACH ROW EXECUTE FUNCTION personal_data_reads_append_only();
"""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def mask_name(name: str) -> str:
    """王秀英 → 王**."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else "*"


@dataclasses.dataclass(frozen=True)
class ResidentDetails:
    """What a registration records: the person (vaulted whole) and the responder's summary."""

    name: str
    id_number: str | None
    phone: str | None
    address: str
    emergency_contacts: tuple[dict, ...]  # {"name", "phone", "relation"}
    age_band: str
    mobility: str
    floor: int | None
    lives_alone: bool
    hearing_impaired: bool = False
    sight_impaired: bool = False
    oxygen_at_home: bool = False
    needs: str | None = None

    def person(self) -> str:
        return json.dumps({"name": self.name, "id_number": self.id_number, "phone": self.phone,
                           "address": self.address, "emergency_contacts": list(self.emergency_contacts)},
                          ensure_ascii=False)

    def summary(self) -> str:
        """The contract's Vulnerability (kind resident): nothing that names or numbers anyone."""
        return json.dumps({"kind": "resident", "age_band": self.age_band, "mobility": self.mobility,
                           "floor": self.floor, "lives_alone": self.lives_alone,
                           "hearing_impaired": self.hearing_impaired, "sight_impaired": self.sight_impaired,
                           "oxygen_at_home": self.oxygen_at_home,
                           "needs": scrub_personal_numbers(self.needs) if self.needs else None}, ensure_ascii=False)


@dataclasses.dataclass(frozen=True)
class DeviceDetails:
    device_id: str
    platform: str
    model: str
    lat: float
    lon: float
    building: str | None
    floor: int | None
    flat: str | None
    place: str
    heartbeat_period_s: int
    resident_id: str | None = None
    premises_id: str | None = None


class Registry:
    def __init__(self, store: EventStore, directory: Directory, platforms: dict[str, Platform], timing: Timing, *,
                 topic: str, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.store, self.directory, self.platforms, self.timing, self.clock = store, directory, platforms, timing, clock
        self.devices = EventSourcedRepository(store, Device, source=SOURCE, topic=topic,
                                              inline_projections=(DeviceState(timing.offline_grace),),
                                              chain=lambda d: tuple(d.jurisdiction.values()))
        # Residents and premises never leave the service: their repositories publish nothing.
        self.residents = EventSourcedRepository(store, Resident, source=SOURCE, topic=None,
                                                chain=lambda r: tuple(r.jurisdiction.values()))
        self.premises = EventSourcedRepository(store, Premises, source=SOURCE, topic=None,
                                               chain=lambda p: tuple(p.jurisdiction.values()))
        self.uow = UnitOfWork(store)

    def resolve(self, lat: float, lon: float, principal: Principal) -> Chain:
        try:
            chain = self.directory.resolve(lat, lon)
        except OutsideJurisdiction:
            raise OutsideTheCity(f"({lat}, {lon}) is in no micro-grid of {self.directory.city.name}") from None
        if not principal.may_see(tuple(d.code for d in chain.divisions())):
            raise OutsideYourJurisdiction(f"{chain.community.name} ({chain.community.code}) is not in your "
                                          "jurisdiction claim")
        return chain

    def community_chain(self, code: str, principal: Principal) -> dict:
        try:
            division = self.directory.division(code)
        except KeyError:
            raise NotACommunity(f"{code[:64]!r} is no division of the city's directory") from None
        if division.level is not Level.COMMUNITY:
            raise NotACommunity(f"{division.name} ({code}) is a {division.level.value}")
        chain = {d.level.value: d.code for d in [division, *self.directory.ancestors(code)]}
        if not principal.may_see(tuple(chain.values())):
            raise OutsideYourJurisdiction(f"{division.name} ({code}) is not in your jurisdiction claim")
        return chain

    # ---- devices -----------------------------------------------------------------------------

    async def register_device(self, details: DeviceDetails, ctx: CommandContext, principal: Principal) -> Device:
        if details.platform not in self.platforms:
            raise UnknownPlatform(f"{details.platform[:64]!r} is no platform of this service",
                                  extra={"platforms": sorted(self.platforms)})
        chain = self.resolve(details.lat, details.lon, principal)
        by, at = principal.client_id, self.clock()
        location = {"lat": details.lat, "lon": details.lon, "building": details.building, "floor": details.floor,
                    "flat": details.flat}

        async def work(tx) -> Device:
            device = await tx.load(self.devices, details.device_id)
            if device.exists:
                raise DeviceRegisteredAlready(f"device {details.device_id} is registered already")
            await self._check_links(tx, details.resident_id, details.premises_id, principal)
            device.register(DeviceRegistered(
                device_id=details.device_id, platform=details.platform, model=details.model, location=location,
                place=details.place, jurisdiction=chain.codes(), heartbeat_period_s=details.heartbeat_period_s,
                by=by, at=at.isoformat()))
            device.link(resident_id=details.resident_id, premises_id=details.premises_id, by=by, at=at)
            device.maintain(MaintenanceKind.INSTALLED, "registered", by=by, at=at)
            await tx.save(self.devices, device)
            return device

        return await self.uow.run(work, ctx, principal=principal)

    async def _check_links(self, tx, resident_id: str | None, premises_id: str | None, principal: Principal) -> None:
        for repo, link in ((self.residents, resident_id), (self.premises, premises_id)):
            if link is None:
                continue
            try:
                await repo.get(link, visible_to=principal, conn=tx.conn)
            except AggregateNotFound:
                raise UnknownResidentOrPremises(f"{link[:64]!r} is not registered in your jurisdiction") from None

    async def link_device(self, device_id: str, resident_id: str | None, premises_id: str | None,
                          ctx: CommandContext, principal: Principal, expected_version: int | None = None) -> Device:
        async def work(tx) -> Device:
            await self._check_links(tx, resident_id, premises_id, principal)
            device = await tx.get(self.devices, device_id)
            if expected_version is not None and device.version != expected_version:
                raise PreconditionFailed(expected_version, device.version)
            device.link(resident_id=resident_id, premises_id=premises_id, by=principal.client_id, at=self.clock())
            await tx.save(self.devices, device)
            return device

        return await self.uow.run(work, ctx, principal=principal)

    async def maintain(self, device_id: str, kind: MaintenanceKind, note: str, ctx: CommandContext,
                       principal: Principal) -> Device:
        note = scrub_personal_numbers(note)
        return await self.uow.execute(self.devices, device_id,
                                      lambda d: d.maintain(kind, note, by=principal.client_id, at=self.clock()),
                                      ctx, principal=principal)

    # ---- residents ---------------------------------------------------------------------------

    async def register_resident(self, community: str, consent_by: str, details: ResidentDetails,
                                ctx: CommandContext, principal: Principal) -> Resident:
        jurisdiction = self.community_chain(community, principal)
        resident_id = str(time_ordered_uuid())

        async def work(tx) -> Resident:
            resident = await tx.load(self.residents, resident_id)
            resident.register(ResidentRegistered(
                resident_id=resident_id, community=community, jurisdiction=jurisdiction, consent_by=consent_by,
                person_ref=await vault.store(tx.conn, details.person()),
                summary_ref=await vault.store(tx.conn, details.summary()),
                registered_by=principal.client_id, at=self.clock().isoformat()))
            await tx.save(self.residents, resident)
            return resident

        return await self.uow.run(work, ctx, principal=principal)

    async def change_resident(self, resident_id: str, details: ResidentDetails, ctx: CommandContext,
                              principal: Principal) -> Resident:
        async def work(tx) -> Resident:
            resident = await tx.get(self.residents, resident_id)
            old = [resident.person_ref, resident.summary_ref]
            resident.change_details(person_ref=await vault.store(tx.conn, details.person()),
                                    summary_ref=await vault.store(tx.conn, details.summary()),
                                    by=principal.client_id, at=self.clock())
            for ref in old:
                await vault.erase(tx.conn, ref)  # the replaced record is gone, not kept beside the new one
            await tx.save(self.residents, resident)
            return resident

        return await self.uow.run(work, ctx, principal=principal)

    async def review_resident(self, resident_id: str, outcome: str, note: str, ctx: CommandContext,
                              principal: Principal) -> Resident:
        note = scrub_personal_numbers(note)
        return await self.uow.execute(
            self.residents, resident_id,
            lambda r: r.review_by_community(outcome, note, by=principal.client_id, at=self.clock()),
            ctx, principal=principal)

    async def erase_resident(self, resident_id: str, ctx: CommandContext, principal: Principal) -> Resident:
        async def work(tx) -> Resident:
            resident = await tx.get(self.residents, resident_id)
            await vault.erase(tx.conn, resident.person_ref)
            await vault.erase(tx.conn, resident.summary_ref)
            resident.erase(by=principal.client_id, at=self.clock())
            await tx.save(self.residents, resident)
            return resident

        return await self.uow.run(work, ctx, principal=principal)

    async def summary_of(self, resident: Resident, conn: asyncpg.Connection | None = None) -> dict | None:
        """The responder's summary (None once erased): what consoles and the masked view show."""
        if resident.erased:
            return None
        if conn is None:
            async with self.store.pool.acquire() as conn:
                revealed = await vault.reveal(conn, resident.summary_ref)
        else:
            revealed = await vault.reveal(conn, resident.summary_ref)
        return json.loads(revealed) if revealed else None

    async def masked_person(self, resident: Resident) -> dict | None:
        """The name's first character and the phone's last digits, for a list a community works from."""
        async with self.store.pool.acquire() as conn:
            revealed = None if resident.erased else await vault.reveal(conn, resident.person_ref)
        if revealed is None:
            return None
        person = json.loads(revealed)
        return {"name": mask_name(person["name"]), "phone": mask_phone(person.get("phone"))}

    async def read_person(self, resident_id: str, purpose: str, principal: Principal) -> dict:
        """The whole record, audited in the same transaction: a read nobody recorded did not happen."""
        async with self.store.pool.acquire() as conn, conn.transaction():
            resident = await self.residents.get(resident_id, visible_to=principal, conn=conn)
            revealed = None if resident.erased else await vault.reveal(conn, resident.person_ref)
            await conn.execute(
                """INSERT INTO personal_data_reads (resident_id, read_by, agency, purpose, outcome)
                   VALUES ($1, $2, $3, $4, $5)""", resident_id, principal.client_id, principal.agency,
                scrub_personal_numbers(purpose), "revealed" if revealed else "erased")
        if revealed is None:
            raise PersonalDataErased(resident_id[:64])
        return json.loads(revealed)

    async def reads_of(self, resident_id: str, principal: Principal, *, limit: int, after: int) -> list[asyncpg.Record]:
        await self.residents.get(resident_id, visible_to=principal)
        async with self.store.pool.acquire() as conn:
            return await conn.fetch(
                """SELECT read_id, resident_id, read_by, agency, purpose, outcome, at FROM personal_data_reads
                   WHERE resident_id = $1 AND read_id > $2 ORDER BY read_id LIMIT $3""", resident_id, after, limit)

    # ---- premises ----------------------------------------------------------------------------

    async def register_premises(self, *, name: str, premises_kind: str, occupants: int, needs: str, lat: float,
                                lon: float, ctx: CommandContext, principal: Principal) -> Premises:
        chain = self.resolve(lat, lon, principal)
        premises_id = str(time_ordered_uuid())
        registered = PremisesRegistered(
            premises_id=premises_id, name=scrub_personal_numbers(name), premises_kind=premises_kind,
            occupants=occupants, needs=scrub_personal_numbers(needs), location={"lat": lat, "lon": lon},
            jurisdiction={k: v for k, v in chain.codes().items() if k != "grid"}, by=principal.client_id,
            at=self.clock().isoformat())
        return await self.uow.execute(self.premises, premises_id, lambda p: p.register(registered), ctx,
                                      principal=principal, must_exist=False)

    async def vulnerability_of(self, device: Device, conn: asyncpg.Connection) -> dict | None:
        """Whom the detector watches over, as a responder needs it; None for nobody (or nobody any more)."""
        if device.resident_id is not None:
            resident = await self.residents.load(device.resident_id, conn=conn)
            if resident.exists:
                return await self.summary_of(resident, conn)
        if device.premises_id is not None:
            premises = await self.premises.load(device.premises_id, conn=conn)
            if premises.exists:
                return premises.vulnerability()
        return None

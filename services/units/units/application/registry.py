"""The registry: the city's forces as event-sourced units (registered from the directory at
start-up, or one by one through the API), the force index the planner reads, and who may see a
unit. Also what the units' application services share: the events' source, the clock, and a
division's chain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from linkduty_shared.application import (
    AggregateNotFound,
    CommandContext,
    EventSourcedRepository,
    Transaction,
    UnitOfWork,
)
from linkduty_shared.auth import Principal
from linkduty_shared.eventstore import EventStore
from linkduty_shared.jurisdictions import Directory

from units.application.errors import AlreadyRegistered, UnknownDivision
from units.domain.forces import ForceIndex
from units.domain.unit import Unit, default_complement
from units.projections.unit_board import UnitBoard, registered_forces

SOURCE = "/linkduty/units"  # the CloudEvents source of every event the units service records


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def division_chain(directory: Directory, division_code: str) -> list[str]:
    """The division and those above it (a caller naming any of them sees a record in it);
    UnknownDivision for a division the city does not have."""
    try:
        return directory.lineage(division_code)
    except KeyError:
        raise UnknownDivision(f"{division_code} is no division of {directory.city.name}") from None


def known_lineage(directory: Directory, division_code: str) -> list[str]:
    """A stored record's chain for the visibility check: none (seen by nobody but the service's own
    actor, so a 404) when the directory no longer has its division (a dataset update retired it),
    rather than an error on every read of it."""
    try:
        return directory.lineage(division_code)
    except KeyError:
        return []


def require_division(directory: Directory, division_code: str, principal: Principal | None) -> list[str]:
    """The division's chain, if the division exists and lies inside the caller's jurisdiction: a
    division outside it is not found, like a record in it."""
    chain = division_chain(directory, division_code)
    if principal is not None and not principal.may_see(chain):
        raise AggregateNotFound(f"division {division_code}")
    return chain


def new_unit(unit_id: str, *, force_kind: str, name: str, division_code: str, lat: float, lon: float,
             appliances: Sequence[str] | None = None, members: int | None = None,
             capabilities: Sequence[str] | None = None) -> Unit:
    """A unit registered with these facts, what its kind brings (complements.toml) filling what
    they leave out."""
    complement = default_complement(force_kind)
    unit = Unit(unit_id)
    unit.register(force_kind=force_kind, name=name, division_code=division_code, lat=lat, lon=lon,
                  appliances=complement["appliances"] if appliances is None else appliances,
                  members=complement["members"] if members is None else members,
                  capabilities=complement["capabilities"] if capabilities is None else capabilities)
    return unit


class Registry:
    def __init__(self, store: EventStore, directory: Directory, *, topic: str | None) -> None:
        self.store, self.directory = store, directory
        self.units = EventSourcedRepository(store, Unit, source=SOURCE, topic=topic,
                                            inline_projections=(UnitBoard(directory),),
                                            chain=lambda unit: known_lineage(directory, unit.registration.division_code))
        self.uow = UnitOfWork(store)
        self.forces = ForceIndex(())  # the planner's index of the registered forces (refresh_forces)

    # ---- who sees a unit -------------------------------------------------------------------

    def sees(self, principal: Principal | None, unit: Unit) -> bool:
        """Whether the unit exists for the caller: inside its jurisdiction, or its own app (client
        id = unit id) asking. None is the service's own actor, which sees every unit."""
        if not unit.exists:
            return False
        return principal is None or principal.client_id == unit.id or self.units.visible(unit, principal)

    def require_speaks_for(self, principal: Principal, unit: Unit) -> None:
        """The unit's own app (client id = unit id, scope units:report), or a centre over it
        (units:operate); a unit the centre may not see is not found."""
        if principal.client_id == unit.id and "units:report" in principal.scopes:
            return
        principal.require("units:operate")
        if not self.sees(principal, unit):
            raise AggregateNotFound(f"unit {unit.id}")

    async def read(self, unit_id: str, principal: Principal | None = None) -> Unit:
        unit = await self.units.load(unit_id)
        if not self.sees(principal, unit):
            raise AggregateNotFound(f"unit {unit_id}")
        return unit

    # ---- registering forces ----------------------------------------------------------------

    async def register_directory_forces(self) -> int:
        """Register the city's forces that are not registered yet, in one transaction (start-up;
        safe to repeat, and on several replicas at once: the loser of the race retries and finds
        them registered)."""
        ctx = CommandContext(actor="units-registry")

        async def work(tx: Transaction) -> int:
            known = {r["unit_id"] for r in await tx.conn.fetch("SELECT unit_id FROM unit_board")}
            missing = [f for f in self.directory.forces() if f.id not in known]
            for force in missing:
                await tx.save(self.units, new_unit(force.id, force_kind=force.kind, name=force.name,
                                                   division_code=force.division_code, lat=force.lat, lon=force.lon))
            return len(missing)

        added = await self.uow.run(work, ctx)
        await self.refresh_forces()
        return added

    async def register(self, unit_id: str, ctx: CommandContext, principal: Principal | None = None, *,
                       force_kind: str, name: str, division_code: str, lat: float, lon: float,
                       appliances: Sequence[str] | None = None, members: int | None = None,
                       capabilities: Sequence[str] | None = None) -> Unit:
        """Register a force (a civil rescue team, a new squad, …) covering a division the caller
        may see; what it leaves out (None) is what its kind brings."""
        require_division(self.directory, division_code, principal)

        async def work(tx: Transaction) -> Unit:
            if (await tx.load(self.units, unit_id)).exists:
                raise AlreadyRegistered(f"unit {unit_id} exists")
            unit = new_unit(unit_id, force_kind=force_kind, name=name, division_code=division_code, lat=lat,
                            lon=lon, appliances=appliances, members=members, capabilities=capabilities)
            await tx.save(self.units, unit)
            return unit

        unit = await self.uow.run(work, ctx)  # registered concurrently: decided again, AlreadyRegistered
        await self.refresh_forces()
        return unit

    async def refresh_forces(self) -> None:
        """Rebuild the planner's force index from the registry (units registered elsewhere too)."""
        async with self.store.pool.acquire() as conn:
            self.forces = ForceIndex(await registered_forces(conn))

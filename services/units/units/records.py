"""Joint records application service: standby rosters (联勤), joint patrols (联防) and joint
trainings (联训) — load → decide → append, their read models updated in the append's transaction.

What needs the database or the directory (do these forces exist, is that division real, does a
finding lie in the patrol's area) is checked here; what the records themselves allow, in the domain.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import asyncpg

from linkduty_shared.api.problems import Problem
from linkduty_shared.application import CommandContext, EventSourcedRepository, UnitOfWork
from linkduty_shared.auth import Principal
from linkduty_shared.eventstore import EventStore
from linkduty_shared.jurisdictions import Directory, OutsideJurisdiction

from units.domain.patrol import JointPatrol
from units.domain.roster import StandbyRoster, roster_id
from units.domain.training import JointTraining
from units.projections.duty_shifts import DutyShifts
from units.projections.joint_records import JointPatrols, JointTrainings

SOURCE = "/linkduty/units"
RECORDS_DDL = (DutyShifts.ddl, JointPatrols.ddl, JointTrainings.ddl)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class JointRecords:
    def __init__(self, store: EventStore, directory: Directory, *, topic: str | None,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.store, self.directory, self.clock = store, directory, clock
        self.rosters = EventSourcedRepository(store, StandbyRoster, source=SOURCE, topic=topic,
                                              inline_projections=(DutyShifts(directory),))
        self.patrols = EventSourcedRepository(store, JointPatrol, source=SOURCE, topic=topic,
                                              inline_projections=(JointPatrols(directory),))
        self.trainings = EventSourcedRepository(store, JointTraining, source=SOURCE, topic=topic,
                                                inline_projections=(JointTrainings(directory),))
        self.uow = UnitOfWork(store)

    # ---- lookups ---------------------------------------------------------------------------

    def chain(self, division_code: str) -> list[str]:
        """The division and those above it; 422 for a division the city does not have."""
        try:
            return self.directory.lineage(division_code)
        except KeyError:
            raise Problem(422, "unknown-division", "Unknown division",
                          f"{division_code} is no division of {self.directory.city.name}") from None

    async def force(self, force_id: str) -> asyncpg.Record | None:
        """The registered force (unit_id, division_code, within), if any."""
        async with self.store.pool.acquire() as conn:
            return await conn.fetchrow("SELECT unit_id, division_code, within FROM unit_board WHERE unit_id = $1",
                                       force_id)

    async def require_forces(self, force_ids: list[str], principal: Principal) -> None:
        """Every force registered and inside the caller's jurisdiction. A foreign force gets the
        answer an unknown one gets: which forces exist elsewhere is not the caller's to learn."""
        async with self.store.pool.acquire() as conn:
            usable = {r["unit_id"] for r in await conn.fetch(
                "SELECT unit_id, within FROM unit_board WHERE unit_id = ANY($1::text[])", force_ids)
                if principal.may_see(r["within"])}
        unknown = [f for f in force_ids if f not in usable]
        if unknown:
            raise Problem(422, "unknown-force", "Unknown force",
                          f"no registered force {', '.join(unknown)} inside your jurisdiction", unknown=unknown)

    # ---- 联勤: standby rosters -------------------------------------------------------------

    async def schedule_shift(self, force: asyncpg.Record, shift_id: str, start: dt.datetime, end: dt.datetime,
                             members: int, ctx: CommandContext, expected_version: int | None = None) -> StandbyRoster:
        return await self.uow.execute(
            self.rosters, roster_id(force["unit_id"]),
            lambda r: r.schedule(force["unit_id"], force["division_code"], shift_id, start, end, members),
            ctx, expected_version=expected_version, must_exist=False)  # the first shift opens the roster

    async def cancel_shift(self, force_id: str, shift_id: str, reason: str, ctx: CommandContext,
                           expected_version: int | None = None) -> StandbyRoster:
        return await self.uow.execute(self.rosters, roster_id(force_id), lambda r: r.cancel(shift_id, reason), ctx,
                                      expected_version=expected_version)

    # ---- 联防: joint patrols -----------------------------------------------------------------

    async def plan_patrol(self, division_code: str, forces: list[str], start: dt.datetime, end: dt.datetime,
                          ctx: CommandContext, principal: Principal) -> JointPatrol:
        self.chain(division_code)
        await self.require_forces(forces, principal)
        patrol = JointPatrol(str(uuid.uuid4()))
        patrol.plan(division_code, forces, start, end)
        await self.uow.run(lambda tx: tx.save(self.patrols, patrol), ctx, retry=False)
        return patrol

    async def log_finding(self, patrol: JointPatrol, text: str, hazard_kind: str, lat: float | None,
                          lon: float | None, ctx: CommandContext, expected_version: int | None = None) -> JointPatrol:
        if lat is not None and lon is not None:
            self._require_inside(patrol.division_code, lat, lon)
        return await self.uow.execute(self.patrols, patrol.id,
                                      lambda p: p.log_finding(text, hazard_kind, self.clock(), lat, lon), ctx,
                                      expected_version=expected_version)

    def _require_inside(self, division_code: str, lat: float, lon: float) -> None:
        try:
            chain = self.directory.resolve(lat, lon)
        except OutsideJurisdiction:
            chain = None
        if chain is None or division_code not in {d.code for d in chain.divisions()}:
            raise Problem(422, "finding-outside-patrol-area", "The finding lies outside the patrol's division",
                          f"({lat}, {lon}) is not in {division_code}")

    # ---- 联训: joint trainings ---------------------------------------------------------------

    async def schedule_training(self, topic: str, division_code: str, at: dt.datetime, forces: list[str],
                                ctx: CommandContext, principal: Principal) -> JointTraining:
        self.chain(division_code)
        await self.require_forces(forces, principal)
        training = JointTraining(str(uuid.uuid4()))
        training.schedule(topic, division_code, at, forces)
        await self.uow.run(lambda tx: tx.save(self.trainings, training), ctx, retry=False)
        return training

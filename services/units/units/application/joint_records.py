"""Joint records: standby rosters (联勤), joint patrols (联防) and joint trainings (联训) — load →
decide → append, their read models updated in the append's transaction.

What needs the database or the directory (do these forces exist, is that division real, does a
finding lie in the patrol's area, may the caller see the record) is checked here; what the records
themselves allow, in the domain. A record, a force or a division outside the caller's jurisdiction
is not found (404), like one that does not exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable

import asyncpg

from linkduty_shared.application import (
    AggregateNotFound,
    CommandContext,
    EventSourcedRepository,
    PreconditionFailed,
    Transaction,
    UnitOfWork,
)
from linkduty_shared.auth import Principal
from linkduty_shared.eventstore import EventStore
from linkduty_shared.jurisdictions import Directory, OutsideJurisdiction

from units.application.errors import FindingOutsidePatrolArea, UnknownForce
from units.application.registry import SOURCE, known_lineage, require_division, utcnow
from units.domain.patrol import JointPatrol
from units.domain.roster import StandbyRoster, roster_id
from units.domain.training import JointTraining
from units.projections.duty_shifts import DutyShifts
from units.projections.joint_records import JointPatrols, JointTrainings

RECORDS_DDL = (DutyShifts.ddl, JointPatrols.ddl, JointTrainings.ddl)


@dataclasses.dataclass(frozen=True)
class ForceRoster:
    """A force's standby roster, with the force's division (who may see it)."""

    force_id: str
    division_code: str
    roster: StandbyRoster
    scheduled: bool = False  # the command added a shift (not the same shift again)


class JointRecords:
    def __init__(self, store: EventStore, directory: Directory, *, topic: str | None,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.store, self.directory, self.clock = store, directory, clock

        def chain(record: StandbyRoster | JointPatrol | JointTraining) -> list[str]:
            return known_lineage(directory, record.division_code)

        # A roster is seen by whoever sees its force (checked on the force, which exists before
        # its roster does); its own division is the force's.
        self.rosters = EventSourcedRepository(store, StandbyRoster, source=SOURCE, topic=topic,
                                              inline_projections=(DutyShifts(directory),), chain=chain)
        self.patrols = EventSourcedRepository(store, JointPatrol, source=SOURCE, topic=topic,
                                              inline_projections=(JointPatrols(directory),), chain=chain)
        self.trainings = EventSourcedRepository(store, JointTraining, source=SOURCE, topic=topic,
                                                inline_projections=(JointTrainings(directory),), chain=chain)
        self.uow = UnitOfWork(store)

    # ---- the forces a record names ---------------------------------------------------------

    @staticmethod
    async def _force(conn: asyncpg.Connection, force_id: str, principal: Principal | None) -> asyncpg.Record:
        """The registered force (unit_id, division_code, within), if the caller may see it."""
        force = await conn.fetchrow("SELECT unit_id, division_code, within FROM unit_board WHERE unit_id = $1",
                                    force_id)
        if force is None or (principal is not None and not principal.may_see(force["within"])):
            raise AggregateNotFound(f"unit {force_id}")
        return force

    @staticmethod
    async def _require_forces(conn: asyncpg.Connection, force_ids: list[str], principal: Principal | None) -> None:
        """Every force registered and inside the caller's jurisdiction. A foreign force gets the
        answer an unknown one gets: which forces exist elsewhere is not the caller's to learn."""
        usable = {r["unit_id"] for r in await conn.fetch(
            "SELECT unit_id, within FROM unit_board WHERE unit_id = ANY($1::text[])", force_ids)
            if principal is None or principal.may_see(r["within"])}
        unknown = [f for f in force_ids if f not in usable]
        if unknown:
            raise UnknownForce(unknown)

    # ---- 联勤: standby rosters -------------------------------------------------------------

    async def read_roster(self, force_id: str, principal: Principal | None = None) -> ForceRoster:
        """The force's roster (empty if it never had a shift: on duty round the clock)."""
        async with self.store.pool.acquire() as conn:
            force = await self._force(conn, force_id, principal)
            roster = await self.rosters.load(roster_id(force_id), conn=conn)
        return ForceRoster(force_id, force["division_code"], roster)

    async def schedule_shift(self, force_id: str, shift_id: str, ctx: CommandContext,
                             principal: Principal | None = None, *, start: dt.datetime, end: dt.datetime,
                             members: int, expected_version: int | None = None) -> ForceRoster:
        """Schedule a shift of the force (the same shift again: nothing new); the first one opens
        its roster."""
        async def work(tx: Transaction) -> ForceRoster:
            force = await self._force(tx.conn, force_id, principal)
            roster = await self._roster_at(tx, force_id, expected_version)
            roster.schedule(force_id, force["division_code"], shift_id, start, end, members)
            scheduled = bool(roster.pending)
            await tx.save(self.rosters, roster)
            return ForceRoster(force_id, force["division_code"], roster, scheduled)
        return await self.uow.run(work, ctx, principal=principal, retry=expected_version is None)

    async def cancel_shift(self, force_id: str, shift_id: str, ctx: CommandContext,
                           principal: Principal | None = None, *, reason: str = "",
                           expected_version: int | None = None) -> ForceRoster:
        async def work(tx: Transaction) -> ForceRoster:
            force = await self._force(tx.conn, force_id, principal)
            roster = await self._roster_at(tx, force_id, expected_version, must_exist=True)
            roster.cancel(shift_id, reason)
            await tx.save(self.rosters, roster)
            return ForceRoster(force_id, force["division_code"], roster)
        return await self.uow.run(work, ctx, principal=principal, retry=expected_version is None)

    async def _roster_at(self, tx: Transaction, force_id: str, expected_version: int | None, *,
                         must_exist: bool = False) -> StandbyRoster:
        """The force's roster at the version If-Match named; without `must_exist`, an empty one
        for a force that never had a shift (the first shift opens it)."""
        roster = await (tx.get if must_exist else tx.load)(self.rosters, roster_id(force_id))
        if expected_version is not None and roster.version != expected_version:
            raise PreconditionFailed(expected_version, roster.version)
        return roster

    # ---- 联防: joint patrols -----------------------------------------------------------------

    async def read_patrol(self, patrol_id: str, principal: Principal | None = None) -> JointPatrol:
        return await self.patrols.get(patrol_id, visible_to=principal)

    async def plan_patrol(self, ctx: CommandContext, principal: Principal | None = None, *, division_code: str,
                          forces: list[str], start: dt.datetime, end: dt.datetime) -> JointPatrol:
        require_division(self.directory, division_code, principal)

        async def work(tx: Transaction) -> JointPatrol:
            await self._require_forces(tx.conn, forces, principal)
            patrol = JointPatrol(str(uuid.uuid4()))
            patrol.plan(division_code, forces, start, end)
            await tx.save(self.patrols, patrol)
            return patrol
        return await self.uow.run(work, ctx, principal=principal, retry=False)  # a new stream: nothing to retry

    async def start_patrol(self, patrol_id: str, ctx: CommandContext, principal: Principal | None = None, *,
                           expected_version: int | None = None) -> JointPatrol:
        return await self.uow.execute(self.patrols, patrol_id, lambda p: p.start(self.clock()), ctx,
                                      principal=principal, expected_version=expected_version)

    async def log_finding(self, patrol_id: str, ctx: CommandContext, principal: Principal | None = None, *,
                          text: str, hazard_kind: str, lat: float | None = None, lon: float | None = None,
                          expected_version: int | None = None) -> JointPatrol:
        """A hazard the patrol found; a location given must lie in the patrol's division."""
        def decide(patrol: JointPatrol) -> None:
            if lat is not None and lon is not None:
                self._require_inside(patrol.division_code, lat, lon)
            patrol.log_finding(text, hazard_kind, self.clock(), lat, lon)
        return await self.uow.execute(self.patrols, patrol_id, decide, ctx, principal=principal,
                                      expected_version=expected_version)

    async def complete_patrol(self, patrol_id: str, ctx: CommandContext, principal: Principal | None = None, *,
                              summary: str, expected_version: int | None = None) -> JointPatrol:
        return await self.uow.execute(self.patrols, patrol_id, lambda p: p.complete(summary, self.clock()), ctx,
                                      principal=principal, expected_version=expected_version)

    def _require_inside(self, division_code: str, lat: float, lon: float) -> None:
        try:
            chain = self.directory.resolve(lat, lon)
        except OutsideJurisdiction:
            chain = None
        if chain is None or division_code not in {d.code for d in chain.divisions()}:
            raise FindingOutsidePatrolArea(f"({lat}, {lon}) is not in {division_code}")

    # ---- 联训: joint trainings ---------------------------------------------------------------

    async def read_training(self, training_id: str, principal: Principal | None = None) -> JointTraining:
        return await self.trainings.get(training_id, visible_to=principal)

    async def schedule_training(self, ctx: CommandContext, principal: Principal | None = None, *, topic: str,
                                division_code: str, at: dt.datetime, forces: list[str]) -> JointTraining:
        require_division(self.directory, division_code, principal)

        async def work(tx: Transaction) -> JointTraining:
            await self._require_forces(tx.conn, forces, principal)
            training = JointTraining(str(uuid.uuid4()))
            training.schedule(topic, division_code, at, forces)
            await tx.save(self.trainings, training)
            return training
        return await self.uow.run(work, ctx, principal=principal, retry=False)  # a new stream: nothing to retry

    async def record_attendance(self, training_id: str, ctx: CommandContext, principal: Principal | None = None, *,
                                force_id: str, present: int, expected_version: int | None = None) -> JointTraining:
        """Record (or correct) how many of an invited force's members were present."""
        return await self.uow.execute(self.trainings, training_id, lambda t: t.record_attendance(force_id, present),
                                      ctx, principal=principal, expected_version=expected_version)

    async def complete_training(self, training_id: str, ctx: CommandContext, principal: Principal | None = None, *,
                                summary: str = "", expected_version: int | None = None) -> JointTraining:
        return await self.uow.execute(self.trainings, training_id, lambda t: t.complete(summary), ctx,
                                      principal=principal, expected_version=expected_version)

    async def cancel_training(self, training_id: str, ctx: CommandContext, principal: Principal | None = None, *,
                              reason: str, expected_version: int | None = None) -> JointTraining:
        return await self.uow.execute(self.trainings, training_id, lambda t: t.cancel(reason), ctx,
                                      principal=principal, expected_version=expected_version)

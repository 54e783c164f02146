"""The volunteers' files and teams: every command one unit of work.

Personal data: an applicant's name, resident ID number and phone go to the vault together
(JSON), the events carry them masked; `erase_personal_data` shreds them without touching an event,
and the file, its review and its policies stay.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable

from linkduty_shared import vault
from linkduty_shared.application import CommandContext, EventSourcedRepository, UnitOfWork
from linkduty_shared.auth import Principal
from linkduty_shared.domain.personal_data import mask_digits, mask_phone
from linkduty_shared.eventstore import EventStore
from linkduty_shared.ids import time_ordered_uuid
from linkduty_shared.jurisdictions import Directory, Level

from volunteers import positions
from volunteers.application.errors import (
    NotACommunity,
    NotATeamDivision,
    OutsideYourJurisdiction,
    UnknownCourse,
    UnknownServiceDomain,
)
from volunteers.domain.courses import Courses
from volunteers.domain.events import TeamFormed, VolunteerApplied, VolunteerHoursCredited
from volunteers.domain.grades import Grades
from volunteers.domain.service_domains import ServiceDomains
from volunteers.domain.volunteer import Policy, Team, Volunteer
from volunteers.projections.volunteer_list import VolunteerList

SOURCE = "/linkduty/volunteers"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(frozen=True)
class Application:
    name: str
    id_number: str
    phone: str
    domains: tuple[str, ...]
    home_community: str
    availability: tuple[str, ...] = ()


def mask_name(name: str) -> str:
    """张三丰 → 张**: the family name, enough for a roll call, not for a search."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else "*"


class VolunteersService:
    def __init__(self, store: EventStore, directory: Directory, domains: ServiceDomains, courses: Courses,
                 grades: Grades, *, topic: str, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.store, self.directory, self.domains, self.courses, self.clock = store, directory, domains, courses, clock
        self.grades = grades
        self.repo = EventSourcedRepository(store, Volunteer, source=SOURCE, topic=topic,
                                           inline_projections=(VolunteerList(),),
                                           chain=lambda v: tuple(v.jurisdiction.values()))
        self.teams = EventSourcedRepository(store, Team, source=SOURCE, topic=topic,
                                            chain=lambda t: tuple(t.jurisdiction.values()))
        self.uow = UnitOfWork(store)

    def chain_of(self, code: str, levels: tuple[Level, ...], refused: type[Exception], principal: Principal) -> dict:
        """The division chain of `code` ({level: code}), a division of one of `levels` inside the
        caller's jurisdiction: `refused` (422) or OutsideYourJurisdiction (403) otherwise."""
        try:
            division = self.directory.division(code)
        except KeyError:
            raise refused(f"{code[:64]!r} is no division of the city's directory") from None
        if division.level not in levels:
            raise refused(f"{division.name} ({code}) is a {division.level.value}")
        chain = {d.level.value: d.code for d in [division, *self.directory.ancestors(code)]}
        if not principal.may_see(tuple(chain.values())):
            raise OutsideYourJurisdiction(f"{division.name} ({code}) is not in your jurisdiction claim")
        return chain

    # ---- the file and its review -------------------------------------------------------------

    async def apply(self, app: Application, ctx: CommandContext, principal: Principal) -> Volunteer:
        unknown = sorted(set(app.domains) - set(self.domains.ids()))
        if unknown:
            raise UnknownServiceDomain(unknown, self.domains.ids())
        jurisdiction = self.chain_of(app.home_community, (Level.COMMUNITY,), NotACommunity, principal)
        volunteer_id = str(time_ordered_uuid())

        async def work(tx) -> Volunteer:
            person = json.dumps({"name": app.name, "id_number": app.id_number, "phone": app.phone}, ensure_ascii=False)
            ref = await vault.store(tx.conn, person)
            volunteer = await tx.load(self.repo, volunteer_id)
            volunteer.apply(VolunteerApplied(
                volunteer_id=volunteer_id, at=self.clock().isoformat(), name_masked=mask_name(app.name),
                id_number_masked=mask_digits(app.id_number), phone_masked=mask_phone(app.phone) or "*",
                person_ref=ref, domains=tuple(dict.fromkeys(app.domains)), home_community=app.home_community,
                jurisdiction=jurisdiction, availability=tuple(dict.fromkeys(app.availability)),
                applied_by=principal.client_id))
            await tx.save(self.repo, volunteer)
            return volunteer

        return await self.uow.run(work, ctx, principal=principal)

    async def review(self, volunteer_id: str, step: str, ctx: CommandContext, principal: Principal, *,
                     reason: str | None = None, note: str | None = None,
                     expected_version: int | None = None) -> Volunteer:
        """`step`: start | approve | reject (with `reason`)."""
        by, at = principal.client_id, self.clock()
        decide = {
            "start": lambda v: v.start_review(by=by, at=at),
            "approve": lambda v: v.approve(by=by, at=at, note=note),
            "reject": lambda v: v.reject(by=by, at=at, reason=reason or ""),
        }[step]
        return await self.uow.execute(self.repo, volunteer_id, decide, ctx, principal=principal,
                                      expected_version=expected_version)

    async def insure(self, volunteer_id: str, policy: Policy, ctx: CommandContext, principal: Principal) -> Volunteer:
        by, at = principal.client_id, self.clock()
        return await self.uow.execute(self.repo, volunteer_id, lambda v: v.insure(policy, by=by, at=at), ctx,
                                      principal=principal)

    async def record_result(self, volunteer_id: str, course_id: str, *, passed: bool, exam_on: dt.date,
                            score: float | None, ctx: CommandContext, principal: Principal) -> Volunteer:
        if course_id not in self.courses:
            raise UnknownCourse(course_id, self.courses.ids())
        course, by, at = self.courses[course_id], principal.client_id, self.clock()

        def decide(v: Volunteer) -> None:
            v.record_result(course, passed=passed, exam_on=exam_on, by=by, at=at, score=score)
            v.regrade(self.grades, self.courses, at.date(), by=by, at=at)  # a pass may promote, a fail demote

        return await self.uow.execute(self.repo, volunteer_id, decide, ctx, principal=principal)

    # ---- grades, the hour ledger, stars ----------------------------------------------------------

    async def credit(self, tx, volunteer: Volunteer, entry: VolunteerHoursCredited) -> Volunteer:
        """Inside `tx`: credit one ledger entry and regrade on it (more hours, a new rating)."""
        volunteer.credit_hours(entry)
        at = dt.datetime.fromisoformat(entry.at)
        volunteer.regrade(self.grades, self.courses, at.date(), by=entry.confirmed_by, at=at)
        await tx.save(self.repo, volunteer)
        return volunteer

    async def correct_hours(self, volunteer_id: str, entry_id: str, hours: float, reason: str, ctx: CommandContext,
                            principal: Principal) -> Volunteer:
        """A correction of one entry: a new entry of `hours` (negative to take some away)."""
        async def work(tx) -> Volunteer:
            volunteer = await tx.get(self.repo, volunteer_id)
            return await self.credit(tx, volunteer, VolunteerHoursCredited(
                str(time_ordered_uuid()), hours, "correction", entry_id, None, confirmed_by=principal.client_id,
                at=self.clock().isoformat(), corrects=entry_id, reason=reason.strip()))

        return await self.uow.run(work, ctx, principal=principal)

    async def regrade(self, volunteer_id: str, ctx: CommandContext, principal: Principal) -> Volunteer:
        """A grade review today: a certificate that ran out demotes, with the rule it broke."""
        by, at = principal.client_id, self.clock()
        return await self.uow.execute(self.repo, volunteer_id,
                                      lambda v: v.regrade(self.grades, self.courses, at.date(), by=by, at=at), ctx,
                                      principal=principal)

    async def certify_stars(self, volunteer_id: str, ctx: CommandContext) -> Volunteer:
        """On the volunteer's own application (their app's token, so no jurisdiction to check)."""
        at = self.clock()
        return await self.uow.execute(self.repo, volunteer_id,
                                      lambda v: v.certify_stars(self.grades, by=ctx.actor or volunteer_id, at=at), ctx)

    async def check_fitness(self, volunteer_id: str, domain: str, principal: Principal) -> Volunteer:
        """The duty gate (不培训不上岗): the volunteer, or NotFitForDuty (409) naming what is missing."""
        if domain not in self.domains:
            raise UnknownServiceDomain([domain], self.domains.ids())
        volunteer = await self.repo.get(volunteer_id, visible_to=principal)
        volunteer.fit_for(domain, self.clock().date(), self.courses)
        return volunteer

    async def erase_personal_data(self, volunteer_id: str, ctx: CommandContext, principal: Principal) -> Volunteer:
        """Shred the person in the vault; the file keeps its masked fields, review and policies."""
        by, at = principal.client_id, self.clock()

        async def work(tx) -> Volunteer:
            volunteer = await tx.get(self.repo, volunteer_id)
            await vault.erase(tx.conn, volunteer.applied.person_ref)
            await positions.forget(tx.conn, volunteer_id)  # where they were is theirs too
            volunteer.erase_personal_data(by=by, at=at)
            await tx.save(self.repo, volunteer)
            return volunteer

        return await self.uow.run(work, ctx, principal=principal)

    async def person(self, volunteer: Volunteer) -> dict | None:
        """The person's name, ID number and phone from the vault (None once erased)."""
        async with self.store.pool.acquire() as conn:
            revealed = await vault.reveal(conn, volunteer.applied.person_ref)
        return json.loads(revealed) if revealed else None

    # ---- teams -------------------------------------------------------------------------------

    async def form_team(self, name: str, division: str, leader_id: str, ctx: CommandContext,
                        principal: Principal) -> Team:
        jurisdiction = self.chain_of(division, (Level.COMMUNITY, Level.STREET), NotATeamDivision, principal)
        team_id = str(time_ordered_uuid())

        async def work(tx) -> Team:
            leader = await tx.get(self.repo, leader_id)
            team = await tx.load(self.teams, team_id)
            team.form(TeamFormed(team_id=team_id, name=name.strip(), division=division, jurisdiction=jurisdiction,
                                 leader_id=leader_id, by=principal.client_id, at=self.clock().isoformat()), leader)
            await tx.save(self.teams, team)
            return team

        return await self.uow.run(work, ctx, principal=principal)

    async def change_team(self, team_id: str, action: str, volunteer_id: str, ctx: CommandContext,
                          principal: Principal, *, reason: str | None = None) -> Team:
        """`action`: add | remove | lead."""
        by, at = principal.client_id, self.clock()

        async def work(tx) -> Team:
            team = await tx.get(self.teams, team_id)
            if action == "remove":
                team.remove(volunteer_id, by=by, at=at, reason=reason)
            else:
                volunteer = await tx.get(self.repo, volunteer_id)
                (team.add if action == "add" else team.change_leader)(volunteer, by=by, at=at)
            await tx.save(self.teams, team)
            return team

        return await self.uow.run(work, ctx, principal=principal)

"""Hazards application service: every command a unit of work over the hazard streams, with the
intake's extra steps (jurisdiction lookup, duplicate and recurrence search, the PII vault) in the
same transaction. Refusals are domain errors (`hazards.application.errors`); nothing here knows
HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Mapping

from linkduty_shared.application import (
    AggregateNotFound,
    CommandContext,
    EventSourcedRepository,
    PreconditionFailed,
    Transaction,
    UnitOfWork,
)
from linkduty_shared.auth import Principal
from linkduty_shared.domain import InvariantViolated
from linkduty_shared.domain.personal_data import mask_phone, scrub_personal_numbers
from linkduty_shared.eventstore import ConcurrencyConflict, EventStore
from linkduty_shared.ids import time_ordered_uuid
from linkduty_shared.jurisdictions import Centre, Chain, Directory, OutsideJurisdiction

from hazards import photos, pii
from hazards.application.commands import Assignment, Reported, ReportHazard, Seen
from hazards.application.errors import OutsideTheCity, OutsideYourJurisdiction, UnknownCategory
from hazards.application.photos import PhotosService, TooFewPhotos, UnknownPhotos
from hazards.domain.categories import Category, Taxonomy
from hazards.domain.hazard import Hazard, merge
from hazards.domain.values import Source
from hazards.domain.rules import Report, duplicate_candidates, latest_recurrence, triage_due
from hazards.projections.hazard_list import HazardList, chains_of, fixed_near, open_near, overdue_hazards
from hazards.projections.statistics import HazardStatistics

log = logging.getLogger(__name__)

SOURCE = "/linkduty/hazards"
READ, REPORT = "hazards:read", "hazards:report"
RESIDENT_ACTOR = "resident"  # the actor of what a caller who may only report records
PATROL_FINDINGS = uuid.UUID("5d0c6f4e-5b1a-4d8e-9f31-7a3c2b1e9d40")  # namespace of patrol findings' hazard ids
VOLUNTEER_FINDINGS = uuid.UUID("0b7e2f52-9a64-4c1f-8d3e-6f1a2c9b7e15")  # of hazards found on volunteers' visits
DEVICE_TROUBLES = uuid.UUID("9e41c3a7-2d58-4b6f-a0e9-51c7d28f3b64")  # of networked detectors' trouble episodes
_FINDINGS = {"joint_patrol": PATROL_FINDINGS, "volunteer": VOLUNTEER_FINDINGS, "device": DEVICE_TROUBLES}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def patrol_hazard_id(finding_id: str) -> str:
    """The hazard a patrol finding (its units.events event id) is filed as: always the same one.
    (A name-based UUID, not a time-ordered one: findings are few beside the reports.)"""
    return finding_hazard_id("joint_patrol", finding_id)


def finding_hazard_id(source: str, finding_id: str) -> str:
    """The hazard another service's finding is filed as (a patrol's, one found on a volunteer's
    home visit): always the same one for the same finding."""
    return str(uuid.uuid5(_FINDINGS[source], finding_id))


def device_hazard_id(episode: str) -> str:
    """The hazard a detector's trouble episode (devices.events `episode_key(device_id,
    episode_id)`) is filed as: its DeviceTroubleBegan files it, its DeviceTroubleEnded finds it there."""
    return finding_hazard_id("device", episode)


def _scrubbed(text: str | None) -> str | None:
    return scrub_personal_numbers(text) if text else text


class HazardsService:
    def __init__(self, store: EventStore, directory: Directory, taxonomy: Taxonomy, *, topic: str,
                 triage_within: Mapping[str, dt.timedelta], duplicate_radius_m: float, recurrence_radius_m: float,
                 recurrence_window: dt.timedelta, min_photos: Mapping[str, int] | None = None,
                 photo_store: PhotosService | None = None, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.store, self.directory, self.taxonomy, self.clock = store, directory, taxonomy, clock
        self.repo = EventSourcedRepository(store, Hazard, source=SOURCE, topic=topic,
                                           inline_projections=(HazardList(), HazardStatistics()),
                                           chain=lambda hazard: tuple(hazard.jurisdiction.values()))
        self.uow = UnitOfWork(store)
        self.triage_within = dict(triage_within)
        self.duplicate_radius_m, self.recurrence_radius_m = duplicate_radius_m, recurrence_radius_m
        self.recurrence_window = recurrence_window
        self.photos = photo_store
        self.min_photos = dict(min_photos or {})  # by source: a resident's snapshot (随手拍) comes with one

    # ---- reads -------------------------------------------------------------------------------

    async def read(self, hazard_id: str, principal: Principal, *, version: int | None = None,
                   as_of: dt.datetime | None = None) -> Seen:
        """The hazard now, or as it was at a version or a moment: all of it for a reader whose
        jurisdiction it lies in, its own report's fate for one of its reporters, else not found."""
        if READ not in principal.scopes and REPORT not in principal.scopes:
            principal.require(READ)  # 403: neither a reader nor a reporter
        hazard = await self.repo.load(hazard_id, up_to_version=version, as_of=as_of)
        if hazard.exists and READ in principal.scopes and self.repo.visible(hazard, principal):
            return Seen(hazard, True, await self.visible_candidates(hazard.duplicate_candidates, principal))
        if hazard.exists and REPORT in principal.scopes:
            async with self.store.pool.acquire() as conn:
                if await pii.follows(conn, principal.client_id, hazard_id):
                    return Seen(hazard, False, [])
        raise AggregateNotFound(hazard_id)

    async def visible_candidates(self, candidates: list[dict], principal: Principal) -> list[dict]:
        """The duplicate candidates the caller may see (a reporter without `hazards:read`: none)."""
        if not candidates or READ not in principal.scopes:
            return []
        async with self.store.pool.acquire() as conn:
            chains = await chains_of(conn, [c["hazard_id"] for c in candidates])
        return [c for c in candidates if principal.may_see(chains.get(c["hazard_id"], ()))]

    def resolve(self, lat: float, lon: float) -> Chain:
        try:
            return self.directory.resolve(lat, lon)
        except OutsideJurisdiction:
            raise OutsideTheCity(f"({lat}, {lon}) is in no micro-grid of {self.directory.city.name}") from None

    def division_names(self, jurisdiction: dict[str, str]) -> dict[str, str]:
        return {level: self.directory.division(code).name for level, code in jurisdiction.items()}

    def handler(self, hazard: Hazard) -> Centre:
        """Who handles it now: the operations centre at its handling level (the community
        platform, until it escalates)."""
        return self.directory.centre_of(hazard.jurisdiction[hazard.handling_level])

    def category(self, category_id: str) -> Category:
        if category_id not in self.taxonomy:
            raise UnknownCategory(category_id, self.taxonomy.ids())
        return self.taxonomy[category_id]

    # ---- the intake --------------------------------------------------------------------------

    async def report(self, cmd: ReportHazard, ctx: CommandContext, principal: Principal) -> Reported:
        """随手拍: a new hazard, with the open hazards it may be the same as (for triage to merge)
        and the fixed one it repeats, if any (a recurrence, flagged and linked). The reporter (the
        token's subject) follows it; their contact goes to the vault, masked everywhere else."""
        if READ not in principal.scopes:
            # A resident's token subject is personal (their app account): it stays beside the
            # vault (`pii.follow`), erasable, and the event names the role that reported.
            ctx = dataclasses.replace(ctx, actor=RESIDENT_ACTOR)
        category = self.category(cmd.category)
        if cmd.source == Source.INSPECTION:
            raise InvariantViolated("a hazard of source inspection is an inspection's failed item: record the "
                                    "inspection (POST /v1/venues/{venue_id}/inspections)")
        if cmd.source == Source.DEVICE:
            raise InvariantViolated("a hazard of source device is a networked detector's trouble, filed from "
                                    "devices.events: only the device closes it again")
        if len(cmd.photo_ids) < (needed := self.min_photos.get(cmd.source, 0)):
            raise TooFewPhotos(f"a report from {cmd.source} needs at least {needed} photo(s): upload first "
                               "(POST /v1/photos), then name them in photo_ids")
        chain = self.resolve(cmd.lat, cmd.lon)
        jurisdiction = chain.codes()
        if not principal.may_see(tuple(jurisdiction.values())):
            raise OutsideYourJurisdiction(
                f"{chain.community.name} ({chain.community.code}) is not in your jurisdiction claim")

        async def work(tx: Transaction) -> tuple[Hazard, list[tuple[str, float]]]:
            new = Hazard(str(time_ordered_uuid()))
            hazard, candidates, refs = await self.file_report(tx, new, cmd, category, jurisdiction)
            await self.attach_photos(tx.conn, cmd.photo_ids, principal, hazard.id, "report")
            await tx.save(self.repo, hazard)
            await pii.follow(tx.conn, principal.client_id, hazard.id, self.clock(), refs)
            return hazard, candidates

        hazard, candidates = await self.uow.run(work, ctx, principal=principal)
        offered = [{"hazard_id": h, "distance_m": round(d, 1)} for h, d in candidates]
        return Reported(hazard, await self.visible_candidates(offered, principal))

    async def file_report(self, tx: Transaction, hazard: Hazard, cmd: ReportHazard, category: Category,
                          jurisdiction: dict[str, str], *, inspection_id: str | None = None,
                          ) -> tuple[Hazard, list[tuple[str, float]], list[str]]:
        """Record the report on the new `hazard` (not yet saved): its duplicate candidates, the
        recurrence it is, free text masked and the originals in the vault. Returns the hazard,
        the candidates and the vault references written."""
        conn, now = tx.conn, self.clock()
        report = Report(category.id, cmd.lat, cmd.lon, now, cmd.venue_id)
        candidates = duplicate_candidates(self.taxonomy, report,
                                          await open_near(conn, cmd.lat, cmd.lon, self.duplicate_radius_m),
                                          radius_m=self.duplicate_radius_m)
        fixed = await fixed_near(conn, category=category.id, lat=cmd.lat, lon=cmd.lon, venue_id=cmd.venue_id,
                                 radius_m=self.recurrence_radius_m, since=now - self.recurrence_window)
        recurrence = latest_recurrence(report, fixed, radius_m=self.recurrence_radius_m,
                                       window=self.recurrence_window)
        # Phone and ID numbers typed into free text are masked before anything records it;
        # what was typed is kept whole in the vault, erasable like the reporter's contact.
        description, address = scrub_personal_numbers(cmd.description), _scrubbed(cmd.address)
        contact = {k: v for k, v in (("phone", cmd.reporter_phone), ("name", cmd.reporter_name),
                                     *cmd.reporter_other) if v}
        reporter_ref = await pii.store(conn, json.dumps(contact, ensure_ascii=False)) if contact else None
        free_text_ref = None if (description, address) == (cmd.description, cmd.address) else await pii.store(
            conn, json.dumps({"description": cmd.description, "address": cmd.address}, ensure_ascii=False))
        severity = cmd.severity or category.default_severity
        hazard.report(category=category, taxonomy_version=self.taxonomy.version, source=cmd.source,
                      severity=severity, description=description,
                      location={"lat": cmd.lat, "lon": cmd.lon, "address": address}, jurisdiction=jurisdiction,
                      venue_id=cmd.venue_id, at=now, triage_due_at=triage_due(severity, now, self.triage_within),
                      duplicate_candidates=candidates, reporter_masked=mask_phone(cmd.reporter_phone),
                      reporter_ref=reporter_ref, free_text_ref=free_text_ref, recurrence=recurrence,
                      photo_ids=cmd.photo_ids, inspection_id=inspection_id)
        return hazard, candidates, [ref for ref in (reporter_ref, free_text_ref) if ref]

    # ---- joint patrols' findings (units.events) ---------------------------------------------------

    async def file_finding(self, finding_id: str, ctx: CommandContext, *, category: str, text: str, lat: float,
                           lon: float, source: str = "joint_patrol", address: str | None = None) -> Hazard | None:
        """Another service's finding as a hazard (source joint_patrol, or volunteer for one found
        on a home visit, device for a detector's trouble episode), at most once: its id is derived from the finding's
        (`finding_hazard_id`), so a redelivered finding finds its hazard
        already there and records nothing (returns None). Two deliveries at once: the second
        append conflicts, and the unit of work's retry finds the first one's hazard. No reporter
        follows it and nothing goes to the vault (the text is masked: a patrol's finding names
        no person, and an original nobody could erase is not kept). OutsideTheCity if its
        location lies in no micro-grid."""
        cmd = ReportHazard(category=category, description=scrub_personal_numbers(text), lat=lat, lon=lon,
                           source=source, address=_scrubbed(address))
        jurisdiction = self.resolve(lat, lon).codes()

        async def work(tx: Transaction) -> Hazard | None:
            hazard = await tx.load(self.repo, finding_hazard_id(source, finding_id))
            if hazard.exists:
                return None
            hazard, _, _ = await self.file_report(tx, hazard, cmd, self.category(category), jurisdiction)
            await tx.save(self.repo, hazard)
            return hazard

        return await self.uow.run(work, ctx)

    async def resolve_at_source(self, episode: str, ctx: CommandContext, *, how: str) -> Hazard | None:
        """A detector's trouble episode ended (devices.events DeviceTroubleEnded): its hazard
        closed as resolved at its source (`Hazard.resolve_at_source`), whatever open status it is
        in. Returns the hazard (unchanged if it was no longer open: a redelivery, or a person closed,
        rejected or merged it first), or None if the episode's hazard was never filed (its
        DeviceTroubleBegan not seen, or dead-lettered)."""
        async def work(tx: Transaction) -> Hazard | None:
            hazard = await tx.load(self.repo, device_hazard_id(episode))
            if not hazard.exists:
                return None
            hazard.resolve_at_source(how=how, at=self.clock())
            await tx.save(self.repo, hazard)
            return hazard

        return await self.uow.run(work, ctx)

    # ---- triage ------------------------------------------------------------------------------

    async def change(self, hazard_id: str, decide: Callable[[Hazard], object], ctx: CommandContext,
                     principal: Principal | None, *, expected_version: int | None = None) -> Hazard:
        """One command on a hazard the caller may see, at the version it names (If-Match)."""
        return await self.uow.execute(self.repo, hazard_id, decide, ctx, principal=principal,
                                      expected_version=expected_version)

    async def accept(self, hazard_id: str, ctx: CommandContext, principal: Principal, *, severity: str | None,
                     note: str | None, expected_version: int | None = None) -> Hazard:
        return await self.change(hazard_id, lambda h: h.accept(by=principal.client_id, at=self.clock(),
                                                               severity=severity, note=_scrubbed(note)),
                                 ctx, principal, expected_version=expected_version)

    async def reject(self, hazard_id: str, ctx: CommandContext, principal: Principal, *, reason: str, message: str,
                     refer_to: str | None, expected_version: int | None = None) -> Hazard:
        return await self.change(
            hazard_id, lambda h: h.reject(by=principal.client_id, at=self.clock(), reason=reason,
                                          message=scrub_personal_numbers(message), refer_to=_scrubbed(refer_to)),
            ctx, principal, expected_version=expected_version)

    async def merge(self, duplicate_id: str, into_id: str, ctx: CommandContext, principal: Principal, *,
                    expected_version: int | None = None) -> Hazard:
        """Merge a report into the open hazard it is the same as (two streams, one transaction):
        its reporters follow that one. Both must be the caller's to see. Returns the open one."""
        async def work(tx: Transaction) -> Hazard:
            duplicate = await tx.get(self.repo, duplicate_id)
            if expected_version is not None and duplicate.version != expected_version:
                raise PreconditionFailed(expected_version, duplicate.version)
            target = await tx.get(self.repo, into_id)
            at = self.clock()
            merge(duplicate, target, taxonomy=self.taxonomy, by=principal.client_id, at=at)
            await tx.save(self.repo, duplicate)
            await tx.save(self.repo, target)
            await pii.follow_merged(tx.conn, duplicate.id, target.id, at)
            return target

        return await self.uow.run(work, ctx, principal=principal, retry=expected_version is None)

    # ---- the closed loop ---------------------------------------------------------------------

    async def assign(self, hazard_id: str, ctx: CommandContext, principal: Principal, *, assignee: Assignment,
                     expected_version: int | None = None) -> Hazard:
        return await self.change(
            hazard_id, lambda h: h.assign(category=self.category(h.category), by=principal.client_id, at=self.clock(),
                                          assignee_kind=assignee.kind, assignee_id=assignee.id,
                                          assignee_name=_scrubbed(assignee.name)),
            ctx, principal, expected_version=expected_version)

    async def submit_rectification(self, hazard_id: str, ctx: CommandContext, principal: Principal, *, note: str,
                                   photo_ids: tuple[str, ...], expected_version: int | None = None) -> Hazard:
        """The fixer's note and 'after' photos (uploaded first, by the same caller), in one transaction."""
        async def work(tx: Transaction) -> Hazard:
            hazard = await tx.get(self.repo, hazard_id)
            if expected_version is not None and hazard.version != expected_version:
                raise PreconditionFailed(expected_version, hazard.version)
            hazard.submit_rectification(by=principal.client_id, at=self.clock(), note=scrub_personal_numbers(note),
                                        photo_refs=photo_ids)
            await self.attach_photos(tx.conn, photo_ids, principal, hazard.id, "rectification")
            await tx.save(self.repo, hazard)
            return hazard

        return await self.uow.run(work, ctx, principal=principal, retry=expected_version is None)

    @staticmethod
    async def attach_photos(conn, photo_ids: tuple[str, ...], principal: Principal, hazard_id: str,
                            attached_as: str) -> None:
        if len(set(photo_ids)) != len(photo_ids):
            raise UnknownPhotos([p for p in photo_ids if photo_ids.count(p) > 1])
        if photo_ids and (refused := await photos.attach(conn, list(photo_ids), uploader=principal.client_id,
                                                         hazard_id=hazard_id, attached_as=attached_as)):
            raise UnknownPhotos(refused)

    async def verify(self, hazard_id: str, ctx: CommandContext, principal: Principal, *, passed: bool,
                     note: str | None, expected_version: int | None = None) -> Hazard:
        def decide(h: Hazard) -> None:
            category, at = self.category(h.category), self.clock()
            if passed:
                h.pass_verification(category=category, by=principal.client_id, at=at, note=_scrubbed(note))
            else:
                h.fail_verification(category=category, by=principal.client_id, at=at, note=_scrubbed(note) or "")

        return await self.change(hazard_id, decide, ctx, principal, expected_version=expected_version)

    async def reinspect(self, hazard_id: str, ctx: CommandContext, principal: Principal, *, confirmed: bool,
                        note: str | None, expected_version: int | None = None) -> Hazard:
        def decide(h: Hazard) -> None:
            at = self.clock()
            if confirmed:
                h.confirm_reinspection(by=principal.client_id, at=at, note=_scrubbed(note))
            else:
                h.reopen(category=self.category(h.category), by=principal.client_id, at=at, note=_scrubbed(note) or "")

        return await self.change(hazard_id, decide, ctx, principal, expected_version=expected_version)

    # ---- personal data -----------------------------------------------------------------------

    async def erase_reporter(self, subject: str) -> int:
        """Forget a reporter (`pii.erase_reporter`), in one transaction; returns how many hazards
        they followed. No event is written (it would have to name them) and none is changed. Their
        photos attached to hazards stay (evidence of the hazard, stripped of metadata), unlinked
        from them; the ones never attached are deleted."""
        async with self.store.pool.acquire() as conn, conn.transaction():
            followed = await pii.erase_reporter(conn, subject)
            unattached = await photos.forget_uploader(conn, subject)
        if self.photos is not None:
            await self.photos.delete_objects(unattached)
        return followed

    # ---- deadlines: the sweep ---------------------------------------------------------------------

    async def escalate(self, hazard_id: str, ctx: CommandContext) -> bool:
        """Escalate the hazard one level up if, on its own state now, a deadline has passed
        (`Hazard.overdue`); returns whether it did. A concurrent command (a triage, a fix, another
        sweep) makes the append conflict: the unit of work decides again on fresh state, where the
        hazard is no longer overdue, and records nothing."""
        async def work(tx: Transaction) -> bool:
            hazard = await tx.get(self.repo, hazard_id)
            escalated = hazard.escalate(at=self.clock(), category=self.category(hazard.category),
                                        triage_within=self.triage_within)
            await tx.save(self.repo, hazard)
            return escalated

        return await self.uow.run(work, ctx)

    async def escalate_overdue(self, limit: int = 100) -> int:
        """One pass of the deadline sweep: every hazard overdue now (at most `limit`, the longest
        overdue first) one level up; returns how many were escalated.

        Several replicas may sweep at once. No row lock (`FOR UPDATE SKIP LOCKED`) is taken on the
        read model: optimistic concurrency decides. Two sweeps that pick the same hazard both load
        it at the same version; the first append wins, the second conflicts, is decided again on
        fresh state (the deadline moved: not overdue) and records nothing. That is correct with no
        lock held across the read and the write, and the price (a wasted load per hazard both
        replicas pick) is small next to a sweep every `deadline_sweep_interval_s`. SKIP LOCKED
        would spread the work instead, but would need the read model's rows held locked for the
        whole of each escalation, and a human's triage would then wait on the sweep."""
        async with self.store.pool.acquire() as conn:
            overdue = await overdue_hazards(conn, self.clock(), limit)
        escalated, ctx = 0, CommandContext(actor="hazards-deadline-sweep")
        for hazard_id in overdue:
            try:
                escalated += await self.escalate(hazard_id, ctx)
            except ConcurrencyConflict:  # still contended after the retries: the next pass decides
                log.warning("escalating hazard %s: concurrent changes, left to the next sweep", hazard_id)
            except Exception:  # one broken hazard must not stop the sweep for the others
                log.exception("escalating overdue hazard %s failed", hazard_id)
        return escalated

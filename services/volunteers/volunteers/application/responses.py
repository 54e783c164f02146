"""Proximity alerts on 119 alarms (the PulsePoint model, tiered), and the response they start.

- On duty: a volunteer on the duty roll (approved, insured today) reports their position from
  the app; the position index (`volunteers.positions`) keeps it while fresh.
- `alert`, on each AlarmReported of a kind that alerts (service_domains.toml): the positions
  within the radius, nearest first, go through `response.choose` (the duty gate of the kind's
  domain, the grade's places), and one VolunteersAlerted lists whom (stream
  `alarm_response/<alarm id>`, keyed by the alarm id on volunteers.events, which linkage routes
  to every centre that sees the alarm). Two indexed reads and one append, off the alarm's own
  path (alarms → linkage → consoles), which does not wait for it.
- Each alerted volunteer accepts with an ETA or declines; enough acceptances stand the others
  down, and so does the alarm closing (`close`). On scene, one who accepted reports; the
  community confirms the response, and its hours go to the volunteer's ledger.
"""

from __future__ import annotations

import datetime as dt
import logging

from linkduty_shared.application import CommandContext, EventSourcedRepository
from linkduty_shared.auth import Principal
from linkduty_shared.contracts.alarms import AlarmReported
from linkduty_shared.domain.personal_data import scrub_personal_numbers

from volunteers import positions
from volunteers.application.service import SOURCE, VolunteersService
from volunteers.domain.events import VolunteerHoursCredited, VolunteersAlerted
from volunteers.domain.response import AlarmResponse, Nearby, choose
from volunteers.projections.alerts import VolunteerAlerts

log = logging.getLogger(__name__)


class ResponsesService:
    def __init__(self, volunteers: VolunteersService, *, topic: str, radius_m: float, wanted: int, max_alerted: int,
                 position_fresh: dt.timedelta, max_alarm_age: dt.timedelta) -> None:
        self.volunteers, self.clock = volunteers, volunteers.clock
        self.radius_m, self.wanted, self.max_alerted = radius_m, wanted, max_alerted
        self.position_fresh, self.max_alarm_age = position_fresh, max_alarm_age
        self.repo = EventSourcedRepository(volunteers.store, AlarmResponse, source=SOURCE, topic=topic,
                                           inline_projections=(VolunteerAlerts(),),
                                           chain=lambda r: tuple(r.jurisdiction.values()))
        self.uow = volunteers.uow
        self.pool = volunteers.store.pool

    # ---- on duty: the position index ---------------------------------------------------------

    async def report_position(self, volunteer_id: str, *, lat: float, lon: float, accuracy_m: float | None) -> None:
        """On duty here and now; refused (NotFitForDuty, 409) to one off the duty roll, whose
        position is not kept at all."""
        volunteer = await self.volunteers.repo.load(volunteer_id)
        volunteer.must_be_on_duty_roll(self.clock().date())
        async with self.pool.acquire() as conn:
            await positions.report(conn, volunteer_id, lat, lon, accuracy_m, self.clock())

    async def go_off_duty(self, volunteer_id: str) -> bool:
        async with self.pool.acquire() as conn:
            return await positions.forget(conn, volunteer_id)

    async def forget_stale_positions(self) -> int:
        """Positions older than fresh are deleted, not kept: nobody's whereabouts are a record."""
        async with self.pool.acquire() as conn:
            return await positions.forget_stale(conn, self.clock() - self.position_fresh)

    # ---- an alarm's alerts -------------------------------------------------------------------

    async def alert(self, alarm: AlarmReported, ctx: CommandContext, *,
                    recorded_at: dt.datetime) -> VolunteersAlerted | None:
        """The alarm's alerts, sent once; None when the kind alerts nobody, nobody fit is near, it
        was alerted already, or it was recorded longer than `max_alarm_age` ago (a consumer
        catching up after an outage: whoever was near then is not now).

        Nobody near records nothing: most alarms have no volunteer within 400 m, and an empty
        list would cost every one of them an event through linkage and the gateway, beside the
        alarm's own on the same path, to tell the consoles nothing. (A redelivered AlarmReported
        then looks again, and alerts whoever has come on duty since: still worth it.)"""
        domain = self.volunteers.domains.alarm_alerts.get(alarm.kind)
        now = self.clock()
        if domain is None or now - recorded_at > self.max_alarm_age:
            return None
        lat, lon = alarm.location.lat, alarm.location.lon
        place = alarm.location.place or "home"  # unknown: as strict as a home (trusted grades only)
        async with self.pool.acquire() as conn:
            near = await positions.within(conn, lat, lon, self.radius_m, now - self.position_fresh)
        # The nearest few times as many as may be alerted: enough to fill the list after the
        # gate, without loading every file in a crowded circle.
        candidates = near[:self.max_alerted * 3]
        files = await self.volunteers.repo.load_many([v for v, _ in candidates]) if candidates else {}
        chosen = choose([Nearby(files[v], d) for v, d in candidates if files[v].exists], domain=domain, place=place,
                        day=now.date(), courses=self.volunteers.courses, grades=self.volunteers.grades,
                        limit=self.max_alerted)
        if not chosen:
            return None
        alerted = VolunteersAlerted(alarm.alarm_id, alarm.kind, domain, place, lat, lon, self.radius_m, self.wanted,
                                    tuple(chosen), {k: getattr(alarm.jurisdiction, k) for k in (
                                        "community", "street", "district", "city")}, at=now.isoformat())
        response = await self.uow.execute(self.repo, alarm.alarm_id, lambda r: r.alert(alerted), ctx,
                                          must_exist=False)
        return alerted if response.alerted is alerted else None

    async def close(self, alarm_id: str, ctx: CommandContext) -> None:
        """The alarm closed: the alerts still out are stood down (nothing if none were sent)."""
        at = self.clock()
        await self.uow.execute(self.repo, alarm_id, lambda r: r.close(at=at), ctx, must_exist=False)

    # ---- the volunteer's answer and report ---------------------------------------------------

    async def answer(self, alarm_id: str, volunteer_id: str, ctx: CommandContext, *, accept: bool,
                     eta_minutes: int = 0) -> AlarmResponse:
        v, at = self.volunteers, self.clock()

        async def work(tx) -> AlarmResponse:
            response = await tx.load(self.repo, alarm_id)
            volunteer = await tx.load(v.repo, volunteer_id)
            if accept:
                response.accept(volunteer, eta_minutes=eta_minutes, courses=v.courses, grades=v.grades, at=at)
            else:
                response.decline(volunteer_id, at=at)
            await tx.save(self.repo, response)
            return response

        return await self.uow.run(work, ctx)

    async def report_scene(self, alarm_id: str, volunteer_id: str, ctx: CommandContext, *, lat: float, lon: float,
                           assessment: str, guidance: tuple[dict, ...], photos: tuple[str, ...]) -> AlarmResponse:
        at = self.clock()
        guidance = tuple({"kind": g["kind"], "note": scrub_personal_numbers(g.get("note") or "")} for g in guidance)

        async def work(tx) -> AlarmResponse:
            response = await tx.load(self.repo, alarm_id)
            volunteer = await tx.load(self.volunteers.repo, volunteer_id)
            response.report_scene(volunteer, lat=lat, lon=lon, assessment=scrub_personal_numbers(assessment),
                                  guidance=guidance, photos=photos, at=at)
            await tx.save(self.repo, response)
            return response

        return await self.uow.run(work, ctx)

    async def confirm(self, alarm_id: str, volunteer_id: str, hours: float, ctx: CommandContext,
                      principal: Principal) -> AlarmResponse:
        """The community confirms a volunteer's response; the hours go to their ledger."""
        by, at = principal.client_id, self.clock()

        async def work(tx) -> AlarmResponse:
            response = await tx.get(self.repo, alarm_id)
            if response.confirm(volunteer_id, hours=hours, by=by, at=at):
                await tx.save(self.repo, response)
                volunteer = await tx.load(self.volunteers.repo, volunteer_id)
                await self.volunteers.credit(tx, volunteer, VolunteerHoursCredited(
                    f"alarm:{alarm_id}", hours, "alarm_response", alarm_id, None, confirmed_by=by,
                    at=at.isoformat()))
            return response

        return await self.uow.run(work, ctx, principal=principal)

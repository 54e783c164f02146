"""The pre-incident picture (灾前画像): on each reported 119 alarm, what the venue registry and the
hazard list know about its place, attached once as AlarmContextAttached (stream
`alarm_context/<alarm id>`, keyed by the alarm id on hazards.events), which linkage routes to
every centre that sees the alarm.

Two indexed reads and one append: nothing here touches the alarm's own path (alarms → linkage →
consoles), which goes on without waiting for it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

from linkduty_shared.application import CommandContext, EventSourcedRepository, UnitOfWork
from linkduty_shared.auth import Principal
from linkduty_shared.contracts.alarms import AlarmReported
from linkduty_shared.eventstore import EventStore

from hazards.domain.alarm_context import AlarmContext, NearbyHazard, NearbyVenue, picture
from hazards.domain.events import AlarmContextAttached
from hazards.domain.venue_kinds import VenueKinds
from hazards.projections.hazard_list import open_around
from hazards.projections.venue_list import active_venues_near

log = logging.getLogger(__name__)


class AlarmContextService:
    def __init__(self, store: EventStore, kinds: VenueKinds, *, topic: str, source: str, venue_radius_m: float,
                 hazard_radius_m: float, max_age: dt.timedelta, clock: Callable[[], dt.datetime]) -> None:
        self.store, self.kinds, self.clock = store, kinds, clock
        self.venue_radius_m, self.hazard_radius_m, self.max_age = venue_radius_m, hazard_radius_m, max_age
        self.repo = EventSourcedRepository(store, AlarmContext, source=source, topic=topic,
                                           chain=lambda c: tuple(c.attached.jurisdiction.values()) if c.attached else ())
        self.uow = UnitOfWork(store)

    async def attach(self, alarm: AlarmReported, ctx: CommandContext, *,
                     recorded_at: dt.datetime) -> AlarmContextAttached | None:
        """The alarm's picture, attached; None when it has one already, or its AlarmReported was
        recorded (`recorded_at`: the event's time, not the call's, which a split alarm keeps
        from its first call) longer than `max_age` ago: a consumer catching up after an outage.
        A picture taken now would describe the place as it is, not as it was, and nobody is
        waiting for it any more."""
        now = self.clock()
        if now - recorded_at > self.max_age:
            log.info("alarm %s reported at %s: too long ago for a picture", alarm.alarm_id, recorded_at.isoformat())
            return None
        lat, lon = alarm.location.lat, alarm.location.lon
        async with self.store.pool.acquire() as conn:
            venue_rows = await active_venues_near(conn, lat, lon, self.venue_radius_m)
            hazard_rows = await open_around(conn, lat, lon, self.hazard_radius_m, [r["venue_id"] for r in venue_rows])
        venues = [NearbyVenue(r["venue_id"], r["name"], r["kind"], self._kind_name(r["kind"]), r["risk_class"],
                              r["lat"], r["lon"], r["last_inspected_at"], r["last_inspection_kind"],
                              r["inspection_due_at"]) for r in venue_rows]
        hazards = [NearbyHazard(r["hazard_id"], r["category"], r["severity"], r["status"], r["description"] or "",
                                r["lat"], r["lon"], r["venue_id"], r["reported_at"], r["due_at"]) for r in hazard_rows]
        taken = picture(alarm.alarm_id, lat, lon, dataclasses.asdict(alarm.jurisdiction), venues,
                        hazards, now=now, venue_radius_m=self.venue_radius_m, hazard_radius_m=self.hazard_radius_m)
        context = await self.uow.execute(self.repo, alarm.alarm_id, lambda c: c.attach(taken), ctx, must_exist=False)
        return taken if context.attached is taken else None

    async def get(self, alarm_id: str, principal: Principal) -> AlarmContextAttached:
        """The alarm's picture; AggregateNotFound if none was taken or the alarm is not the
        principal's to see."""
        return (await self.repo.get(alarm_id, visible_to=principal)).attached

    def _kind_name(self, kind_id: str) -> str:
        return self.kinds[kind_id].name_zh if kind_id in self.kinds else kind_id

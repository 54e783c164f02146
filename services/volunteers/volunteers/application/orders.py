"""Service orders (三单): a resident or a community orders (点单), the community or the fire
service assigns or publishes (派单), a volunteer accepts (接单), goes, and completes; the
requester confirms and rates, and the confirmed hours go to the volunteer's ledger in the same
transaction. Every command one unit of work.

Personal data: the address and the contact's phone go to the vault together; the events carry
them masked, and only the volunteer who accepted and the assigner read them (`contact`). Free
text (the description, the report, hazards found) is scrubbed of phone and ID numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from linkduty_shared import vault
from linkduty_shared.application import CommandContext, EventSourcedRepository
from linkduty_shared.auth import Principal
from linkduty_shared.domain import NotPermitted
from linkduty_shared.domain.personal_data import mask_phone, scrub_personal_numbers
from linkduty_shared.ids import time_ordered_uuid
from linkduty_shared.jurisdictions import Level

from volunteers.application.errors import NotACommunity, UnknownOrderKind
from volunteers.application.service import SOURCE, VolunteersService
from volunteers.domain.events import ServiceOrderPlaced, VolunteerHoursCredited
from volunteers.domain.order import ServiceOrder
from volunteers.domain.order_kinds import OrderKinds
from volunteers.projections.order_list import OrderList, overdue_orders


@dataclasses.dataclass(frozen=True)
class Order:
    kind: str
    community: str
    lat: float
    lon: float
    address: str
    contact_phone: str
    description: str = ""
    wanted_from: dt.datetime | None = None
    wanted_until: dt.datetime | None = None


def mask_address(address: str) -> str:
    """和平路12号3单元 → 和平路***: the road, enough to plan a day's visits, not to knock."""
    address = address.strip()
    return address[:3] + "***" if address else "***"


class OrdersService:
    def __init__(self, volunteers: VolunteersService, kinds: OrderKinds, *, topic: str) -> None:
        self.volunteers, self.kinds, self.clock = volunteers, kinds, volunteers.clock
        self.repo = EventSourcedRepository(volunteers.store, ServiceOrder, source=SOURCE, topic=topic,
                                           inline_projections=(OrderList(),),
                                           chain=lambda o: tuple(o.jurisdiction.values()))
        self.uow = volunteers.uow

    def _kind(self, kind_id: str):
        if kind_id not in self.kinds:
            raise UnknownOrderKind(kind_id, self.kinds.ids())
        return self.kinds[kind_id]

    async def place(self, order: Order, ctx: CommandContext, principal: Principal) -> ServiceOrder:
        kind = self._kind(order.kind)
        jurisdiction = self.volunteers.chain_of(order.community, (Level.COMMUNITY,), NotACommunity, principal)
        order_id = str(time_ordered_uuid())

        async def work(tx) -> ServiceOrder:
            ref = await vault.store(tx.conn, json.dumps({"address": order.address, "phone": order.contact_phone},
                                                        ensure_ascii=False))
            o = await tx.load(self.repo, order_id)
            o.place(ServiceOrderPlaced(
                order_id=order_id, kind=kind.id, domain=kind.domain, min_grade=kind.min_grade,
                community=order.community, jurisdiction=jurisdiction, lat=order.lat, lon=order.lon,
                description=scrub_personal_numbers(order.description.strip()), address_masked=mask_address(order.address),
                contact_masked=mask_phone(order.contact_phone) or "*", contact_ref=ref,
                wanted_from=order.wanted_from.isoformat() if order.wanted_from else None,
                wanted_until=order.wanted_until.isoformat() if order.wanted_until else None,
                requested_by=principal.client_id, at=self.clock().isoformat()))
            await tx.save(self.repo, o)
            return o

        return await self.uow.run(work, ctx, principal=principal)

    async def assign(self, order_id: str, ctx: CommandContext, principal: Principal, *,
                     volunteer_id: str | None = None, team_id: str | None = None) -> ServiceOrder:
        """派单 to a volunteer (who must pass the order's gate and grade now) or a team."""
        v = self.volunteers
        by, at = principal.client_id, self.clock()

        async def work(tx) -> ServiceOrder:
            o = await tx.get(self.repo, order_id)
            volunteer = await tx.get(v.repo, volunteer_id) if volunteer_id else None
            if team_id:
                await tx.get(v.teams, team_id)  # a team the assigner can see, or not found
            o.assign(volunteer=volunteer, team_id=team_id, courses=v.courses, grades=v.grades, by=by, at=at,
                     answer_within=dt.timedelta(hours=self.kinds[o.placed.kind].answer_within_hours))
            await tx.save(self.repo, o)
            return o

        return await self.uow.run(work, ctx, principal=principal)

    async def publish(self, order_id: str, ctx: CommandContext, principal: Principal) -> ServiceOrder:
        by, at = principal.client_id, self.clock()
        return await self.uow.execute(
            self.repo, order_id,
            lambda o: o.publish(answer_within=dt.timedelta(hours=self.kinds[o.placed.kind].answer_within_hours),
                                by=by, at=at), ctx, principal=principal)

    async def answer(self, order_id: str, volunteer_id: str, ctx: CommandContext, *, accept: bool,
                     reason: str = "") -> ServiceOrder:
        """接单, or decline, by the volunteer themself (their app's token: see api.me)."""
        v, at = self.volunteers, self.clock()

        async def work(tx) -> ServiceOrder:
            o = await tx.load(self.repo, order_id)
            volunteer = await tx.load(v.repo, volunteer_id)
            if not o.exists or not volunteer.exists:
                raise NotPermitted(f"no order {order_id[:64]} for volunteer {volunteer_id[:64]}")
            members = ()
            if o.assigned_to and o.assigned_to.get("team_id"):
                members = tuple((await tx.load(v.teams, o.assigned_to["team_id"])).members)
            if accept:
                o.accept(volunteer, team_members=members, courses=v.courses, grades=v.grades, at=at)
            else:
                o.decline(volunteer, team_members=members, reason=reason, at=at)
            await tx.save(self.repo, o)
            return o

        return await self.uow.run(work, ctx)

    async def complete(self, order_id: str, volunteer_id: str, ctx: CommandContext, *, report: str,
                       photos: tuple[str, ...], hours_spent: float, hazards_found: tuple[dict, ...]) -> ServiceOrder:
        at = self.clock()
        found = tuple({"finding_id": str(time_ordered_uuid()), "category": h["category"],
                       "description": scrub_personal_numbers(h["description"].strip()), "lat": h["lat"],
                       "lon": h["lon"]} for h in hazards_found)
        return await self.uow.execute(
            self.repo, order_id,
            lambda o: o.complete(volunteer_id, report=scrub_personal_numbers(report), photos=photos,
                                 hours_spent=hours_spent, hazards_found=found, at=at), ctx)

    async def confirm(self, order_id: str, ctx: CommandContext, principal: Principal, *, rating: int, comment: str,
                      hours: float | None) -> ServiceOrder:
        """The requester confirms and rates; the hours go to the volunteer's ledger (and may
        promote them) in the same transaction."""
        by, at = principal.client_id, self.clock()

        async def work(tx) -> ServiceOrder:
            o = await tx.load(self.repo, order_id)
            if not o.exists or o.placed.requested_by != by:
                raise NotPermitted(f"only the one who ordered {order_id[:64]} confirms it")
            [confirmed] = o.confirm(rating=rating, comment=scrub_personal_numbers(comment), hours=hours, by=by, at=at)
            await tx.save(self.repo, o)
            volunteer = await tx.load(self.volunteers.repo, confirmed.volunteer_id)
            await self.volunteers.credit(tx, volunteer, VolunteerHoursCredited(
                f"order:{order_id}", confirmed.hours, "service_order", order_id, rating, confirmed_by=by,
                at=at.isoformat()))
            return o

        return await self.uow.run(work, ctx, principal=principal)

    async def cancel(self, order_id: str, ctx: CommandContext, principal: Principal, *, reason: str) -> ServiceOrder:
        by, at = principal.client_id, self.clock()

        async def work(tx) -> ServiceOrder:
            o = await tx.load(self.repo, order_id)
            assigner = "volunteers:assign" in principal.scopes and o.exists and self.repo.visible(o, principal)
            if not o.exists or (o.placed.requested_by != by and not assigner):
                raise NotPermitted(f"only its requester or its community cancels order {order_id[:64]}")
            o.cancel(reason=reason, by=by, at=at)
            await tx.save(self.repo, o)
            return o

        return await self.uow.run(work, ctx, principal=principal)

    async def contact(self, o: ServiceOrder) -> dict | None:
        async with self.volunteers.store.pool.acquire() as conn:
            revealed = await vault.reveal(conn, o.placed.contact_ref)
        return json.loads(revealed) if revealed else None

    async def return_unanswered(self, batch: int) -> int:
        """The sweep: orders past their answer deadline go back to their assigner. Every replica
        sweeps; optimistic concurrency makes each return happen once."""
        now = self.clock()
        async with self.volunteers.store.pool.acquire() as conn:
            due = await overdue_orders(conn, now, batch)
        returned = 0
        for order_id in due:
            ctx = CommandContext(actor="volunteers:order-deadlines", agency=None, correlation_id=order_id,
                                 causation_id=None)
            o = await self.uow.execute(self.repo, order_id, lambda o: o.return_unanswered(now), ctx)
            returned += o.status.value == "placed"
        return returned

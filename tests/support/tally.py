"""A tiny aggregate and service used to test the shared skeleton (not a LinkDuty domain)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, Field

from linkduty_shared.api.deps import Context, require_scopes
from linkduty_shared.api.etag import etag, parse_if_match
from linkduty_shared.application import EventSourcedRepository, UnitOfWork
from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition, InvariantViolated, event
from linkduty_shared.events.upcasting import upcasters


@event("TallyOpened")
class TallyOpened(DomainEvent):
    title: str


@event("TallyIncremented", version=2)
class TallyIncremented(DomainEvent):
    by: int
    reason: str  # added in v2; v1 rows are upcast with reason "unspecified"


@upcasters.register("TallyIncremented", 1)
def _tally_incremented_v1_to_v2(data: dict) -> dict:
    data.setdefault("reason", "unspecified")
    return data


@event("TallyClosed")
class TallyClosed(DomainEvent):
    pass


class Tally(Aggregate):
    stream_type = "tally"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.title = ""
        self.total = 0
        self.closed = False

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case TallyOpened(title=title):
                self.title = title
            case TallyIncremented(by=by):
                self.total += by
            case TallyClosed():
                self.closed = True

    def open(self, title: str) -> None:
        if self.exists:
            raise IllegalTransition(f"tally {self.id} already exists")
        self._record(TallyOpened(title=title))

    def increment(self, by: int, reason: str) -> None:
        if self.closed:
            raise IllegalTransition(f"tally {self.id} is closed")
        if by <= 0:
            raise InvariantViolated("increment must be positive")
        self._record(TallyIncremented(by=by, reason=reason))

    def close(self) -> None:
        if self.closed:
            raise IllegalTransition(f"tally {self.id} is already closed")
        self._record(TallyClosed())


class OpenTally(BaseModel):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
    title: str = Field(min_length=1, max_length=200)


class Increment(BaseModel):
    by: int
    reason: str = "unspecified"


def tally_router(topic: str) -> APIRouter:
    router = APIRouter(prefix="/v1/tallies")

    def repo(request_app) -> EventSourcedRepository[Tally]:
        return EventSourcedRepository(request_app.state.runtime.store, Tally, source="/linkduty/tests", topic=topic)

    def unit_of_work(request_app) -> UnitOfWork:
        return UnitOfWork(request_app.state.runtime.store)

    @router.post("", status_code=201, dependencies=[require_scopes("tallies:write")])
    async def open_tally(body: OpenTally, request: Request, response: Response, ctx: Context) -> dict:
        tally = await unit_of_work(request.app).execute(repo(request.app), body.id, lambda t: t.open(body.title), ctx,
                                                        must_exist=False)
        response.headers["ETag"] = etag(tally.version)
        return {"id": tally.id, "version": tally.version, "total": tally.total}

    @router.post("/{tally_id}/increments", dependencies=[require_scopes("tallies:write")])
    async def increment(
        tally_id: str, body: Increment, request: Request, response: Response, ctx: Context,
        if_match: Annotated[str | None, Header()] = None,
    ) -> dict:
        tally = await unit_of_work(request.app).execute(repo(request.app), tally_id,
                                                        lambda t: t.increment(body.by, body.reason), ctx,
                                                        expected_version=parse_if_match(if_match))
        response.headers["ETag"] = etag(tally.version)
        return {"id": tally.id, "version": tally.version, "total": tally.total}

    @router.get("/{tally_id}", dependencies=[require_scopes("tallies:read")])
    async def get_tally(tally_id: str, request: Request, response: Response) -> dict:
        tally = await repo(request.app).get(tally_id)
        response.headers["ETag"] = etag(tally.version)
        return {"id": tally.id, "version": tally.version, "total": tally.total, "closed": tally.closed}

    return router

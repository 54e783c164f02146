"""The gateway on a real uvicorn server on a free loopback port, notifications for the test
topic, and a small SSE reader (httpx buffers an in-process ASGI response whole, so streams are
read over real sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import httpx
import uvicorn

from gateway.bootstrap import build_app
from gateway.config import GatewaySettings
from linkduty_shared.api.serving import listening_socket
from gateway.state import GatewayState
from linkduty_shared.contracts.notifications import (
    AlarmNotification,
    AlarmRouted,
    AlarmSummary,
    HazardNotification,
    HazardSummary,
    RoutedCentre,
    notification_id,
)
from linkduty_shared.events import envelope_to_kafka
from linkduty_shared.jurisdictions import Directory
from tests.conftest import eventually


@dataclasses.dataclass
class Served:
    app: object
    base_url: str
    ws_url: str
    server: uvicorn.Server

    @property
    def state(self) -> GatewayState:
        return self.app.state.gateway

    async def feed_count(self) -> int:
        async with self.state.pool.acquire() as conn:
            return await conn.fetchval("SELECT count(*) FROM centre_feed")


@contextlib.asynccontextmanager
async def serving(settings: GatewaySettings) -> AsyncIterator[Served]:
    """The gateway app behind uvicorn, with its real lifespan, until the block ends."""
    app = build_app(settings)
    sock = listening_socket("127.0.0.1", 0, unacked_timeout_s=settings.unacked_timeout_s)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started or task.done(), what="uvicorn to start")
        if task.done():
            task.result()
        yield Served(app, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        sock.close()


def notification(city: Directory, centre_id: str, *, alarm_id: str | None = None, event_type: str = "AlarmReported",
                 version: int = 1, open: bool = True, event_id: str | None = None, padding: int = 0) -> AlarmNotification:
    """An AlarmNotification as the linkage app sends it; `padding` makes it bigger (overflow tests)."""
    centre = city.centre(centre_id)
    division = city.division(centre.division_code)
    chain = {d.level.value: d.code for d in [division, *city.ancestors(division.code)]}
    event_id = event_id or str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC).isoformat()
    alarm = AlarmSummary(
        alarm_id=alarm_id or f"alarm-{uuid.uuid4().hex[:12]}", status="reported" if open else "closed", kind="fire",
        severity="moderate", description="厨房起火" + "…" * padding, received_at=now,
        location={"lat": centre.lat, "lon": centre.lon, "address": "某小区3幢"}, jurisdiction=chain, call_count=1,
        acknowledged={}, escalation_level=centre.level.value, version=version,
    )
    return AlarmNotification(
        notification_id=notification_id(event_id, centre_id), centre_id=centre_id, reason="jurisdiction",
        event_id=event_id, event_type=event_type, event_data={"kind": "fire"}, occurred_at=now, routed_at=now,
        alarm=alarm, open=open,
    )


def hazard_notification(city: Directory, centre_id: str, *, hazard_id: str | None = None,
                        event_type: str = "HazardReported", version: int = 1, open: bool = True,
                        event_id: str | None = None) -> HazardNotification:
    """A HazardNotification as the linkage app sends it, for a hazard in the centre's division."""
    centre = city.centre(centre_id)
    division = city.division(centre.division_code)
    chain = {d.level.value: d.code for d in [division, *city.ancestors(division.code)]}
    event_id = event_id or str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC).isoformat()
    hazard = HazardSummary(
        hazard_id=hazard_id or f"hazard-{uuid.uuid4().hex[:12]}", status="reported" if open else "closed",
        category="evacuation_route_blocked", severity="major", description="安全出口上锁", source="grid_worker",
        reported_at=now, location={"lat": centre.lat, "lon": centre.lon, "address": "某商场2层"}, jurisdiction=chain,
        venue_id=None, handling_level="community", handled_by=centre_id, triage_due_at=now, rectification_due_at=None,
        reinspection_due_at=None, version=version,
    )
    return HazardNotification(
        notification_id=notification_id(event_id, centre_id), centre_id=centre_id, reason="jurisdiction",
        event_id=event_id, event_type=event_type, event_data={"category": hazard.category}, occurred_at=now,
        routed_at=now, hazard=hazard, open=open,
    )


async def publish(producer, topic: str, *notifications: AlarmNotification | HazardNotification) -> None:
    """Real records on the real topic, as the linkage app writes them (key = centre id)."""
    sent = []
    for n in notifications:
        message = envelope_to_kafka(n.envelope())
        sent.append(await producer.send(topic, value=message.value, key=n.centre_id.encode(),
                                        headers=list(message.headers.items())))
    await asyncio.gather(*sent)


def routed(per_centre: list[AlarmNotification]) -> AlarmRouted:
    """The per-event record (linkage's `notifications_shape = "per_event"`) that stands for these
    notifications of one event, one per centre."""
    first = per_centre[0]
    assert all((n.event_id, n.alarm) == (first.event_id, first.alarm) for n in per_centre)
    return AlarmRouted(centres=tuple(RoutedCentre(n.centre_id, n.reason) for n in per_centre), event_id=first.event_id,
                       event_type=first.event_type, event_data=first.event_data, occurred_at=first.occurred_at,
                       routed_at=first.routed_at, alarm=first.alarm, open=first.open)


async def publish_routed(producer, topic: str, *records: AlarmRouted) -> None:
    """Real per-event records on the real topic, as the linkage app writes them (key = alarm id)."""
    sent = []
    for r in records:
        message = envelope_to_kafka(r.envelope())
        sent.append(await producer.send(topic, value=message.value, key=r.alarm.alarm_id.encode(),
                                        headers=list(message.headers.items())))
    await asyncio.gather(*sent)


@dataclasses.dataclass
class SseEvent:
    id: str | None
    event: str | None
    data: str


class SseReader:
    """Reads a text/event-stream response event by event (comments and `retry:` skipped)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.comments = 0

    async def next(self, timeout: float = 15.0) -> SseEvent:
        async with asyncio.timeout(timeout):
            fields: dict[str, list[str]] = {}
            async for line in self._lines:
                if line == "":
                    if "data" in fields:
                        return SseEvent(fields.get("id", [None])[-1], fields.get("event", [None])[-1], "\n".join(fields["data"]))
                    fields = {}
                    continue
                if line.startswith(":"):
                    self.comments += 1
                    continue
                name, _, value = line.partition(":")
                fields.setdefault(name, []).append(value.removeprefix(" "))
            raise EOFError("the stream ended")

    async def take(self, count: int, timeout: float = 15.0) -> list[SseEvent]:
        return [await self.next(timeout) for _ in range(count)]

    async def nothing_more(self, wait: float = 0.7) -> bool:
        """True if no event arrives within `wait` seconds."""
        try:
            await self.next(wait)
        except TimeoutError:
            return True
        return False

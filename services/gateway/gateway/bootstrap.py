"""Composition root of the console gateway."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI

from linkduty_shared.api.app import create_app
from linkduty_shared.jurisdictions import load_city
from linkduty_shared.runtime import Runtime, every

from gateway.api import routes, ws
from gateway.asyncapi import AsyncApi
from gateway.config import GatewaySettings
from gateway.fanout import Hub
from gateway.feed.retention import purge_feed
from gateway.feed.tables import DDL
from gateway.feed.tail import FeedTail
from gateway.feed.writer import FeedWriter
from gateway.state import GatewayState
from gateway.streams import StreamQuota


def build_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    city = load_city(settings.directory_path)
    AsyncApi.load()  # a broken document fails the start, not the first reader

    async def on_start(runtime: Runtime) -> None:
        hub = Hub(settings.subscriber_queue_size)
        tail = FeedTail(runtime.pool, hub, poll_interval_s=settings.feed_poll_interval_s)
        await tail.start_at_head()
        writer = FeedWriter(settings, hub, tail)
        app.state.gateway = GatewayState(settings, city, hub, runtime.pool, writer,
                                         StreamQuota(settings.max_streams_per_client))
        runtime.background("feed tail", tail.run)
        runtime.background("feed writer", writer.run)

        async def purge_if_writer() -> None:  # one replica purges: the one that writes
            if writer.is_leader:
                await purge_feed(runtime.pool, dt.timedelta(days=settings.feed_keep_days),
                                 batch=settings.retention_batch_size)

        runtime.background("feed retention", lambda: every(settings.retention_interval_s, purge_if_writer))

    app = create_app(settings, title="LinkDuty console gateway", routers=[routes.router, ws.router],
                     schema_sql=(DDL,), on_start=on_start, event_store=False)  # it keeps a feed, no events
    return app

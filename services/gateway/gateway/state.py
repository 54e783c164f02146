"""What the routes need, built once by bootstrap.build_app and kept in `app.state.gateway`."""

from __future__ import annotations

import dataclasses

import asyncpg

from linkduty_shared.jurisdictions import Directory

from gateway.config import GatewaySettings
from gateway.fanout import Hub
from gateway.feed.writer import FeedWriter
from gateway.streams import StreamQuota


@dataclasses.dataclass
class GatewayState:
    settings: GatewaySettings
    directory: Directory
    hub: Hub
    pool: asyncpg.Pool
    writer: FeedWriter
    streams: StreamQuota

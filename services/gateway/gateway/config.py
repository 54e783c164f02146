from __future__ import annotations

from linkduty_shared.config import HttpServiceSettings


class GatewaySettings(HttpServiceSettings):
    service_name: str = "gateway"  # also the consumer group of linkage.notifications
    pg_dsn: str = "postgresql://linkduty:linkduty@127.0.0.1:15432/linkduty_gateway"
    port: int = 8104
    notifications_topic: str = "linkage.notifications"
    # A subscriber this many notifications behind is dropped with an `overflow` message; it
    # reconnects with Last-Event-ID and catches up from the table instead of slowing the writer.
    subscriber_queue_size: int = 1000
    # Streams (SSE and WebSocket) one client (a token's subject) may hold open at once on a
    # replica; one more is a 429. A console shows a few centres; a token opening hundreds is a leak
    # or an attack.
    max_streams_per_client: int = 20
    heartbeat_s: float = 15.0  # a comment on an idle stream, so proxies keep it open
    # How long a stream being closed (overflow) may take to hand over its last message before
    # the connection is cut: a client that stopped reading never takes it.
    farewell_timeout_s: float = 1.0
    # A follower replica (not the writer) reads new feed rows when the writer NOTIFYs, and at
    # least this often as the safety net.
    feed_poll_interval_s: float = 1.0
    # The feed keeps this many days of notifications (feed/retention.py; purged every
    # retention_interval_s, retention_batch_size rows a batch). A console resuming from an id
    # older than that gets `resync` and a snapshot instead of a backlog it can no longer have.
    feed_keep_days: float = 7.0

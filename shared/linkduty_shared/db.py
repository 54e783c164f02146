"""PostgreSQL plumbing shared by every service: the asyncpg pool and the shared schema.

Each mechanism (event store, outbox, projections, idempotency keys) keeps its DDL in a `.sql`
file beside its code; `migrate` applies them all, idempotently, under an advisory lock so that
several replicas starting at once do not race.
"""

from __future__ import annotations

from importlib import resources

import asyncpg
import orjson

_SCHEMA_FILES = (
    ("linkduty_shared.eventstore", "schema.sql"),
    ("linkduty_shared.outbox", "schema.sql"),
    ("linkduty_shared.projections", "schema.sql"),
    ("linkduty_shared.api", "schema.sql"),
)
_MIGRATION_LOCK = 0x11D7_0001


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, schema="pg_catalog", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads
        )


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection)


async def migrate(pool: asyncpg.Pool, *extra_sql: str) -> None:
    """Apply the shared schema, then a service's own DDL (its projections' tables)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        for package, name in _SCHEMA_FILES:
            await conn.execute(resources.files(package).joinpath(name).read_text())
        for sql in extra_sql:
            await conn.execute(sql)

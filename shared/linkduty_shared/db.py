"""PostgreSQL plumbing shared by every service: the asyncpg pool and the shared schema.

Each mechanism (event store, outbox, projections, idempotency keys) keeps its DDL in a `.sql`
file beside its code; `migrate` applies them all, idempotently, under an advisory lock so that
several replicas starting at once do not race.
"""

from __future__ import annotations

import os
import sys
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

# Errors that mean "PostgreSQL is unreachable or restarting", not "this request or message is
# bad": a consumer retries them without limit, an API answers 503 with Retry-After.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError, asyncpg.exceptions.CannotConnectNowError, asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.ConnectionDoesNotExistError, OSError, TimeoutError,
    # a connection broken mid-operation by a restarting server ("cannot switch to state 12")
    asyncpg.InternalClientError,
)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, schema="pg_catalog", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (RESET ALL, UNLISTEN *, …).

    That query is one more round trip on every release, which cost a third of the append rate of
    16 concurrent writers (bench/eventstore.py). Nothing here leaves session state behind: settings
    are `SET LOCAL`, and the only session lock and LISTEN (the outbox relay's) are undone by their
    owner. asyncpg still rolls back a transaction left open.
    """


def _program() -> str:
    """The running module's name ("alarms.main", "linkduty_shared.outbox"), else the script's."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = spec.name.removesuffix(".__main__") if spec is not None else os.path.basename(sys.argv[0] or "python")
    return name[:40]


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 20,
                      server_settings: dict[str, str] | None = None) -> asyncpg.Pool:
    """`server_settings`: more session settings, over the ones below. Each session is named
    "<program>/<pid>" (pg_stat_activity.application_name), so an operator, or the fault bench,
    can tell which process holds a lock."""
    # Generic plans: the hot statements (append, outbox fetch) are point writes whose custom
    # re-planning cost three times their execution (EXPLAIN: 0.2 ms planning, 0.07 ms execution).
    # No JIT: a generic plan's estimate for `LIMIT $n` is a tenth of the rows it could read, which
    # put a 5 ms alarm list (a million alarms behind it) over jit_above_cost and added 20 ms of
    # compiling to every call; nothing these services run is the long scan JIT pays off for.
    return await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, reset=_keep_session,
        server_settings={"plan_cache_mode": "force_generic_plan", "jit": "off",
                         "application_name": f"{_program()}/{os.getpid()}", **(server_settings or {})},
    )


async def migrate(pool: asyncpg.Pool, *extra_sql: str, event_store: bool = True) -> None:
    """Apply the shared schema (without the event store's, outbox's and projections' tables for a
    service that keeps no events), then a service's own DDL (its projections' tables)."""
    files = _SCHEMA_FILES if event_store else _SCHEMA_FILES[-1:]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        for package, name in files:
            await conn.execute(resources.files(package).joinpath(name).read_text())
        for sql in extra_sql:
            await conn.execute(sql)

"""Fixtures shared by every test tier.

Integration tests run against the real local stack (deploy/local/stack.sh): the session starts
it, or reuses it when it already runs. Each test gets its own PostgreSQL schema and its own
Kafka topics, so tests never see each other's rows or records.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import subprocess
import uuid
import warnings
from pathlib import Path

import asyncpg
import pytest

from linkduty_shared.db import create_pool, migrate
from linkduty_shared.messaging.kafka import reliable_producer
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic
from tests.support.kafka import delete_made_topics, made_anything, make_topics

ROOT = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("LINKDUTY_STATE", ROOT / ".state"))


def _read_stack_env() -> dict[str, str]:
    env_file = STATE / "stack.env"
    if not env_file.exists() or os.environ.get("LINKDUTY_TEST_STACK_READY") != "1":
        subprocess.run([str(ROOT / "deploy/local/stack.sh"), "up"], check=True)
    values = {}
    for line in env_file.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip().removeprefix("export ")] = value.strip().strip('"')
    return values


@pytest.fixture(scope="session")
def stack() -> dict[str, str]:
    return _read_stack_env()


@pytest.fixture(scope="session")
def kafka_bootstrap(stack) -> str:
    return stack["LINKDUTY_KAFKA_BOOTSTRAP"]


def stack_test_dsn() -> str:
    """The tests' database on the local stack (a worker a test starts keeps its state there)."""
    return _read_stack_env()["LINKDUTY_PG_DSN"].rstrip("/") + "/linkduty_test"


@pytest.fixture(scope="session")
def test_dsn(stack) -> str:
    return stack_test_dsn()


@pytest.fixture
async def schema(test_dsn):
    """A fresh schema for one test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(test_dsn)
    await conn.execute(f"CREATE SCHEMA {name}")
    yield name
    await conn.execute(f"DROP SCHEMA {name} CASCADE")
    await conn.close()


@pytest.fixture
def schema_dsn(test_dsn, schema) -> str:
    """A DSN whose connections work inside the test's schema (for subprocesses too)."""
    return f"{test_dsn}?options=-csearch_path%3D{schema}"


@pytest.fixture
async def pool(schema_dsn):
    pool = await create_pool(schema_dsn, min_size=2, max_size=20)
    await migrate(pool)
    yield pool
    await pool.close()


@pytest.fixture
async def producer(kafka_bootstrap):
    """A started producer as the services make theirs (acks=all, idempotent)."""
    producer = reliable_producer(kafka_bootstrap, client_id="tests")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def topic(kafka_bootstrap) -> str:
    """A fresh 3-partition topic (and its DLQ) for one test."""
    name = f"test.{uuid.uuid4().hex[:10]}.events"
    await make_topics(kafka_bootstrap, [TopicSpec(name, 3, 1, 3_600_000), TopicSpec(dlq_topic(name), 1, 1, 3_600_000)])
    return name


@pytest.fixture(scope="module", autouse=True)
def _delete_the_modules_topics():
    """After each module, the topics its tests made (`make_topics`) are deleted.
    Synchronous, on a thread of its own: the session's event loop is left alone."""
    yield
    if made_anything():
        thread = concurrent.futures.ThreadPoolExecutor(1)
        try:
            thread.submit(asyncio.run, delete_made_topics()).result(timeout=60)
        except concurrent.futures.TimeoutError:
            warnings.warn("test topics not deleted within 60 s", stacklevel=1)
        finally:
            thread.shutdown(wait=False)


async def eventually(predicate, *, timeout: float = 30.0, interval: float = 0.1, what="condition"):
    """Await `predicate()` (sync or async) until truthy; fail with `what` (a string, or a function
    giving one when the time is up) after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what() if callable(what) else what}")
        await asyncio.sleep(interval)


LOUD = (" WARNING ", " ERROR ", " CRITICAL ", "[WARNING]", "[ERROR]", "Traceback", "Error:")
TIMESTAMP = re.compile(r"^\[?\d{4}-\d\d-\d\d[ T][\d:,.]+\]?\s*")


def loud_lines(log: Path, last: int = 12, since: int = 0) -> list[str]:
    """The last `last` distinct warnings and errors of a log (from byte `since`), timestamps cut
    (the same message repeated counts once): short enough for an assertion message to survive a
    CI excerpt."""
    with log.open("rb") as f:
        f.seek(since if since <= log.stat().st_size else 0)  # a log started anew since
        text = f.read().decode(errors="replace")
    loud = [line[:240] for line in text.splitlines() if any(w in line for w in LOUD)]
    distinct = list(dict.fromkeys(TIMESTAMP.sub("", line) for line in loud))
    return [f"--- {log.name}: {len(loud)} warnings and errors, the last distinct ones:", *distinct[-last:]]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that ran services as processes shows their logs (`*.log` in its tmp_path):
    a timeout alone says nothing about why a worker never answered."""
    report = yield
    tmp = item.funcargs.get("tmp_path") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(tmp, Path):
        for log in sorted(tmp.glob("*.log")):
            report.sections.append((f"{log.name} (last 200 lines)", "\n".join(log.read_text(errors="replace").splitlines()[-200:])))
    return report

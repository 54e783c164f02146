"""`bench history` at a tiny scale, so that it cannot rot: it loads, measures, purges, reports
and drops every database it made."""

from __future__ import annotations

import asyncio
import os
import re
import sys

import asyncpg

from tests.conftest import ROOT


async def _bench_databases(stack) -> set[str]:
    conn = await asyncpg.connect(stack["LINKDUTY_PG_DSN"].rstrip("/") + "/postgres")
    try:
        return {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'bench_history_%'")}
    finally:
        await conn.close()


async def test_the_history_bench_runs_at_a_tiny_scale_and_drops_its_databases(stack):
    before = await _bench_databases(stack)
    bench = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench", "history", "--alarms", "2000", "--events", "20000", "--feed", "40000",
        "--processed", "5000", "--keys", "2000", "--calls", "20", "--searches", "100", "--resumes", "100",
        "--purge-seconds", "1",
        cwd=ROOT, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(bench.communicate(), 300)
    text = out.decode()
    assert bench.returncode == 0, text[-3000:]
    for figure in ("(a) 119 intake", "(b) find_duplicate", "(c) stream resume", "(d) city centre snapshot"):
        assert re.search(re.escape(figure) + r".*p99 .*×", text), (figure, text[-3000:])
    assert "Index Scan using alarm_list_open" in text
    assert "a resume from the year's first id: purged" in text
    assert await _bench_databases(stack) == before

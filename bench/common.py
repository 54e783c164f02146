"""Helpers shared by the benchmarks: a fresh schema per measurement, percentiles, reporting."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import time
import uuid
from pathlib import Path

import asyncpg

from linkduty_shared.db import create_pool, migrate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def stack_env() -> dict[str, str]:
    env_file = Path(os.environ.get("LINKDUTY_STATE", ROOT / ".state")) / "stack.env"
    values = {}
    for line in env_file.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, _, v = line.partition("=")
            values[k.removeprefix("export ").strip()] = v.strip().strip('"')
    return values


def bench_dsn() -> str:
    return stack_env()["LINKDUTY_PG_DSN"].rstrip("/") + "/linkduty_bench"


@contextlib.asynccontextmanager
async def fresh_schema(pool_size: int = 20):
    """(schema name, asyncpg pool) on a new schema with the shared tables; dropped afterwards."""
    name = f"b_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(bench_dsn())
    await admin.execute(f"CREATE SCHEMA {name}")
    pool = await create_pool(f"{bench_dsn()}?options=-csearch_path%3D{name}", min_size=pool_size, max_size=pool_size)
    try:
        await migrate(pool)
        yield name, pool
    finally:
        await pool.close()
        await admin.execute(f"DROP SCHEMA {name} CASCADE")
        await admin.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summarize_us(samples_us: list[float], digits: int = 3) -> dict[str, float]:
    """mean/p50/p99 of per-call timings already in microseconds (the µs-scale benchmarks)."""
    return {"mean_us": round(statistics.fmean(samples_us), digits), "p50_us": round(percentile(samples_us, 50), digits),
            "p99_us": round(percentile(samples_us, 99), digits), "count": len(samples_us)}


def summarize_ms(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"),
    }


def save(name: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    return path

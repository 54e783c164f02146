"""A service in a process of its own on a loopback port, as deployed: an in-process ASGI client
never yields to the event loop, so it could not see the loop blocked (the hostile-input tests'
`/healthz` probes need a real server)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
from pydantic_settings import BaseSettings

from tests.conftest import ROOT, eventually


@contextlib.asynccontextmanager
async def served(module: str, settings: BaseSettings, fields: tuple[str, ...], log_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """`python -m <module>` with `fields` of `settings` as its LINKDUTY_* environment; a client of it, once ready."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, **{f"LINKDUTY_{f.upper()}": _env_value(getattr(settings, f)) for f in fields},
           "LINKDUTY_HOST": "127.0.0.1", "LINKDUTY_PORT": str(port)}
    with open(log_dir / f"{module}.log", "w") as log:
        server = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                async def up() -> bool:
                    try:
                        return (await client.get("/readyz")).status_code == 200
                    except httpx.TransportError:
                        return False
                await eventually(up, timeout=60, what=f"{module} to be ready")
                yield client
        finally:
            server.terminate()
            server.wait(30)


def _env_value(value: object) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


async def healthz_delays_while(client: httpx.AsyncClient, attack: Callable[[], Awaitable[None]]) -> list[float]:
    """How long each `/healthz` took, probed every 5 ms while `attack` runs."""
    delays: list[float] = []
    done = asyncio.Event()

    async def attacking() -> None:
        try:
            await attack()
        finally:
            done.set()

    async def probe() -> None:
        while not done.is_set():
            started = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            delays.append(time.perf_counter() - started)
            await asyncio.sleep(0.005)

    await asyncio.gather(attacking(), probe())
    return delays

"""Liveness of the linkage worker, for an exec probe: `python -m linkage.health` exits 0 or 1.

The worker has no HTTP server. A timer of its own touches `<data_dir>/heartbeat` every tick, so a
worker whose event loop has stopped (blocked, deadlocked, crashed without exiting) stops touching
it, and the probe fails once the heartbeat is older than `heartbeat_max_age_s`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from linkage.config import LinkageSettings

HEARTBEAT_FILE = "heartbeat"


def heartbeat_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / HEARTBEAT_FILE


def beat(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def heartbeat_age(path: Path, now: float | None = None) -> float | None:
    """Seconds since the last beat, or None when there has been none."""
    try:
        return (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return None


def check(settings: LinkageSettings, now: float | None = None) -> str | None:
    """Why the worker is not alive, or None when it is."""
    path = heartbeat_path(settings.data_dir)
    age = heartbeat_age(path, now)
    if age is None:
        return f"no heartbeat at {path}"
    if age > settings.heartbeat_max_age_s:
        return f"last heartbeat {age:.0f} s ago (more than {settings.heartbeat_max_age_s:.0f} s): the worker's loop is stuck"
    return None


def main() -> None:
    problem = check(LinkageSettings())
    if problem:
        print(f"linkage not alive: {problem}", file=sys.stderr)
    sys.exit(1 if problem else 0)


if __name__ == "__main__":
    main()
